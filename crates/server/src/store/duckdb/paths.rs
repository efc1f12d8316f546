//! Each site's paths by a small number. Events carry their path's number
//! (`events.path_id`) beside the path, so a funnel tests its page steps
//! once per distinct path, here in Rust with the protocol's own matching,
//! and finds the page views by joining on the number: a column of small
//! numbers scans several times faster than one of strings or of 64-bit
//! hashes (about 100 ms against 70 ms at 10 million events).
//!
//! The numbers live in the `paths` table and, for the writer, in memory
//! ([`PathIds`], locked after the connection). A path no stored event has
//! any more (retention, erasure) is forgotten with it.

use std::collections::HashMap;

use duckdb::{Connection, params};

use crate::store::StoreError;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS paths (
    site    VARCHAR NOT NULL,
    path    VARCHAR NOT NULL,
    path_id INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (site, path)
);
ALTER TABLE events ADD COLUMN IF NOT EXISTS path_id INTEGER;
-- A 64-bit hash of the path served the same purpose for one version.
ALTER TABLE events DROP COLUMN IF EXISTS path_key;
";

/// Numbers the paths of events stored before `events.path_id` existed.
const BACKFILL: &str = "
INSERT INTO paths
    SELECT site, path,
           ((SELECT coalesce(max(path_id), 0) FROM paths) + row_number() OVER (ORDER BY site, path))::INTEGER
    FROM (SELECT DISTINCT site, path FROM events WHERE path_id IS NULL) unnumbered
    WHERE NOT EXISTS (SELECT 1 FROM paths p WHERE p.site = unnumbered.site AND p.path = unnumbered.path);
UPDATE events SET path_id = paths.path_id FROM paths
    WHERE events.path_id IS NULL AND events.site = paths.site AND events.path = paths.path;
";

/// The paths' numbers, per site, as the `paths` table holds them.
#[derive(Debug, Default)]
pub(super) struct PathIds {
    by_site: HashMap<String, HashMap<String, i32>>,
    next: i32,
}

impl PathIds {
    /// Numbers any path not numbered yet, and reads every number.
    pub fn open(conn: &Connection) -> Result<Self, StoreError> {
        conn.execute_batch(BACKFILL)?;
        let mut ids = PathIds {
            next: 1,
            ..Default::default()
        };
        let mut stmt = conn.prepare("SELECT site, path, path_id FROM paths")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
        })?;
        for row in rows {
            let (site, path, id) = row?;
            ids.next = ids.next.max(id + 1);
            ids.by_site.entry(site).or_default().insert(path, id);
        }
        Ok(ids)
    }

    /// The number of `site`'s `path`, when it has one.
    fn get(&self, site: &str, path: &str) -> Option<i32> {
        self.by_site.get(site)?.get(path).copied()
    }

    /// `site`'s paths and their numbers.
    pub fn of_site(&self, site: &str) -> impl Iterator<Item = (&str, i32)> {
        self.by_site
            .get(site)
            .into_iter()
            .flatten()
            .map(|(path, id)| (path.as_str(), *id))
    }

    /// The number of each of `paths` (site, path), in order, giving those
    /// without one a number, stored before the events that carry it.
    pub fn number<'p>(
        &mut self,
        conn: &Connection,
        paths: impl Iterator<Item = (&'p str, &'p str)>,
    ) -> Result<Vec<i32>, StoreError> {
        let mut ids = Vec::new();
        let mut new: Vec<(&str, &str, i32)> = Vec::new();
        let mut last: Option<((&str, &str), i32)> = None;
        for (site, path) in paths {
            // A batch's events often share their page.
            if let Some((seen, id)) = last
                && seen == (site, path)
            {
                ids.push(id);
                continue;
            }
            let id = match self.get(site, path) {
                Some(id) => id,
                None => {
                    let id = self.next;
                    self.next += 1;
                    let of_site = self.by_site.entry(site.to_owned()).or_default();
                    of_site.insert(path.to_owned(), id);
                    new.push((site, path, id));
                    id
                }
            };
            last = Some(((site, path), id));
            ids.push(id);
        }
        if new.is_empty() {
            return Ok(ids);
        }
        let stored = (|| {
            let mut appender = conn.appender("paths")?;
            for (site, path, id) in &new {
                appender.append_row(params![site, path, id])?;
            }
            appender.flush()
        })();
        if let Err(e) = stored {
            // Not stored: not numbered either.
            for (site, path, _) in new {
                if let Some(of_site) = self.by_site.get_mut(site) {
                    of_site.remove(path);
                }
            }
            return Err(e.into());
        }
        Ok(ids)
    }

    /// Deletes `site`'s paths that no stored event has any more (after
    /// events were deleted, in the same transaction), and returns them for
    /// [`PathIds::forget`] once the transaction is committed.
    pub fn delete_unused(
        tx: &duckdb::Transaction<'_>,
        site: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut stmt = tx.prepare(
            "DELETE FROM paths WHERE site = ? AND path_id NOT IN
                 (SELECT path_id FROM events WHERE site = ? AND path_id IS NOT NULL)
             RETURNING path",
        )?;
        let gone = stmt.query_map(params![site, site], |r| r.get::<_, String>(0))?;
        Ok(gone.collect::<Result<_, _>>()?)
    }

    /// Forgets paths [`PathIds::delete_unused`] deleted.
    pub fn forget(&mut self, site: &str, gone: &[String]) {
        if let Some(paths) = self.by_site.get_mut(site) {
            for path in gone {
                paths.remove(path);
            }
        }
    }
}
