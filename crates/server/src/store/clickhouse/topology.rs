//! Where the cluster's servers are, from the store's address:
//!
//! ```text
//! clickhouse://ch1:8123,ch2:8123;ch3:8123,ch4:8123/sonde?cluster=sonde
//! ```
//!
//! Shards are separated by `;`, a shard's replicas by `,` (each a host
//! and its HTTP port); the path names the database, `cluster` the name
//! the servers' `remote_servers` give the cluster. Sonde writes each shard
//! itself, so the order of the shards here is what places an event: it
//! must stay the same for as long as the data is kept (adding a shard
//! appends one; see the README).

use super::client::{ClickHouseError, Client};
use super::schema::Placement;

/// The servers of the cluster, by shard, and where Sonde's tables are.
#[derive(Clone, Debug)]
pub struct Topology {
    pub shards: Vec<Vec<Client>>,
    pub placement: Placement,
}

/// A store address that does not name a cluster.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the ClickHouse store's address {address:?} {problem}")]
pub struct BadAddress {
    pub address: String,
    pub problem: String,
}

impl Topology {
    /// Reads a `clickhouse://` address (see the module's documentation).
    pub fn parse(address: &str) -> Result<Topology, BadAddress> {
        let bad = |problem: &str| BadAddress {
            address: address.to_owned(),
            problem: problem.to_owned(),
        };
        let rest = address
            .strip_prefix("clickhouse://")
            .ok_or_else(|| bad("does not begin with clickhouse://"))?;
        let (servers, rest) = rest
            .split_once('/')
            .ok_or_else(|| bad("names no database (…/sonde?cluster=sonde)"))?;
        let (database, query) = rest.split_once('?').unwrap_or((rest, ""));
        let identifier = |s: &str| {
            !s.is_empty()
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !s.starts_with(|c: char| c.is_ascii_digit())
        };
        if !identifier(database) {
            return Err(bad(
                "names no database, or one that is not letters, digits and _",
            ));
        }
        let mut cluster = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("cluster", name)) if identifier(name) => cluster = Some(name.to_owned()),
                _ => return Err(bad(&format!("has an unknown or invalid setting {pair:?}"))),
            }
        }
        let cluster = cluster.ok_or_else(|| bad("names no cluster (?cluster=…)"))?;
        let mut shards = Vec::new();
        for shard in servers.split(';') {
            let mut replicas = Vec::new();
            for server in shard.split(',') {
                let (host, port) = server
                    .rsplit_once(':')
                    .filter(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
                    .ok_or_else(|| bad(&format!("has {server:?} where a host:port belongs")))?;
                replicas.push(Client::new(&format!("http://{host}:{port}/")));
            }
            shards.push(replicas);
        }
        Ok(Topology {
            shards,
            placement: Placement {
                database: database.to_owned(),
                cluster,
            },
        })
    }

    /// Any one server, for statements run on the whole cluster.
    pub fn any_server(&self) -> &Client {
        &self.shards[0][0]
    }

    /// Runs a query on the first server that answers: through the
    /// `Distributed` tables, any server reads every shard (from whichever
    /// of its replicas is up).
    pub fn rows<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
    ) -> Result<Vec<T>, ClickHouseError> {
        self.rows_with(sql, &[])
    }

    /// Runs a query whose reads of a `Distributed` table group by what
    /// lives on one shard (a session, or a visit within it): each shard
    /// answers its groups whole and the server asked only puts them side
    /// by side, instead of merging every group's partial state (argMin of
    /// paths, arrays of pages) from both shards on one core. The query
    /// around such a read still runs on the server asked, over all the
    /// groups.
    ///
    /// Wrong for a read that groups across shards (by page, by visitor):
    /// every shard's share of a group would come back as a group of its
    /// own.
    pub fn rows_grouped_on_shards<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
    ) -> Result<Vec<T>, ClickHouseError> {
        self.rows_with(sql, &[("distributed_group_by_no_merge", "1")])
    }

    fn rows_with<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        settings: &[(&str, &str)],
    ) -> Result<Vec<T>, ClickHouseError> {
        let mut unreachable = None;
        for server in self.shards.iter().flatten() {
            match server.rows(sql, settings) {
                Err(e @ ClickHouseError::Unreachable { .. }) => unreachable = Some(e),
                answer => return answer,
            }
        }
        Err(unreachable.unwrap_or_else(|| ClickHouseError::Unreachable {
            url: String::new(),
            reason: "the store's address names no server".into(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_names_the_shards_their_replicas_the_database_and_the_cluster() {
        let t = Topology::parse(
            "clickhouse://127.0.0.1:18120,127.0.0.1:18121;127.0.0.1:18122,127.0.0.1:18123/sonde?cluster=sonde",
        )
        .unwrap();
        let urls: Vec<Vec<&str>> = t
            .shards
            .iter()
            .map(|s| s.iter().map(Client::url).collect())
            .collect();
        assert_eq!(
            urls,
            [
                ["http://127.0.0.1:18120/", "http://127.0.0.1:18121/"],
                ["http://127.0.0.1:18122/", "http://127.0.0.1:18123/"]
            ]
        );
        assert_eq!(
            t.placement,
            Placement {
                database: "sonde".into(),
                cluster: "sonde".into()
            }
        );
    }

    #[test]
    fn a_wrong_address_says_what_is_wrong_with_it() {
        let problem = |address: &str| Topology::parse(address).unwrap_err().problem;
        assert_eq!(
            problem("http://ch:8123/sonde?cluster=c"),
            "does not begin with clickhouse://"
        );
        assert_eq!(
            problem("clickhouse://ch:8123"),
            "names no database (…/sonde?cluster=sonde)"
        );
        assert_eq!(
            problem("clickhouse://ch:8123/sonde"),
            "names no cluster (?cluster=…)"
        );
        assert_eq!(
            problem("clickhouse://ch/sonde?cluster=c"),
            "has \"ch\" where a host:port belongs"
        );
        assert_eq!(
            problem("clickhouse://ch:1/drop table?cluster=c"),
            "names no database, or one that is not letters, digits and _"
        );
        assert_eq!(
            problem("clickhouse://ch:1/sonde?cluster=c&user=x"),
            "has an unknown or invalid setting \"user=x\""
        );
    }
}
