//! What the store keeps about the dashboard's readers: people, their
//! sign-in sessions, share links and site API keys. Secrets are kept only
//! as hashes: a password as its argon2 hash, a session, share or API token
//! as its blake3 hash, so a copy of the store opens no dashboard.

use sonde_protocol::account::{Role, ShareLink, User};
use sonde_protocol::api_key::ApiKey;

use super::StoreError;

/// A person as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredUser {
    pub username: String,
    pub role: Role,
    /// The sites a viewer is limited to; `None`, every site.
    pub sites: Option<Vec<String>>,
    /// argon2id, in the PHC string format.
    pub password_hash: String,
    /// Failed sign-ins since the last successful one.
    pub failed_sign_ins: u32,
    /// No sign-in is tried before this (ms since the epoch).
    pub locked_until: Option<i64>,
}

impl StoredUser {
    pub fn user(&self) -> User {
        User {
            username: self.username.clone(),
            role: self.role,
            sites: self.sites.clone(),
        }
    }
}

/// A viewer's sites as both stores keep them: a JSON array, `NULL` for
/// every site.
pub(crate) fn sites(json: Option<String>) -> Result<Option<Vec<String>>, StoreError> {
    json.map(|j| {
        serde_json::from_str(&j)
            .map_err(|e| StoreError::Corrupt(format!("a person's sites {j:?}: {e}")))
    })
    .transpose()
}

pub(crate) fn sites_json(sites: &[String]) -> String {
    serde_json::to_string(sites).expect("strings serialise")
}

/// A sign-in session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSession {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: i64,
}

/// The dashboard's readers. Calls block, like [`super::IngestStore`]'s.
pub trait AccountStore: Send + Sync + std::fmt::Debug {
    fn user_count(&self) -> Result<u64, StoreError>;

    /// Adds a person, or replaces their role and password hash and clears
    /// their failed sign-ins. A changed password ends their sessions.
    fn put_user(&self, user: &StoredUser) -> Result<(), StoreError>;

    fn user(&self, username: &str) -> Result<Option<StoredUser>, StoreError>;

    fn users(&self) -> Result<Vec<User>, StoreError>;

    /// Removes a person and ends their sessions; `false` when there was none.
    fn remove_user(&self, username: &str) -> Result<bool, StoreError>;

    /// Records the outcome of a sign-in attempt on an existing person.
    fn set_failed_sign_ins(
        &self,
        username: &str,
        failed: u32,
        locked_until: Option<i64>,
    ) -> Result<(), StoreError>;

    fn create_session(
        &self,
        token_hash: &str,
        username: &str,
        csrf_token: &str,
        expires_at: i64,
    ) -> Result<(), StoreError>;

    /// The session of a token, unless it expired by `now_ms`.
    fn session(&self, token_hash: &str, now_ms: i64) -> Result<Option<StoredSession>, StoreError>;

    fn end_session(&self, token_hash: &str) -> Result<(), StoreError>;

    fn create_share_link(&self, link: &ShareLink, token_hash: &str) -> Result<(), StoreError>;

    /// The link a token opens, unless it was revoked.
    fn share_link(&self, token_hash: &str) -> Result<Option<ShareLink>, StoreError>;

    /// The links of a site that are not revoked, newest first.
    fn share_links(&self, site: &str) -> Result<Vec<ShareLink>, StoreError>;

    /// Revokes a link; `false` when there was no such link.
    fn revoke_share_link(&self, id: &str) -> Result<bool, StoreError>;

    fn create_api_key(&self, key: &ApiKey, token_hash: &str) -> Result<(), StoreError>;

    /// The key a token is, unless it was revoked.
    fn api_key(&self, token_hash: &str) -> Result<Option<ApiKey>, StoreError>;

    /// The keys of a site, newest first.
    fn api_keys(&self, site: &str) -> Result<Vec<ApiKey>, StoreError>;

    /// Revokes a key; `false` when there was no such key.
    fn revoke_api_key(&self, id: &str) -> Result<bool, StoreError>;
}
