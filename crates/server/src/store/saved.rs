//! What people save for a site: funnels and goals.

use sonde_protocol::funnel::SavedFunnel;
use sonde_protocol::goal::SavedGoal;

use super::StoreError;

/// Saved funnels and goals. Calls block, like [`super::IngestStore`]'s.
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
}
