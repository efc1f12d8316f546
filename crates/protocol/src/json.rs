//! A small JSON writer for what the collector sends.
//!
//! The collector loads on every page of a customer's site, with a budget of
//! 15 KB (gzip) for everything; serde_json and serde's generated code for
//! these types cost several times that in wasm. So the collector writes its
//! JSON with this module, which uses no `core::fmt` and no serde, and reads
//! what it stored with the browser's own `JSON.parse`. The types, and serde's
//! view of them that the server parses, stay the one definition: the tests
//! below check that serde reads back exactly what this writes, for every kind.
//!
//! Numbers are written with at most six decimal places.

use crate::consent::{ConsentDecision, ConsentRecord, Grants};
use crate::erase::EraseRequest;
use crate::event::{Campaign, ErrorReport, Event, EventData, PropValue};

/// Writes the members of one JSON object into a string.
pub struct Object<'a> {
    out: &'a mut String,
    empty: bool,
}

impl<'a> Object<'a> {
    pub fn begin(out: &'a mut String) -> Self {
        out.push('{');
        Object { out, empty: true }
    }

    /// Writes `"key":` and returns the buffer for the value.
    pub fn key(&mut self, key: &str) -> &mut String {
        if !self.empty {
            self.out.push(',');
        }
        self.empty = false;
        string(self.out, key);
        self.out.push(':');
        self.out
    }

    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        string(self.key(key), value);
        self
    }

    pub fn opt_str(&mut self, key: &str, value: Option<&String>) -> &mut Self {
        if let Some(value) = value {
            self.str(key, value);
        }
        self
    }

    pub fn int(&mut self, key: &str, value: i64) -> &mut Self {
        int(self.key(key), value);
        self
    }

    pub fn number(&mut self, key: &str, value: f64) -> &mut Self {
        number(self.key(key), value);
        self
    }

    pub fn bool(&mut self, key: &str, value: bool) -> &mut Self {
        self.key(key).push_str(if value { "true" } else { "false" });
        self
    }

    /// A value that is already JSON.
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key).push_str(json);
        self
    }

    pub fn end(&mut self) {
        self.out.push('}');
    }
}

/// A JSON string literal. Scanned as bytes: only ASCII is ever escaped.
pub fn string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut copied = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..0x20 => "",
            _ => continue,
        };
        out.push_str(&s[copied..i]);
        copied = i + 1;
        if escaped.is_empty() {
            out.push_str("\\u00");
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        } else {
            out.push_str(escaped);
        }
    }
    out.push_str(&s[copied..]);
    out.push('"');
}

/// An integer, in decimal.
pub fn int(out: &mut String, value: i64) {
    if value < 0 {
        out.push('-');
    }
    let mut n = value.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for d in digits[..len].iter().rev() {
        out.push(*d as char);
    }
}

/// A finite number with at most six decimal places (`null` otherwise;
/// validation refuses it).
pub fn number(out: &mut String, value: f64) {
    if !value.is_finite() {
        out.push_str("null");
        return;
    }
    if value.abs() >= 1e13 {
        // Beyond what six decimals can say in a u64 of millionths; `as`
        // saturates at i64's range.
        int(out, value as i64);
        return;
    }
    let micros = (value.abs() * 1e6).round() as u64;
    if value < 0.0 && micros != 0 {
        out.push('-');
    }
    int(out, (micros / 1_000_000) as i64);
    let mut fraction = micros % 1_000_000;
    if fraction != 0 {
        out.push('.');
        let mut divisor = 100_000;
        while fraction != 0 {
            out.push((b'0' + (fraction / divisor) as u8) as char);
            fraction %= divisor;
            divisor /= 10;
        }
    }
}

fn grants(out: &mut String, g: Grants) {
    Object::begin(out)
        .bool("usage", g.usage)
        .bool("errors", g.errors)
        .bool("performance", g.performance)
        .bool("marketing", g.marketing)
        .end();
}

impl Event {
    /// This event as the JSON the server reads.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(160);
        let mut o = Object::begin(&mut out);
        o.str("id", &self.id)
            .int("ts", self.ts)
            .opt_str("session", self.session.as_ref())
            .str("url", &self.url)
            .str("kind", self.data.kind());
        match &self.data {
            EventData::PageView {
                referrer,
                title,
                campaign,
            } => {
                o.opt_str("referrer", referrer.as_ref())
                    .opt_str("title", title.as_ref());
                if !campaign.is_empty() {
                    let Campaign {
                        source,
                        medium,
                        campaign,
                        term,
                        content,
                    } = campaign;
                    Object::begin(o.key("campaign"))
                        .opt_str("source", source.as_ref())
                        .opt_str("medium", medium.as_ref())
                        .opt_str("campaign", campaign.as_ref())
                        .opt_str("term", term.as_ref())
                        .opt_str("content", content.as_ref())
                        .end();
                }
            }
            EventData::Click { name } => {
                o.str("name", name);
            }
            EventData::Outbound { href } | EventData::Download { href } => {
                o.str("href", href);
            }
            EventData::FormSubmit { form } => {
                o.str("form", form);
            }
            EventData::Custom { name, props, value } => {
                o.str("name", name);
                if !props.is_empty() {
                    let mut p = Object::begin(o.key("props"));
                    for (key, value) in props {
                        match value {
                            PropValue::Bool(b) => p.bool(key, *b),
                            PropValue::Number(n) => p.number(key, *n),
                            PropValue::Text(s) => p.str(key, s),
                        };
                    }
                    p.end();
                }
                if let Some(value) = value {
                    o.number("value", *value);
                }
            }
            EventData::Error(ErrorReport {
                message,
                source,
                line,
                column,
                stack,
                rejection,
            }) => {
                o.str("message", message).opt_str("source", source.as_ref());
                if let Some(line) = line {
                    o.int("line", (*line).into());
                }
                if let Some(column) = column {
                    o.int("column", (*column).into());
                }
                o.opt_str("stack", stack.as_ref())
                    .bool("rejection", *rejection);
            }
            EventData::Vital { metric, value } => {
                o.str("metric", metric.as_str()).number("value", *value);
            }
        }
        o.end();
        out
    }
}

/// A batch whose events are already JSON (the collector keeps its queue so).
pub fn batch(site: &str, consent: Grants, events: &[&str]) -> String {
    let mut out = String::with_capacity(64 + events.iter().map(|e| e.len() + 1).sum::<usize>());
    let mut o = Object::begin(&mut out);
    o.str("site", site);
    grants(o.key("consent"), consent);
    let list = o.key("events");
    list.push('[');
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        list.push_str(event);
    }
    list.push(']');
    o.end();
    out
}

impl ConsentDecision {
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        let mut o = Object::begin(&mut out);
        o.int("policy_version", self.policy_version.into());
        grants(o.key("grants"), self.grants);
        o.int("decided_at", self.decided_at)
            .str("consent_id", &self.consent_id)
            .bool("gpc", self.gpc)
            .end();
        out
    }
}

impl ConsentRecord {
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        let mut o = Object::begin(&mut out);
        o.str("site", &self.site)
            .str("consent_id", &self.consent_id);
        grants(o.key("grants"), self.grants);
        o.int("policy_version", self.policy_version.into())
            .bool("gpc", self.gpc)
            .str("source", self.source.as_str())
            .int("decided_at", self.decided_at)
            .end();
        out
    }
}

impl EraseRequest {
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        let mut o = Object::begin(&mut out);
        o.str("site", &self.site);
        let list = o.key("sessions");
        list.push('[');
        for (i, session) in self.sessions.iter().enumerate() {
            if i > 0 {
                list.push(',');
            }
            string(list, session);
        }
        list.push(']');
        o.opt_str("consent_id", self.consent_id.as_ref()).end();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::DecisionSource;
    use crate::event::{Batch, Props, Vital};

    fn event(data: EventData) -> Event {
        Event {
            id: "0123abcd".into(),
            ts: 1_764_000_000_123,
            session: Some("s1".into()),
            url: "/demo/cart.html".into(),
            data,
        }
    }

    fn every_kind() -> Vec<EventData> {
        vec![
            EventData::PageView {
                referrer: Some("news.example".into()),
                title: Some("Cart \"deluxe\" \\ ünïcode \n\t\u{1}".into()),
                campaign: Campaign {
                    source: Some("news".into()),
                    campaign: Some("spring sale".into()),
                    ..Campaign::default()
                },
            },
            EventData::PageView {
                referrer: None,
                title: None,
                campaign: Campaign::default(),
            },
            EventData::Click {
                name: "add_to_cart".into(),
            },
            EventData::Outbound {
                href: "tea.example.org/guide".into(),
            },
            EventData::Download {
                href: "/files/catalogue.pdf".into(),
            },
            EventData::FormSubmit {
                form: "checkout".into(),
            },
            EventData::Custom {
                name: "purchase".into(),
                props: Props::from([
                    ("items".into(), PropValue::Number(2.0)),
                    ("gift".into(), PropValue::Bool(false)),
                    ("plan".into(), PropValue::Text("pro".into())),
                ]),
                value: Some(67.5),
            },
            EventData::Custom {
                name: "signup".into(),
                props: Props::new(),
                value: None,
            },
            EventData::Error(ErrorReport {
                message: "Payment failed for [email]".into(),
                source: Some("shop.example/app.js".into()),
                line: Some(12),
                column: Some(34),
                stack: Some("Error: x\n    at f (app.js:1:2)".into()),
                rejection: true,
            }),
            EventData::Vital {
                metric: Vital::Cls,
                value: 0.1234,
            },
            EventData::Vital {
                metric: Vital::Lcp,
                value: 1840.0,
            },
        ]
    }

    #[test]
    fn serde_reads_back_every_event_kind_exactly() {
        for data in every_kind() {
            let original = event(data);
            let json = original.to_json();
            let parsed: Event =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
            assert_eq!(parsed, original, "{json}");
        }
    }

    #[test]
    fn a_batch_of_preencoded_events_parses_as_a_batch() {
        let events: Vec<Event> = every_kind().into_iter().map(event).collect();
        let encoded: Vec<String> = events.iter().map(Event::to_json).collect();
        let refs: Vec<&str> = encoded.iter().map(String::as_str).collect();
        let json = batch("demo", Grants::accept_all(true), &refs);
        let parsed: Batch = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed.site, "demo");
        assert_eq!(parsed.consent, Grants::accept_all(true));
        assert_eq!(parsed.events, events);
    }

    #[test]
    fn consent_and_erase_bodies_parse_on_the_server() {
        let decision = ConsentDecision {
            policy_version: 3,
            grants: Grants::ALL,
            decided_at: 1_764_000_000_000,
            consent_id: "c0ffee".into(),
            gpc: true,
        };
        assert_eq!(
            serde_json::from_str::<ConsentDecision>(&decision.to_json()).unwrap(),
            decision
        );
        let record = ConsentRecord {
            site: "demo".into(),
            consent_id: "c0ffee".into(),
            grants: Grants::NONE,
            policy_version: 3,
            gpc: false,
            source: DecisionSource::Settings,
            decided_at: 5,
        };
        assert_eq!(
            serde_json::from_str::<ConsentRecord>(&record.to_json()).unwrap(),
            record
        );
        for request in [
            EraseRequest {
                site: "demo".into(),
                sessions: vec!["a".into(), "b".into()],
                consent_id: Some("c0ffee".into()),
            },
            EraseRequest {
                site: "demo".into(),
                sessions: vec![],
                consent_id: None,
            },
        ] {
            assert_eq!(
                serde_json::from_str::<EraseRequest>(&request.to_json()).unwrap(),
                request
            );
        }
    }

    #[test]
    fn numbers_keep_six_decimals_without_float_formatting() {
        let cases = [
            (0.0, "0"),
            (3.0, "3"),
            (-1.25, "-1.25"),
            (67.5, "67.5"),
            (0.1234, "0.1234"),
            (0.000_000_4, "0"),
            (1_234_567.891_234_9, "1234567.891235"),
            (1e17, "100000000000000000"),
            // Millionths of this overflow a u64; it was written as 18446744073709.551615.
            (123_456_789_012_345.0, "123456789012345"),
            (f64::NAN, "null"),
        ];
        for (value, expected) in cases {
            let mut out = String::new();
            number(&mut out, value);
            assert_eq!(out, expected, "{value}");
        }
        let mut out = String::new();
        int(&mut out, i64::MIN);
        assert_eq!(out, i64::MIN.to_string());
    }
}
