//! The most viewed pages.

use leptos::prelude::*;
use sonde_protocol::PageStat;

#[component]
pub fn TopPages(
    /// Most viewed first.
    pages: Vec<PageStat>,
) -> impl IntoView {
    let csv = crate::csv::to_csv(
        &["Page", "Views", "Visitors"],
        &pages
            .iter()
            .map(|p| {
                vec![
                    p.path.clone(),
                    p.pageviews.to_string(),
                    p.visitors.to_string(),
                ]
            })
            .collect::<Vec<_>>(),
    );
    view! {
        <table class="top-pages">
            <caption>
                "Top pages "
                <a class="csv" href=crate::csv::data_url(&csv) download="top-pages.csv">
                    "CSV"
                </a>
            </caption>
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
