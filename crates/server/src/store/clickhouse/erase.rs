//! A visitor's erasure on the cluster: out of every report at once,
//! removed from the disks by a mutation later.
//!
//! 18.16 deletes rows only by mutation (`ALTER TABLE … DELETE`), which
//! rewrites parts in the background and may take minutes on a large
//! table. So an erasure first lists the events it takes, by their
//! session key and id, in `erased_events_local` on the shard that holds
//! them (a quorum insert, as events are written); every read leaves those
//! out ([`super::scope::not_erased`]). [`purge_erased`] then removes the
//! listed events with one mutation per shard for every erasure since the
//! last, and a later pass strikes from the list what no replica holds.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::client::Client;
use super::scope::not_erased;
use super::sql::quoted;
use super::topology::Topology;
use super::write::{Writer, shard_of};
use crate::store::StoreError;
use crate::store::event_row::session_key;

#[derive(Debug, Deserialize, Serialize)]
struct Erased {
    site: String,
    session_key: u64,
    id: String,
    #[serde(default)]
    erased_at: i64,
}

/// Takes out of every report the events of `visitor_id` at or after
/// `since_ms` and those of `sessions`, and says how many it took.
pub(super) fn erase(
    topology: &Topology,
    writer: &Writer,
    site: &str,
    visitor_id: i64,
    since_ms: i64,
    sessions: &[String],
) -> Result<u64, StoreError> {
    let db = &topology.placement.database;
    let by_session = if sessions.is_empty() {
        String::new()
    } else {
        let keys: Vec<String> = sessions
            .iter()
            .map(|s| session_key(s).to_string())
            .collect();
        let ids: Vec<String> = sessions.iter().map(|s| quoted(s)).collect();
        format!(
            " OR (session_key IN ({}) AND session_id IN ({}))",
            keys.join(", "),
            ids.join(", ")
        )
    };
    let mut erased: Vec<Erased> = topology.rows(&format!(
        "SELECT site, session_key, id FROM {db}.events FINAL
         WHERE site = {site} AND {not_erased}
           AND ((visitor_id = {visitor_id} AND ts >= {since_ms}){by_session})",
        site = quoted(site),
        not_erased = not_erased(db, site),
    ))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut by_shard: HashMap<usize, String> = HashMap::new();
    for e in &mut erased {
        e.erased_at = now;
        let rows = by_shard
            .entry(shard_of(e.session_key, topology.shards.len()))
            .or_default();
        let _ = writeln!(rows, "{}", serde_json::to_string(e).unwrap_or_default());
    }
    let statement = format!("INSERT INTO {db}.erased_events_local FORMAT JSONEachRow");
    for (shard, rows) in by_shard {
        writer.insert_on_shard(topology, shard, &statement, rows.as_bytes())?;
    }
    Ok(erased.len() as u64)
}

/// One pass of removing erased events from the disks, on each shard:
/// the events still listed and still on a replica are deleted by one
/// mutation (unless one is under way), and those no replica holds any
/// more are struck from the list. Returns how many this pass found gone
/// and struck.
///
/// A pass never waits for a mutation: 18.16 leaves the newest part a
/// quorum insert wrote out of mutations until a later insert arrives, so
/// a mutation finishes only once the shard has taken another write. The
/// next pass (the retention task runs one every hour) sees what the last
/// one's mutation did. Until then the listed events stay out of every
/// report.
pub(super) fn purge_erased(topology: &Topology) -> Result<usize, StoreError> {
    let db = &topology.placement.database;
    let mut struck = 0;
    for replicas in &topology.shards {
        let leader = &replicas[0];
        let erased: Vec<Erased> = leader.rows(
            &format!("SELECT site, session_key, id FROM {db}.erased_events_local FINAL"),
            &[("select_sequential_consistency", "1")],
        )?;
        if erased.is_empty() {
            continue;
        }
        let listed = |keys: &[&Erased]| -> String {
            let keys: Vec<String> = keys
                .iter()
                .map(|e| format!("({}, {})", e.session_key, quoted(&e.id)))
                .collect();
            format!("(session_key, id) IN ({})", keys.join(", "))
        };
        let everything: Vec<&Erased> = erased.iter().collect();
        let mut still_there = std::collections::HashSet::new();
        for replica in replicas {
            let found = replica.run(&format!(
                "SELECT toString(session_key) || ' ' || id FROM {db}.events_local
                 WHERE {} FORMAT TabSeparatedRaw",
                listed(&everything)
            ))?;
            still_there.extend(found.lines().map(str::to_owned));
        }
        let (there, gone): (Vec<&Erased>, Vec<&Erased>) = erased
            .iter()
            .partition(|e| still_there.contains(&format!("{} {}", e.session_key, e.id)));
        if !there.is_empty() && !mutating(replicas, db, "events_local")? {
            leader.run(&format!(
                "ALTER TABLE {db}.events_local DELETE WHERE {}",
                listed(&there)
            ))?;
        }
        if !gone.is_empty() && !mutating(replicas, db, "erased_events_local")? {
            leader.run(&format!(
                "ALTER TABLE {db}.erased_events_local DELETE WHERE {}",
                listed(&gone)
            ))?;
            struck += gone.len();
        }
    }
    Ok(struck)
}

/// Whether a replica has a mutation of `table` still to do.
fn mutating(replicas: &[Client], database: &str, table: &str) -> Result<bool, StoreError> {
    for replica in replicas {
        let pending = replica.run(&format!(
            "SELECT count() FROM system.mutations
             WHERE database = {} AND table = {} AND is_done = 0",
            quoted(database),
            quoted(table)
        ))?;
        if pending.trim() != "0" {
            return Ok(true);
        }
    }
    Ok(false)
}
