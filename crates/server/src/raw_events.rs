//! A period's raw events as a file, for BI tools and scripts: read from
//! any store page by page in time order ([`TransferStore::events_after`])
//! and written as they come, as CSV rows or one Parquet row group per
//! page, so memory stays bounded and the download starts at once however
//! long the period.
//!
//! The columns are the events table's ([`EventRow`]), less the site (the
//! export is of one) and the session's raw tab id (its number, as the
//! reports name sessions, is kept).

use std::io::Write;
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use sonde_protocol::raw_events::RawEventsFormat;

use crate::store::event_row::EventRow;
use crate::store::transfer::EventPosition;
use crate::store::{StoreError, StoredEvent, TransferStore};

/// Events read from the store at a time: a Parquet row group.
pub const PAGE: usize = 8_192;

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum RawExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the file cannot be written: {0}")]
    Write(String),
}

impl From<std::io::Error> for RawExportError {
    fn from(e: std::io::Error) -> Self {
        RawExportError::Write(e.to_string())
    }
}

impl From<csv::Error> for RawExportError {
    fn from(e: csv::Error) -> Self {
        RawExportError::Write(e.to_string())
    }
}

impl From<parquet::errors::ParquetError> for RawExportError {
    fn from(e: parquet::errors::ParquetError) -> Self {
        RawExportError::Write(e.to_string())
    }
}

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    Text,
    /// Text holding a JSON object.
    Json,
    /// ms since the epoch, UTC; ISO 8601 in CSV.
    Time,
    Int,
    /// Unsigned, 64 bits (a session's number).
    Uint,
    Float,
    Bool,
}

/// A column of the export: its name, type, and whether some kinds leave
/// it empty.
struct Column {
    name: &'static str,
    ty: Type,
    optional: bool,
}

const fn column(name: &'static str, ty: Type, optional: bool) -> Column {
    Column { name, ty, optional }
}

/// Every column, in the order of the file.
const COLUMNS: [Column; 27] = [
    column("id", Type::Text, false),
    column("time", Type::Time, false),
    column("kind", Type::Text, false),
    column("category", Type::Text, false),
    column("visitor", Type::Int, false),
    column("session", Type::Uint, false),
    column("path", Type::Text, false),
    column("referrer_host", Type::Text, true),
    column("title", Type::Text, true),
    column("utm_source", Type::Text, true),
    column("utm_medium", Type::Text, true),
    column("utm_campaign", Type::Text, true),
    column("utm_term", Type::Text, true),
    column("utm_content", Type::Text, true),
    column("name", Type::Text, true),
    column("href", Type::Text, true),
    column("value", Type::Float, true),
    column("props", Type::Json, true),
    column("error_message", Type::Text, true),
    column("error_source", Type::Text, true),
    column("error_line", Type::Int, true),
    column("error_column", Type::Int, true),
    column("error_stack", Type::Text, true),
    column("error_rejection", Type::Bool, true),
    column("browser", Type::Text, false),
    column("os", Type::Text, false),
    column("device", Type::Text, false),
];

/// One value of a row.
#[derive(Clone, Debug, PartialEq)]
enum Cell<'e> {
    Text(Option<&'e str>),
    Json(Option<String>),
    Time(i64),
    Int(Option<i64>),
    Uint(u64),
    Float(Option<f64>),
    Bool(Option<bool>),
}

/// An event's values, in [`COLUMNS`]' order.
fn cells<'e>(row: &'e EventRow<'e>) -> [Cell<'e>; 27] {
    let text = |s: &'e str| Cell::Text(Some(s));
    [
        text(row.id),
        Cell::Time(row.ts),
        text(row.kind),
        text(row.category),
        Cell::Int(Some(row.visitor_id)),
        Cell::Uint(row.session_key),
        text(row.path),
        Cell::Text(row.referrer_host),
        Cell::Text(row.title),
        Cell::Text(row.utm_source),
        Cell::Text(row.utm_medium),
        Cell::Text(row.utm_campaign),
        Cell::Text(row.utm_term),
        Cell::Text(row.utm_content),
        Cell::Text(row.name),
        Cell::Text(row.href),
        Cell::Float(row.value),
        Cell::Json(row.props.clone()),
        Cell::Text(row.error_message),
        Cell::Text(row.error_source),
        Cell::Int(row.error_line.map(i64::from)),
        Cell::Int(row.error_column.map(i64::from)),
        Cell::Text(row.error_stack),
        Cell::Bool(row.error_rejection),
        text(row.browser),
        text(row.os),
        text(row.device),
    ]
}

/// The Parquet schema of [`COLUMNS`].
fn parquet_schema() -> String {
    let fields: String = COLUMNS
        .iter()
        .map(|c| {
            let repetition = if c.optional { "optional" } else { "required" };
            let ty = match c.ty {
                Type::Text => "binary {} (UTF8)",
                Type::Json => "binary {} (JSON)",
                Type::Time => "int64 {} (TIMESTAMP_MILLIS)",
                Type::Int => "int64 {}",
                Type::Uint => "int64 {} (UINT_64)",
                Type::Float => "double {}",
                Type::Bool => "boolean {}",
            };
            format!("  {repetition} {};\n", ty.replace("{}", c.name))
        })
        .collect();
    format!("message event {{\n{fields}}}")
}

/// Writes `site`'s events of `[from, to)` to `out` as `format`; the
/// number of events written.
pub fn write(
    store: &dyn TransferStore,
    site: &str,
    (from, to): (i64, i64),
    format: RawEventsFormat,
    out: impl Write + Send,
) -> Result<u64, RawExportError> {
    let mut pages = Pages {
        store,
        site,
        to,
        after: Some(EventPosition {
            ts: from,
            ..EventPosition::default()
        }),
    };
    match format {
        RawEventsFormat::Csv => write_csv(&mut pages, out),
        RawEventsFormat::Parquet => write_parquet(&mut pages, out),
    }
}

/// The period's events, a page at a time.
struct Pages<'s> {
    store: &'s dyn TransferStore,
    site: &'s str,
    to: i64,
    /// Where the next page begins; `None` once the period is read.
    after: Option<EventPosition>,
}

impl Pages<'_> {
    fn next(&mut self) -> Result<Option<Vec<StoredEvent>>, StoreError> {
        let Some(after) = self.after.take() else {
            return Ok(None);
        };
        let page = self.store.events_after(self.site, Some(&after), PAGE)?;
        let full = page.len() == PAGE;
        self.after = page.last().map(|(position, _)| position.clone());
        let events: Vec<StoredEvent> = page
            .into_iter()
            .map(|(_, e)| e)
            .take_while(|e| e.ts < self.to)
            .collect();
        if !full || self.after.as_ref().is_some_and(|a| a.ts >= self.to) {
            self.after = None;
        }
        Ok((!events.is_empty()).then_some(events))
    }
}

fn write_csv(pages: &mut Pages<'_>, out: impl Write) -> Result<u64, RawExportError> {
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(COLUMNS.iter().map(|c| c.name))?;
    let mut written = 0;
    while let Some(events) = pages.next()? {
        for event in &events {
            let row = EventRow::from(event);
            csv.write_record(cells(&row).iter().map(csv_text))?;
        }
        written += events.len() as u64;
        csv.flush()?;
    }
    csv.flush()?;
    Ok(written)
}

fn csv_text(cell: &Cell<'_>) -> String {
    match cell {
        Cell::Text(text) => text.unwrap_or_default().to_owned(),
        Cell::Json(json) => json.clone().unwrap_or_default(),
        Cell::Time(ms) => chrono::DateTime::from_timestamp_millis(*ms)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_default(),
        Cell::Int(n) => n.map(|n| n.to_string()).unwrap_or_default(),
        Cell::Uint(n) => n.to_string(),
        Cell::Float(x) => x.map(|x| x.to_string()).unwrap_or_default(),
        Cell::Bool(b) => b.map(|b| b.to_string()).unwrap_or_default(),
    }
}

fn write_parquet(pages: &mut Pages<'_>, out: impl Write + Send) -> Result<u64, RawExportError> {
    let schema = Arc::new(parse_message_type(&parquet_schema())?);
    let properties = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("Sonde {}", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    let mut file = SerializedFileWriter::new(out, schema, properties)?;
    let mut written = 0;
    while let Some(events) = pages.next()? {
        let rows: Vec<EventRow<'_>> = events.iter().map(EventRow::from).collect();
        let table: Vec<[Cell<'_>; 27]> = rows.iter().map(cells).collect();
        let mut group = file.next_row_group()?;
        let mut index = 0;
        while let Some(mut column) = group.next_column()? {
            let spec = &COLUMNS[index];
            let values = table.iter().map(|row| &row[index]);
            // A definition level per row: 1 where a value is, 0 where not.
            let levels = |present: &[bool]| -> Option<Vec<i16>> {
                spec.optional
                    .then(|| present.iter().map(|p| i16::from(*p)).collect())
            };
            match spec.ty {
                Type::Text | Type::Json => {
                    let texts: Vec<Option<ByteArray>> = values
                        .map(|cell| match cell {
                            Cell::Text(t) => t.map(ByteArray::from),
                            Cell::Json(j) => j.as_deref().map(ByteArray::from),
                            _ => None,
                        })
                        .collect();
                    let present: Vec<bool> = texts.iter().map(Option::is_some).collect();
                    let texts: Vec<ByteArray> = texts.into_iter().flatten().collect();
                    column.typed::<ByteArrayType>().write_batch(
                        &texts,
                        levels(&present).as_deref(),
                        None,
                    )?;
                }
                Type::Time | Type::Int | Type::Uint => {
                    let numbers: Vec<Option<i64>> = values
                        .map(|cell| match cell {
                            Cell::Time(ms) => Some(*ms),
                            Cell::Int(n) => *n,
                            // Parquet's UINT_64 is the same 64 bits.
                            Cell::Uint(n) => Some(*n as i64),
                            _ => None,
                        })
                        .collect();
                    let present: Vec<bool> = numbers.iter().map(Option::is_some).collect();
                    let numbers: Vec<i64> = numbers.into_iter().flatten().collect();
                    column.typed::<Int64Type>().write_batch(
                        &numbers,
                        levels(&present).as_deref(),
                        None,
                    )?;
                }
                Type::Float => {
                    let numbers: Vec<Option<f64>> = values
                        .map(|cell| match cell {
                            Cell::Float(x) => *x,
                            _ => None,
                        })
                        .collect();
                    let present: Vec<bool> = numbers.iter().map(Option::is_some).collect();
                    let numbers: Vec<f64> = numbers.into_iter().flatten().collect();
                    column.typed::<DoubleType>().write_batch(
                        &numbers,
                        levels(&present).as_deref(),
                        None,
                    )?;
                }
                Type::Bool => {
                    let flags: Vec<Option<bool>> = values
                        .map(|cell| match cell {
                            Cell::Bool(b) => *b,
                            _ => None,
                        })
                        .collect();
                    let present: Vec<bool> = flags.iter().map(Option::is_some).collect();
                    let flags: Vec<bool> = flags.into_iter().flatten().collect();
                    column.typed::<BoolType>().write_batch(
                        &flags,
                        levels(&present).as_deref(),
                        None,
                    )?;
                }
            }
            column.close()?;
            index += 1;
        }
        group.close()?;
        written += events.len() as u64;
    }
    file.close()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;
    use sonde_protocol::{ErrorReport, EventData, PropValue};

    use super::*;
    use crate::store::{DuckDbStore, IngestStore};
    use crate::user_agent::{Device, Software};

    const T: i64 = 1_796_000_000_000;

    fn event(id: &str, ts: i64, data: EventData) -> StoredEvent {
        StoredEvent {
            id: id.into(),
            site: "shop".into(),
            ts,
            visitor_id: 42,
            session_id: Some("tab-1".into()),
            path: "/pricing".into(),
            software: Software {
                browser: "Firefox".into(),
                os: "Linux".into(),
                device: Device::Desktop,
            },
            data,
        }
    }

    /// A page view before the period, three events in it (one a comma
    /// and quote in its title), one at its end.
    fn store() -> DuckDbStore {
        let store = DuckDbStore::in_memory().unwrap();
        let view = |title: &str| EventData::PageView {
            referrer: Some("news.example".into()),
            title: Some(title.into()),
            campaign: Default::default(),
        };
        store
            .write(&[
                event("before", T - 1, view("Before")),
                event("e1", T, view("Pricing, \"plans\"")),
                event(
                    "e2",
                    T + 1_000,
                    EventData::Error(ErrorReport {
                        message: "TypeError: x is undefined".into(),
                        source: None,
                        line: Some(12),
                        column: None,
                        stack: None,
                        rejection: false,
                    }),
                ),
                event(
                    "e3",
                    T + 2_000,
                    EventData::Custom {
                        name: "signup".into(),
                        props: [("plan".to_owned(), PropValue::Text("pro".into()))].into(),
                        value: Some(9.5),
                    },
                ),
                event("after", T + 10_000, view("After")),
            ])
            .unwrap();
        store
    }

    #[test]
    fn the_schema_has_a_field_per_column() {
        let schema = parse_message_type(&parquet_schema()).unwrap();
        let names: Vec<&str> = schema.get_fields().iter().map(|f| f.name()).collect();
        let columns: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(names, columns);
    }

    #[test]
    fn a_csv_export_holds_the_periods_events_in_time_order() {
        let mut out = Vec::new();
        let written = write(
            &store(),
            "shop",
            (T, T + 10_000),
            RawEventsFormat::Csv,
            &mut out,
        )
        .unwrap();
        assert_eq!(written, 3);
        let text = String::from_utf8(out).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header[..4], ["id", "time", "kind", "category"]);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let ids: Vec<&str> = rows.iter().map(|r| &r[0]).collect();
        assert_eq!(ids, ["e1", "e2", "e3"]);
        let column = |name: &str| header.iter().position(|h| h == name).unwrap();
        assert_eq!(&rows[0][column("title")], "Pricing, \"plans\"");
        assert_eq!(&rows[0][column("time")], "2026-11-30T00:53:20.000Z");
        assert_eq!(&rows[1][column("error_line")], "12");
        assert_eq!(&rows[1][column("title")], "", "no title on an error");
        assert_eq!(&rows[2][column("props")], r#"{"plan":"pro"}"#);
        assert_eq!(&rows[2][column("value")], "9.5");
        assert_eq!(&rows[2][column("visitor")], "42");
    }

    #[test]
    fn a_parquet_export_reads_back_with_its_types_and_nulls() {
        let mut out = Vec::new();
        let written = write(
            &store(),
            "shop",
            (T, T + 10_000),
            RawEventsFormat::Parquet,
            &mut out,
        )
        .unwrap();
        assert_eq!(written, 3);
        let file = SerializedFileReader::new(axum::body::Bytes::from(out)).unwrap();
        assert_eq!(file.metadata().file_metadata().num_rows(), 3);
        let rows: Vec<Vec<(String, Field)>> = file
            .get_row_iter(None)
            .unwrap()
            .map(|r| r.unwrap().into_columns())
            .collect();
        let get = |row: usize, name: &str| {
            rows[row]
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, f)| f.clone())
                .unwrap()
        };
        assert_eq!(get(0, "id"), Field::Str("e1".into()));
        assert_eq!(get(0, "time"), Field::TimestampMillis(T));
        assert_eq!(get(1, "error_line"), Field::Long(12));
        assert_eq!(get(0, "error_line"), Field::Null);
        assert_eq!(get(2, "value"), Field::Double(9.5));
        assert_eq!(get(1, "error_rejection"), Field::Bool(false));
        assert!(matches!(get(0, "session"), Field::ULong(_)));
    }

    #[test]
    fn a_long_period_is_read_page_by_page() {
        let store = DuckDbStore::in_memory().unwrap();
        let events: Vec<StoredEvent> = (0..PAGE as i64 * 2 + 5)
            .map(|i| {
                event(
                    &format!("e{i}"),
                    T + i / 3,
                    EventData::Click { name: "buy".into() },
                )
            })
            .collect();
        store.write(&events).unwrap();
        let mut out = Vec::new();
        let written = write(
            &store,
            "shop",
            (T, T + 100_000),
            RawEventsFormat::Parquet,
            &mut out,
        )
        .unwrap();
        assert_eq!(written, events.len() as u64);
        let file = SerializedFileReader::new(axum::body::Bytes::from(out)).unwrap();
        assert_eq!(file.metadata().num_row_groups(), 3, "a row group per page");
        assert_eq!(
            file.metadata().file_metadata().num_rows(),
            events.len() as i64
        );
    }
}
