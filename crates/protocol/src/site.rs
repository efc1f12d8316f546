//! What the dashboard learns about the sites it can show.

use serde::{Deserialize, Serialize};

/// A site the dashboard can show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteSummary {
    /// The site's public key.
    pub key: String,
}
