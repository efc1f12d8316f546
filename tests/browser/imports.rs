//! Plausible's export in the dashboard: the imported days in the overview's
//! figures, said so, with their pages, sources and devices apart.

use std::path::PathBuf;

use serde_json::json;
use sonde_server::imported::{self, plausible};

use crate::support::{Harness, ONE_BROWSER};

#[tokio::test]
async fn imported_days_are_in_the_overview_and_labelled() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("crates/server/tests/fixtures/plausible");
    let export = plausible::read(&[fixture], &indicatif::ProgressBar::hidden()).unwrap();
    imported::keep(h.server.stores(), "demo", chrono_tz::Tz::UTC, export).unwrap();
    h.sign_in_to_dashboard().await;
    h.open("/?range=2025-11-03..2025-11-09").await;
    h.wait_until("the imported week's visitors", || async {
        h.js("return document.querySelector('[data-total=visitors]')?.textContent")
            .await
            == json!("797")
    })
    .await;
    let notice = h
        .js("return document.querySelector('.usage .notice.imported')?.textContent")
        .await;
    assert_eq!(
        notice,
        json!(
            "Includes 797 visitors and 2440 page views imported from Plausible CE for 3 Nov 2025 to 9 Nov 2025 (7 days), by the day: hourly charts and filtered views show only what Sonde counted."
        )
    );
    h.wait_until("the imported pages", || async {
        h.js("return [...document.querySelectorAll('[data-table=imported-pages] tbody tr')].map(r => r.cells[0].textContent + ' ' + r.cells[1].textContent)")
            .await
            == json!(["/ 727", "/pricing 377"])
    })
    .await;
    assert_eq!(
        h.js("return document.querySelector('[data-figure=visitors]').textContent")
            .await,
        json!("797")
    );
    h.screenshot("imported-desktop").await;
    h.set_screen(360, 740, 1.0).await;
    h.screenshot("imported-360").await;
    h.finish().await;
}
