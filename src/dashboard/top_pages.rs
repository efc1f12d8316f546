//! The most viewed pages.

use leptos::prelude::*;
use sonde_protocol::PageStat;

#[component]
pub fn TopPages(
    /// Most viewed first.
    pages: Vec<PageStat>,
) -> impl IntoView {
    view! {
        <table class="top-pages">
            <caption>"Top pages"</caption>
            <thead>
                <tr>
                    <th scope="col">"Page"</th>
                    <th scope="col">"Views"</th>
                    <th scope="col">"Visitors"</th>
                </tr>
            </thead>
            <tbody>
                {pages
                    .into_iter()
                    .map(|p| {
                        view! {
                            <tr>
                                <td><code>{p.path}</code></td>
                                <td>{p.pageviews}</td>
                                <td>{p.visitors}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
