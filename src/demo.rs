//! The demo shop: a small site instrumented with Sonde's collector and
//! banner, used by the demo data and the browser tests.

mod pages;

pub use pages::{Cart, Checkout, Home, Product, Products, Thanks};

use leptos::prelude::*;
use leptos_router::components::{A, Outlet};
use sonde_collector::{Collector, DeliveryOptions, Options};

use crate::consent::ConsentBanner;

/// The demo site's key, as the server configures it.
const SITE: &str = "demo";
/// The demo shop's consent policy version.
const POLICY_VERSION: u32 = 1;

/// The shop's frame: header, page, footer with the privacy settings link,
/// and the consent banner. The collector runs while the shop is shown.
#[component]
pub fn DemoShop() -> impl IntoView {
    let collector = Collector::start(Options {
        site: SITE.into(),
        endpoint: "/api/ingest".into(),
        policy_version: POLICY_VERSION,
        delivery: DeliveryOptions::default(),
    });
    let banner_open = RwSignal::new(collector.decision().is_none());
    let collector = StoredValue::new_local(collector);
    on_cleanup(move || {
        let _ = collector.try_with_value(Collector::shutdown);
    });

    view! {
        <div class="shop">
            <header class="shop-header">
                <A href="/demo">"Compass & Co."</A>
                <nav>
                    <A href="/demo/products">"Products"</A>
                    <A href="/demo/cart">"Cart"</A>
                </nav>
            </header>
            <main class="shop-page">
                <Outlet />
            </main>
            <footer class="shop-footer">
                <button class="link" data-sonde-settings="" on:click=move |_| banner_open.set(true)>
                    "Privacy settings"
                </button>
                <a href="/" rel="external">"Sonde dashboard"</a>
            </footer>
            <ConsentBanner collector open=banner_open />
        </div>
    }
}
