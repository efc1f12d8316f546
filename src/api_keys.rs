//! The API keys page, for admins: the site's keys (what each may do, the
//! first characters of its token, who made it when), a way to revoke each,
//! and a form to make one, whose token is shown this once.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sonde_protocol::api_key::{ApiKey, ApiKeyScope, CreatedApiKey, NewApiKey};

use crate::api::{self, ClientError};
use crate::controls::{FormOutcome, Outcome, send_change};
use crate::layout::ReportPage;
use crate::local_time::local_time;
use crate::route::Page;

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let changed = RwSignal::new(0u32);
    let fetch = move |site: String| {
        changed.track();
        async move {
            let keys: Result<Vec<ApiKey>, ClientError> = api::api_keys(&site).await;
            keys.map(|k| (site, k))
        }
    };
    let reload = Callback::new(move |()| changed.update(|n| *n += 1));
    let outcome: FormOutcome = RwSignal::new(None);
    // Kept outside the list, which reloads: the token is shown only now.
    let created: RwSignal<Option<CreatedApiKey>> = RwSignal::new(None);
    view! {
        <ReportPage page=Page::ApiKeys load=fetch failure="The API keys could not load: "
            ignores_filters="API keys are the site's: the range and filters do not apply here."
            let((site, keys))>
            <div class="form-outcome api-keys-outcome"><Outcome outcome=outcome /></div>
            <NewToken created=created />
            <KeyList keys=keys.clone() outcome=outcome on_change=reload />
            <KeyForm site=site.clone() outcome=outcome created=created on_saved=reload />
        </ReportPage>
    }
}

fn scopes(key: &ApiKey) -> String {
    key.scopes
        .iter()
        .map(|s| s.label())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The token of the key just made, with how to use it.
#[component]
fn NewToken(
    /// The key just made, if one was.
    created: RwSignal<Option<CreatedApiKey>>,
) -> impl IntoView {
    move || {
        created.get().map(|c| {
            let example = if c.key.may(ApiKeyScope::Stats) {
                format!(
                    "curl -H 'Authorization: Bearer {}' '{}/api/overview?site={}&from=…&to=…'",
                    c.token,
                    origin(),
                    c.key.site
                )
            } else {
                format!(
                    "curl -H 'Authorization: Bearer {}' -H 'content-type: application/json' -d '{{\"at\": …, \"text\": \"Deploy …\"}}' {}/api/sites/{}/annotations",
                    c.token,
                    origin(),
                    c.key.site
                )
            };
            view! {
                <section class="panel new-token" aria-label="The new key's token">
                    <h3>{format!("“{}” is made", c.key.name)}</h3>
                    <p>"Copy its token now: Sonde keeps only its hash and cannot show it again."</p>
                    <p><code data-token="">{c.token.clone()}</code></p>
                    <p class="hint">"For example:"</p>
                    <pre><code>{example}</code></pre>
                </section>
            }
        })
    }
}

fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// The site's keys, newest first, each with a way to revoke it.
#[component]
fn KeyList(
    keys: Vec<ApiKey>,
    /// Where revoking says how it went.
    outcome: FormOutcome,
    /// Called after a key was revoked.
    on_change: Callback<()>,
) -> impl IntoView {
    if keys.is_empty() {
        return view! {
            <section class="panel record-list api-key-list">
                <h3>"Keys"</h3>
                <p class="empty">"This site has no API key."</p>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="panel record-list api-key-list">
            <h3>"Keys"</h3>
            <table class="breakdown" data-api-keys="">
                <thead><tr>
                    <th scope="col">"Name"</th><th scope="col">"May"</th><th scope="col">"Token"</th>
                    <th scope="col">"Made"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {keys.into_iter().map(|k| {
                        let (id, name) = (k.id.clone(), k.name.clone());
                        let revoke = move |_| {
                            let id = id.clone();
                            let done = format!("“{name}” is revoked: it opens nothing now.");
                            send_change(outcome, async move { api::revoke_api_key(&id).await }, Some(done), on_change);
                        };
                        view! {
                            <tr data-api-key=k.id.clone()>
                                <td data-label="Name">{k.name.clone()}</td>
                                <td data-label="May">{scopes(&k)}</td>
                                <td data-label="Token"><code>{format!("{}…", k.prefix)}</code></td>
                                <td data-label="Made">{format!("{} by {}", local_time(k.created_at), k.created_by)}</td>
                                <td class="actions">
                                    <button type="button" class="link" aria-label=format!("Revoke {}", k.name) on:click=revoke>"Revoke"</button>
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

/// Makes a key: its name and what it may do.
#[component]
fn KeyForm(
    site: String,
    /// Where the form says why a key was not made.
    outcome: FormOutcome,
    /// Where the key made goes, with its token.
    created: RwSignal<Option<CreatedApiKey>>,
    /// Called after the key is made.
    on_saved: Callback<()>,
) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let stats = RwSignal::new(true);
    let annotations = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut scopes = Vec::new();
        if stats.get_untracked() {
            scopes.push(ApiKeyScope::Stats);
        }
        if annotations.get_untracked() {
            scopes.push(ApiKeyScope::Annotations);
        }
        let key = NewApiKey {
            name: name.get_untracked().trim().to_owned(),
            scopes,
        };
        let site = site.clone();
        spawn_local(async move {
            match api::create_api_key(&site, &key).await {
                Ok(made) => {
                    outcome.set(None);
                    created.set(Some(made));
                    name.set(String::new());
                    on_saved.run(());
                }
                Err(e) => outcome.set(Some(Err(e.to_string()))),
            }
        });
    };
    view! {
        <section class="panel entry-form api-key-form">
            <h3>"Make a key"</h3>
            <p class="hint">"For a script, a BI tool or a deploy pipeline: sent as "
                <code>"Authorization: Bearer …"</code> ", for this site only."</p>
            <form on:submit=submit aria-label="Make an API key">
                <label>"Name" <input type="text" name="api-key-name" bind:value=name placeholder="Metabase" required=true /></label>
                <fieldset>
                    <legend>"It may"</legend>
                    <label class="check"><input type="checkbox" name="api-key-stats" bind:checked=stats />
                        "read the stats (every report, read-only)"</label>
                    <label class="check"><input type="checkbox" name="api-key-annotations" bind:checked=annotations />
                        "add annotations"</label>
                </fieldset>
                <button type="submit">"Make the key"</button>
            </form>
        </section>
    }
}
