//! [`AccountStore`] in PostgreSQL: people, their sign-in sessions (so that
//! a session opened on one Sonde process is valid on every other) and
//! share links and site API keys.

use sonde_protocol::account::{Role, ShareLink, User};
use sonde_protocol::api_key::ApiKey;

use super::PostgresStore;
use super::saved::corrupt;
use crate::store::StoreError;
use crate::store::accounts::{AccountStore, StoredSession, StoredUser, sites, sites_json};

fn role(text: &str) -> Result<Role, StoreError> {
    Role::parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown role {text:?}")))
}

fn share_link(row: &postgres::Row) -> ShareLink {
    ShareLink {
        id: row.get(0),
        site: row.get(1),
        created_by: row.get(2),
        created_at: row.get(3),
    }
}

impl AccountStore for PostgresStore {
    fn user_count(&self) -> Result<u64, StoreError> {
        let row = self
            .client()?
            .query_one("SELECT count(*) FROM users", &[])?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn put_user(&self, user: &StoredUser) -> Result<(), StoreError> {
        let mut client = self.client()?;
        let mut tx = client.transaction()?;
        let before = tx.query_opt(
            "SELECT password_hash FROM users WHERE username = $1 FOR UPDATE",
            &[&user.username],
        )?;
        if before.is_some_and(|row| row.get::<_, &str>(0) != user.password_hash) {
            tx.execute(
                "DELETE FROM sessions WHERE username = $1",
                &[&user.username],
            )?;
        }
        tx.execute(
            "INSERT INTO users (username, role, password_hash, failed_sign_ins, locked_until, sites)
             VALUES ($1, $2, $3, 0, NULL, $4) ON CONFLICT (username) DO UPDATE SET
                role = excluded.role, password_hash = excluded.password_hash,
                failed_sign_ins = 0, locked_until = NULL, sites = excluded.sites",
            &[
                &user.username,
                &user.role.as_str(),
                &user.password_hash,
                &user.sites.as_deref().map(sites_json),
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn user(&self, username: &str) -> Result<Option<StoredUser>, StoreError> {
        let row = self.client()?.query_opt(
            "SELECT username, role, password_hash, failed_sign_ins, locked_until, sites
             FROM users WHERE username = $1",
            &[&username],
        )?;
        row.map(|r| {
            Ok(StoredUser {
                username: r.get(0),
                role: role(r.get(1))?,
                sites: sites(r.get(5))?,
                password_hash: r.get(2),
                failed_sign_ins: r.get::<_, i32>(3).max(0) as u32,
                locked_until: r.get(4),
            })
        })
        .transpose()
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = self.client()?.query(
            "SELECT username, role, sites FROM users ORDER BY username",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(User {
                    username: r.get(0),
                    role: role(r.get(1))?,
                    sites: sites(r.get(2))?,
                })
            })
            .collect()
    }

    fn remove_user(&self, username: &str) -> Result<bool, StoreError> {
        // The person's sessions go with them (ON DELETE CASCADE).
        Ok(self
            .client()?
            .execute("DELETE FROM users WHERE username = $1", &[&username])?
            == 1)
    }

    fn set_failed_sign_ins(
        &self,
        username: &str,
        failed: u32,
        locked_until: Option<i64>,
    ) -> Result<(), StoreError> {
        self.client()?.execute(
            "UPDATE users SET failed_sign_ins = $1, locked_until = $2 WHERE username = $3",
            &[
                &(failed.min(i32::MAX as u32) as i32),
                &locked_until,
                &username,
            ],
        )?;
        Ok(())
    }

    fn create_session(
        &self,
        token_hash: &str,
        username: &str,
        csrf_token: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.client()?.execute(
            "INSERT INTO sessions VALUES ($1, $2, $3, $4)",
            &[&token_hash, &username, &csrf_token, &expires_at],
        )?;
        Ok(())
    }

    fn session(&self, token_hash: &str, now_ms: i64) -> Result<Option<StoredSession>, StoreError> {
        let row = self.client()?.query_opt(
            "SELECT u.username, u.role, s.csrf_token, s.expires_at, u.sites
             FROM sessions s JOIN users u USING (username)
             WHERE s.token_hash = $1 AND s.expires_at > $2",
            &[&token_hash, &now_ms],
        )?;
        row.map(|r| {
            Ok(StoredSession {
                user: User {
                    username: r.get(0),
                    role: role(r.get(1))?,
                    sites: sites(r.get(4))?,
                },
                csrf_token: r.get(2),
                expires_at: r.get(3),
            })
        })
        .transpose()
    }

    fn end_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.client()?
            .execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash])?;
        Ok(())
    }

    fn create_share_link(&self, link: &ShareLink, token_hash: &str) -> Result<(), StoreError> {
        self.client()?.execute(
            "INSERT INTO share_links VALUES ($1, $2, $3, $4, $5, false)",
            &[
                &link.id,
                &token_hash,
                &link.site,
                &link.created_by,
                &link.created_at,
            ],
        )?;
        Ok(())
    }

    fn share_link(&self, token_hash: &str) -> Result<Option<ShareLink>, StoreError> {
        let row = self.client()?.query_opt(
            "SELECT id, site, created_by, created_at FROM share_links
             WHERE token_hash = $1 AND NOT revoked",
            &[&token_hash],
        )?;
        Ok(row.as_ref().map(share_link))
    }

    fn share_links(&self, site: &str) -> Result<Vec<ShareLink>, StoreError> {
        let rows = self.client()?.query(
            "SELECT id, site, created_by, created_at FROM share_links
             WHERE site = $1 AND NOT revoked ORDER BY created_at DESC, id",
            &[&site],
        )?;
        Ok(rows.iter().map(share_link).collect())
    }

    fn revoke_share_link(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.client()?.execute(
            "UPDATE share_links SET revoked = true WHERE id = $1 AND NOT revoked",
            &[&id],
        )? == 1)
    }

    fn create_api_key(&self, key: &ApiKey, token_hash: &str) -> Result<(), StoreError> {
        let body = serde_json::to_string(key).map_err(corrupt)?;
        self.client()?.execute(
            "INSERT INTO api_keys VALUES ($1, $2, $3, $4)",
            &[&key.id, &token_hash, &key.site, &body],
        )?;
        Ok(())
    }

    fn api_key(&self, token_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let row = self.client()?.query_opt(
            "SELECT body FROM api_keys WHERE token_hash = $1",
            &[&token_hash],
        )?;
        row.map(|r| serde_json::from_str(r.get(0)).map_err(corrupt))
            .transpose()
    }

    fn api_keys(&self, site: &str) -> Result<Vec<ApiKey>, StoreError> {
        let rows = self
            .client()?
            .query("SELECT body FROM api_keys WHERE site = $1", &[&site])?;
        let mut keys = rows
            .iter()
            .map(|r| serde_json::from_str::<ApiKey>(r.get(0)).map_err(corrupt))
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort_by(|a, b| (b.created_at, &a.id).cmp(&(a.created_at, &b.id)));
        Ok(keys)
    }

    fn revoke_api_key(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .client()?
            .execute("DELETE FROM api_keys WHERE id = $1", &[&id])?
            == 1)
    }
}
