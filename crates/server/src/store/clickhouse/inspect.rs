//! What can be read about the events on the cluster apart from reports:
//! whether every shard answers, the size of its parts, raw counts and
//! dumps (see [`crate::store::StoreInspection`]).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::scope::not_erased;
use super::sql::quoted;
use super::topology::Topology;
use crate::store::StoreError;

/// Whether a replica of every shard answers a query.
pub(super) fn ping(topology: &Topology) -> Result<(), StoreError> {
    for replicas in &topology.shards {
        let mut answered = Err(None);
        for replica in replicas {
            match replica.run("SELECT 1") {
                Ok(_) => {
                    answered = Ok(());
                    break;
                }
                Err(e) => answered = Err(Some(e)),
            }
        }
        if let Err(Some(e)) = answered {
            return Err(e.into());
        }
    }
    Ok(())
}

/// Bytes the database's active parts take, on every server added up.
pub(super) fn size_on_disk(topology: &Topology) -> Result<u64, StoreError> {
    let mut bytes = 0;
    for server in topology.shards.iter().flatten() {
        let answer = server.run(&format!(
            "SELECT sum(bytes) FROM system.parts WHERE database = {} AND active",
            quoted(&topology.placement.database)
        ))?;
        bytes += answer.trim().parse::<u64>().unwrap_or(0);
    }
    Ok(bytes)
}

/// Events of `site` in the reports (not erased), counted by kind.
pub(super) fn count_by_kind(
    topology: &Topology,
    site: &str,
) -> Result<BTreeMap<String, u64>, StoreError> {
    #[derive(Deserialize)]
    struct Kind {
        kind: String,
        n: u64,
    }
    let db = &topology.placement.database;
    let kinds: Vec<Kind> = topology.rows(&format!(
        "SELECT kind, count() AS n FROM {db}.events FINAL
         WHERE site = {site} AND {not_erased}
         GROUP BY kind",
        site = quoted(site),
        not_erased = not_erased(db, site),
    ))?;
    Ok(kinds.into_iter().map(|k| (k.kind, k.n)).collect())
}

/// Every value of every row of `table` (`events`, or a table of the
/// database), erased or not, as text: what is on the disks.
pub(super) fn dump_as_text(topology: &Topology, table: &str) -> Result<String, StoreError> {
    if !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(StoreError::Corrupt(format!("no table is named {table:?}")));
    }
    Ok(topology.any_server().run(&format!(
        "SELECT * FROM {}.{table} FORMAT TabSeparated",
        topology.placement.database
    ))?)
}
