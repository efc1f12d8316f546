//! Tables as CSV (RFC 4180), for the dashboard's downloads.
//!
//! A cell that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`)
//! is prefixed with `'`: page paths, campaign names and referrers come from
//! the public, and a downloaded file must not run what a visitor typed.

use leptos::prelude::*;

/// A table of text cells with its CSV download in the caption, and a last
/// row (`footer`) that says what it leaves out, if anything.
#[component]
pub fn CsvTable(
    /// The table's `data-table` name.
    name: &'static str,
    /// What the rows are ("Error groups").
    caption: &'static str,
    /// The downloaded file's name.
    file: &'static str,
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    #[prop(default = None)] footer: Option<String>,
) -> impl IntoView {
    let csv = to_csv(&header, &rows);
    let columns = header.len().to_string();
    view! {
        <table class="breakdown" data-table=name>
            <caption>{caption} " " <a class="csv" href=data_url(&csv) download=file>"CSV"</a></caption>
            <thead><tr>{header.iter().map(|h| view! { <th scope="col">{*h}</th> }).collect_view()}</tr></thead>
            <tbody>
                {rows.into_iter().map(|row| view! {
                    <tr>{row.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}</tr>
                }).collect_view()}
                {footer.map(|text| view! { <tr><td colspan=columns class="muted">{text}</td></tr> })}
            </tbody>
        </table>
    }
}

/// The CSV text of a header and its rows, lines ending in CRLF.
pub fn to_csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let cells: Vec<String> = cells.map(cell).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

fn cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// A `data:` URL a link can download the CSV from.
pub fn data_url(csv: &str) -> String {
    let encoded: String = js_sys::encode_uri_component(csv).into();
    format!("data:text/csv;charset=utf-8,{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_only_when_they_need_it() {
        let csv = to_csv(
            &["Page", "Visitors"],
            &[
                vec!["/".into(), "12".into()],
                vec!["/search, \"all\"".into(), "7".into()],
            ],
        );
        assert_eq!(
            csv,
            "Page,Visitors\r\n/,12\r\n\"/search, \"\"all\"\"\",7\r\n"
        );
    }

    #[test]
    fn what_a_spreadsheet_would_run_is_defused() {
        let csv = to_csv(&["Campaign"], &[vec!["=HYPERLINK(\"x\")".into()]]);
        assert_eq!(csv, "Campaign\r\n\"'=HYPERLINK(\"\"x\"\")\"\r\n");
        assert_eq!(cell("-1"), "'-1");
    }
}
