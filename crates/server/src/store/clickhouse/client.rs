//! A ClickHouse server over its HTTP interface: a statement is the body of
//! a POST, its settings are in the URL. Plain HTTP depends on no feature
//! of a particular ClickHouse version (the `clickhouse` crate's row
//! checks need a newer server than Debian's 18.16).

use std::time::Duration;

/// Why ClickHouse did not run a statement.
/// The largest answer read. Reports read their rows whole (a month of a
/// busy site's visits or error rows is hundreds of MB), well past ureq's
/// default of 10 MB; a larger one is a query to page, not to read.
const MAX_ANSWER_BYTES: u64 = 2 << 30;

#[derive(Debug, thiserror::Error)]
pub enum ClickHouseError {
    /// No answer: the server is down, unreachable, or too slow.
    #[error("ClickHouse at {url} did not answer: {reason}")]
    Unreachable { url: String, reason: String },
    /// The server answered with an error: its code (for example 286, a
    /// concurrent quorum insert) and message.
    #[error("ClickHouse at {url} refused a statement (code {code}): {message}")]
    Refused {
        url: String,
        code: u32,
        message: String,
    },
    /// The server answered with something Sonde cannot read.
    #[error("ClickHouse at {url} answered what cannot be read: {reason}")]
    Unreadable { url: String, reason: String },
}

impl ClickHouseError {
    /// ClickHouse's error code, when the server answered.
    pub fn code(&self) -> Option<u32> {
        match self {
            ClickHouseError::Refused { code, .. } => Some(*code),
            ClickHouseError::Unreachable { .. } | ClickHouseError::Unreadable { .. } => None,
        }
    }
}

/// One ClickHouse server (a replica), reached over HTTP.
#[derive(Clone, Debug)]
pub struct Client {
    agent: ureq::Agent,
    url: String,
}

impl Client {
    /// A client of the server at `url` (`http://host:8123/`).
    pub fn new(url: &str) -> Client {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(60)))
            .http_status_as_error(false)
            .build()
            .into();
        Client {
            agent,
            url: url.trim_end_matches('/').to_owned() + "/",
        }
    }

    /// The server's address, as given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs one statement; what it returns, as text (`TabSeparated` unless
    /// the statement says `FORMAT`).
    pub fn run(&self, sql: &str) -> Result<String, ClickHouseError> {
        self.run_with(sql, &[])
    }

    /// Runs an `INSERT` statement (given in the URL) with its `data` as the
    /// body, and ClickHouse settings.
    pub fn insert(
        &self,
        statement: &str,
        data: &[u8],
        settings: &[(&str, &str)],
    ) -> Result<(), ClickHouseError> {
        let mut all = vec![("query", statement)];
        all.extend_from_slice(settings);
        self.send(data, &all).map(drop)
    }

    /// Runs one statement with ClickHouse settings (`insert_quorum`, …).
    pub fn run_with(
        &self,
        sql: &str,
        settings: &[(&str, &str)],
    ) -> Result<String, ClickHouseError> {
        self.send(sql.as_bytes(), settings)
    }

    /// POSTs `body` with `parameters` in the URL: what ClickHouse answered,
    /// or why not.
    fn send(&self, body: &[u8], parameters: &[(&str, &str)]) -> Result<String, ClickHouseError> {
        let unreachable = |reason: String| ClickHouseError::Unreachable {
            url: self.url.clone(),
            reason,
        };
        let mut request = self.agent.post(&self.url);
        for (name, value) in parameters {
            request = request.query(*name, *value);
        }
        let mut response = request.send(body).map_err(|e| unreachable(e.to_string()))?;
        let status = response.status();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_string()
            .map_err(|e| unreachable(e.to_string()))?;
        if status.is_success() {
            return Ok(text);
        }
        Err(ClickHouseError::Refused {
            url: self.url.clone(),
            code: error_code(&text).unwrap_or(0),
            message: text.trim().to_owned(),
        })
    }
}

impl Client {
    /// Runs a query and reads its rows, one `T` per row of `JSONEachRow`
    /// (64-bit numbers as numbers, not strings).
    pub fn rows<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        settings: &[(&str, &str)],
    ) -> Result<Vec<T>, ClickHouseError> {
        let mut all = vec![("output_format_json_quote_64bit_integers", "0")];
        all.extend_from_slice(settings);
        let text = self.run_with(&format!("{sql}\nFORMAT JSONEachRow"), &all)?;
        text.lines()
            .map(|line| {
                serde_json::from_str(line).map_err(|e| ClickHouseError::Unreadable {
                    url: self.url.clone(),
                    reason: format!("{e} in {line:?}"),
                })
            })
            .collect()
    }
}

/// The code in an error ClickHouse sends as text: `Code: 60, e.displayText()
/// = DB::Exception: …`.
fn error_code(body: &str) -> Option<u32> {
    let rest = body.trim_start().strip_prefix("Code: ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_s_code_is_read_from_clickhouse_s_text() {
        assert_eq!(
            error_code("Code: 286, e.displayText() = DB::Exception: Another quorum insert"),
            Some(286)
        );
        assert_eq!(
            error_code("Code: 60, e.displayText() = DB::Exception: Table"),
            Some(60)
        );
        assert_eq!(error_code("something else"), None);
    }

    #[test]
    fn a_server_that_is_not_there_is_unreachable_not_refused() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        // Nothing listens once the listener is dropped.
        let client = Client::new(&format!("http://127.0.0.1:{port}"));
        let error = client.run("SELECT 1").unwrap_err();
        assert!(
            matches!(error, ClickHouseError::Unreachable { .. }),
            "{error}"
        );
        assert_eq!(error.code(), None);
    }
}
