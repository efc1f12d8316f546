//! What the overview says of imported figures: that they are in the
//! totals, from which tool and for which days, and the imported pages,
//! sources and devices in tables of their own (they are not Sonde's rows
//! and do not filter the view).

use leptos::prelude::*;
use sonde_protocol::imported::{ImportedDimension, ImportedFigures};

use crate::csv::CsvTable;

/// "Includes 1,200 visitors imported from Plausible CE for 3 Nov 2025 to 30 Nov 2025."
pub fn sentence(imported: &ImportedFigures) -> String {
    let day = |d: &str| {
        d.parse::<chrono::NaiveDate>()
            .map(|d| d.format("%-d %b %Y").to_string())
            .unwrap_or_else(|_| d.to_owned())
    };
    let days = if imported.first_day == imported.last_day {
        day(&imported.first_day)
    } else {
        format!(
            "{} to {}",
            day(&imported.first_day),
            day(&imported.last_day)
        )
    };
    format!(
        "Includes {} visitors and {} page views imported from {} for {days} ({} days), by the day: hourly charts and filtered views show only what Sonde counted.",
        imported.visitors, imported.pageviews, imported.source, imported.days
    )
}

/// The notice above the totals that hold imported days.
#[component]
pub fn ImportedNotice(
    /// What the report holds of imported days.
    imported: ImportedFigures,
) -> impl IntoView {
    view! { <p class="notice imported" data-imported=imported.days.to_string()>{sentence(&imported)}</p> }
}

/// The imported pages, sources and devices of the period.
#[component]
pub fn ImportedRows(
    /// What the report holds of imported days.
    imported: ImportedFigures,
    /// The smallest group listed, in visitors.
    k: u64,
) -> impl IntoView {
    let table = |dimension: ImportedDimension| {
        let (name, title, file) = match dimension {
            ImportedDimension::Page => ("imported-pages", "Pages", "imported-pages.csv"),
            ImportedDimension::Source => ("imported-sources", "Sources", "imported-sources.csv"),
            ImportedDimension::Device => ("imported-devices", "Devices", "imported-devices.csv"),
        };
        let rows: Vec<Vec<String>> = imported
            .rows
            .iter()
            .filter(|r| r.dimension == dimension)
            .map(|r| {
                vec![
                    r.label.clone(),
                    r.visitors.to_string(),
                    r.visits.to_string(),
                ]
            })
            .collect();
        view! { <CsvTable name caption=title file header=vec![title, "Visitors", "Visits"] rows /> }
    };
    view! {
        <section class="panel imported-rows" aria-label="Imported">
            <h3>{format!("Imported from {}", imported.source)}</h3>
            <p class="muted">{format!("Summed over the imported days; rows of fewer than {k} visitors are left out.")}</p>
            <div class="breakdowns">
                {ImportedDimension::ALL.into_iter().map(table).collect_view()}
            </div>
        </section>
    }
}
