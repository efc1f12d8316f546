//! Site API keys: for scripts, BI tools and deploy pipelines, one site
//! each, created and revoked by admins. A key is sent as
//! `Authorization: Bearer <token>`; Sonde keeps only its hash, so the
//! token is shown once, when the key is made.

use serde::{Deserialize, Serialize};

use crate::Rejection;

/// What a key may do on its site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyScope {
    /// Read the site's reports and export its raw events, as a share link
    /// would show them: read-only.
    Stats,
    /// Add annotations (a deploy pipeline marking a release).
    Annotations,
}

impl ApiKeyScope {
    pub const ALL: [ApiKeyScope; 2] = [ApiKeyScope::Stats, ApiKeyScope::Annotations];

    pub fn label(self) -> &'static str {
        match self {
            ApiKeyScope::Stats => "read the stats",
            ApiKeyScope::Annotations => "add annotations",
        }
    }
}

/// The longest key name.
pub const MAX_NAME: usize = 64;

/// `POST /api/sites/{site}/api-keys`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewApiKey {
    /// What the key is for ("Metabase", "deploy pipeline").
    pub name: String,
    pub scopes: Vec<ApiKeyScope>,
}

impl NewApiKey {
    pub fn validate(&self) -> Result<(), Rejection> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(Rejection::Empty {
                field: "name".into(),
            });
        }
        let len = name.chars().count();
        if len > MAX_NAME {
            return Err(Rejection::TooLong {
                field: "name".into(),
                len,
                max: MAX_NAME,
            });
        }
        if name.chars().any(char::is_control) {
            return Err(Rejection::ControlCharacter {
                field: "name".into(),
            });
        }
        if self.scopes.is_empty() {
            return Err(Rejection::Empty {
                field: "scopes".into(),
            });
        }
        Ok(())
    }
}

/// A key as listed: its token was shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: String,
    pub site: String,
    pub name: String,
    pub scopes: Vec<ApiKeyScope>,
    /// The token's first characters, to tell keys apart.
    pub prefix: String,
    pub created_by: String,
    /// ms since the epoch.
    pub created_at: i64,
}

impl ApiKey {
    pub fn may(&self, scope: ApiKeyScope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// A key just made: the only time its token is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiKey {
    pub key: ApiKey,
    /// `Authorization: Bearer <token>`.
    pub token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_needs_a_name_and_something_it_may_do() {
        let key = |name: &str, scopes: Vec<ApiKeyScope>| NewApiKey {
            name: name.into(),
            scopes,
        };
        assert_eq!(key("Metabase", vec![ApiKeyScope::Stats]).validate(), Ok(()));
        assert_eq!(
            key(" ", vec![ApiKeyScope::Stats]).validate(),
            Err(Rejection::Empty {
                field: "name".into()
            })
        );
        assert_eq!(
            key("deploys", vec![]).validate(),
            Err(Rejection::Empty {
                field: "scopes".into()
            })
        );
    }
}
