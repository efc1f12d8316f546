//! Tables as CSV (RFC 4180), for the dashboard's downloads.
//!
//! A cell that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`)
//! is prefixed with `'`: page paths, campaign names and referrers come from
//! the public, and a downloaded file must not run what a visitor typed.

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
