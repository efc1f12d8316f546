//! Where the day's salts of the visitor ids are kept
//! (`crate::visitor`): the store's side of it.

use std::io;

use chrono::{DateTime, NaiveDate, Utc};

/// A day's secret salt.
pub type Salt = [u8; 32];

/// Where the salts are kept while their day lasts: a file in the data
/// directory for one process (`DailySalt::open`), or a store every Sonde
/// process of a cluster shares (`DailySalt::shared`), so that a visitor
/// gets the same id whichever process answers.
pub trait SaltKeeper: Send + Sync + std::fmt::Debug {
    /// The salt kept for `timezone`'s `day`; if there is none, `fresh`,
    /// kept for it from now on. Of two processes that ask at once, both
    /// get the salt of the one that kept it first.
    fn salt_of(&self, timezone: &str, day: NaiveDate, fresh: Salt) -> io::Result<Salt>;

    /// Destroys every salt kept for a day that is over at `now` in its
    /// timezone.
    fn forget_ended(&self, now: DateTime<Utc>) -> io::Result<()>;
}
