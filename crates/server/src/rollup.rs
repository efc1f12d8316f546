//! The roll-up: at start and then every minute, each site's days that are
//! over are counted once into per-day figures (usage, visits, and their
//! conversions for each saved goal), which reports add up instead of
//! counting every event again (see the store's rollup).
//! A turn rolls a bounded number of days, a day per hold of the store, so
//! a first roll-up of a large store does not stall ingest.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::site::Sites;
use sonde_protocol::goal::Goal;

use crate::store::{LifecycleStore, SavedStore, SiteStore, StoreError};

const EVERY: Duration = Duration::from_secs(60);

/// Most days one site rolls up in one turn.
pub const DAYS_PER_TURN: usize = 31;

/// Rolls up now, and then every minute while the server runs. The task
/// holds the store and sites weakly, so it ends with them.
pub fn run_periodically(
    store: &Arc<dyn LifecycleStore>,
    saved: &Arc<dyn SavedStore>,
    sites: &Arc<Sites>,
) {
    let (store, saved, sites): (Weak<dyn LifecycleStore>, Weak<dyn SavedStore>, Weak<Sites>) = (
        Arc::downgrade(store),
        Arc::downgrade(saved),
        Arc::downgrade(sites),
    );
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(EVERY);
        loop {
            every_minute.tick().await;
            let (Some(store), Some(saved), Some(sites)) =
                (store.upgrade(), saved.upgrade(), sites.upgrade())
            else {
                return;
            };
            let turn = tokio::task::spawn_blocking(move || {
                let now = chrono::Utc::now().timestamp_millis();
                for site in sites.all() {
                    let turn = goals(saved.as_ref(), site.key()).and_then(|goals| {
                        store.roll_up(&site.settings, &goals, now, DAYS_PER_TURN)
                    });
                    if let Err(e) = turn {
                        tracing::error!(site = %site.key(), error = %e, "the roll-up failed");
                    }
                }
            })
            .await;
            if turn.is_err() {
                tracing::error!("the usage roll-up failed");
            }
        }
    });
}

/// Rolls up every pending day of every site in `store`, calling `progress`
/// with (days done, days to do) after each day; for `sonde rollup`.
pub fn catch_up(
    sites: &dyn SiteStore,
    saved: &dyn SavedStore,
    store: &dyn LifecycleStore,
    now_ms: i64,
    progress: &dyn Fn(usize, usize),
) -> Result<usize, StoreError> {
    let mut done = 0;
    for site in sites.sites()? {
        let goals = goals(saved, &site.key)?;
        loop {
            let turn = store.roll_up(&site, &goals, now_ms, 1)?;
            done += turn.rolled;
            progress(done, done + turn.pending);
            if turn.pending == 0 || turn.rolled == 0 {
                break;
            }
        }
    }
    Ok(done)
}

/// The goals saved for `site`, whose conversions are rolled up.
fn goals(saved: &dyn SavedStore, site: &str) -> Result<Vec<Goal>, StoreError> {
    Ok(saved.goals(site)?.into_iter().map(|g| g.goal).collect())
}
