//! The conversions page, for marketing: a goal's conversions over the
//! chosen range, compared across campaigns, and broken down by source, medium,
//! campaign, referrer and landing page. `?goal=` picks the goal;
//! `?new_goal=NAME` opens the goal form for that event (the events page
//! links so).

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_query_map};
use sonde_protocol::Versus;
use sonde_protocol::funnel::Step;
use sonde_protocol::goal::{ConversionBreakdown, ConversionsReport, Goal, SavedGoal};

use crate::api::{self, ClientError};
use crate::charts;
use crate::charts::percent;
use crate::controls::query::href;
use crate::controls::{FormOutcome, Outcome, Range, period, use_view};
use crate::layout::ReportPage;
use crate::route::Page;
use crate::session::Session;
use crate::timeline::{ChartMarks, MarkKey};

async fn load(
    site: String,
    goal: Option<String>,
    range: Range,
    filters: sonde_protocol::Filters,
    versus: Versus,
) -> Result<(String, Vec<SavedGoal>, Option<ConversionsReport>), ClientError> {
    let goals = api::goals(&site).await?;
    let chosen = goal.or_else(|| goals.first().map(|g| g.id.clone()));
    let report = match chosen {
        Some(id) => {
            let period = period(&site, range, &filters, versus);
            Some(api::conversions(&period, &id).await?)
        }
        None => None,
    };
    Ok((site, goals, report))
}

#[component]
pub fn Conversions() -> impl IntoView {
    let query = use_query_map();
    let goal = Memo::new(move |_| query.read().get("goal"));
    let changed = RwSignal::new(0u32);
    let view = use_view();
    let fetch = move |site| {
        changed.track();
        load(
            site,
            goal.get(),
            view.range.get(),
            view.filters.get(),
            view.versus.get(),
        )
    };
    let session = expect_context::<Session>();
    let admin = move || session.is_admin();
    view! {
        <ReportPage page=Page::Conversions load=fetch failure="The conversions could not load: "
            let((site, goals, report))>
            {
                let current = report.as_ref().map(|r| r.goal.name.clone());
                view! {
                    <nav class="panel goals" aria-label="Goals">
                        <strong>"Goals: "</strong>
                        {goals.iter().map(|g| {
                            let here = current.as_deref() == Some(g.goal.name.as_str());
                            view! {
                                <a href=href(Page::Conversions.path(), &query.get_untracked(), "goal", Some(&g.id)) aria-current=here.then_some("page")>{g.goal.name.clone()}</a>
                            }
                        }).collect_view()}
                        {goals.is_empty().then(|| view! { <span class="muted">"none yet"</span> })}
                    </nav>
                    {admin().then(|| view! { <GoalForm site event=query.get_untracked().get("new_goal") on_saved=Callback::new(move |()| changed.update(|n| *n += 1)) /> })}
                    {match report {
                        None => view! { <p class="empty">"Define a goal (a page or an event) to see its conversions."</p> }.into_any(),
                        Some(report) => view! { <Report report range=view.range.get_untracked() versus=view.versus.get_untracked() /> }.into_any(),
                    }}
                }
            }
        </ReportPage>
    }
}

#[component]
fn Report(report: ConversionsReport, range: Range, versus: Versus) -> impl IntoView {
    let k = report.k;
    let before = report.previous;
    let delta = |now: f64, before: Option<f64>| {
        before.map(|b| {
            view! {
                <dd class="change" title=crate::change::compared(versus)>
                    {crate::change::describe(crate::change::relative(now, b))}
                </dd>
            }
        })
    };
    let campaigns: Vec<(String, f64, u64)> = report
        .campaigns
        .rows
        .iter()
        .map(|r| (r.label.clone(), r.rate, r.visits))
        .collect();
    let summary = campaigns
        .iter()
        .map(|(l, r, n)| format!("{l}: {} of {n} visits", percent(*r)))
        .collect::<Vec<_>>()
        .join("; ");
    let rates = campaigns
        .iter()
        .map(|c| format!("{:.3}", c.1))
        .collect::<Vec<_>>()
        .join(",");
    let chart = if campaigns.is_empty() {
        view! { <p class="empty">"No campaign had enough visitors to compare."</p> }.into_any()
    } else {
        match charts::rate_chart(&campaigns, "Visits converting (%)", (760, 260)) {
            Ok(svg) => {
                view! { <div role="img" aria-label=summary inner_html=svg></div> }.into_any()
            }
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        }
    };
    let days = report
        .series
        .iter()
        .map(|p| {
            let point = sonde_protocol::UsagePoint {
                start: p.start,
                local: p.local.clone(),
                pageviews: 0,
                visitors: 0,
            };
            let rate = if p.visits == 0 {
                0.0
            } else {
                p.conversions as f64 / p.visits as f64
            };
            (charts::point_label(&point, range.granularity()), rate)
        })
        .collect::<Vec<_>>();
    let per = match range.granularity() {
        sonde_protocol::Granularity::Hour => "hour",
        _ => "day",
    };
    let marks = ChartMarks::new(report.series.iter().map(|p| p.start).collect());
    let over_time =
        move || {
            match charts::rate_series_chart(
        &days,
        "Visits converting (%)",
        &marks.get(),
        (760, 240),
    ) {
        Ok(svg) => view! {
            <div role="img" aria-label=format!("Conversion rate per {per}") inner_html=svg></div>
            <MarkKey marks />
        }
        .into_any(),
        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
    }
        };
    view! {
        <section class="panel" aria-label="Conversions">
            <dl class="key-figures">
                <div><dt>"Visits"</dt><dd data-figure="visits">{report.visits}</dd>{delta(report.visits as f64, before.map(|b| b.visits as f64))}</div>
                <div><dt>"Conversions"</dt><dd data-figure="conversions">{report.conversions}</dd>{delta(report.conversions as f64, before.map(|b| b.conversions as f64))}</div>
                <div><dt>"Conversion rate"</dt><dd data-figure="rate">{percent(report.rate)}</dd>{delta(report.rate, before.map(|b| b.rate))}</div>
                <div><dt>"Value"</dt><dd data-figure="value">{format!("{:.2}", report.value)}</dd>{delta(report.value, before.map(|b| b.value))}</div>
            </dl>
            <figure class="chart" data-chart="campaigns" data-rates=rates>
                <figcaption>{format!("“{}” conversion rate by campaign, {}", report.goal.name, range.phrase())}</figcaption>
                {chart}
            </figure>
            <figure class="chart" data-chart="conversions-over-time">
                <figcaption>{format!("Conversion rate per {per}")}</figcaption>
                {over_time}
            </figure>
        </section>
        <section class="panel breakdowns" aria-label="Conversions by origin">
            <Table title="Sources" rows=report.sources k filter="source" />
            <Table title="Mediums" rows=report.mediums k filter="medium" />
            <Table title="Campaigns" rows=report.campaigns k filter="campaign" />
            <Table title="Referrers" rows=report.referrers k filter="referrer" />
            <Table title="Landing pages" rows=report.landing_pages k filter="entry_page" />
        </section>
    }
}

/// Visits without a campaign medium or name: no filter selects them.
const NONE: &str = "(none)";

/// A breakdown of conversions; a row's label filters the page to its visits.
#[component]
fn Table(
    title: &'static str,
    rows: ConversionBreakdown,
    k: u64,
    /// The filter a row's label sets (`source`, `entry_page`…).
    filter: &'static str,
) -> impl IntoView {
    let query = use_query_map();
    let header = [title, "Visits", "Conversions", "Rate", "Value"];
    let cells: Vec<Vec<String>> = rows
        .rows
        .iter()
        .map(|r| {
            vec![
                r.label.clone(),
                r.visits.to_string(),
                r.conversions.to_string(),
                percent(r.rate),
                format!("{:.2}", r.value),
            ]
        })
        .collect();
    let csv = crate::csv::to_csv(&header, &cells);
    let file = format!("conversions-{}.csv", title.to_lowercase().replace(' ', "-"));
    view! {
        <table class="breakdown" data-breakdown=title>
            <caption>{title} " " <a class="csv" href=crate::csv::data_url(&csv) download=file>"CSV"</a></caption>
            <thead><tr>{header.iter().map(|h| view! { <th scope="col">{*h}</th> }).collect_view()}</tr></thead>
            <tbody>
                {cells.into_iter().map(|row| {
                    let mut cells = row.into_iter();
                    let label = cells.next().unwrap_or_default();
                    let first = if label == NONE {
                        view! { <td>{label}</td> }.into_any()
                    } else {
                        let href = href(
                            Page::Conversions.path(),
                            &query.get_untracked(),
                            filter,
                            Some(&label),
                        );
                        view! { <td><a href=href title="Show only these visits">{label}</a></td> }.into_any()
                    };
                    view! { <tr>{first}{cells.map(|c| view! { <td>{c}</td> }).collect_view()}</tr> }
                }).collect_view()}
                {(rows.small_groups > 0).then(|| view! {
                    <tr><td colspan="5" class="muted" data-small-groups=rows.small_groups>
                        {format!("{} others, each with fewer than {k} visitors, not shown", rows.small_groups)}
                    </td></tr>
                })}
            </tbody>
        </table>
    }
}

/// A new goal: a name, a page or an event, and an optional fixed value.
#[component]
fn GoalForm(
    site: String,
    /// An event to fill in, the form open.
    event: Option<String>,
    on_saved: Callback<()>,
) -> impl IntoView {
    let open = event.is_some();
    let event = event.unwrap_or_default();
    let name = RwSignal::new(event.clone());
    let kind = RwSignal::new("event".to_owned());
    let target = RwSignal::new(event);
    let value = RwSignal::new(String::new());
    let message: FormOutcome = RwSignal::new(None);
    let navigate = use_navigate();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = target.get_untracked().trim().to_owned();
        let goal = Goal {
            name: name.get_untracked().trim().to_owned(),
            target: if kind.get_untracked() == "page" {
                Step::Page { path: text }
            } else {
                Step::Event {
                    name: text,
                    property: None,
                    value: None,
                }
            },
            value: value.get_untracked().trim().parse().ok(),
        };
        let (site, navigate) = (site.clone(), navigate.clone());
        spawn_local(async move {
            match api::save_goal(&site, &goal).await {
                Ok(saved) => {
                    message.set(Some(Ok(format!("Saved “{}”.", saved.goal.name))));
                    on_saved.run(());
                    navigate(
                        &format!("{}?goal={}", Page::Conversions.path(), saved.id),
                        Default::default(),
                    );
                }
                Err(e) => message.set(Some(Err(e.to_string()))),
            }
        });
    };
    view! {
        <details class="panel goal-form" open=open>
            <summary>"New goal"</summary>
            <form on:submit=submit aria-label="New goal">
                <label>"Name" <input type="text" name="goal-name" bind:value=name placeholder="Signup" /></label>
                <label>"Reached by"
                    <select name="goal-kind" prop:value=move || kind.get() on:change=move |ev| kind.set(event_target_value(&ev))>
                        <option value="event">"an event"</option>
                        <option value="page">"a page"</option>
                    </select>
                </label>
                <label>"Event name or page path" <input type="text" name="goal-target" bind:value=target placeholder="signup or /thanks" /></label>
                <label>"Value per conversion (optional)" <input type="number" step="any" name="goal-value" bind:value=value /></label>
                <button type="submit">"Save goal"</button>
                <Outcome outcome=message />
            </form>
        </details>
    }
}
