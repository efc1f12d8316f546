//! The demo shop's pages.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

/// (slug, name, price in euros)
const PRODUCTS: [(&str, &str, u32); 3] = [
    ("compass", "Brass compass", 49),
    ("map", "Folding map", 12),
    ("lantern", "Storm lantern", 35),
];

#[component]
pub fn Home() -> impl IntoView {
    view! {
        <h1>"Find your way"</h1>
        <p>"Instruments for people who like to know where they are."</p>
        <A href="/demo/products">"Browse the products"</A>
    }
}

#[component]
pub fn Products() -> impl IntoView {
    view! {
        <h1>"Products"</h1>
        <ul class="products">
            {PRODUCTS
                .iter()
                .map(|(slug, name, price)| {
                    view! {
                        <li>
                            <A href=format!("/demo/products/{slug}")>{*name}</A>
                            <span class="price">{format!("€{price}")}</span>
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}

#[component]
pub fn Product() -> impl IntoView {
    let params = use_params_map();
    let product = move || {
        let slug = params.read().get("slug").unwrap_or_default();
        PRODUCTS.iter().find(|(s, _, _)| *s == slug).copied()
    };
    view! {
        {move || match product() {
            Some((_, name, price)) => {
                view! {
                    <h1>{name}</h1>
                    <p class="price">{format!("€{price}")}</p>
                    <A href="/demo/cart">"Add to cart"</A>
                }
                    .into_any()
            }
            None => view! { <p>"No such product."</p> }.into_any(),
        }}
    }
}

#[component]
pub fn Cart() -> impl IntoView {
    view! {
        <h1>"Your cart"</h1>
        <p>"One brass compass."</p>
        <A href="/demo/checkout">"Check out"</A>
    }
}

#[component]
pub fn Checkout() -> impl IntoView {
    view! {
        <h1>"Checkout"</h1>
        <form name="checkout" on:submit=|e| e.prevent_default()>
            <label>"E-mail " <input type="email" name="email" autocomplete="email" /></label>
        </form>
        <A href="/demo/thanks">"Place the order"</A>
    }
}

#[component]
pub fn Thanks() -> impl IntoView {
    view! {
        <h1>"Thank you"</h1>
        <p>"Your order is on its way."</p>
    }
}
