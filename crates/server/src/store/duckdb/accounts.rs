//! [`AccountStore`] on the DuckDB file.

use duckdb::{OptionalExt, params};
use sonde_protocol::account::{Role, ShareLink, User};
use sonde_protocol::api_key::ApiKey;

use super::DuckDbStore;
use super::saved::corrupt;
use crate::store::StoreError;
use crate::store::accounts::{AccountStore, StoredSession, StoredUser, sites, sites_json};

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
        tx.execute(
            "DELETE FROM user_sites WHERE username = ?",
            [&user.username],
        )?;
        if let Some(sites) = &user.sites {
            tx.execute(
                "INSERT INTO user_sites VALUES (?, ?)",
                params![user.username, sites_json(sites)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn user(&self, username: &str) -> Result<Option<StoredUser>, StoreError> {
        let row = self
            .conn()
            .query_row(
                "SELECT username, role, password_hash, failed_sign_ins, locked_until, s.sites
                 FROM users LEFT JOIN user_sites s USING (username) WHERE username = ?",
                [username],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i32>(3)?,
                        r.get::<_, Option<i64>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(username, r, password_hash, failed, locked_until, s)| {
            Ok(StoredUser {
                username,
                role: role(r)?,
                sites: sites(s)?,
                password_hash,
                failed_sign_ins: failed.max(0) as u32,
                locked_until,
            })
        })
        .transpose()
    }

    fn users(&self) -> Result<Vec<User>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT username, role, s.sites
             FROM users LEFT JOIN user_sites s USING (username) ORDER BY username",
        )?;
        let rows: Vec<(String, String, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(username, r, s)| {
                Ok(User {
                    username,
                    role: role(r)?,
                    sites: sites(s)?,
                })
            })
            .collect()
    }

    fn remove_user(&self, username: &str) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM sessions WHERE username = ?", [username])?;
        tx.execute("DELETE FROM user_sites WHERE username = ?", [username])?;
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
                "SELECT u.username, u.role, s.csrf_token, s.expires_at, v.sites
                 FROM sessions s JOIN users u USING (username)
                 LEFT JOIN user_sites v USING (username)
                 WHERE s.token_hash = ? AND s.expires_at > ?",
                params![token_hash, now_ms],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(username, r, csrf_token, expires_at, s)| {
            Ok(StoredSession {
                user: User {
                    username,
                    role: role(r)?,
                    sites: sites(s)?,
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
            sites: None,
            password_hash: hash.into(),
            failed_sign_ins: 0,
            locked_until: None,
        }
    }

    #[test]
    fn a_viewers_sites_are_kept_with_them_and_go_when_they_do() {
        let store = DuckDbStore::in_memory().unwrap();
        let vera = |sites: Option<Vec<String>>| StoredUser {
            username: "vera".into(),
            role: Role::Viewer,
            sites,
            ..ada("h")
        };
        let shop_and_blog = Some(vec!["shop".to_owned(), "blog".to_owned()]);
        store.put_user(&vera(shop_and_blog.clone())).unwrap();
        store.put_user(&ada("h")).unwrap();
        store.create_session("t", "vera", "c", 100).unwrap();
        assert_eq!(store.user("vera").unwrap().unwrap().sites, shop_and_blog);
        assert_eq!(
            store.session("t", 1).unwrap().unwrap().user.sites,
            shop_and_blog
        );
        let listed = store.users().unwrap();
        assert_eq!(
            listed.iter().map(|u| u.sites.clone()).collect::<Vec<_>>(),
            [None, shop_and_blog],
            "ada reads every site"
        );

        store.put_user(&vera(None)).unwrap();
        assert_eq!(
            store.user("vera").unwrap().unwrap().sites,
            None,
            "every site again"
        );
        store.put_user(&vera(Some(vec!["shop".into()]))).unwrap();
        assert!(store.remove_user("vera").unwrap());
        store.put_user(&vera(None)).unwrap();
        assert_eq!(
            store.user("vera").unwrap().unwrap().sites,
            None,
            "a person made again starts unlimited"
        );
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
