//! [`AccountStore`] on the DuckDB file.

use duckdb::{OptionalExt, params};
use sonde_protocol::account::{Role, ShareLink, User};
use sonde_protocol::api_key::ApiKey;

use super::DuckDbStore;
use super::saved::corrupt;
use crate::store::StoreError;
use crate::store::accounts::{AccountStore, StoredSession, StoredUser};

fn role(text: String) -> Result<Role, StoreError> {
    Role::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("unknown role {text:?}")))
}

impl AccountStore for DuckDbStore {
    fn user_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn()
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    fn put_user(&self, user: &StoredUser) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let before: Option<String> = tx
            .query_row(
                "SELECT password_hash FROM users WHERE username = ?",
                [&user.username],
                |r| r.get(0),
            )
            .optional()?;
        if before.is_some_and(|hash| hash != user.password_hash) {
            tx.execute("DELETE FROM sessions WHERE username = ?", [&user.username])?;
        }
        tx.execute(
            "INSERT INTO users VALUES (?, ?, ?, 0, NULL) ON CONFLICT DO UPDATE SET
                role = excluded.role, password_hash = excluded.password_hash,
                failed_sign_ins = 0, locked_until = NULL",
            params![user.username, user.role.as_str(), user.password_hash],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn user(&self, username: &str) -> Result<Option<StoredUser>, StoreError> {
        let row = self
            .conn()
            .query_row(
                "SELECT username, role, password_hash, failed_sign_ins, locked_until
                 FROM users WHERE username = ?",
                [username],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i32>(3)?,
                        r.get::<_, Option<i64>>(4)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(username, r, password_hash, failed, locked_until)| {
            Ok(StoredUser {
                username,
                role: role(r)?,
                password_hash,
                failed_sign_ins: failed.max(0) as u32,
                locked_until,
            })
        })
        .transpose()
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT username, role FROM users ORDER BY username")?;
        let rows: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(username, r)| {
                Ok(User {
                    username,
                    role: role(r)?,
                })
            })
            .collect()
    }

    fn remove_user(&self, username: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM sessions WHERE username = ?", [username])?;
        let removed = tx.execute("DELETE FROM users WHERE username = ?", [username])? == 1;
        tx.commit()?;
        Ok(removed)
    }

    fn set_failed_sign_ins(
        &self,
        username: &str,
        failed: u32,
        locked_until: Option<i64>,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE users SET failed_sign_ins = ?, locked_until = ? WHERE username = ?",
            params![failed, locked_until, username],
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
        self.conn().execute(
            "INSERT INTO sessions VALUES (?, ?, ?, ?)",
            params![token_hash, username, csrf_token, expires_at],
        )?;
        Ok(())
    }

    fn session(&self, token_hash: &str, now_ms: i64) -> Result<Option<StoredSession>, StoreError> {
        let row = self
            .conn()
            .query_row(
                "SELECT u.username, u.role, s.csrf_token, s.expires_at
                 FROM sessions s JOIN users u USING (username)
                 WHERE s.token_hash = ? AND s.expires_at > ?",
                params![token_hash, now_ms],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(username, r, csrf_token, expires_at)| {
            Ok(StoredSession {
                user: User {
                    username,
                    role: role(r)?,
                },
                csrf_token,
                expires_at,
            })
        })
        .transpose()
    }

    fn end_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM sessions WHERE token_hash = ?", [token_hash])?;
        Ok(())
    }

    fn create_share_link(&self, link: &ShareLink, token_hash: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO share_links VALUES (?, ?, ?, ?, ?, false)",
            params![
                link.id,
                token_hash,
                link.site,
                link.created_by,
                link.created_at
            ],
        )?;
        Ok(())
    }

    fn share_link(&self, token_hash: &str) -> Result<Option<ShareLink>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id, site, created_by, created_at FROM share_links
                 WHERE token_hash = ? AND NOT revoked",
                [token_hash],
                share_link_row,
            )
            .optional()?)
    }

    fn share_links(&self, site: &str) -> Result<Vec<ShareLink>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, site, created_by, created_at FROM share_links
             WHERE site = ? AND NOT revoked ORDER BY created_at DESC, id",
        )?;
        Ok(stmt
            .query_map([site], share_link_row)?
            .collect::<Result<_, _>>()?)
    }

    fn revoke_share_link(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.conn().execute(
            "UPDATE share_links SET revoked = true WHERE id = ? AND NOT revoked",
            [id],
        )? == 1)
    }

    fn create_api_key(&self, key: &ApiKey, token_hash: &str) -> Result<(), StoreError> {
        let body = serde_json::to_string(key).map_err(corrupt)?;
        self.conn().execute(
            "INSERT INTO api_keys VALUES (?, ?, ?, ?)",
            params![key.id, token_hash, key.site, body],
        )?;
        Ok(())
    }

    fn api_key(&self, token_hash: &str) -> Result<Option<ApiKey>, StoreError> {
        let body: Option<String> = self
            .conn()
            .query_row(
                "SELECT body FROM api_keys WHERE token_hash = ?",
                [token_hash],
                |r| r.get(0),
            )
            .optional()?;
        body.map(|b| serde_json::from_str(&b).map_err(corrupt))
            .transpose()
    }

    fn api_keys(&self, site: &str) -> Result<Vec<ApiKey>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT body FROM api_keys WHERE site = ?")?;
        let bodies = stmt
            .query_map([site], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut keys = bodies
            .iter()
            .map(|b| serde_json::from_str::<ApiKey>(b).map_err(corrupt))
            .collect::<Result<Vec<_>, _>>()?;
        keys.sort_by(|a, b| (b.created_at, &a.id).cmp(&(a.created_at, &b.id)));
        Ok(keys)
    }

    fn revoke_api_key(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn()
            .execute("DELETE FROM api_keys WHERE id = ?", [id])?
            == 1)
    }
}

fn share_link_row(r: &duckdb::Row<'_>) -> duckdb::Result<ShareLink> {
    Ok(ShareLink {
        id: r.get(0)?,
        site: r.get(1)?,
        created_by: r.get(2)?,
        created_at: r.get(3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ada(hash: &str) -> StoredUser {
        StoredUser {
            username: "ada".into(),
            role: Role::Admin,
            password_hash: hash.into(),
            failed_sign_ins: 0,
            locked_until: None,
        }
    }

    #[test]
    fn a_new_password_ends_the_persons_sessions_and_clears_failures() {
        let store = DuckDbStore::in_memory().unwrap();
        store.put_user(&ada("h1")).unwrap();
        store.create_session("t", "ada", "c", 100).unwrap();
        store.set_failed_sign_ins("ada", 3, Some(50)).unwrap();
        assert!(store.session("t", 99).unwrap().is_some());
        assert!(store.session("t", 100).unwrap().is_none(), "expired");

        store.put_user(&ada("h1")).unwrap();
        assert!(store.session("t", 99).unwrap().is_some(), "same password");
        assert_eq!(store.user("ada").unwrap().unwrap().failed_sign_ins, 0);

        store.put_user(&ada("h2")).unwrap();
        assert!(store.session("t", 99).unwrap().is_none());
    }

    #[test]
    fn a_revoked_share_link_opens_nothing() {
        let store = DuckDbStore::in_memory().unwrap();
        let link = ShareLink {
            id: "l1".into(),
            site: "shop".into(),
            created_by: "ada".into(),
            created_at: 1,
        };
        store.create_share_link(&link, "th").unwrap();
        assert_eq!(store.share_link("th").unwrap(), Some(link.clone()));
        assert_eq!(store.share_links("shop").unwrap(), vec![link]);
        assert!(store.revoke_share_link("l1").unwrap());
        assert!(!store.revoke_share_link("l1").unwrap());
        assert_eq!(store.share_link("th").unwrap(), None);
        assert!(store.share_links("shop").unwrap().is_empty());
    }

    #[test]
    fn a_revoked_api_key_is_no_key() {
        use sonde_protocol::api_key::ApiKeyScope;
        let store = DuckDbStore::in_memory().unwrap();
        let key = |id: &str, at: i64| ApiKey {
            id: id.into(),
            site: "shop".into(),
            name: format!("key {id}"),
            scopes: vec![ApiKeyScope::Stats],
            prefix: "sonde_ab".into(),
            created_by: "ada".into(),
            created_at: at,
        };
        store.create_api_key(&key("k1", 1), "h1").unwrap();
        store.create_api_key(&key("k2", 2), "h2").unwrap();
        assert_eq!(store.api_key("h1").unwrap(), Some(key("k1", 1)));
        assert_eq!(
            store.api_keys("shop").unwrap(),
            vec![key("k2", 2), key("k1", 1)],
            "newest first"
        );
        assert!(store.api_keys("blog").unwrap().is_empty());
        assert!(store.revoke_api_key("k1").unwrap());
        assert!(!store.revoke_api_key("k1").unwrap());
        assert_eq!(store.api_key("h1").unwrap(), None);
        assert_eq!(store.api_keys("shop").unwrap(), vec![key("k2", 2)]);
    }
}
