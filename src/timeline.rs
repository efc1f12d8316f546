//! The annotations on a page's charts over time: fetched once per site
//! and range by the page shell ([`provide_page_annotations`]), placed on
//! each chart by its buckets ([`ChartMarks`]) and repeated in a key under
//! it ([`MarkKey`]), so a reader can tell a change in a figure from what
//! happened then.

use leptos::prelude::*;
use sonde_protocol::annotation::Annotation;

use crate::api;
use crate::charts::{Mark, place_marks};
use crate::controls::use_view;
use crate::local_time::local_time;
use crate::site::CurrentSite;

/// The annotations of the site and range a page shows, for its charts;
/// empty until they arrive, and when they cannot load (a chart is still
/// worth drawing without them).
#[derive(Clone, Copy)]
pub struct PageAnnotations(Signal<Vec<Annotation>>);

/// Fetches the annotations of the page's site and range, again whenever
/// either changes, and provides them to the page's charts.
pub fn provide_page_annotations() {
    let site = expect_context::<CurrentSite>();
    let view = use_view();
    let fetched = LocalResource::new(move || {
        let site = site.get().and_then(Result::ok);
        let (from, to) = view.range.get().bounds(js_sys::Date::now() as i64);
        async move {
            match site {
                Some(site) => api::annotations(&site, from, to).await.unwrap_or_default(),
                None => Vec::new(),
            }
        }
    });
    provide_context(PageAnnotations(Signal::derive(move || {
        fetched.get().unwrap_or_default()
    })));
}

/// What a chart over buckets starting at `starts` draws of the page's
/// annotations, as they arrive.
#[derive(Clone, Copy)]
pub struct ChartMarks(Signal<Vec<Mark>>);

impl ChartMarks {
    pub fn new(starts: Vec<i64>) -> ChartMarks {
        let annotations = use_context::<PageAnnotations>();
        ChartMarks(Signal::derive(move || {
            let Some(PageAnnotations(annotations)) = annotations else {
                return Vec::new();
            };
            let titled: Vec<(i64, String)> = annotations
                .get()
                .into_iter()
                .map(|a| (a.at, format!("{}: {}", local_time(a.at), a.text)))
                .collect();
            place_marks(&starts, &titled)
        }))
    }

    pub fn get(self) -> Vec<Mark> {
        self.0.get()
    }
}

/// The key under a chart: each mark's number, when and what.
#[component]
pub fn MarkKey(
    /// The chart's marks.
    marks: ChartMarks,
) -> impl IntoView {
    move || {
        let marks = marks.get();
        (!marks.is_empty()).then(|| {
            view! {
                <ol class="mark-key" aria-label="Annotations on this chart">
                    {marks.into_iter().map(|m| view! {
                        <li data-mark=m.number><span class="mark-number" aria-hidden="true">{m.number}</span>
                            {m.title}</li>
                    }).collect_view()}
                </ol>
            }
        })
    }
}
