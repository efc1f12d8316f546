//! Anonymous visitor ids.
//!
//! A visitor id is a keyed BLAKE3 hash of (site, IP address, user agent) under
//! a secret salt that is random per day, truncated to 64 bits. The day is the
//! site's (its timezone's midnight rotates the salt). The salt lives only in
//! the data directory (or, on a cluster, in the PostgreSQL database all
//! Sonde processes share) and is destroyed when the day changes, so ids cannot
//! be linked across days and nobody, the operator included, can
//! recompute an id from an IP address after that day. The IP address itself
//! is used for this hash and nothing else: it is never stored nor logged.

use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

pub use crate::store::{Salt, SaltKeeper};

/// The visitor id of a request to `site` from `ip` with `user_agent`.
pub fn visitor_id(salt: &Salt, site: &str, ip: IpAddr, user_agent: &str) -> i64 {
    let mut hasher = blake3::Hasher::new_keyed(salt);
    // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
    for part in [
        site.as_bytes(),
        ip.to_string().as_bytes(),
        user_agent.as_bytes(),
    ] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let hash = hasher.finalize();
    let mut first8 = [0u8; 8];
    first8.copy_from_slice(&hash.as_bytes()[..8]);
    i64::from_le_bytes(first8)
}

/// The key a client's rate limits are kept under: a keyed hash of its
/// address alone (a changed user agent does not make a new client), apart
/// from every visitor id by its label. Kept in memory only, and unlinkable
/// after the salt's day like a visitor id.
pub fn client_key(salt: &Salt, ip: IpAddr) -> u64 {
    let mut hasher = blake3::Hasher::new_keyed(salt);
    hasher.update(b"client rate limit\0");
    hasher.update(ip.to_string().as_bytes());
    let mut first8 = [0u8; 8];
    first8.copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    u64::from_le_bytes(first8)
}

/// A browser's visitor, as far as Sonde can tell on a site's current day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Visitor {
    pub id: i64,
    /// When the site's day began (ms since the epoch): the id links nothing
    /// from before.
    pub day_start_ms: i64,
}

/// The salt of one timezone's current day, and when that day began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DaySalt {
    pub salt: Salt,
    /// The start of the local day, ms since the Unix epoch: events from then
    /// on carry ids made with this salt.
    pub day_start_ms: i64,
}

/// Keeps each timezone's salt for its current local day, creating a fresh
/// random one when that day changes and destroying the previous one. A
/// site's ids rotate at midnight where the site is, so a day's visitors
/// are counted on the site's own calendar.
#[derive(Debug)]
pub struct DailySalt {
    keeper: Box<dyn SaltKeeper>,
    /// The salts of the days this process has seen, so that a request
    /// asks the keeper only once a day.
    current: Mutex<BTreeMap<String, (NaiveDate, Salt)>>,
}

impl DailySalt {
    /// Loads the salts kept in the file at `path`, if any.
    pub fn open(path: impl Into<PathBuf>) -> io::Result<Self> {
        Ok(Self::shared(Box::new(SaltFile::open(path.into())?)))
    }

    /// Salts kept by `keeper`.
    pub fn shared(keeper: Box<dyn SaltKeeper>) -> Self {
        DailySalt {
            keeper,
            current: Mutex::new(BTreeMap::new()),
        }
    }

    /// The salt for the day `now` falls on in `timezone`. A new local day
    /// rotates that timezone's salt: the old one is gone from memory, and
    /// from the keeper at the next [`DailySalt::rotate`] at the latest.
    pub fn salt_for(&self, timezone: Tz, now: DateTime<Utc>) -> io::Result<DaySalt> {
        let day = now.with_timezone(&timezone).date_naive();
        let day_start_ms = local_midnight(timezone, day).timestamp_millis();
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((salt_day, salt)) = current.get(timezone.name())
            && *salt_day == day
        {
            return Ok(DaySalt {
                salt: *salt,
                day_start_ms,
            });
        }
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(io::Error::other)?;
        let salt = self.keeper.salt_of(timezone.name(), day, fresh)?;
        current.insert(timezone.name().to_owned(), (day, salt));
        Ok(DaySalt { salt, day_start_ms })
    }

    /// Today's visitor id, at `at`, of the browser at `ip` with
    /// `user_agent` on `site`, whose days are those of `timezone`.
    pub fn visitor(
        &self,
        site: &str,
        timezone: Tz,
        ip: IpAddr,
        user_agent: &str,
        at: DateTime<Utc>,
    ) -> io::Result<Visitor> {
        let day = self.salt_for(timezone, at)?;
        Ok(Visitor {
            id: visitor_id(&day.salt, site, ip, user_agent),
            day_start_ms: day.day_start_ms,
        })
    }

    /// Brings the salts to the day `now` falls on: each of `timezones`
    /// (and UTC's, which keys the rate limits) gets its day's salt, and the
    /// salt of any day that is over is destroyed, in memory and where it
    /// was kept.
    pub fn rotate(&self, timezones: &[Tz], now: DateTime<Utc>) -> io::Result<()> {
        for &timezone in timezones.iter().chain([&Tz::UTC]) {
            self.salt_for(timezone, now)?;
        }
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|tz, (day, _)| day_is_current(tz, *day, now));
        self.keeper.forget_ended(now)
    }

    /// Today's (UTC's) [`client_key`] of `ip`.
    pub fn client_key(&self, ip: IpAddr, at: DateTime<Utc>) -> io::Result<u64> {
        Ok(client_key(&self.salt_for(Tz::UTC, at)?.salt, ip))
    }
}

/// When the next of `timezones`' days (or UTC's) begins after `now`.
pub fn next_midnight(timezones: &[Tz], now: DateTime<Utc>) -> DateTime<Utc> {
    timezones
        .iter()
        .chain([&Tz::UTC])
        .map(|&tz| {
            let tomorrow = now.with_timezone(&tz).date_naive() + chrono::Days::new(1);
            local_midnight(tz, tomorrow)
        })
        .min()
        .expect("UTC at least")
}

/// The first instant of `day` in `timezone` (a day that starts in a
/// daylight-saving gap starts at the gap's end).
fn local_midnight(timezone: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    (0..=3)
        .find_map(|hours| {
            timezone
                .from_local_datetime(&(midnight + chrono::Duration::hours(hours)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| midnight.and_utc())
}

/// Whether `day` is the current day at `now` in the timezone named `tz`
/// (a name no longer known has no current day).
pub fn day_is_current(tz: &str, day: NaiveDate, now: DateTime<Utc>) -> bool {
    tz.parse::<Tz>()
        .is_ok_and(|tz| now.with_timezone(&tz).date_naive() == day)
}

/// The salts of one process, in a file of its data directory: one line
/// per timezone, overwritten (the old day's salt destroyed) when its day
/// changes.
#[derive(Debug)]
struct SaltFile {
    path: PathBuf,
    kept: Mutex<BTreeMap<String, (NaiveDate, Salt)>>,
}

impl SaltFile {
    fn open(path: PathBuf) -> io::Result<Self> {
        let kept = match std::fs::read_to_string(&path) {
            Ok(text) => text.lines().filter_map(parse_line).collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e),
        };
        Ok(SaltFile {
            path,
            kept: Mutex::new(kept),
        })
    }

    fn replace(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, (NaiveDate, Salt)>),
    ) -> io::Result<()> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = kept.clone();
        change(&mut next);
        if next != *kept {
            write_salt_file(&self.path, &next)?;
            *kept = next;
        }
        Ok(())
    }
}

impl SaltKeeper for SaltFile {
    fn salt_of(&self, timezone: &str, day: NaiveDate, fresh: Salt) -> io::Result<Salt> {
        let mut salt = fresh;
        self.replace(|kept| match kept.get(timezone) {
            Some((kept_day, kept_salt)) if *kept_day == day => salt = *kept_salt,
            _ => {
                kept.insert(timezone.to_owned(), (day, fresh));
            }
        })?;
        Ok(salt)
    }

    fn forget_ended(&self, now: DateTime<Utc>) -> io::Result<()> {
        self.replace(|kept| kept.retain(|tz, (day, _)| day_is_current(tz, *day, now)))
    }
}

/// `TIMEZONE DAY HEX`; a line of an older Sonde (`DAY HEX`) is UTC's.
fn parse_line(line: &str) -> Option<(String, (NaiveDate, Salt))> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (tz, day, hex) = match fields.as_slice() {
        [day, hex] => ("UTC", *day, *hex),
        [tz, day, hex] => (*tz, *day, *hex),
        _ => return None,
    };
    let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    if hex.len() != 64 {
        return None;
    }
    let mut salt = [0u8; 32];
    for (i, byte) in salt.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some((tz.to_owned(), (day, salt)))
}

fn write_salt_file(path: &Path, salts: &BTreeMap<String, (NaiveDate, Salt)>) -> io::Result<()> {
    let mut text = String::new();
    for (tz, (day, salt)) in salts {
        let hex: String = salt.iter().map(|b| format!("{b:02x}")).collect();
        text.push_str(&format!("{tz} {} {hex}\n", day.format("%Y-%m-%d")));
    }
    // Write then rename, so a crash leaves either the old or the new salts.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0";

    /// 2026-11-24 at `h:m` UTC.
    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, h, m, 0).unwrap()
    }

    fn ip() -> IpAddr {
        "203.0.113.7".parse().unwrap()
    }

    fn id(salts: &DailySalt, tz: Tz, now: DateTime<Utc>) -> i64 {
        visitor_id(&salts.salt_for(tz, now).unwrap().salt, "shop", ip(), UA)
    }

    #[test]
    fn the_same_visitor_on_the_same_day_gets_the_same_id() {
        let dir = tempfile::tempdir().unwrap();
        let salts = DailySalt::open(dir.path().join("salt")).unwrap();
        assert_eq!(
            id(&salts, Tz::UTC, at(1, 0)),
            id(&salts, Tz::UTC, at(23, 59))
        );
    }

    #[test]
    fn the_salt_rotates_at_midnight_in_the_sites_timezone_not_at_utc_midnight() {
        let dir = tempfile::tempdir().unwrap();
        let salts = DailySalt::open(dir.path().join("salt")).unwrap();
        let auckland = chrono_tz::Pacific::Auckland; // UTC+13 in November
        // 10:59 UTC is 23:59 in Auckland; 11:01 UTC is 00:01 the next day.
        let before = id(&salts, auckland, at(10, 59));
        let after = id(&salts, auckland, at(11, 1));
        assert_ne!(before, after, "Auckland's midnight rotates the id");
        assert_eq!(
            after,
            id(&salts, auckland, at(23, 59)),
            "UTC's midnight does not"
        );
        let day = salts.salt_for(auckland, at(11, 1)).unwrap();
        assert_eq!(
            day.day_start_ms,
            Utc.with_ymd_and_hms(2026, 11, 24, 11, 0, 0)
                .unwrap()
                .timestamp_millis()
        );
        // Another timezone keeps its own day and salt.
        let new_york = chrono_tz::America::New_York;
        assert_eq!(
            id(&salts, new_york, at(4, 0)),
            id(&salts, new_york, at(4, 59))
        );
        assert_ne!(
            id(&salts, new_york, at(4, 59)),
            id(&salts, new_york, at(5, 1))
        );
    }

    #[test]
    fn yesterdays_salt_is_destroyed_on_disk_when_the_day_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("salt");
        let salts = DailySalt::open(&path).unwrap();
        let berlin = chrono_tz::Europe::Berlin;
        let yesterday = salts.salt_for(berlin, at(12, 0)).unwrap().salt;
        salts.salt_for(berlin, at(23, 30)).unwrap();
        let on_disk = std::fs::read_to_string(&path).unwrap();
        let old_hex: String = yesterday.iter().map(|b| format!("{b:02x}")).collect();
        assert!(
            !on_disk.contains(&old_hex),
            "yesterday's salt is still on disk"
        );
        assert!(on_disk.contains("Europe/Berlin 2026-11-25 "), "{on_disk}");
    }

    #[test]
    fn a_rotation_replaces_ended_days_and_drops_unused_timezones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("salt");
        let salts = DailySalt::open(&path).unwrap();
        let (berlin, tokyo) = (chrono_tz::Europe::Berlin, chrono_tz::Asia::Tokyo);
        let hex = |salt: Salt| -> String { salt.iter().map(|b| format!("{b:02x}")).collect() };
        let old_berlin = hex(salts.salt_for(berlin, at(12, 0)).unwrap().salt);
        let old_tokyo = hex(salts.salt_for(tokyo, at(12, 0)).unwrap().salt);
        // Berlin's day ends at 23:00 UTC; Tokyo is no site's any more.
        salts.rotate(&[berlin], at(23, 30)).unwrap();
        let on_disk = std::fs::read_to_string(&path).unwrap();
        assert!(!on_disk.contains(&old_berlin), "{on_disk}");
        assert!(!on_disk.contains(&old_tokyo), "{on_disk}");
        assert!(on_disk.contains("Europe/Berlin 2026-11-25 "), "{on_disk}");
        assert!(!on_disk.contains("Asia/Tokyo"), "{on_disk}");
        assert!(on_disk.contains("UTC 2026-11-24 "), "{on_disk}");
    }

    #[test]
    fn the_next_midnight_is_the_soonest_of_the_sites_days() {
        let berlin = chrono_tz::Europe::Berlin;
        assert_eq!(next_midnight(&[berlin], at(12, 0)), at(23, 0));
        assert_eq!(
            next_midnight(&[berlin], at(23, 30)),
            Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap(),
            "UTC's, for the rate limits"
        );
        let new_york = chrono_tz::America::New_York;
        assert_eq!(next_midnight(&[new_york], at(1, 0)), at(5, 0));
    }

    #[test]
    fn a_restart_on_the_same_day_keeps_the_salt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("salt");
        let before = DailySalt::open(&path)
            .unwrap()
            .salt_for(Tz::UTC, at(9, 0))
            .unwrap();
        let after = DailySalt::open(&path)
            .unwrap()
            .salt_for(Tz::UTC, at(18, 0))
            .unwrap();
        assert_eq!(before, after);
    }

    #[test]
    fn a_salt_file_of_an_older_sonde_is_utcs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("salt");
        let hex = "ab".repeat(32);
        std::fs::write(&path, format!("2026-11-24 {hex}\n")).unwrap();
        let salts = DailySalt::open(&path).unwrap();
        assert_eq!(salts.salt_for(Tz::UTC, at(9, 0)).unwrap().salt, [0xab; 32]);
    }

    #[test]
    fn site_ip_and_user_agent_each_change_the_id() {
        let salt = [7u8; 32];
        let base = visitor_id(&salt, "shop", ip(), UA);
        assert_ne!(base, visitor_id(&salt, "blog", ip(), UA));
        assert_ne!(
            base,
            visitor_id(&salt, "shop", "203.0.113.8".parse().unwrap(), UA)
        );
        assert_ne!(base, visitor_id(&salt, "shop", ip(), "curl/8"));
    }
}
