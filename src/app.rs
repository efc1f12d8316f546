//! The routes of the web app.

use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::path;

use crate::dashboard::Dashboard;
use crate::demo::{Cart, Checkout, DemoShop, Home, Product, Products, Thanks};

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                <Route path=path!("/") view=Dashboard />
                <ParentRoute path=path!("/demo") view=DemoShop>
                    <Route path=path!("") view=Home />
                    <Route path=path!("products") view=Products />
                    <Route path=path!("products/:slug") view=Product />
                    <Route path=path!("cart") view=Cart />
                    <Route path=path!("checkout") view=Checkout />
                    <Route path=path!("thanks") view=Thanks />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
