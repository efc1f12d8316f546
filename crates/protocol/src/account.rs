//! Who may read the dashboard: people signed in with a password (admins and
//! viewers), and read-only share links, one site each.

use serde::{Deserialize, Serialize};

/// What a signed-in person may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything a viewer may, and manage people, share links and saved
    /// funnels.
    Admin,
    /// Read every site's dashboards and run funnels.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// `POST /api/session`: sign in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignIn {
    pub username: String,
    pub password: String,
}

/// Who the dashboard is talking to: a signed-in person, or a share link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Principal {
    User {
        username: String,
        role: Role,
        /// Sent back as `X-CSRF-Token` on every request that changes something.
        csrf_token: String,
    },
    /// A read-only share link, for one site.
    Share { site: String },
}

/// A person who may sign in (never their password or its hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub username: String,
    pub role: Role,
    /// The sites a viewer may read, by key; left out (`null`), every site.
    /// Admins read every site. Share links stay one site each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sites: Option<Vec<String>>,
}

impl User {
    /// Whether this person may read `site`'s dashboard.
    pub fn may_read(&self, site: &str) -> bool {
        self.role == Role::Admin
            || self
                .sites
                .as_ref()
                .is_none_or(|sites| sites.iter().any(|s| s == site))
    }
}

/// `POST /api/users`: adds a person, or sets their password and role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub role: Role,
    /// Limits a viewer to these sites (at least one); left out, every site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sites: Option<Vec<String>>,
}

/// A share link as listed: its token was shown once, when it was created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareLink {
    pub id: String,
    pub site: String,
    pub created_by: String,
    /// ms since the epoch.
    pub created_at: i64,
}

/// A share link just created: the only time its token is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewShareLink {
    pub link: ShareLink,
    /// Opens the site's dashboard read-only: `/?share=<token>`.
    pub path: String,
    pub token: String,
}

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;
/// Longest username: letters, digits, `.`, `_`, `-`, `@`.
pub const MAX_USERNAME_LEN: usize = 64;

/// Why a username or password is refused.
pub fn check_username(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_USERNAME_LEN {
        return Err(format!("a username has 1 to {MAX_USERNAME_LEN} characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
    {
        return Err(format!(
            "a username has letters, digits, '.', '_', '-' and '@' only, not {c:?}"
        ));
    }
    Ok(())
}

pub fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(format!(
            "a password has at least {MIN_PASSWORD_LEN} characters"
        ));
    }
    if password.len() > 1024 {
        return Err("a password has at most 1024 bytes".into());
    }
    Ok(())
}

/// Why a person cannot be limited to these sites, if they cannot: only a
/// viewer is limited, and to at least one site.
pub fn check_sites(role: Role, sites: Option<&[String]>) -> Result<(), String> {
    match (role, sites) {
        (_, None) => Ok(()),
        (Role::Admin, Some(_)) => Err("an admin reads every site; limit a viewer instead".into()),
        (Role::Viewer, Some([])) => {
            Err("name at least one site, or leave `sites` out for every site".into())
        }
        (Role::Viewer, Some(_)) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewer_limited_to_sites_reads_only_those() {
        let viewer = |sites: Option<Vec<String>>| User {
            username: "vera".into(),
            role: Role::Viewer,
            sites,
        };
        assert!(viewer(None).may_read("blog"), "unlimited");
        let shop_only = viewer(Some(vec!["shop".into()]));
        assert!(shop_only.may_read("shop"));
        assert!(!shop_only.may_read("blog"));
        assert_eq!(
            check_sites(Role::Viewer, Some(&[])).unwrap_err(),
            "name at least one site, or leave `sites` out for every site"
        );
        assert!(check_sites(Role::Admin, Some(&["shop".into()])).is_err());
        assert!(check_sites(Role::Viewer, Some(&["shop".into()])).is_ok());
    }

    #[test]
    fn usernames_and_passwords_say_what_is_wrong() {
        assert!(check_username("ada.lovelace@example").is_ok());
        assert!(check_username("").is_err());
        assert!(check_username("a b").unwrap_err().contains("' '"));
        assert!(check_password("short").unwrap_err().contains("10"));
        assert!(check_password("long enough, surely").is_ok());
    }

    #[test]
    fn a_principal_says_what_kind_it_is() {
        let share = serde_json::to_value(Principal::Share {
            site: "shop".into(),
        })
        .unwrap();
        assert_eq!(share, serde_json::json!({"kind": "share", "site": "shop"}));
    }
}
