//! The people page, for admins: who may sign in, as what, and which sites
//! a viewer may read; a form to add a person or change one (the password
//! is given again, and the same one keeps them signed in), and a way to
//! remove each.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sonde_protocol::account::{NewUser, Role, User};

use crate::api::{self, ClientError};
use crate::controls::{FormOutcome, Outcome, send_change};
use crate::layout::ReportPage;
use crate::route::Page;

#[component]
pub fn PeoplePage() -> impl IntoView {
    let changed = RwSignal::new(0u32);
    // People are not a site's: the site shown only starts the load.
    let fetch = move |_site: String| {
        changed.track();
        async move {
            let people: Result<Vec<User>, ClientError> = api::users().await;
            let sites = api::sites().await?.into_iter().map(|s| s.key).collect();
            people.map(|p| (p, sites))
        }
    };
    let reload = Callback::new(move |()| changed.update(|n| *n += 1));
    let outcome: FormOutcome = RwSignal::new(None);
    view! {
        <ReportPage page=Page::People load=fetch failure="The people could not load: "
            ignores_filters="People are the whole dashboard's: the range and filters do not apply here."
            let((people, sites))>
            <div class="form-outcome people-outcome"><Outcome outcome=outcome /></div>
            <PersonList people=people outcome=outcome on_change=reload />
            <PersonForm sites=sites outcome=outcome on_saved=reload />
        </ReportPage>
    }
}

/// What a person may read, in words.
fn reads(user: &User) -> String {
    match (&user.role, &user.sites) {
        (Role::Admin, _) | (Role::Viewer, None) => "every site".into(),
        (Role::Viewer, Some(sites)) => sites.join(", "),
    }
}

/// Everyone who may sign in, each with a way to remove them.
#[component]
fn PersonList(
    people: Vec<User>,
    /// Where removing says how it went.
    outcome: FormOutcome,
    /// Called after someone was removed.
    on_change: Callback<()>,
) -> impl IntoView {
    // An admin does not remove themselves (the server refuses it too).
    let me = match expect_context::<crate::session::Session>().principal() {
        Some(sonde_protocol::account::Principal::User { username, .. }) => Some(username),
        _ => None,
    };
    view! {
        <section class="panel record-list people-list">
            <h3>"Who may sign in"</h3>
            <table class="breakdown" data-people="">
                <thead><tr>
                    <th scope="col">"Username"</th><th scope="col">"Role"</th><th scope="col">"Reads"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {people.into_iter().map(|u| {
                        let name = u.username.clone();
                        let removable = me.as_deref() != Some(u.username.as_str());
                        let remove = move |_| {
                            let name = name.clone();
                            let done = format!("{name} is removed and signed out.");
                            send_change(outcome, async move { api::remove_user(&name).await }, Some(done), on_change);
                        };
                        view! {
                            <tr data-person=u.username.clone()>
                                <td data-label="Username">{u.username.clone()}</td>
                                <td data-label="Role">{u.role.as_str()}</td>
                                <td data-label="Reads">{reads(&u)}</td>
                                <td class="actions">
                                    {removable.then(|| view! {
                                        <button type="button" class="link" aria-label=format!("Remove {}", u.username) on:click=remove>"Remove"</button>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// Adds a person or changes one: username, password, role, and for a
/// viewer the sites (none ticked: every site).
#[component]
fn PersonForm(
    /// Every site, to choose a viewer's from.
    sites: Vec<String>,
    /// Where the form says how it went.
    outcome: FormOutcome,
    /// Called after the person is saved.
    on_saved: Callback<()>,
) -> impl IntoView {
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let admin = RwSignal::new(false);
    let chosen = RwSignal::new(Vec::<String>::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let role = if admin.get_untracked() {
            Role::Admin
        } else {
            Role::Viewer
        };
        let ticked = chosen.get_untracked();
        let user = NewUser {
            username: username.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
            role,
            sites: (role == Role::Viewer && !ticked.is_empty()).then_some(ticked),
        };
        spawn_local(async move {
            match api::put_user(&user).await {
                Ok(saved) => {
                    outcome.set(Some(Ok(format!(
                        "{} may sign in as {} and read {}.",
                        saved.username,
                        saved.role.as_str(),
                        reads(&saved)
                    ))));
                    password.set(String::new());
                    on_saved.run(());
                }
                Err(e) => outcome.set(Some(Err(e.to_string()))),
            }
        });
    };
    view! {
        <section class="panel entry-form person-form">
            <h3>"Add or change a person"</h3>
            <p class="hint">"Changing someone? Give their username and their password again (a new one signs them out)."</p>
            <form on:submit=submit aria-label="Add or change a person">
                <label>"Username" <input type="text" name="person-username" bind:value=username required=true autocomplete="off" /></label>
                <label>"Password" <input type="password" name="person-password" bind:value=password required=true minlength="10" autocomplete="new-password" /></label>
                <label class="check"><input type="checkbox" name="person-admin" bind:checked=admin />
                    "admin (manages people, sites' settings and keys; reads every site)"</label>
                <fieldset disabled=move || admin.get()>
                    <legend>"A viewer reads (none ticked: every site)"</legend>
                    {sites.into_iter().map(|site| {
                        let key = site.clone();
                        let ticked = move || chosen.with(|c| c.contains(&key));
                        let key = site.clone();
                        let toggle = move |ev: leptos::ev::Event| {
                            let on = event_target_checked(&ev);
                            chosen.update(|c| {
                                c.retain(|s| s != &key);
                                if on {
                                    c.push(key.clone());
                                }
                            });
                        };
                        view! {
                            <label class="check">
                                <input type="checkbox" name="person-site" value=site.clone() prop:checked=ticked on:change=toggle />
                                {site.clone()}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <button type="submit">"Save"</button>
            </form>
        </section>
    }
}
