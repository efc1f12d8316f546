//! [`SavedStore`] on the DuckDB file: one table, each definition kept as
//! its protocol type's JSON, so a new field needs no migration.

use duckdb::{OptionalExt, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sonde_protocol::annotation::Annotation;
use sonde_protocol::funnel::SavedFunnel;
use sonde_protocol::goal::SavedGoal;

use super::DuckDbStore;
use crate::store::StoreError;
use crate::store::saved::{SavedStore, in_time_order};

const FUNNEL: &str = "funnel";
const GOAL: &str = "goal";
const ANNOTATION: &str = "annotation";

pub(super) fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl DuckDbStore {
    pub(super) fn put_saved<T: Serialize>(
        &self,
        kind: &str,
        id: &str,
        site: &str,
        name: &str,
        item: &T,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(item).map_err(corrupt)?;
        self.conn().execute(
            "INSERT INTO saved VALUES (?, ?, ?, ?, ?)
             ON CONFLICT DO UPDATE SET name = excluded.name, body = excluded.body",
            params![kind, id, site, name, body],
        )?;
        Ok(())
    }

    pub(super) fn saved_one<T: DeserializeOwned>(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        let body: Option<String> = self
            .conn()
            .query_row(
                "SELECT body FROM saved WHERE kind = ? AND id = ?",
                params![kind, id],
                |r| r.get(0),
            )
            .optional()?;
        body.map(|b| serde_json::from_str(&b).map_err(corrupt))
            .transpose()
    }

    pub(super) fn saved_of_site<T: DeserializeOwned>(
        &self,
        kind: &str,
        site: &str,
    ) -> Result<Vec<T>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT body FROM saved WHERE kind = ? AND site = ? ORDER BY lower(name), id",
        )?;
        let bodies: Vec<String> = stmt
            .query_map(params![kind, site], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(corrupt))
            .collect()
    }

    /// Every site's items of `kind`, by site.
    pub(super) fn all_saved<T: DeserializeOwned>(&self, kind: &str) -> Result<Vec<T>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT body FROM saved WHERE kind = ? ORDER BY site, id")?;
        let bodies: Vec<String> = stmt
            .query_map(params![kind], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(corrupt))
            .collect()
    }

    pub(super) fn remove_saved(&self, kind: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "DELETE FROM saved WHERE kind = ? AND id = ?",
            params![kind, id],
        )? == 1)
    }
}

impl SavedStore for DuckDbStore {
    fn put_funnel(&self, f: &SavedFunnel) -> Result<(), StoreError> {
        self.put_saved(FUNNEL, &f.id, &f.site, &f.funnel.name, f)
    }

    fn funnel(&self, id: &str) -> Result<Option<SavedFunnel>, StoreError> {
        self.saved_one(FUNNEL, id)
    }

    fn funnels(&self, site: &str) -> Result<Vec<SavedFunnel>, StoreError> {
        self.saved_of_site(FUNNEL, site)
    }

    fn remove_funnel(&self, id: &str) -> Result<bool, StoreError> {
        self.remove_saved(FUNNEL, id)
    }

    fn put_goal(&self, g: &SavedGoal) -> Result<(), StoreError> {
        self.put_saved(GOAL, &g.id, &g.site, &g.goal.name, g)
    }

    fn goal(&self, id: &str) -> Result<Option<SavedGoal>, StoreError> {
        self.saved_one(GOAL, id)
    }

    fn goals(&self, site: &str) -> Result<Vec<SavedGoal>, StoreError> {
        self.saved_of_site(GOAL, site)
    }

    fn remove_goal(&self, id: &str) -> Result<bool, StoreError> {
        self.remove_saved(GOAL, id)
    }

    fn put_annotation(&self, a: &Annotation) -> Result<(), StoreError> {
        self.put_saved(ANNOTATION, &a.id, &a.site, &a.text, a)
    }

    fn annotation(&self, id: &str) -> Result<Option<Annotation>, StoreError> {
        self.saved_one(ANNOTATION, id)
    }

    fn annotations(&self, site: &str) -> Result<Vec<Annotation>, StoreError> {
        self.saved_of_site(ANNOTATION, site).map(in_time_order)
    }

    fn remove_annotation(&self, id: &str) -> Result<bool, StoreError> {
        self.remove_saved(ANNOTATION, id)
    }
}
