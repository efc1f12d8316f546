//! Destroys each day's salt when the day ends, whether or not a request
//! comes: without this, a site without traffic at night would keep
//! yesterday's salt on disk until its next visitor, and with it the means
//! to link yesterday's visitor ids to addresses.

use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::site::Sites;
use crate::visitor::{DailySalt, next_midnight};

/// The longest wait between two looks: a site added with a new timezone
/// is rotated within this time of its first midnight.
const AT_MOST: Duration = Duration::from_secs(15 * 60);

/// Rotates now, and then at every midnight of the sites' timezones while
/// the server runs. The task holds the salts and sites weakly, so it ends
/// with them.
pub fn run_at_midnights(salts: &Arc<DailySalt>, sites: &Arc<Sites>) {
    let sites = Arc::downgrade(sites);
    let timezones = move || {
        sites
            .upgrade()
            .map(|sites| sites.all().iter().map(|s| s.timezone).collect())
    };
    tokio::spawn(run(Arc::downgrade(salts), timezones, Utc::now));
}

/// The rotation loop, with the clock and the timezones given: the server
/// passes the real ones, a test its own.
pub async fn run(
    salts: Weak<DailySalt>,
    timezones: impl Fn() -> Option<Vec<Tz>>,
    now: impl Fn() -> DateTime<Utc>,
) {
    loop {
        let (Some(salts), Some(timezones)) = (salts.upgrade(), timezones()) else {
            return;
        };
        let at = now();
        if let Err(e) = salts.rotate(&timezones, at) {
            tracing::error!(error = %e, "the salt could not be rotated");
        }
        drop(salts);
        // A moment past midnight, so the new day has begun in its zone.
        let until = (next_midnight(&timezones, at) - at)
            .to_std()
            .unwrap_or_default();
        let wait = (until + Duration::from_millis(10)).min(AT_MOST);
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test(start_paused = true)]
    async fn a_quiet_night_still_destroys_yesterdays_salt_at_midnight() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("salt");
        let salts = Arc::new(DailySalt::open(&path).unwrap());
        let berlin = chrono_tz::Europe::Berlin;
        // A fake clock: 22:00 in Berlin, moving with tokio's paused time.
        let start = Utc.with_ymd_and_hms(2026, 11, 24, 21, 0, 0).unwrap();
        let began = tokio::time::Instant::now();
        let now = move || start + (tokio::time::Instant::now() - began);
        let yesterday = salts.salt_for(berlin, now()).unwrap().salt;
        let hex: String = yesterday.iter().map(|b| format!("{b:02x}")).collect();
        tokio::spawn(run(Arc::downgrade(&salts), move || Some(vec![berlin]), now));

        // Still the same day an hour and a half later (23:30 in Berlin).
        tokio::time::sleep(Duration::from_secs(90 * 60)).await;
        let on_disk = std::fs::read_to_string(&path).unwrap();
        assert!(on_disk.contains(&hex), "rotated too early: {on_disk}");
        // Past Berlin's midnight, without one request.
        tokio::time::sleep(Duration::from_secs(60 * 60)).await;
        let on_disk = std::fs::read_to_string(&path).unwrap();
        assert!(
            !on_disk.contains(&hex),
            "yesterday's salt is on disk: {on_disk}"
        );
        assert!(on_disk.contains("Europe/Berlin 2026-11-25 "), "{on_disk}");
    }
}
