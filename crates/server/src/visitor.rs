//! Anonymous visitor ids.
//!
//! A visitor id is a keyed BLAKE3 hash of (site, IP address, user agent) under
//! a secret salt that is random per day, truncated to 64 bits. The salt lives
//! only in the data directory and is overwritten when the day changes, so ids
//! cannot be linked across days and nobody, the operator included, can
//! recompute an id from an IP address after that day. The IP address itself
//! is used for this hash and nothing else: it is never stored nor logged.

use std::io;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::NaiveDate;

/// A day's secret salt.
pub type Salt = [u8; 32];

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

/// Keeps the current day's salt, creating a fresh random one when the day
/// changes and overwriting (destroying) the previous one.
#[derive(Debug)]
pub struct DailySalt {
    path: PathBuf,
    current: Mutex<Option<(NaiveDate, Salt)>>,
}

impl DailySalt {
    /// Loads the salt kept at `path`, if any.
    pub fn open(path: impl Into<PathBuf>) -> io::Result<Self> {
        let path = path.into();
        let current = match std::fs::read_to_string(&path) {
            Ok(text) => parse_salt_file(&text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok(DailySalt {
            path,
            current: Mutex::new(current),
        })
    }

    /// The salt for `day`. Asking for a new day rotates the salt: the old one
    /// is gone from memory and from disk.
    pub fn salt_for(&self, day: NaiveDate) -> io::Result<Salt> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((salt_day, salt)) = *current
            && salt_day == day
        {
            return Ok(salt);
        }
        let mut salt = [0u8; 32];
        getrandom::fill(&mut salt).map_err(io::Error::other)?;
        write_salt_file(&self.path, day, &salt)?;
        *current = Some((day, salt));
        Ok(salt)
    }
}

fn parse_salt_file(text: &str) -> Option<(NaiveDate, Salt)> {
    let (day, hex) = text.trim().split_once(' ')?;
    let day = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
    if hex.len() != 64 {
        return None;
    }
    let mut salt = [0u8; 32];
    for (i, byte) in salt.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some((day, salt))
}

fn write_salt_file(path: &Path, day: NaiveDate, salt: &Salt) -> io::Result<()> {
    let hex: String = salt.iter().map(|b| format!("{b:02x}")).collect();
    // Write then rename, so a crash leaves either the old or the new salt.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{} {hex}\n", day.format("%Y-%m-%d")))?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0";

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn ip() -> IpAddr {
        "203.0.113.7".parse().unwrap()
    }

    #[test]
    fn the_same_visitor_on_the_same_day_gets_the_same_id() {
        let dir = tempfile::tempdir().unwrap();
        let salts = DailySalt::open(dir.path().join("salt")).unwrap();
        let first = visitor_id(&salts.salt_for(day(24)).unwrap(), "shop", ip(), UA);
        let second = visitor_id(&salts.salt_for(day(24)).unwrap(), "shop", ip(), UA);
        assert_eq!(first, second);
    }

    #[test]
    fn the_same_visitor_on_another_day_gets_another_id() {
        let dir = tempfile::tempdir().unwrap();
        let salts = DailySalt::open(dir.path().join("salt")).unwrap();
        let today = visitor_id(&salts.salt_for(day(24)).unwrap(), "shop", ip(), UA);
        let tomorrow = visitor_id(&salts.salt_for(day(25)).unwrap(), "shop", ip(), UA);
        assert_ne!(today, tomorrow);
    }

    #[test]
    fn yesterdays_salt_is_destroyed_on_disk_when_the_day_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("salt");
        let salts = DailySalt::open(&path).unwrap();
        let yesterday = salts.salt_for(day(24)).unwrap();
        salts.salt_for(day(25)).unwrap();
        let on_disk = std::fs::read_to_string(&path).unwrap();
        let old_hex: String = yesterday.iter().map(|b| format!("{b:02x}")).collect();
        assert!(
            !on_disk.contains(&old_hex),
            "yesterday's salt is still on disk"
        );
        assert!(on_disk.starts_with("2026-11-25 "));
    }

    #[test]
    fn a_restart_on_the_same_day_keeps_the_salt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("salt");
        let before = DailySalt::open(&path).unwrap().salt_for(day(24)).unwrap();
        let after = DailySalt::open(&path).unwrap().salt_for(day(24)).unwrap();
        assert_eq!(before, after);
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
