//! The key figures of the period, each with its change against the period
//! before.

use leptos::prelude::*;
use sonde_protocol::Versus;
use sonde_protocol::overview::KeyFigures as Figures;

/// One figure: its name, its value as shown, its machine-readable name.
struct Figure {
    name: &'static str,
    key: &'static str,
    shown: String,
}

fn figures(f: &Figures) -> [Figure; 6] {
    let figure = |name, key, shown| Figure { name, key, shown };
    [
        figure("Visitors", "visitors", f.visitors.to_string()),
        figure("Visits", "sessions", f.sessions.to_string()),
        figure("Page views", "pageviews", f.pageviews.to_string()),
        figure(
            "Views per visit",
            "views_per_session",
            format!("{:.1}", f.views_per_session),
        ),
        figure(
            "Bounce rate",
            "bounce_rate",
            format!("{:.0} %", f.bounce_rate * 100.0),
        ),
        figure(
            "Visit duration",
            "avg_duration_ms",
            duration(f.avg_duration_ms),
        ),
    ]
}

/// `2 min 5 s`, `40 s`.
fn duration(ms: f64) -> String {
    let seconds = (ms / 1000.0).round() as u64;
    if seconds >= 60 {
        format!("{} min {} s", seconds / 60, seconds % 60)
    } else {
        format!("{seconds} s")
    }
}

#[component]
pub fn KeyFigures(
    /// The period shown.
    current: Figures,
    /// The compared period's.
    previous: Figures,
    /// What `previous` covers.
    versus: Versus,
    /// Figures of fewer visitors than this under a filter are not shown.
    k: u64,
) -> impl IntoView {
    let changes = current.change(&previous);
    if current.fewer_than_k {
        return view! {
            <p class="fewer-than-k" data-fewer-than-k="key-figures">
                {format!("Fewer than {k} visitors match this filter in this period: the key figures are not shown.")}
            </p>
        }
        .into_any();
    }
    view! {
        <dl class="key-figures">
            {figures(&current)
                .into_iter()
                .zip(changes)
                .map(|(figure, delta)| {
                    view! {
                        <div>
                            <dt>{figure.name}</dt>
                            <dd data-figure=figure.key>{figure.shown}</dd>
                            <dd class="change" title=crate::change::compared(versus)>{crate::change::describe(delta)}</dd>
                        </div>
                    }
                })
                .collect_view()}
        </dl>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(52_500.0), "53 s");
        assert_eq!(duration(125_000.0), "2 min 5 s");
    }
}
