//! Sonde's consent banner and privacy settings, as a module of its own that
//! `sonde.js` loads only when a decision is needed or the visitor opens the
//! settings. It talks to the collector only through the collector's
//! JavaScript face, `window.sonde` ([`collector::Sonde`]), so the two are
//! separate downloads.

mod banner;
mod categories;
mod collector;
mod style;

use std::cell::Cell;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

pub use banner::{Banner, Mode};
pub use categories::describe;
pub use collector::Sonde;

thread_local! {
    /// Set once the banner is mounted; later calls only reopen it.
    static OPEN: Cell<Option<RwSignal<Option<Mode>>>> = const { Cell::new(None) };
}

/// Shows the banner (`source` `"banner"`: no decision yet) or the privacy
/// settings (`"settings"`), for the collector `sonde`.
#[wasm_bindgen]
pub fn open(source: &str, sonde: Sonde) {
    let mode = if source == "settings" {
        Mode::Settings
    } else {
        Mode::Banner
    };
    if let Some(open) = OPEN.get() {
        open.set(Some(mode));
        return;
    }
    let Some(container) = mount_point() else {
        return;
    };
    let handle = leptos::mount::mount_to(container, move || {
        let open = RwSignal::new(Some(mode));
        OPEN.set(Some(open));
        view! { <Banner sonde=StoredValue::new_local(sonde) open /> }
    });
    handle.forget();
}

/// A container of our own at the end of the body, with the banner's styles.
fn mount_point() -> Option<web_sys::HtmlElement> {
    let document = web_sys::window()?.document()?;
    let style = document.create_element("style").ok()?;
    style.set_text_content(Some(style::CSS));
    document.head()?.append_child(&style).ok()?;
    let container = document.create_element("div").ok()?;
    container.set_id("sonde-consent");
    document.body()?.append_child(&container).ok()?;
    container.dyn_into().ok()
}
