//! One page load, measured: the bytes of the resources a tool added to it
//! and the main thread's time, read from the browser itself (Resource
//! Timing, `Performance.getMetrics`, long tasks).

use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::cdp;

/// How long a page is left to itself after its `load` event before it is
/// measured: long enough for a banner to appear and for the fetches and
/// timers that follow a load (a banner's settings, a first batch of events)
/// to run.
pub const SETTLE: Duration = Duration::from_secs(2);
/// How long to wait for a tool to show its banner or start, after
/// [`SETTLE`], before calling it broken.
const GRACE: Duration = Duration::from_secs(10);

/// One resource a tool loaded, as Resource Timing reports it.
#[derive(Clone, Debug)]
pub struct Resource {
    /// Path and query, without the origin.
    pub path: String,
    /// Bytes over the network: body as sent plus headers; 0 from the cache.
    pub transfer: u64,
    pub decoded: u64,
    /// `Content-Encoding` of the response, empty when it had none.
    pub encoding: String,
}

/// One measured page load.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The tool's resources only.
    pub resources: Vec<Resource>,
    pub metrics: cdp::Metrics,
    /// Sum of the page's long tasks (over 50 ms, wall time).
    pub long_tasks_ms: f64,
}

impl Sample {
    pub fn transfer(&self) -> u64 {
        self.resources.iter().map(|r| r.transfer).sum()
    }
    pub fn decoded(&self) -> u64 {
        self.resources.iter().map(|r| r.decoded).sum()
    }
}

/// Resource Timing and the long tasks since navigation (buffered, so the
/// observer sees those from before it was made).
const PAGE_ENTRIES: &str = "return new Promise(done => {
    const longTasks = [];
    const observer = new PerformanceObserver(list => longTasks.push(...list.getEntries().map(e => e.duration)));
    observer.observe({ type: 'longtask', buffered: true });
    setTimeout(() => {
        observer.disconnect();
        done({
            longTasks,
            resources: performance.getEntriesByType('resource').map(e => ({
                url: e.name, transfer: e.transferSize, decoded: e.decodedBodySize,
                encoding: e.contentEncoding || '',
            })),
        });
    }, 50);
})";

/// What a tool's page is measured for.
#[derive(Clone, Copy, Debug)]
pub struct Page<'a> {
    pub url: &'a str,
    /// Where the tool keeps what it stores (its decision, its visitor).
    pub origin: &'a str,
    /// URL prefixes of the tool's resources: what its bytes count.
    pub counted: &'a [String],
}

/// Whether a cold load is a visitor's first (nothing stored) or a
/// returning visitor's (what earlier visits stored is kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visit {
    First,
    Returning,
}

/// Loads `page` cold, and measures it once it has settled: an empty HTTP
/// cache, and none of the compiled code V8 keeps in memory from an earlier
/// load of the same scripts. The page `between` (a blank page of the same
/// site, so the same renderer process) is opened first and the heap
/// collected there: V8's compilation cache holds its code weakly, and a
/// full collection empties it (checked: Klaro's script time after it is
/// that of a new process, against a sixth of that without). A new process
/// per load would do the same, with twice the spread between loads. A
/// first visit also starts with nothing stored for the page's origin.
pub async fn cold(
    browser: &Client,
    between: &str,
    page: Page<'_>,
    visit: Visit,
    ready: &str,
) -> Result<Sample, String> {
    // Away first: the page left behind may still store things as it goes.
    browser
        .goto(between)
        .await
        .map_err(|e| format!("cannot open {between}: {e}"))?;
    for _ in 0..2 {
        cdp::send(browser, "HeapProfiler.collectGarbage", json!({})).await?;
    }
    if visit == Visit::First {
        forget(browser, page.origin).await?;
    }
    cdp::send(browser, "Network.clearBrowserCache", json!({})).await?;
    warm(browser, page, ready).await
}

/// Loads `page` as it comes (the cache as earlier loads left it), and
/// measures it: its main-thread time until [`SETTLE`] after `load`, and its
/// resources once the JavaScript expression `ready` is true.
pub async fn warm(browser: &Client, page: Page<'_>, ready: &str) -> Result<Sample, String> {
    browser
        .goto(page.url)
        .await
        .map_err(|e| format!("cannot load {}: {e}", page.url))?;
    tokio::time::sleep(SETTLE).await;
    // Before anything else runs in the page.
    let metrics = cdp::metrics(browser).await?;
    wait_for(browser, ready).await?;
    let entries = browser
        .execute(PAGE_ENTRIES, vec![])
        .await
        .map_err(|e| format!("cannot read Resource Timing: {e}"))?;
    let long_tasks_ms = entries["longTasks"]
        .as_array()
        .map(|all| all.iter().filter_map(Value::as_f64).fold(0.0, |a, b| a + b))
        .unwrap_or(0.0);
    let resources = entries["resources"]
        .as_array()
        .ok_or("Resource Timing gave no list")?
        .iter()
        .filter_map(|e| {
            let url = e["url"].as_str()?;
            page.counted.iter().find(|p| url.starts_with(p.as_str()))?;
            let bytes = |k: &str| e[k].as_f64().unwrap_or(0.0) as u64;
            let path = url::Url::parse(url).ok()?;
            Some(Resource {
                path: match path.query() {
                    Some(q) => format!("{}?{q}", path.path()),
                    None => path.path().to_owned(),
                },
                transfer: bytes("transfer"),
                decoded: bytes("decoded"),
                encoding: e["encoding"].as_str().unwrap_or_default().to_owned(),
            })
        })
        .collect();
    Ok(Sample {
        resources,
        metrics,
        long_tasks_ms,
    })
}

/// Waits until the JavaScript expression `ready` is true in the page.
async fn wait_for(browser: &Client, ready: &str) -> Result<(), String> {
    let script = format!("return !!({ready})");
    let deadline = tokio::time::Instant::now() + GRACE;
    loop {
        let value = browser
            .execute(&script, vec![])
            .await
            .map_err(|e| format!("cannot check `{ready}`: {e}"))?;
        if value.as_bool() == Some(true) {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!(
                "`{ready}` was not true within {} s of load",
                (SETTLE + GRACE).as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the element at `css`, as a visitor would.
pub async fn click(browser: &Client, css: &str) -> Result<(), String> {
    browser
        .find(Locator::Css(css))
        .await
        .map_err(|e| format!("no {css}: {e}"))?
        .click()
        .await
        .map_err(|e| format!("cannot click {css}: {e}"))
}

/// Forgets everything `origin` stored (cookies, local storage, IndexedDB).
async fn forget(browser: &Client, origin: &str) -> Result<(), String> {
    cdp::send(browser, "Network.clearBrowserCookies", json!({})).await?;
    cdp::send(
        browser,
        "Storage.clearDataForOrigin",
        json!({ "origin": origin, "storageTypes": "all" }),
    )
    .await
    .map(drop)
}

/// The median of `values`.
pub fn median(values: Vec<f64>) -> f64 {
    quantile(values, 0.5)
}

/// The `q` quantile of `values`, interpolated between the two nearest.
pub fn quantile(mut values: Vec<f64>, q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let at = q * (values.len() - 1) as f64;
    let (low, high) = (at.floor() as usize, at.ceil() as usize);
    values[low] + (values[high] - values[low]) * (at - low as f64)
}
