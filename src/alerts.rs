//! The alerts page, for support and admins: the site's alert rules, what
//! each watches and where it tells, a form for admins to add one, and the
//! history of firings with their evidence and deliveries.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sonde_protocol::Vital;
use sonde_protocol::alert::{
    AlertCondition, AlertFiring, AlertRule, Channel, DEFAULT_SENSITIVITY, SavedAlertRule,
};
use sonde_protocol::goal::SavedGoal;

use crate::api::{self, ClientError};
use crate::controls::{FormOutcome, Outcome};
use crate::layout::ReportPage;
use crate::local_time::local_time;
use crate::route::Page;
use crate::session::Session;

/// Everything the page shows of a site.
#[derive(Clone)]
struct Alerts {
    site: String,
    rules: Vec<SavedAlertRule>,
    firings: Vec<AlertFiring>,
    goals: Vec<SavedGoal>,
}

async fn load(site: String) -> Result<Alerts, ClientError> {
    Ok(Alerts {
        rules: api::alert_rules(&site).await?,
        firings: api::alert_firings(&site).await?,
        goals: api::goals(&site).await?,
        site,
    })
}

#[component]
pub fn AlertsPage() -> impl IntoView {
    let changed = RwSignal::new(0u32);
    let fetch = move |site| {
        changed.track();
        load(site)
    };
    let session = expect_context::<Session>();
    let reload = Callback::new(move |()| changed.update(|n| *n += 1));
    // Kept here, above the page's content: saving reloads the rules, and
    // the new secret must still be shown after.
    let saved: FormOutcome = RwSignal::new(None);
    view! {
        <ReportPage page=Page::Alerts load=fetch failure="The alerts could not load: "
            ignores_filters="Alerts watch the whole site: the filters do not apply here."
            let(alerts)>
            <div class="form-outcome alerts-outcome"><Outcome outcome=saved /></div>
            <Rules rules=alerts.rules.clone() goals=alerts.goals.clone() admin=session.is_admin() on_change=reload />
            {session.is_admin().then(|| view! { <RuleForm site=alerts.site.clone() goals=alerts.goals.clone() outcome=saved on_saved=reload /> })}
            <History firings=alerts.firings.clone() />
        </ReportPage>
    }
}

fn channel_label(channel: &Channel) -> String {
    match channel {
        Channel::Webhook { url } => format!("webhook {url}"),
        Channel::Slack { url } => format!("Slack {url}"),
        Channel::Email { to } => format!("e-mail {to}"),
    }
}

/// What a rule watches, with the goal named rather than its id.
fn watching(condition: &AlertCondition, goals: &[SavedGoal]) -> String {
    match condition {
        AlertCondition::ConversionDrop { goal, .. } => {
            let name = goals
                .iter()
                .find(|g| &g.id == goal)
                .map(|g| g.goal.name.clone())
                .unwrap_or_else(|| "a removed goal".into());
            format!("the conversion rate of “{name}” dropping")
        }
        other => other.describe(),
    }
}

/// The site's rules; admins may remove one.
#[component]
fn Rules(
    rules: Vec<SavedAlertRule>,
    /// To name the goals rules watch.
    goals: Vec<SavedGoal>,
    /// Whether the reader may remove rules.
    admin: bool,
    /// Called after a rule is removed.
    on_change: Callback<()>,
) -> impl IntoView {
    let failure = RwSignal::new(None::<String>);
    if rules.is_empty() {
        return view! {
            <section class="panel record-list alert-rules">
                <h3>"Rules"</h3>
                <p class="empty">"No alert rule yet: nobody is told when something changes."</p>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="panel record-list alert-rules">
            <h3>"Rules"</h3>
            <table class="breakdown" data-alert-rules="">
                <thead><tr><th scope="col">"Name"</th><th scope="col">"Watching"</th><th scope="col">"Tells"</th>{admin.then(|| view! { <th scope="col"><span class="visually-hidden">"Remove"</span></th> })}</tr></thead>
                <tbody>
                    {rules.into_iter().map(|r| {
                        let id = r.id.clone();
                        let name = r.rule.name.clone();
                        let remove = move |_| {
                            let id = id.clone();
                            spawn_local(async move {
                                match api::delete_alert_rule(&id).await {
                                    Ok(()) => on_change.run(()),
                                    Err(e) => failure.set(Some(e.to_string())),
                                }
                            });
                        };
                        view! {
                            <tr>
                                <td data-label="Name">{r.rule.name.clone()}</td>
                                <td data-label="Watching">{watching(&r.rule.condition, &goals)}</td>
                                <td data-label="Tells">{r.rule.channels.iter().map(channel_label).collect::<Vec<_>>().join("; ")}</td>
                                {admin.then(|| view! { <td><button type="button" class="link" aria-label=format!("Remove {name}") on:click=remove>"Remove"</button></td> })}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {move || failure.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
    .into_any()
}

/// A new rule: what to watch, how sensitive, and one channel to tell.
#[component]
fn RuleForm(
    site: String,
    /// The goals a conversion rule may watch.
    goals: Vec<SavedGoal>,
    /// Where the form says whether the rule was saved.
    outcome: FormOutcome,
    /// Called after the rule is saved.
    on_saved: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new("traffic".to_owned());
    let goal = RwSignal::new(goals.first().map(|g| g.id.clone()).unwrap_or_default());
    let vital = RwSignal::new("lcp".to_owned());
    let sensitivity = RwSignal::new(DEFAULT_SENSITIVITY.to_string());
    let margin = RwSignal::new("20".to_owned());
    let channel = RwSignal::new("email".to_owned());
    let target = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let sensitivity = sensitivity
            .get_untracked()
            .trim()
            .parse()
            .unwrap_or(f64::NAN);
        let condition = match kind.get_untracked().as_str() {
            "new_error_group" => AlertCondition::NewErrorGroup,
            "error_spike" => AlertCondition::ErrorSpike { sensitivity },
            "conversion_drop" => AlertCondition::ConversionDrop {
                goal: goal.get_untracked(),
                sensitivity,
            },
            "consent_share" => AlertCondition::ConsentShare { sensitivity },
            "vital_worse" => AlertCondition::VitalWorse {
                vital: match vital.get_untracked().as_str() {
                    "inp" => Vital::Inp,
                    "cls" => Vital::Cls,
                    "fcp" => Vital::Fcp,
                    "ttfb" => Vital::Ttfb,
                    _ => Vital::Lcp,
                },
                margin: margin
                    .get_untracked()
                    .trim()
                    .parse::<f64>()
                    .unwrap_or(f64::NAN)
                    / 100.0,
            },
            _ => AlertCondition::Traffic { sensitivity },
        };
        let to = target.get_untracked().trim().to_owned();
        let channel = match channel.get_untracked().as_str() {
            "webhook" => Channel::Webhook { url: to },
            "slack" => Channel::Slack { url: to },
            _ => Channel::Email { to },
        };
        let rule = AlertRule {
            name: name.get_untracked().trim().to_owned(),
            condition,
            channels: vec![channel],
        };
        let site = site.clone();
        spawn_local(async move {
            match api::create_alert_rule(&site, &rule).await {
                Ok(saved) => {
                    let secret = saved.secret.unwrap_or_default();
                    outcome.set(Some(Ok(format!(
                        "Saved “{}”. Webhooks are signed with the secret {secret} (header Sonde-Signature).",
                        saved.rule.name
                    ))));
                    on_saved.run(());
                }
                Err(e) => outcome.set(Some(Err(e.to_string()))),
            }
        });
    };
    let uses_sensitivity =
        move || !matches!(kind.get().as_str(), "new_error_group" | "vital_worse");
    view! {
        <details class="panel entry-form alert-form">
            <summary>"New alert"</summary>
            <form on:submit=submit aria-label="New alert">
                <label>"Name" <input type="text" name="alert-name" bind:value=name placeholder="Traffic" /></label>
                <label>"Tell me when"
                    <select name="alert-kind" prop:value=move || kind.get() on:change=move |ev| kind.set(event_target_value(&ev))>
                        <option value="traffic">"traffic is far from the same hour of other weeks"</option>
                        <option value="new_error_group">"a new error appears"</option>
                        <option value="error_spike">"an error spikes"</option>
                        <option value="conversion_drop">"a goal's conversion rate drops"</option>
                        <option value="consent_share">"the share of visitors granting usage changes"</option>
                        <option value="vital_worse">"a web vital gets slower"</option>
                    </select>
                </label>
                {move || (kind.get() == "conversion_drop").then(|| view! {
                    <label>"Goal"
                        <select name="alert-goal" prop:value=move || goal.get() on:change=move |ev| goal.set(event_target_value(&ev))>
                            {goals.iter().map(|g| view! { <option value=g.id.clone()>{g.goal.name.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                })}
                {move || (kind.get() == "vital_worse").then(|| view! {
                    <label>"Vital"
                        <select name="alert-vital" prop:value=move || vital.get() on:change=move |ev| vital.set(event_target_value(&ev))>
                            <option value="lcp">"LCP"</option>
                            <option value="inp">"INP"</option>
                            <option value="cls">"CLS"</option>
                            <option value="fcp">"FCP"</option>
                            <option value="ttfb">"TTFB"</option>
                        </select>
                    </label>
                    <label>"Slower by more than (%)" <input type="number" min="1" step="any" name="alert-margin" bind:value=margin /></label>
                })}
                {move || uses_sensitivity().then(|| view! {
                    <label title="Half-widths of the usual band: 1 tells often, 10 only of the largest changes">
                        "Sensitivity (1–10)" <input type="number" min="1" max="10" step="any" name="alert-sensitivity" bind:value=sensitivity />
                    </label>
                })}
                <label>"Tell"
                    <select name="alert-channel" prop:value=move || channel.get() on:change=move |ev| channel.set(event_target_value(&ev))>
                        <option value="email">"by e-mail"</option>
                        <option value="webhook">"a webhook (signed JSON)"</option>
                        <option value="slack">"a Slack webhook"</option>
                    </select>
                </label>
                <label>"Address or URL" <input type="text" name="alert-target" bind:value=target placeholder="support@example.com or https://…" /></label>
                <button type="submit">"Save alert"</button>
            </form>
        </details>
    }
}

/// The firings, the newest first.
#[component]
fn History(firings: Vec<AlertFiring>) -> impl IntoView {
    if firings.is_empty() {
        return view! {
            <section class="panel record-list alert-history">
                <h3>"History"</h3>
                <p class="empty">"Nothing has fired."</p>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="panel record-list alert-history">
            <h3>"History"</h3>
            <table class="breakdown" data-alert-history="">
                <thead><tr>
                    <th scope="col">"Fired"</th><th scope="col">"Rule"</th><th scope="col">"What happened"</th>
                    <th scope="col">"Figure"</th><th scope="col">"Usual"</th><th scope="col">"Resolved"</th><th scope="col">"Told"</th>
                </tr></thead>
                <tbody>
                    {firings.into_iter().map(|f| {
                        let e = &f.evidence;
                        let delivered = f.deliveries.iter().filter(|d| d.delivered_at.is_some()).count();
                        let failed: Vec<String> = f.deliveries.iter().filter_map(|d| d.error.clone()).collect();
                        let told = if failed.is_empty() {
                            format!("{delivered} of {}", f.deliveries.len())
                        } else {
                            format!("{delivered} of {}: {}", f.deliveries.len(), failed.join("; "))
                        };
                        view! {
                            <tr data-firing=f.id.clone() class:open=f.resolved_at.is_none()>
                                <td data-label="Fired">{local_time(f.fired_at)}</td>
                                <td data-label="Rule">{f.rule_name.clone()}</td>
                                <td data-label="What happened"><span>{e.summary.clone()} " " <a href=e.link.clone()>"Open"</a></span></td>
                                <td data-label="Figure">{e.unit.format(e.figure)}</td>
                                <td data-label="Usual">{format!("{} to {}", e.unit.format(e.low), e.unit.format(e.high))}</td>
                                <td data-label="Resolved">{f.resolved_at.map(local_time).unwrap_or_else(|| "still firing".into())}</td>
                                <td data-label="Told">{told}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}
