//! One breakdown (pages, sources, browsers…) as a table, with the rows too
//! small to show counted below it.

use leptos::prelude::*;
use sonde_protocol::overview::Breakdown as Rows;

use crate::route::Page;

#[component]
pub fn Breakdown(
    /// What the rows are, as the table's caption ("Entry pages").
    title: &'static str,
    /// What `count` counts in these rows ("Visits", "Views").
    counted: &'static str,
    rows: Rows,
    /// The smallest group listed, in visitors.
    k: u64,
    /// The filter a row's label sets when chosen (`source`, `device`…).
    #[prop(optional)]
    filter: Option<&'static str>,
) -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let empty = rows.rows.is_empty();
    let small = rows.small_groups;
    let csv = crate::csv::to_csv(
        &[title, "Visitors", counted],
        &rows
            .rows
            .iter()
            .map(|r| vec![r.label.clone(), r.visitors.to_string(), r.count.to_string()])
            .collect::<Vec<_>>(),
    );
    let file = format!("{}.csv", title.to_lowercase().replace(' ', "-"));
    view! {
        <table class="breakdown" data-breakdown=title>
            <caption>
                {title}
                " "
                <a class="csv" href=crate::csv::data_url(&csv) download=file>
                    "CSV"
                </a>
            </caption>
            <thead>
                <tr>
                    <th scope="col">{title}</th>
                    <th scope="col">"Visitors"</th>
                    <th scope="col">{counted}</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .rows
                    .into_iter()
                    .map(|row| {
                        view! {
                            <tr>
                                <td>
                                    {match filter {
                                        Some(key) => {
                                            let href = crate::controls::query::href(Page::Overview.path(), &query.get_untracked(), key, Some(&row.label));
                                            view! { <a href=href class="filter-link" title="Show only these visits">{row.label}</a> }.into_any()
                                        }
                                        None => view! { <span>{row.label}</span> }.into_any(),
                                    }}
                                </td>
                                <td>{row.visitors}</td>
                                <td>{row.count}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
                {(empty && small == 0)
                    .then(|| view! { <tr><td colspan="3" class="muted">"Nothing in this period."</td></tr> })}
            </tbody>
            {(small > 0)
                .then(|| {
                    let noun = if small == 1 { "other" } else { "others" };
                    view! {
                        <tfoot>
                            <tr>
                                <td colspan="3" class="muted" data-small-groups=small>
                                    {format!("{small} {noun}, each with fewer than {k} visitors, not shown")}
                                </td>
                            </tr>
                        </tfoot>
                    }
                })}
        </table>
    }
}
