//! Component tests of the controls every report page shares, mounted on
//! their own in headless Chromium (wasm-bindgen-test; `cargo xtask test`
//! runs them with the chromedriver the browser tests use). They click as a
//! reader would and read what the page then shows and links to.

#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use leptos::mount::mount_to;
use leptos::prelude::*;
use leptos_router::components::Router;
use sonde_web::controls::{FilterChips, Range, RangeControl, RangePicker};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

const WAIT: Duration = Duration::from_secs(5);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A fresh element of the page's body to mount a component in.
fn container() -> HtmlElement {
    let div: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&div).unwrap();
    div
}

/// Puts the page at `url` (path and query), as a reader opening a link.
fn open(url: &str) {
    web_sys::window()
        .unwrap()
        .history()
        .unwrap()
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url))
        .unwrap();
}

fn all(root: &Element, selector: &str) -> Vec<Element> {
    let list = root.query_selector_all(selector).unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().unchecked_into())
        .collect()
}

fn one(root: &Element, selector: &str) -> HtmlElement {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector} in {}", root.inner_html()))
        .unchecked_into()
}

fn pressed(root: &Element) -> Vec<String> {
    all(root, "button[aria-pressed=true]")
        .iter()
        .filter_map(|b| b.get_attribute("data-range"))
        .collect()
}

fn location() -> String {
    let location = web_sys::window().unwrap().location();
    format!(
        "{}{}",
        location.pathname().unwrap(),
        location.search().unwrap()
    )
}

/// Waits, a few milliseconds at a time, until `done` holds.
async fn until(what: &str, done: impl Fn() -> bool) {
    let started = js_sys::Date::now();
    while !done() {
        assert!(
            js_sys::Date::now() - started < WAIT.as_millis() as f64,
            "timed out waiting for {what}"
        );
        let sleep = js_sys::Promise::new(&mut |resolve, _| {
            web_sys::window()
                .unwrap()
                .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 10)
                .unwrap();
        });
        wasm_bindgen_futures::JsFuture::from(sleep).await.unwrap();
    }
}

#[wasm_bindgen_test]
async fn the_range_picker_offers_every_range_presses_the_chosen_one_and_reports_a_click() {
    let root = container();
    let range = RwSignal::new(Range::Last30Days);
    let chosen = RwSignal::new(None::<Range>);
    let on_choose = Callback::new(move |r: Range| {
        chosen.set(Some(r));
        range.set(r);
    });
    let _mounted = mount_to(
        root.clone(),
        move || view! { <RangePicker range on_choose /> },
    );

    let labels: Vec<String> = all(&root, "button[data-range]")
        .iter()
        .map(|b| b.text_content().unwrap_or_default())
        .collect();
    assert_eq!(
        labels,
        [
            "Last 24 hours",
            "Last 7 days",
            "Last 30 days",
            "Last 90 days",
            "Last 12 months",
            "Year to date"
        ]
    );
    assert_eq!(pressed(&root), ["30d"]);

    one(&root, "button[data-range='7d']").click();
    assert_eq!(chosen.get_untracked(), Some(Range::Last7Days));
    until("the 7 days to be pressed", || pressed(&root) == ["7d"]).await;
}

// One test mounts the router: a router left from an earlier test would
// still catch the page's link clicks.
#[wasm_bindgen_test]
async fn the_range_and_the_filter_chips_change_the_url_and_keep_each_other() {
    open("/?device=mobile&range=7d&source=news%20today");
    let root = container();
    let _mounted = mount_to(root.clone(), || {
        view! {
            <Router>
                <RangeControl />
                <FilterChips />
            </Router>
        }
    });
    let chips = || {
        all(&root, ".chip")
            .iter()
            .map(|c| c.get_attribute("data-filter").unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(pressed(&root), ["7d"], "the URL's range is pressed");
    assert_eq!(chips(), ["source", "device"], "in the filters' order");
    assert_eq!(
        one(&root, ".chip[data-filter=source] span")
            .text_content()
            .unwrap(),
        "Source: news today"
    );

    // Choosing a range keeps the filters.
    one(&root, "button[data-range='24h']").click();
    until("the URL to change", || {
        location() == "/?device=mobile&range=24h&source=news%20today"
    })
    .await;
    until("24 hours to be pressed", || pressed(&root) == ["24h"]).await;
    assert_eq!(chips(), ["source", "device"]);

    // Removing a filter keeps the range and the other filter.
    let remove = one(&root, ".chip[data-filter=device] a");
    assert_eq!(
        remove.get_attribute("aria-label").unwrap(),
        "Remove the filter Device: mobile"
    );
    assert_eq!(
        remove.get_attribute("href").unwrap(),
        "/?range=24h&source=news%20today"
    );
    remove.click();
    until("the device chip to go", || chips() == ["source"]).await;
    assert_eq!(location(), "/?range=24h&source=news%20today");
    assert_eq!(pressed(&root), ["24h"]);

    // Without filters, no chips at all.
    one(&root, ".chip[data-filter=source] a").click();
    until("the last chip to go", || {
        all(&root, ".filter-chips").is_empty()
    })
    .await;
    assert_eq!(location(), "/?range=24h");
}
