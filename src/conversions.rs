//! The conversions page, for marketing: a goal's conversions over the last
//! 30 days, compared across campaigns, and broken down by source, medium,
//! campaign, referrer and landing page. `?goal=` picks the goal.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_query_map};
use sonde_protocol::account::{Principal, Role};
use sonde_protocol::funnel::Step;
use sonde_protocol::goal::{ConversionBreakdown, ConversionsReport, Goal, SavedGoal};

use crate::api::{self, ClientError};
use crate::charts;
use crate::charts::percent;
use crate::dashboard::range::Range;
use crate::layout::Page;
use crate::session::Session;

async fn load(
    goal: Option<String>,
) -> Result<(String, Vec<SavedGoal>, Option<ConversionsReport>), ClientError> {
    let site = api::current_site().await?;
    let goals = api::goals(&site).await?;
    let chosen = goal.or_else(|| goals.first().map(|g| g.id.clone()));
    let report = match chosen {
        Some(id) => {
            let (from, to) = Range::Last30Days.bounds(js_sys::Date::now() as i64);
            Some(api::conversions(&site, &id, from, to).await?)
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
    let loaded = LocalResource::new(move || {
        changed.track();
        load(goal.get())
    });
    let session = expect_context::<Session>();
    let admin = move || {
        matches!(
            session.principal(),
            Some(Principal::User {
                role: Role::Admin,
                ..
            })
        )
    };
    view! {
        <Page title="Conversions">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || loaded.get().map(|r| match r {
                    Err(e) => view! { <p class="error" role="alert">"The conversions could not load: " {e.to_string()}</p> }.into_any(),
                    Ok((site, goals, report)) => {
                        let current = report.as_ref().map(|r| r.goal.name.clone());
                        view! {
                            <nav class="panel goals" aria-label="Goals">
                                <strong>"Goals: "</strong>
                                {goals.iter().map(|g| {
                                    let here = current.as_deref() == Some(g.goal.name.as_str());
                                    view! {
                                        <a href=format!("/conversions?goal={}", g.id) aria-current=here.then_some("page")>{g.goal.name.clone()}</a>
                                    }
                                }).collect_view()}
                                {goals.is_empty().then(|| view! { <span class="muted">"none yet"</span> })}
                            </nav>
                            {admin().then(|| view! { <GoalForm site on_saved=Callback::new(move |()| changed.update(|n| *n += 1)) /> })}
                            {match report {
                                None => view! { <p class="empty">"Define a goal (a page or an event) to see its conversions."</p> }.into_any(),
                                Some(report) => view! { <Report report /> }.into_any(),
                            }}
                        }.into_any()
                    }
                })}
            </Transition>
        </Page>
    }
}

#[component]
fn Report(report: ConversionsReport) -> impl IntoView {
    let k = report.k;
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
            (
                charts::point_label(&point, sonde_protocol::Granularity::Day),
                rate,
            )
        })
        .collect::<Vec<_>>();
    let over_time = match charts::rate_series_chart(&days, "Visits converting (%)", (760, 240)) {
        Ok(svg) => {
            view! { <div role="img" aria-label="Conversion rate per day" inner_html=svg></div> }
                .into_any()
        }
        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
    };
    view! {
        <section class="panel" aria-label="Conversions">
            <dl class="key-figures">
                <div><dt>"Visits"</dt><dd data-figure="visits">{report.visits}</dd></div>
                <div><dt>"Conversions"</dt><dd data-figure="conversions">{report.conversions}</dd></div>
                <div><dt>"Conversion rate"</dt><dd data-figure="rate">{percent(report.rate)}</dd></div>
                <div><dt>"Value"</dt><dd data-figure="value">{format!("{:.2}", report.value)}</dd></div>
            </dl>
            <figure class="chart" data-chart="campaigns" data-rates=rates>
                <figcaption>{format!("“{}” conversion rate by campaign, last 30 days", report.goal.name)}</figcaption>
                {chart}
            </figure>
            <figure class="chart" data-chart="conversions-over-time">
                <figcaption>"Conversion rate per day"</figcaption>
                {over_time}
            </figure>
        </section>
        <section class="panel breakdowns" aria-label="Conversions by origin">
            <Table title="Sources" rows=report.sources k />
            <Table title="Mediums" rows=report.mediums k />
            <Table title="Campaigns" rows=report.campaigns k />
            <Table title="Referrers" rows=report.referrers k />
            <Table title="Landing pages" rows=report.landing_pages k />
        </section>
    }
}

#[component]
fn Table(title: &'static str, rows: ConversionBreakdown, k: u64) -> impl IntoView {
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
                {cells.into_iter().map(|row| view! {
                    <tr>{row.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}</tr>
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
fn GoalForm(site: String, on_saved: Callback<()>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new("event".to_owned());
    let target = RwSignal::new(String::new());
    let value = RwSignal::new(String::new());
    let message = RwSignal::new(None::<Result<String, String>>);
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
                        &format!("/conversions?goal={}", saved.id),
                        Default::default(),
                    );
                }
                Err(e) => message.set(Some(Err(e.to_string()))),
            }
        });
    };
    view! {
        <details class="panel goal-form">
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
                {move || message.get().map(|m| match m {
                    Ok(t) => view! { <p class="notice" role="status">{t}</p> }.into_any(),
                    Err(t) => view! { <p class="error" role="alert">{t}</p> }.into_any(),
                })}
            </form>
        </details>
    }
}
