//! The digests page, for admins: who gets the site's figures by e-mail and
//! how often, what was last sent to each and why it failed if it did, and
//! a form to subscribe someone. Each digest carries its own unsubscribe
//! link, so the person never needs an account.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sonde_protocol::digest::{DigestSubscription, Frequency, SavedDigest};

use crate::api::{self, ClientError};
use crate::controls::{FormOutcome, Outcome, send_change};
use crate::layout::ReportPage;
use crate::local_time::local_time;
use crate::route::Page;

#[component]
pub fn DigestsPage() -> impl IntoView {
    let changed = RwSignal::new(0u32);
    let fetch = move |site: String| {
        changed.track();
        async move {
            let digests: Result<Vec<SavedDigest>, ClientError> = api::digests(&site).await;
            digests.map(|d| (site, d))
        }
    };
    let reload = Callback::new(move |()| changed.update(|n| *n += 1));
    let outcome: FormOutcome = RwSignal::new(None);
    view! {
        <ReportPage page=Page::Digests load=fetch failure="The digests could not load: "
            ignores_filters="A digest covers the whole site, the last full week or month: the range and filters do not apply here."
            let((site, digests))>
            <div class="form-outcome digests-outcome"><Outcome outcome=outcome /></div>
            <Subscriptions digests=digests.clone() outcome=outcome on_change=reload />
            <SubscribeForm site=site.clone() outcome=outcome on_saved=reload />
        </ReportPage>
    }
}

fn frequency_label(f: Frequency) -> &'static str {
    match f {
        Frequency::Weekly => "Weekly, on Mondays",
        Frequency::Monthly => "Monthly, on the 1st",
    }
}

/// What was last sent, or that nothing was yet.
fn last_sent(d: &SavedDigest) -> String {
    match (&d.last_period, d.last_sent_at) {
        (Some(period), Some(at)) => format!("{} (from {period})", local_time(at)),
        _ => "not yet".into(),
    }
}

/// The site's subscriptions, with a way to send or remove each.
#[component]
fn Subscriptions(
    digests: Vec<SavedDigest>,
    /// Where sending or removing says how it went.
    outcome: FormOutcome,
    /// Called after a subscription changed.
    on_change: Callback<()>,
) -> impl IntoView {
    if digests.is_empty() {
        return view! {
            <section class="panel record-list digest-list">
                <h3>"Subscriptions"</h3>
                <p class="empty">"No one gets this site's digest yet."</p>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="panel record-list digest-list">
            <h3>"Subscriptions"</h3>
            <table class="breakdown" data-digests="">
                <thead><tr>
                    <th scope="col">"E-mail"</th><th scope="col">"Sent"</th><th scope="col">"Last sent"</th>
                    <th scope="col">"Problem"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {digests.into_iter().map(|d| {
                        let (send_id, remove_id) = (d.id.clone(), d.id.clone());
                        let email = d.email.clone();
                        let send = move |_| {
                            let id = send_id.clone();
                            outcome.set(None);
                            spawn_local(async move {
                                match api::send_digest(&id).await {
                                    Ok(sent) => outcome.set(Some(Ok(format!("Sent the digest to {}.", sent.email)))),
                                    Err(e) => outcome.set(Some(Err(e.to_string()))),
                                }
                                on_change.run(());
                            });
                        };
                        let remove = move |_| {
                            let id = remove_id.clone();
                            send_change(outcome, async move { api::delete_digest(&id).await }, None, on_change);
                        };
                        view! {
                            <tr data-digest=d.id.clone()>
                                <td data-label="E-mail">{d.email.clone()}</td>
                                <td data-label="Sent">{frequency_label(d.frequency)}</td>
                                <td data-label="Last sent">{last_sent(&d)}</td>
                                <td data-label="Problem">{d.last_error.clone().unwrap_or_else(|| "none".into())}</td>
                                <td class="actions">
                                    <button type="button" class="link" aria-label=format!("Send now to {email}") on:click=send>"Send now"</button>
                                    <button type="button" class="link" aria-label=format!("Remove {email}") on:click=remove>"Remove"</button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
    .into_any()
}

/// Subscribes an address, weekly or monthly.
#[component]
fn SubscribeForm(
    site: String,
    /// Where the form says whether it was saved.
    outcome: FormOutcome,
    /// Called after the subscription is saved.
    on_saved: Callback<()>,
) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let frequency = RwSignal::new("weekly".to_owned());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let subscription = DigestSubscription {
            email: email.get_untracked().trim().to_owned(),
            frequency: match frequency.get_untracked().as_str() {
                "monthly" => Frequency::Monthly,
                _ => Frequency::Weekly,
            },
        };
        let site = site.clone();
        spawn_local(async move {
            match api::subscribe_digest(&site, &subscription).await {
                Ok(saved) => {
                    outcome.set(Some(Ok(format!(
                        "{} gets the {} digest from the next round on.",
                        saved.email,
                        saved.frequency.label()
                    ))));
                    email.set(String::new());
                    on_saved.run(());
                }
                Err(e) => outcome.set(Some(Err(e.to_string()))),
            }
        });
    };
    view! {
        <section class="panel entry-form digest-form">
            <h3>"Subscribe someone"</h3>
            <p class="hint">"Key figures against the period before, top pages and sources, goals, new and top errors and consent, with charts. Each e-mail has a link that unsubscribes without signing in."</p>
            <form on:submit=submit aria-label="Subscribe to the digest">
                <label>"E-mail" <input type="email" name="digest-email" bind:value=email placeholder="pm@example.com" required=true /></label>
                <label>"How often"
                    <select name="digest-frequency" prop:value=move || frequency.get() on:change=move |ev| frequency.set(event_target_value(&ev))>
                        <option value="weekly">"Weekly (the week before, each Monday)"</option>
                        <option value="monthly">"Monthly (the month before, on the 1st)"</option>
                    </select>
                </label>
                <button type="submit">"Subscribe"</button>
            </form>
        </section>
    }
}
