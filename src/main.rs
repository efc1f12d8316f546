//! The dashboard's entry point: Trunk builds this binary for the browser.

fn main() {
    sonde_web::mount();
}
