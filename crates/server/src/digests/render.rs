//! A digest as people read it: the subject, a plain-text part and an HTML
//! part (whose charts are the message's inline images, by Content-ID).
//! Pure: [`super::gather`] reads the figures, this writes them.

use chrono::Datelike;
use maud::{Markup, PreEscaped, html};
use sonde_protocol::digest::Frequency;
use sonde_protocol::overview::BreakdownRow;

use super::gather::{ErrorLine, Figures};

/// Where a digest's links go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Links {
    /// The dashboard's view of the period.
    pub dashboard: String,
    pub unsubscribe: String,
}

/// The Content-IDs of the inline charts.
pub const VISITORS_CHART: &str = "visitors-chart@sonde";
pub const ERRORS_CHART: &str = "errors-chart@sonde";

/// A digest written out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// `week of 23 to 29 Nov 2026`, `November 2026`.
pub fn period_name(f: &Figures, frequency: Frequency) -> String {
    match frequency {
        Frequency::Weekly if f.first_day.month() == f.last_day.month() => format!(
            "week of {} to {}",
            f.first_day.format("%-d"),
            f.last_day.format("%-d %b %Y")
        ),
        Frequency::Weekly => format!(
            "week of {} to {}",
            f.first_day.format("%-d %b"),
            f.last_day.format("%-d %b %Y")
        ),
        Frequency::Monthly => f.first_day.format("%B %Y").to_string(),
    }
}

fn before_name(f: &Figures, frequency: Frequency) -> String {
    match frequency {
        Frequency::Weekly => "the week before".into(),
        Frequency::Monthly => format!("the {} days before", f.days.len()),
    }
}

/// `1,234`.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// `+12 %`, `−3 %`, `new` (nothing before), `same`.
fn change(now: f64, before: f64) -> String {
    if before == 0.0 {
        return if now == 0.0 {
            "same".into()
        } else {
            "new".into()
        };
    }
    let delta = (now - before) / before * 100.0;
    if delta.abs() < 0.5 {
        "same".into()
    } else if delta > 0.0 {
        format!("+{delta:.0} %")
    } else {
        format!("−{:.0} %", -delta)
    }
}

/// `+1.5 pts` between two shares.
fn points(now: f64, before: f64) -> String {
    let delta = (now - before) * 100.0;
    if delta.abs() < 0.05 {
        "same".into()
    } else if delta > 0.0 {
        format!("+{delta:.1} pts")
    } else {
        format!("−{:.1} pts", -delta)
    }
}

fn duration(ms: f64) -> String {
    let s = (ms / 1000.0).round() as u64;
    if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

/// One key figure: its name, its value, and its change on the period before.
struct KeyFigure {
    name: &'static str,
    value: String,
    change: String,
}

fn key_figures(f: &Figures) -> Vec<KeyFigure> {
    let (c, p) = (&f.current, &f.previous);
    vec![
        KeyFigure {
            name: "Visitors",
            value: count(c.visitors),
            change: change(c.visitors as f64, p.visitors as f64),
        },
        KeyFigure {
            name: "Visits",
            value: count(c.sessions),
            change: change(c.sessions as f64, p.sessions as f64),
        },
        KeyFigure {
            name: "Page views",
            value: count(c.pageviews),
            change: change(c.pageviews as f64, p.pageviews as f64),
        },
        KeyFigure {
            name: "Bounce rate",
            value: percent(c.bounce_rate),
            change: points(c.bounce_rate, p.bounce_rate),
        },
        KeyFigure {
            name: "Visit duration",
            value: duration(c.avg_duration_ms),
            change: change(c.avg_duration_ms, p.avg_duration_ms),
        },
    ]
}

fn goal_line(g: &super::gather::GoalFigures) -> (String, String, String) {
    let rate = g.rate().map_or("no visits".into(), percent);
    let before = match (g.rate(), g.previous_rate()) {
        (Some(now), Some(then)) => points(now, then),
        _ => String::new(),
    };
    (
        g.name.clone(),
        format!("{rate} ({} of {})", count(g.conversions), count(g.visits)),
        before,
    )
}

fn consent_line(f: &Figures) -> Option<String> {
    let c = &f.consent;
    let granted = c.usage_granted?;
    let mut line = format!(
        "{} of {} consent decisions granted usage",
        percent(granted),
        count(c.decisions)
    );
    if let Some(before) = c.previous_usage_granted {
        line += &format!(" ({})", points(granted, before));
    }
    if let Some(coverage) = c.coverage {
        line += &format!(
            "; Sonde counted about {} of visits (between {} and {})",
            percent(coverage.value),
            percent(coverage.low),
            percent(coverage.high)
        );
    }
    Some(line)
}

fn error_line(e: &ErrorLine) -> String {
    format!(
        "{} × {} ({} of visits)",
        count(e.count),
        e.message,
        percent(e.session_share)
    )
}

/// `[Sonde] Shop: 1,234 visitors in the week of 23 to 29 Nov 2026 (+12 %)`.
pub fn subject(f: &Figures, frequency: Frequency) -> String {
    format!(
        "[Sonde] {}: {} visitors in the {} ({})",
        f.site_name,
        count(f.current.visitors),
        period_name(f, frequency),
        change(f.current.visitors as f64, f.previous.visitors as f64)
    )
}

/// The whole digest.
pub fn render(f: &Figures, frequency: Frequency, links: &Links) -> Rendered {
    Rendered {
        subject: subject(f, frequency),
        text: plain_text(f, frequency, links),
        html: html_part(f, frequency, links).into_string(),
    }
}

fn rows_text(out: &mut String, title: &str, rows: &[BreakdownRow]) {
    if rows.is_empty() {
        return;
    }
    *out += &format!("\n{title}\n");
    for r in rows {
        *out += &format!("  {:>8}  {}\n", count(r.visitors), r.label);
    }
}

pub fn plain_text(f: &Figures, frequency: Frequency, links: &Links) -> String {
    let mut out = format!(
        "{}, {}\nAgainst {}.\n\n",
        f.site_name,
        period_name(f, frequency),
        before_name(f, frequency)
    );
    for k in key_figures(f) {
        out += &format!("  {:<15} {:>12}  {}\n", k.name, k.value, k.change);
    }
    rows_text(&mut out, "Top pages (visitors)", &f.pages);
    rows_text(&mut out, "Top sources (visitors)", &f.sources);
    if !f.goals.is_empty() {
        out += "\nGoals\n";
        for (name, rate, before) in f.goals.iter().map(goal_line) {
            out += &format!("  {name}: {rate} {before}\n");
        }
    }
    out += &format!(
        "\nErrors: {} ({})\n",
        count(f.errors.count),
        change(f.errors.count as f64, f.errors.previous_count as f64)
    );
    if !f.errors.new_groups.is_empty() {
        out += "  New:\n";
        for e in &f.errors.new_groups {
            out += &format!("    {}\n", error_line(e));
        }
    }
    if !f.errors.top_groups.is_empty() {
        out += "  Most visits affected:\n";
        for e in &f.errors.top_groups {
            out += &format!("    {}\n", error_line(e));
        }
    }
    out += &format!(
        "\nConsent: {}\n",
        consent_line(f).unwrap_or_else(|| "no consent decisions".into())
    );
    out += &format!(
        "\nOpen in Sonde: {}\n\nYou get this {} digest because an admin of {} subscribed you.\nUnsubscribe: {}\n",
        links.dashboard,
        frequency.label(),
        f.site_name,
        links.unsubscribe
    );
    out
}

const CELL: &str = "padding:4px 8px;border-bottom:1px solid #e2e8f0;";
const MUTED: &str = "color:#64748b;";

fn rows_html(title: &str, rows: &[BreakdownRow]) -> Markup {
    html! {
        @if !rows.is_empty() {
            h2 style="font-size:16px;margin:24px 0 8px;" { (title) }
            table style="border-collapse:collapse;width:100%;" {
                tr { th style={(CELL) "text-align:left;"} { "" } th style={(CELL) "text-align:right;"} { "Visitors" } }
                @for r in rows {
                    tr { td style=(CELL) { (r.label) } td style={(CELL) "text-align:right;"} { (count(r.visitors)) } }
                }
            }
        }
    }
}

fn errors_html(title: &str, lines: &[ErrorLine]) -> Markup {
    html! {
        @if !lines.is_empty() {
            h3 style="font-size:14px;margin:12px 0 4px;" { (title) }
            table style="border-collapse:collapse;width:100%;" {
                @for e in lines {
                    tr {
                        td style={(CELL) "font-family:monospace;"} { (e.message) }
                        td style={(CELL) "text-align:right;white-space:nowrap;"} { (count(e.count)) " × " }
                        td style={(CELL) "text-align:right;white-space:nowrap;" (MUTED)} { (percent(e.session_share)) " of visits" }
                    }
                }
            }
        }
    }
}

fn html_part(f: &Figures, frequency: Frequency, links: &Links) -> Markup {
    let period = period_name(f, frequency);
    let before = before_name(f, frequency);
    html! {
        (maud::DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (subject(f, frequency)) } }
            body style="font-family:system-ui,sans-serif;color:#0f172a;max-width:600px;margin:0 auto;padding:16px;" {
                h1 style="font-size:20px;margin:0;" { (f.site_name) }
                p style={"margin:4px 0 16px;" (MUTED)} { "The " (period) ", against " (before) "." }
                table style="border-collapse:collapse;width:100%;" {
                    @for k in key_figures(f) {
                        tr {
                            td style=(CELL) { (k.name) }
                            td style={(CELL) "text-align:right;font-weight:600;"} { (k.value) }
                            td style={(CELL) "text-align:right;" (MUTED)} { (k.change) }
                        }
                    }
                }
                h2 style="font-size:16px;margin:24px 0 8px;" { "Visitors per day" }
                img src={"cid:" (VISITORS_CHART)} width=(super::chart::WIDTH) height=(super::chart::HEIGHT)
                    style="max-width:100%;height:auto;"
                    alt={"Visitors per day, from " (f.days.first().map_or("", |d| d.day.as_str())) ": "
                        (f.days.iter().map(|d| d.visitors.to_string()).collect::<Vec<_>>().join(", "))};
                p style={"font-size:12px;margin:4px 0;" (MUTED)} { "Bars: this period. Grey line: " (before) "." }
                (rows_html("Top pages", &f.pages))
                (rows_html("Top sources", &f.sources))
                @if !f.goals.is_empty() {
                    h2 style="font-size:16px;margin:24px 0 8px;" { "Goals" }
                    table style="border-collapse:collapse;width:100%;" {
                        @for (name, rate, change) in f.goals.iter().map(goal_line) {
                            tr {
                                td style=(CELL) { (name) }
                                td style={(CELL) "text-align:right;"} { (rate) }
                                td style={(CELL) "text-align:right;" (MUTED)} { (change) }
                            }
                        }
                    }
                }
                h2 style="font-size:16px;margin:24px 0 8px;" {
                    "Errors: " (count(f.errors.count))
                    span style={"font-weight:normal;" (MUTED)} { " (" (change(f.errors.count as f64, f.errors.previous_count as f64)) ")" }
                }
                @if f.errors.count > 0 {
                    img src={"cid:" (ERRORS_CHART)} width=(super::chart::WIDTH) height=(super::chart::HEIGHT)
                        style="max-width:100%;height:auto;"
                        alt={"Errors per day: " (f.days.iter().map(|d| d.errors.to_string()).collect::<Vec<_>>().join(", "))};
                }
                (errors_html("New", &f.errors.new_groups))
                (errors_html("Most visits affected", &f.errors.top_groups))
                h2 style="font-size:16px;margin:24px 0 8px;" { "Consent" }
                p { (consent_line(f).unwrap_or_else(|| "No consent decisions.".into())) }
                p style="margin:24px 0;" {
                    a href=(links.dashboard) style="background:#2563eb;color:#ffffff;padding:8px 16px;border-radius:6px;text-decoration:none;" { "Open in Sonde" }
                }
                p style={"font-size:12px;" (MUTED)} {
                    "You get this " (frequency.label()) " digest because an admin of " (f.site_name) " subscribed you. "
                    a href=(links.unsubscribe) style=(MUTED) { "Unsubscribe" }
                    (PreEscaped("."))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use sonde_protocol::consent_report::Estimate;
    use sonde_protocol::overview::KeyFigures;

    use super::*;
    use crate::digests::gather::{ConsentFigures, Day, ErrorFigures, GoalFigures};

    fn figures() -> Figures {
        let row = |label: &str, visitors| BreakdownRow {
            label: label.into(),
            visitors,
            count: visitors,
        };
        let error = |message: &str, count, previous_count| ErrorLine {
            message: message.into(),
            count,
            previous_count,
            session_share: 0.02,
        };
        Figures {
            site_key: "shop".into(),
            site_name: "Shop <&> Co".into(),
            from: 0,
            to: 7 * 86_400_000,
            first_day: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            last_day: NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
            current: KeyFigures {
                visitors: 1_234,
                sessions: 1_500,
                pageviews: 4_000,
                views_per_session: 2.7,
                bounce_rate: 0.41,
                avg_duration_ms: 125_000.0,
                fewer_than_k: false,
            },
            previous: KeyFigures {
                visitors: 1_100,
                sessions: 1_400,
                pageviews: 4_000,
                views_per_session: 2.9,
                bounce_rate: 0.45,
                avg_duration_ms: 100_000.0,
                fewer_than_k: false,
            },
            days: (0..7)
                .map(|i| Day {
                    day: format!("2026-11-{}", 23 + i),
                    visitors: 170 + i,
                    previous_visitors: 150,
                    errors: i,
                })
                .collect(),
            pages: vec![row("/pricing", 700), row("/<script>", 300)],
            sources: vec![row("Newsletter", 400)],
            goals: vec![GoalFigures {
                name: "Signup".into(),
                visits: 1_500,
                conversions: 75,
                previous_visits: 1_400,
                previous_conversions: 56,
            }],
            errors: ErrorFigures {
                count: 21,
                previous_count: 30,
                new_groups: vec![error("TypeError: total is undefined", 12, 0)],
                top_groups: vec![
                    error("TypeError: total is undefined", 12, 0),
                    error("Failed to fetch", 9, 30),
                ],
            },
            consent: ConsentFigures {
                decisions: 800,
                previous_decisions: 700,
                usage_granted: Some(0.62),
                previous_usage_granted: Some(0.6),
                coverage: Some(Estimate {
                    value: 0.6,
                    low: 0.57,
                    high: 0.63,
                }),
            },
        }
    }

    fn links() -> Links {
        Links {
            dashboard: "https://sonde.example/?site=shop&range=7d".into(),
            unsubscribe: "https://sonde.example/digests/unsubscribe?token=abc".into(),
        }
    }

    #[test]
    fn the_subject_names_the_site_the_period_and_the_change() {
        assert_eq!(
            subject(&figures(), Frequency::Weekly),
            "[Sonde] Shop <&> Co: 1,234 visitors in the week of 23 to 29 Nov 2026 (+12 %)"
        );
        let mut monthly = figures();
        monthly.first_day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        assert_eq!(period_name(&monthly, Frequency::Monthly), "November 2026");
    }

    #[test]
    fn the_text_part_has_every_section_and_the_unsubscribe_link() {
        let text = plain_text(&figures(), Frequency::Weekly, &links());
        for expected in [
            "Against the week before.",
            "Visitors               1,234  +12 %",
            "Bounce rate           41.0 %  −4.0 pts",
            "Visit duration    2 min 05 s  +25 %",
            "Page views             4,000  same",
            "       700  /pricing",
            "       400  Newsletter",
            "Signup: 5.0 % (75 of 1,500) +1.0 pts",
            "Errors: 21 (−30 %)",
            "New:\n    12 × TypeError: total is undefined (2.0 % of visits)",
            "62.0 % of 800 consent decisions granted usage (+2.0 pts); Sonde counted about 60.0 % of visits (between 57.0 % and 63.0 %)",
            "Open in Sonde: https://sonde.example/?site=shop&range=7d",
            "Unsubscribe: https://sonde.example/digests/unsubscribe?token=abc",
        ] {
            assert!(text.contains(expected), "{expected:?} in\n{text}");
        }
    }

    #[test]
    fn the_html_part_escapes_what_visitors_sent_and_shows_the_charts_inline() {
        let html = html_part(&figures(), Frequency::Weekly, &links()).into_string();
        assert!(html.contains("/&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>"));
        assert!(html.contains("Shop &lt;&amp;&gt; Co"));
        assert!(html.contains(&format!("src=\"cid:{VISITORS_CHART}\"")));
        assert!(html.contains(&format!("src=\"cid:{ERRORS_CHART}\"")));
        assert!(html.contains("alt=\"Visitors per day, from 2026-11-23: 170, 171, 172"));
        assert!(html.contains("href=\"https://sonde.example/digests/unsubscribe?token=abc\""));
        assert!(html.contains("href=\"https://sonde.example/?site=shop&amp;range=7d\""));
    }

    #[test]
    fn a_quiet_period_says_so_instead_of_showing_empty_sections() {
        let mut quiet = figures();
        quiet.errors = ErrorFigures::default();
        quiet.consent = ConsentFigures::default();
        quiet.goals.clear();
        let html = html_part(&quiet, Frequency::Weekly, &links()).into_string();
        assert!(!html.contains(ERRORS_CHART), "no errors, no chart");
        assert!(!html.contains("Goals"));
        assert!(html.contains("No consent decisions."));
        let text = plain_text(&quiet, Frequency::Weekly, &links());
        assert!(text.contains("Errors: 0 (same)"));
        assert!(text.contains("Consent: no consent decisions"));
    }
}
