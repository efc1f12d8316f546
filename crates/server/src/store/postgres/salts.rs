//! The day's salts in PostgreSQL, one per timezone and day, shared by
//! every Sonde process so that a visitor gets the same id whichever
//! process answers. The first process to need a day's salt keeps its
//! fresh one; the others read it.

use std::io;

use chrono::{DateTime, NaiveDate, Utc};

use super::Pool;
use crate::store::{Salt, SaltKeeper};

/// The salts of the application database.
#[derive(Clone)]
pub struct SharedSalts {
    pool: Pool,
}

impl std::fmt::Debug for SharedSalts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the salts themselves.
        f.debug_struct("SharedSalts").finish_non_exhaustive()
    }
}

impl SharedSalts {
    pub(super) fn new(pool: Pool) -> Self {
        SharedSalts { pool }
    }

    fn client(
        &self,
    ) -> io::Result<r2d2::PooledConnection<r2d2_postgres::PostgresConnectionManager<postgres::NoTls>>>
    {
        self.pool.get().map_err(io::Error::other)
    }
}

/// Runs `f` on a thread of its own: a request asks for a salt from the
/// server's runtime, where PostgreSQL's blocking client may not run. It
/// happens once a day per timezone.
fn off_the_runtime<T: Send>(f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(f)
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the salt's query panicked")))
    })
}

impl SaltKeeper for SharedSalts {
    fn salt_of(&self, timezone: &str, day: NaiveDate, fresh: Salt) -> io::Result<Salt> {
        off_the_runtime(|| self.kept_or(timezone, day, fresh))
    }

    fn forget_ended(&self, now: DateTime<Utc>) -> io::Result<()> {
        off_the_runtime(|| self.forget_before(now))
    }
}

impl SharedSalts {
    fn kept_or(&self, timezone: &str, day: NaiveDate, fresh: Salt) -> io::Result<Salt> {
        let mut client = self.client()?;
        let kept = client
            .query_opt(
                "WITH kept AS (
                     INSERT INTO daily_salts VALUES ($1, $2, $3)
                     ON CONFLICT (timezone, day) DO NOTHING
                     RETURNING salt
                 )
                 SELECT salt FROM kept
                 UNION ALL
                 SELECT salt FROM daily_salts WHERE timezone = $1 AND day = $2
                 LIMIT 1",
                &[&timezone, &day, &fresh.as_slice()],
            )
            .map_err(io::Error::other)?;
        let row = match kept {
            Some(row) => row,
            // Another process kept its salt while this statement ran: the
            // conflict waited for it to commit, and a new statement sees it.
            None => client
                .query_one(
                    "SELECT salt FROM daily_salts WHERE timezone = $1 AND day = $2",
                    &[&timezone, &day],
                )
                .map_err(io::Error::other)?,
        };
        let salt: &[u8] = row.get(0);
        salt.try_into()
            .map_err(|_| io::Error::other(format!("a kept salt of {} bytes", salt.len())))
    }

    fn forget_before(&self, now: DateTime<Utc>) -> io::Result<()> {
        let mut client = self.client()?;
        let forgotten = client
            .execute(
                "DELETE FROM daily_salts WHERE day < ($1 AT TIME ZONE timezone)::date",
                &[&now],
            )
            .map_err(io::Error::other)?;
        if forgotten > 0 {
            // A deleted row stays in the table's file until it is vacuumed:
            // vacuum now, so that the ended day's salt is gone from it.
            client
                .batch_execute("VACUUM daily_salts")
                .map_err(io::Error::other)?;
        }
        Ok(())
    }
}
