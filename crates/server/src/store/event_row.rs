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

/// The columns [`StoredColumns`] reads back, in its order, as every engine
/// names them.
pub(crate) const STORED_COLUMNS: &str = "id, site, kind, visitor_id, session_id, path, \
    referrer_host, title, utm_source, utm_medium, utm_campaign, utm_term, utm_content, name, \
    href, value, props, error_message, error_source, error_line, error_column, error_stack, \
    error_rejection, browser, os, device";

/// An `events` row read back (its [`STORED_COLUMNS`] and `ts`), to become
/// the event it was written from: the reverse of [`EventRow`], for moving
/// events between stores.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub(crate) struct StoredColumns {
    pub id: String,
    pub site: String,
    pub kind: String,
    pub ts: i64,
    pub visitor_id: i64,
    pub session_id: Option<String>,
    pub path: String,
    pub referrer_host: Option<String>,
    pub title: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    pub name: Option<String>,
    pub href: Option<String>,
    pub value: Option<f64>,
    pub props: Option<String>,
    pub error_message: Option<String>,
    pub error_source: Option<String>,
    pub error_line: Option<u32>,
    pub error_column: Option<u32>,
    pub error_stack: Option<String>,
    /// 0 or 1 on ClickHouse, a boolean on DuckDB.
    pub error_rejection: Option<u8>,
    pub browser: Option<String>,
    pub os: Option<String>,
    pub device: Option<String>,
}

impl StoredColumns {
    /// The event these columns were written from; an error names a row
    /// whose kind lacks a column it needs.
    pub fn into_event(self) -> Result<StoredEvent, super::StoreError> {
        use sonde_protocol::{Campaign, ErrorReport, Props, Vital};
        let id = self.id;
        let needed = |column: Option<String>, name: &str| {
            column.ok_or_else(|| {
                super::StoreError::Corrupt(format!("event {id:?} ({}) has no {name}", self.kind))
            })
        };
        let data = match self.kind.as_str() {
            "page_view" => EventData::PageView {
                referrer: self.referrer_host,
                title: self.title,
                campaign: Campaign {
                    source: self.utm_source,
                    medium: self.utm_medium,
                    campaign: self.utm_campaign,
                    term: self.utm_term,
                    content: self.utm_content,
                },
            },
            "click" => EventData::Click {
                name: needed(self.name, "name")?,
            },
            "form_submit" => EventData::FormSubmit {
                form: needed(self.name, "name")?,
            },
            "outbound" => EventData::Outbound {
                href: needed(self.href, "href")?,
            },
            "download" => EventData::Download {
                href: needed(self.href, "href")?,
            },
            "custom" => EventData::Custom {
                name: needed(self.name, "name")?,
                props: match self.props {
                    Some(json) => serde_json::from_str::<Props>(&json).map_err(|e| {
                        super::StoreError::Corrupt(format!("event {id:?} has props {json:?}: {e}"))
                    })?,
                    None => Props::new(),
                },
                value: self.value,
            },
            "error" => EventData::Error(ErrorReport {
                message: needed(self.error_message, "error_message")?,
                source: self.error_source,
                line: self.error_line,
                column: self.error_column,
                stack: self.error_stack,
                rejection: self.error_rejection == Some(1),
            }),
            "vital" => {
                let name = needed(self.name, "name")?;
                EventData::Vital {
                    metric: Vital::from_name(&name).ok_or_else(|| {
                        super::StoreError::Corrupt(format!("event {id:?} has vital {name:?}"))
                    })?,
                    value: self.value.unwrap_or_default(),
                }
            }
            other => {
                return Err(super::StoreError::Corrupt(format!(
                    "event {id:?} has kind {other:?}"
                )));
            }
        };
        Ok(StoredEvent {
            id,
            site: self.site,
            ts: self.ts,
            visitor_id: self.visitor_id,
            session_id: self.session_id,
            path: self.path,
            software: crate::user_agent::Software {
                browser: self.browser.unwrap_or_default(),
                os: self.os.unwrap_or_default(),
                device: crate::user_agent::Device::from_name(self.device.as_deref().unwrap_or("")),
            },
            data,
        })
    }
}
