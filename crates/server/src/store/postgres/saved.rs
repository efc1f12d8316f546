//! [`SavedStore`] in PostgreSQL: saved funnels and goals as JSON text,
//! one table for both kinds.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sonde_protocol::annotation::Annotation;
use sonde_protocol::funnel::SavedFunnel;
use sonde_protocol::goal::SavedGoal;

use super::PostgresStore;
use crate::store::saved::in_time_order;
use crate::store::{SavedStore, StoreError};

const FUNNEL: &str = "funnel";
const GOAL: &str = "goal";
const ANNOTATION: &str = "annotation";

pub(super) fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl PostgresStore {
    pub(super) fn put_saved<T: Serialize>(
        &self,
        kind: &str,
        (id, site, name): (&str, &str, &str),
        item: &T,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(item).map_err(corrupt)?;
        self.client()?.execute(
            "INSERT INTO saved VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (kind, id) DO UPDATE SET name = excluded.name, body = excluded.body",
            &[&kind, &id, &site, &name, &body],
        )?;
        Ok(())
    }

    pub(super) fn saved_one<T: DeserializeOwned>(
        &self,
        kind: &str,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        let row = self.client()?.query_opt(
            "SELECT body FROM saved WHERE kind = $1 AND id = $2",
            &[&kind, &id],
        )?;
        row.map(|r| serde_json::from_str(r.get(0)).map_err(corrupt))
            .transpose()
    }

    pub(super) fn saved_of_site<T: DeserializeOwned>(
        &self,
        kind: &str,
        site: &str,
    ) -> Result<Vec<T>, StoreError> {
        let rows = self.client()?.query(
            "SELECT body FROM saved WHERE kind = $1 AND site = $2 ORDER BY lower(name), id",
            &[&kind, &site],
        )?;
        rows.iter()
            .map(|r| serde_json::from_str(r.get(0)).map_err(corrupt))
            .collect()
    }

    /// Every site's items of `kind`, by site.
    pub(super) fn all_saved<T: DeserializeOwned>(&self, kind: &str) -> Result<Vec<T>, StoreError> {
        let rows = self.client()?.query(
            "SELECT body FROM saved WHERE kind = $1 ORDER BY site, id",
            &[&kind],
        )?;
        rows.iter()
            .map(|r| serde_json::from_str(r.get(0)).map_err(corrupt))
            .collect()
    }

    pub(super) fn remove_saved(&self, kind: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self.client()?.execute(
            "DELETE FROM saved WHERE kind = $1 AND id = $2",
            &[&kind, &id],
        )? == 1)
    }
}

impl SavedStore for PostgresStore {
    fn put_funnel(&self, f: &SavedFunnel) -> Result<(), StoreError> {
        self.put_saved(FUNNEL, (&f.id, &f.site, &f.funnel.name), f)
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
        self.put_saved(GOAL, (&g.id, &g.site, &g.goal.name), g)
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
        self.put_saved(ANNOTATION, (&a.id, &a.site, &a.text), a)
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
