//! Chrome DevTools commands that answer. The harness's `cdp` sends a
//! command and drops the answer; these go through the WebDriver session
//! itself (chromedriver's `goog/cdp/execute`), so they return the result.

use fantoccini::Client;
use fantoccini::wd::WebDriverCompatibleCommand;
use serde_json::{Value, json};

/// One DevTools command of the page the session drives.
#[derive(Debug)]
struct Execute {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Execute {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Sends `cmd` with `params` and returns its result.
pub async fn send(browser: &Client, cmd: &'static str, params: Value) -> Result<Value, String> {
    browser
        .issue_cmd(Execute { cmd, params })
        .await
        .map_err(|e| format!("{cmd}: {e}"))
}

/// What `Performance.getMetrics` reports for the current document, read
/// once the page has settled. Durations are in milliseconds of the main
/// thread's CPU time when the domain was enabled with `threadTicks` (see
/// [`enable_metrics`]); they count from the document's start.
#[derive(Clone, Copy, Debug)]
pub struct Metrics {
    /// Every task on the main thread (parsing, script, style, layout,
    /// paint), less the DevTools commands chromedriver itself ran in the
    /// page (its navigation and polling): the page's own work.
    pub task_ms: f64,
    /// Running script, and compiling it.
    pub script_ms: f64,
}

/// Turns on the page's run-time metrics, measured in main-thread CPU time
/// rather than wall time: two cores, shared with the server and the
/// browser's other threads, make wall time the noisier of the two.
pub async fn enable_metrics(browser: &Client) -> Result<(), String> {
    send(
        browser,
        "Performance.enable",
        json!({ "timeDomain": "threadTicks" }),
    )
    .await
    .map(drop)
}

pub async fn metrics(browser: &Client) -> Result<Metrics, String> {
    let answer = send(browser, "Performance.getMetrics", json!({})).await?;
    let value = |name: &str| {
        answer["metrics"]
            .as_array()
            .and_then(|all| all.iter().find(|m| m["name"] == name))
            .and_then(|m| m["value"].as_f64())
            .map(|seconds| seconds * 1000.0)
            .ok_or_else(|| format!("Performance.getMetrics has no {name}: {answer}"))
    };
    let task_ms = value("TaskDuration")?;
    if task_ms <= 0.0 {
        return Err("Performance.getMetrics counted no main-thread time".into());
    }
    Ok(Metrics {
        task_ms: task_ms - value("DevToolsCommandDuration")?,
        script_ms: value("ScriptDuration")? + value("V8CompileDuration")?,
    })
}
