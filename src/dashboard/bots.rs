//! The bots turned away in the period, per day: what the traffic figures
//! leave out, so a reader can tell a crawl from a drop in visitors.

use leptos::prelude::*;
use sonde_protocol::overview::BotDay;

#[component]
pub fn BotsTurnedAway(
    /// The period's days that had bots, oldest first.
    days: Vec<BotDay>,
) -> impl IntoView {
    let total: u64 = days.iter().map(|d| d.requests).sum();
    let none = days.is_empty();
    view! {
        <table class="breakdown" data-breakdown="Bots">
            <caption>
                "Bots turned away: " <span data-total="bots">{total}</span>
            </caption>
            <thead>
                <tr>
                    <th scope="col">"Day"</th>
                    <th scope="col">"Requests"</th>
                </tr>
            </thead>
            <tbody>
                {days
                    .into_iter()
                    .map(|d| view! {
                        <tr>
                            <td>{d.day}</td>
                            <td>{d.requests}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
        <Show when=move || none>
            <p class="note">"No bots in this period. Bots are counted, never stored."</p>
        </Show>
    }
}
