//! What people save for a site: funnels, goals and annotations.

use sonde_protocol::annotation::Annotation;
use sonde_protocol::funnel::SavedFunnel;
use sonde_protocol::goal::SavedGoal;

use super::StoreError;

/// Saved funnels, goals and annotations. Calls block, like [`super::IngestStore`]'s.
pub trait SavedStore: Send + Sync + std::fmt::Debug {
    /// Adds a funnel or replaces the one with its id.
    fn put_funnel(&self, funnel: &SavedFunnel) -> Result<(), StoreError>;
    fn funnel(&self, id: &str) -> Result<Option<SavedFunnel>, StoreError>;
    /// A site's funnels, by name.
    fn funnels(&self, site: &str) -> Result<Vec<SavedFunnel>, StoreError>;
    fn remove_funnel(&self, id: &str) -> Result<bool, StoreError>;

    fn put_goal(&self, goal: &SavedGoal) -> Result<(), StoreError>;
    fn goal(&self, id: &str) -> Result<Option<SavedGoal>, StoreError>;
    /// A site's goals, by name.
    fn goals(&self, site: &str) -> Result<Vec<SavedGoal>, StoreError>;
    fn remove_goal(&self, id: &str) -> Result<bool, StoreError>;

    fn put_annotation(&self, annotation: &Annotation) -> Result<(), StoreError>;
    fn annotation(&self, id: &str) -> Result<Option<Annotation>, StoreError>;
    /// A site's annotations, by the instant they mark.
    fn annotations(&self, site: &str) -> Result<Vec<Annotation>, StoreError>;
    fn remove_annotation(&self, id: &str) -> Result<bool, StoreError>;
}

/// A site's annotations in time order: the saved table orders by name.
pub(crate) fn in_time_order(mut annotations: Vec<Annotation>) -> Vec<Annotation> {
    annotations.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    annotations
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DuckDbStore;

    fn annotation(id: &str, site: &str, at: i64, text: &str) -> Annotation {
        Annotation {
            id: id.into(),
            site: site.into(),
            at,
            text: text.into(),
            added_by: "ada".into(),
            added_at: 1,
        }
    }

    /// What every store must do with annotations.
    pub(crate) fn keeps_annotations(store: &dyn SavedStore) {
        store
            .put_annotation(&annotation("a1", "shop", 30, "Spring campaign"))
            .unwrap();
        store
            .put_annotation(&annotation("a2", "shop", 10, "Deploy 2.4.0"))
            .unwrap();
        store
            .put_annotation(&annotation("a3", "blog", 20, "Redesign"))
            .unwrap();
        let texts: Vec<String> = store
            .annotations("shop")
            .unwrap()
            .into_iter()
            .map(|a| a.text)
            .collect();
        assert_eq!(texts, ["Deploy 2.4.0", "Spring campaign"], "in time order");
        assert_eq!(
            store.annotation("a3").unwrap(),
            Some(annotation("a3", "blog", 20, "Redesign"))
        );
        assert!(store.remove_annotation("a2").unwrap());
        assert!(!store.remove_annotation("a2").unwrap());
        assert_eq!(store.annotations("shop").unwrap().len(), 1);
        assert!(store.funnels("shop").unwrap().is_empty(), "kept apart");
    }

    #[test]
    fn the_file_keeps_annotations() {
        keeps_annotations(&DuckDbStore::in_memory().unwrap());
    }

    #[test]
    #[ignore = "needs the local cluster: `cargo xtask test` runs it"]
    fn postgres_keeps_annotations() {
        keeps_annotations(&crate::store::postgres::testing::fresh_store("annotations"));
    }
}
