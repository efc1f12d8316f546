//! Plausible CE's CSV export, as its "Export to CSV" writes it: a zip of
//! `imported_<table>_<first>_<last>.csv` files (ClickHouse's
//! `CSVWithNames`: a header, then a row per day and label). Sonde reads
//! four of its tables: `imported_visitors` (a row per day), and the
//! pages, sources and devices of each day; the others (browsers, systems,
//! locations, entry and exit pages, custom events) are named as left out.
//! Columns are found by their header, so the columns Plausible adds from
//! version to version do not matter.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use indicatif::ProgressBar;
use sonde_protocol::imported::{ImportedDay, ImportedDimension, ImportedRow};

use crate::store::imported::DayRow;

/// Why an export could not be read: the file, and where in it.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a zip file Sonde can read: {message}")]
    Zip { path: PathBuf, message: String },
    #[error("{file}, line {line}: {message}")]
    Row {
        file: String,
        line: u64,
        message: String,
    },
    #[error("{file} has no column {column:?} (its header: {header})")]
    MissingColumn {
        file: String,
        column: &'static str,
        header: String,
    },
    #[error(
        "no imported_visitors_*.csv among {given}: give Plausible's export (the zip, its folder or its CSV files)"
    )]
    NoVisitors { given: String },
}

/// What Sonde keeps of an export: its days, oldest first, and their
/// pages, sources and devices.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PlausibleExport {
    pub days: Vec<ImportedDay>,
    pub rows: Vec<DayRow>,
    /// The export's files Sonde has no report for.
    pub left_out: Vec<String>,
}

/// The tables Sonde reads, by the start of their file's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Table {
    Visitors,
    Rows(ImportedDimension),
}

fn table_of(name: &str) -> Option<Table> {
    let base = name.rsplit('/').next().unwrap_or(name);
    let stem = base.strip_suffix(".csv")?;
    [
        ("imported_visitors", Table::Visitors),
        ("imported_pages", Table::Rows(ImportedDimension::Page)),
        ("imported_sources", Table::Rows(ImportedDimension::Source)),
        ("imported_devices", Table::Rows(ImportedDimension::Device)),
    ]
    .into_iter()
    .find(|(prefix, _)| stem == *prefix || stem.starts_with(&format!("{prefix}_")))
    .map(|(_, table)| table)
}

/// One CSV file of the export, with its name.
struct Entry {
    name: String,
    bytes: Vec<u8>,
}

/// The CSV files of `paths` (zips, folders or the files themselves), read
/// with the bar counting their bytes.
fn entries(paths: &[PathBuf], bar: &ProgressBar) -> Result<Vec<Entry>, ImportError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ImportError::Io { path, source }
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(io(path))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "csv"))
                .collect();
            inside.sort();
            files.extend(inside);
        } else {
            files.push(path.clone());
        }
    }
    let total: u64 = files
        .iter()
        .map(|f| f.metadata().map(|m| m.len()).unwrap_or(0))
        .sum();
    bar.set_length(total);
    let mut entries = Vec::new();
    for file in files {
        let opened = File::open(&file).map_err(io(&file))?;
        let mut reader = bar.wrap_read(opened);
        if file.extension().is_some_and(|e| e == "zip") {
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes).map_err(io(&file))?;
            let zip_error = |e: zip::result::ZipError| ImportError::Zip {
                path: file.clone(),
                message: e.to_string(),
            };
            let mut archive =
                zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(zip_error)?;
            for i in 0..archive.len() {
                let mut inner = archive.by_index(i).map_err(zip_error)?;
                if !inner.is_file() {
                    continue;
                }
                let name = inner.name().to_owned();
                let mut bytes = Vec::new();
                inner.read_to_end(&mut bytes).map_err(io(&file))?;
                entries.push(Entry { name, bytes });
            }
        } else {
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes).map_err(io(&file))?;
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            entries.push(Entry { name, bytes });
        }
    }
    Ok(entries)
}

/// Reads Plausible's export from `paths`, the bar following the bytes read.
pub fn read(paths: &[PathBuf], bar: &ProgressBar) -> Result<PlausibleExport, ImportError> {
    let entries = entries(paths, bar)?;
    let mut days: BTreeMap<String, ImportedDay> = BTreeMap::new();
    let mut rows: BTreeMap<(String, ImportedDimension, String), ImportedRow> = BTreeMap::new();
    let mut left_out = Vec::new();
    let mut found_visitors = false;
    for entry in &entries {
        match table_of(&entry.name) {
            Some(Table::Visitors) => {
                found_visitors = true;
                for day in visitors(entry)? {
                    let kept = days.entry(day.day.clone()).or_insert_with(|| ImportedDay {
                        day: day.day.clone(),
                        ..ImportedDay::default()
                    });
                    kept.visitors += day.visitors;
                    kept.visits += day.visits;
                    kept.pageviews += day.pageviews;
                    kept.bounces += day.bounces;
                    kept.visit_duration_s += day.visit_duration_s;
                }
            }
            Some(Table::Rows(dimension)) => {
                for DayRow { day, row } in breakdown(entry, dimension)? {
                    let kept = rows
                        .entry((day, dimension, row.label.clone()))
                        .or_insert_with(|| ImportedRow {
                            visitors: 0,
                            visits: 0,
                            pageviews: 0,
                            ..row.clone()
                        });
                    kept.visitors += row.visitors;
                    kept.visits += row.visits;
                    kept.pageviews += row.pageviews;
                }
            }
            None if entry.name.ends_with(".csv") => left_out.push(entry.name.clone()),
            None => {}
        }
    }
    if !found_visitors {
        let given: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(ImportError::NoVisitors {
            given: given.join(", "),
        });
    }
    bar.finish();
    Ok(PlausibleExport {
        days: days.into_values().collect(),
        rows: rows
            .into_iter()
            .map(|((day, _, _), row)| DayRow { day, row })
            .collect(),
        left_out,
    })
}

/// A CSV file's records, each with its line, and a column finder.
struct Csv<'a> {
    file: &'a str,
    header: csv::StringRecord,
    records: Vec<(u64, csv::StringRecord)>,
}

impl<'a> Csv<'a> {
    fn parse(entry: &'a Entry) -> Result<Csv<'a>, ImportError> {
        let row_error = |line: u64, e: csv::Error| ImportError::Row {
            file: entry.name.clone(),
            line,
            message: e.to_string(),
        };
        let mut reader = csv::Reader::from_reader(entry.bytes.as_slice());
        let header = reader.headers().map_err(|e| row_error(1, e))?.clone();
        let mut records = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let line = i as u64 + 2;
            records.push((line, record.map_err(|e| row_error(line, e))?));
        }
        Ok(Csv {
            file: &entry.name,
            header,
            records,
        })
    }

    /// The index of a column, which must be there.
    fn column(&self, name: &'static str) -> Result<usize, ImportError> {
        self.optional(name)
            .ok_or_else(|| ImportError::MissingColumn {
                file: self.file.to_owned(),
                column: name,
                header: self.header.iter().collect::<Vec<_>>().join(","),
            })
    }

    fn optional(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    fn bad(&self, line: u64, message: String) -> ImportError {
        ImportError::Row {
            file: self.file.to_owned(),
            line,
            message,
        }
    }

    /// A count: a whole number, and 0 where the column is missing or the
    /// cell empty (ClickHouse writes `\N` for none).
    fn count(
        &self,
        line: u64,
        record: &csv::StringRecord,
        column: Option<usize>,
    ) -> Result<u64, ImportError> {
        let Some(text) = column.and_then(|c| record.get(c)) else {
            return Ok(0);
        };
        let name = column.and_then(|c| self.header.get(c)).unwrap_or_default();
        match text.trim() {
            "" | "\\N" => Ok(0),
            t => t
                .parse()
                .map_err(|_| self.bad(line, format!("{name} is {t:?}, not a whole number"))),
        }
    }

    fn day(
        &self,
        line: u64,
        record: &csv::StringRecord,
        column: usize,
    ) -> Result<String, ImportError> {
        let text = record.get(column).unwrap_or_default().trim();
        text.parse::<NaiveDate>()
            .map(|d| d.to_string())
            .map_err(|_| self.bad(line, format!("date is {text:?}, not YYYY-MM-DD")))
    }
}

fn visitors(entry: &Entry) -> Result<Vec<ImportedDay>, ImportError> {
    let csv = Csv::parse(entry)?;
    let date = csv.column("date")?;
    let visitors = Some(csv.column("visitors")?);
    let pageviews = Some(csv.column("pageviews")?);
    let (visits, bounces, duration) = (
        csv.optional("visits"),
        csv.optional("bounces"),
        csv.optional("visit_duration"),
    );
    csv.records
        .iter()
        .map(|(line, r)| {
            Ok(ImportedDay {
                day: csv.day(*line, r, date)?,
                visitors: csv.count(*line, r, visitors)?,
                visits: csv.count(*line, r, visits)?,
                pageviews: csv.count(*line, r, pageviews)?,
                bounces: csv.count(*line, r, bounces)?,
                visit_duration_s: csv.count(*line, r, duration)?,
            })
        })
        .collect()
}

fn breakdown(entry: &Entry, dimension: ImportedDimension) -> Result<Vec<DayRow>, ImportError> {
    let csv = Csv::parse(entry)?;
    let date = csv.column("date")?;
    let label = csv.column(match dimension {
        ImportedDimension::Page => "page",
        ImportedDimension::Source => "source",
        ImportedDimension::Device => "device",
    })?;
    let visitors = Some(csv.column("visitors")?);
    let (visits, pageviews) = (csv.optional("visits"), csv.optional("pageviews"));
    csv.records
        .iter()
        .map(|(line, r)| {
            let text = r.get(label).unwrap_or_default().trim();
            let label = match (dimension, text) {
                // Plausible leaves the source of direct visits empty;
                // Sonde calls them `direct`, as its own source filter does.
                (ImportedDimension::Source, "" | "\\N") => "direct".to_owned(),
                // Sonde's devices are lower-case: desktop, mobile, tablet.
                (ImportedDimension::Device, t) => t.to_lowercase(),
                (_, t) => t.to_owned(),
            };
            Ok(DayRow {
                day: csv.day(*line, r, date)?,
                row: ImportedRow {
                    dimension,
                    label,
                    visitors: csv.count(*line, r, visitors)?,
                    visits: csv.count(*line, r, visits)?,
                    pageviews: csv.count(*line, r, pageviews)?,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, text: &str) -> Entry {
        Entry {
            name: name.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn files_are_known_by_their_table_whatever_their_period() {
        assert_eq!(
            table_of("imported_visitors_20250101_20251130.csv"),
            Some(Table::Visitors)
        );
        assert_eq!(
            table_of("export/imported_sources_20250101_20251130.csv"),
            Some(Table::Rows(ImportedDimension::Source))
        );
        assert_eq!(table_of("imported_visitors.csv"), Some(Table::Visitors));
        assert_eq!(table_of("imported_pages_x.txt"), None);
        assert_eq!(table_of("imported_entry_pages_20250101_20251130.csv"), None);
    }

    #[test]
    fn a_day_row_is_read_by_its_header_and_a_bad_cell_is_named() {
        let days = visitors(&entry(
            "imported_visitors_20251101_20251102.csv",
            "date,visitors,pageviews,bounces,visits,visit_duration\n\
             2025-11-01,10,30,4,12,600\n2025-11-02,\\N,5,0,1,\\N\n",
        ))
        .unwrap();
        assert_eq!(
            days[0],
            ImportedDay {
                day: "2025-11-01".into(),
                visitors: 10,
                visits: 12,
                pageviews: 30,
                bounces: 4,
                visit_duration_s: 600,
            }
        );
        assert_eq!((days[1].visitors, days[1].pageviews), (0, 5));

        let bad = visitors(&entry(
            "v.csv",
            "date,visitors,pageviews\n2025-11-01,ten,3\n",
        ))
        .unwrap_err();
        assert_eq!(
            bad.to_string(),
            "v.csv, line 2: visitors is \"ten\", not a whole number"
        );
        let no_date = visitors(&entry("v.csv", "day,visitors,pageviews\n")).unwrap_err();
        assert_eq!(
            no_date.to_string(),
            "v.csv has no column \"date\" (its header: day,visitors,pageviews)"
        );
    }

    #[test]
    fn sources_name_direct_visits_and_devices_are_lower_case() {
        let sources = breakdown(
            &entry(
                "s.csv",
                "date,source,referrer,utm_source,utm_medium,utm_campaign,utm_content,utm_term,pageviews,visitors,visits,visit_duration,bounces\n\
                 2025-11-01,,,,,,,,7,3,3,60,1\n2025-11-01,Google,,,,,,,4,2,2,30,0\n",
            ),
            ImportedDimension::Source,
        )
        .unwrap();
        assert_eq!(sources[0].row.label, "direct");
        assert_eq!(sources[1].row.label, "Google");
        let devices = breakdown(
            &entry("d.csv", "date,device,visitors,visits,visit_duration,bounces,pageviews\n2025-11-01,Desktop,5,6,100,2,9\n"),
            ImportedDimension::Device,
        )
        .unwrap();
        assert_eq!(
            devices[0].row,
            ImportedRow {
                dimension: ImportedDimension::Device,
                label: "desktop".into(),
                visitors: 5,
                visits: 6,
                pageviews: 9,
            }
        );
    }
}
