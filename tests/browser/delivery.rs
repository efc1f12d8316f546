//! Delivery: queued events reach the server once, offline or across a
//! reload.

use crate::support::{Harness, ONE_BROWSER, QUIET_PERIOD};

#[tokio::test]
async fn offline_events_are_delivered_once_when_the_browser_is_back_online() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.first_visit().await;
    h.click("button[data-action=accept]").await;
    h.wait_for_stored("page_view", 1).await;
    h.set_offline(true).await;
    h.js("for (let i = 0; i < 25; i++) sonde.track('offline_' + i)")
        .await;
    tokio::time::sleep(QUIET_PERIOD).await;
    assert_eq!(h.stored_kind("custom"), 0, "offline: nothing arrives");
    let persisted = h
        .js("return JSON.parse(localStorage.getItem('sonde:queue:demo')).length")
        .await;
    assert_eq!(
        persisted, 25,
        "the queue is kept on the device while offline"
    );
    h.set_offline(false).await;
    h.wait_for_stored("custom", 25).await;
    // A reload resends nothing that was acknowledged.
    h.browser.refresh().await.unwrap();
    h.wait_for_sonde().await;
    tokio::time::sleep(QUIET_PERIOD).await;
    assert_eq!(h.stored_kind("custom"), 25, "each event once");
    h.finish().await;
}

#[tokio::test]
async fn a_reload_between_batching_and_sending_loses_nothing() {
    let _one = ONE_BROWSER.lock().await;
    let h = Harness::start().await;
    h.first_visit().await;
    h.click("button[data-action=accept]").await;
    h.wait_for_stored("page_view", 1).await;
    // Five events wait for the batch timer (1 s); the reload comes first.
    h.js("for (let i = 0; i < 5; i++) sonde.track('before_reload_' + i); location.reload()")
        .await;
    h.wait_for_sonde().await;
    h.wait_for_stored("custom", 5).await;
    tokio::time::sleep(QUIET_PERIOD).await;
    assert_eq!(h.stored_kind("custom"), 5, "each event once");
    h.finish().await;
}
