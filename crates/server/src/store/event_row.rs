//! An event as a row of the wide `events` table: each field of its kind in
//! its column, NULL where the kind has none. One definition for every
//! engine, so that DuckDB and ClickHouse store the same values and every
//! report can be held equal across them.

use serde::Serialize;
use sonde_protocol::EventData;

use super::StoredEvent;

/// The columns of one event, borrowed from it. Serialized, it is a row of
/// ClickHouse's `JSONEachRow` (the store adds `seq`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct EventRow<'e> {
    pub id: &'e str,
    pub site: &'e str,
    pub kind: &'static str,
    pub category: &'static str,
    /// ms since the Unix epoch, UTC.
    pub ts: i64,
    pub visitor_id: i64,
    pub session_id: Option<&'e str>,
    pub session_key: u64,
    pub path: &'e str,
    pub referrer_host: Option<&'e str>,
    pub title: Option<&'e str>,
    pub utm_source: Option<&'e str>,
    pub utm_medium: Option<&'e str>,
    pub utm_campaign: Option<&'e str>,
    pub utm_term: Option<&'e str>,
    pub utm_content: Option<&'e str>,
    pub name: Option<&'e str>,
    pub href: Option<&'e str>,
    pub value: Option<f64>,
    /// A custom event's properties as a JSON object; NULL when it has none.
    pub props: Option<String>,
    pub error_message: Option<&'e str>,
    pub error_source: Option<&'e str>,
    pub error_line: Option<u32>,
    pub error_column: Option<u32>,
    pub error_stack: Option<&'e str>,
    #[serde(serialize_with = "as_number")]
    pub error_rejection: Option<bool>,
    pub browser: &'e str,
    pub os: &'e str,
    pub device: &'static str,
}

impl<'e> From<&'e StoredEvent> for EventRow<'e> {
    fn from(e: &'e StoredEvent) -> Self {
        let mut row = EventRow {
            id: &e.id,
            site: &e.site,
            kind: e.data.kind(),
            category: e.data.category().as_str(),
            ts: e.ts,
            visitor_id: e.visitor_id,
            session_id: e.session_id.as_deref(),
            session_key: session_key(e.session_id.as_deref().unwrap_or(&e.id)),
            path: &e.path,
            referrer_host: None,
            title: None,
            utm_source: None,
            utm_medium: None,
            utm_campaign: None,
            utm_term: None,
            utm_content: None,
            name: None,
            href: None,
            value: None,
            props: None,
            error_message: None,
            error_source: None,
            error_line: None,
            error_column: None,
            error_stack: None,
            error_rejection: None,
            browser: &e.software.browser,
            os: &e.software.os,
            device: e.software.device.as_str(),
        };
        match &e.data {
            EventData::PageView {
                referrer,
                title,
                campaign,
            } => {
                row.referrer_host = referrer.as_deref();
                row.title = title.as_deref();
                row.utm_source = campaign.source.as_deref();
                row.utm_medium = campaign.medium.as_deref();
                row.utm_campaign = campaign.campaign.as_deref();
                row.utm_term = campaign.term.as_deref();
                row.utm_content = campaign.content.as_deref();
            }
            EventData::Click { name } | EventData::FormSubmit { form: name } => {
                row.name = Some(name)
            }
            EventData::Outbound { href } | EventData::Download { href } => row.href = Some(href),
            EventData::Custom { name, props, value } => {
                row.name = Some(name);
                row.value = *value;
                row.props =
                    (!props.is_empty()).then(|| serde_json::to_string(props).unwrap_or_default());
            }
            EventData::Error(report) => {
                row.error_message = Some(&report.message);
                row.error_source = report.source.as_deref();
                row.error_line = report.line;
                row.error_column = report.column;
                row.error_stack = report.stack.as_deref();
                row.error_rejection = Some(report.rejection);
            }
            EventData::Vital { metric, value } => {
                row.name = Some(metric.as_str());
                row.value = Some(*value);
            }
        }
        row
    }
}

/// The number all events of a session share, from its session id (or an
/// event's own id when it has none): the low half of its MD5, as DuckDB's
/// `md5_number_lower` computes it, so that DuckDB's `SESSION_KEY_OF_ROW`
/// gives rows stored before the column the same numbers, and every engine
/// the same. MD5 for being the same everywhere and in every version, not
/// for secrecy; two sessions share a key with odds of about one in 10^7
/// among a million. Reports name a session by this number, in decimal.
pub(crate) fn session_key(session: &str) -> u64 {
    use md5::Digest;
    let digest = md5::Md5::digest(session.as_bytes());
    let mut low = [0; 8];
    low.copy_from_slice(&digest[8..]);
    u64::from_le_bytes(low)
}

/// A custom event's stored properties (a JSON object, as [`EventRow`]'s
/// `props`) as text pairs.
pub(crate) fn props_as_text(json: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str(json) else {
        return Vec::new();
    };
    map.into_iter()
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (key, text)
        })
        .collect()
}

/// A flag as 0 or 1: ClickHouse 18.16 reads no `true` into a `UInt8`.
fn as_number<S: serde::Serializer>(flag: &Option<bool>, to: S) -> Result<S::Ok, S::Error> {
    match flag {
        Some(flag) => to.serialize_u8(u8::from(*flag)),
        None => to.serialize_none(),
    }
}
