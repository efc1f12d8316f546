//! Retention: every hour, each site's data older than its category's period
//! is deleted (usage, errors, performance), and page views older than the
//! marketing period lose their campaign parameters. The periods are site
//! settings ([`sonde_protocol::Retention`]).

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::site::Sites;
use crate::store::LifecycleStore;

const EVERY: Duration = Duration::from_secs(60 * 60);

/// Applies every site's retention now, and then every hour while the server
/// runs. The task holds the store and sites weakly, so it ends with them.
pub fn run_periodically(store: &Arc<dyn LifecycleStore>, sites: &Arc<Sites>) {
    let (store, sites): (Weak<dyn LifecycleStore>, Weak<Sites>) =
        (Arc::downgrade(store), Arc::downgrade(sites));
    tokio::spawn(async move {
        let mut every_hour = tokio::time::interval(EVERY);
        loop {
            every_hour.tick().await;
            let (Some(store), Some(sites)) = (store.upgrade(), sites.upgrade()) else {
                return;
            };
            let pass = tokio::task::spawn_blocking(move || apply(store.as_ref(), &sites)).await;
            if pass.is_err() {
                tracing::error!("the retention pass failed");
            }
        }
    });
}

/// One pass over every site, after the erased events are removed from
/// the disks where the store leaves that for later.
pub fn apply(store: &dyn LifecycleStore, sites: &Sites) {
    match store.purge_erased() {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, "erased events removed from the disks"),
        Err(e) => tracing::error!(error = %e, "removing erased events failed"),
    }
    let now = chrono::Utc::now().timestamp_millis();
    for site in sites.all() {
        match store.apply_retention(&site.settings, now) {
            Ok(done) if done.events_deleted + done.campaigns_cleared > 0 => tracing::info!(
                site = %site.key(),
                events_deleted = done.events_deleted,
                campaigns_cleared = done.campaigns_cleared,
                "retention applied"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(site = %site.key(), error = %e, "retention failed"),
        }
    }
}
