//! "Erase my data": what the browser asks the server to delete, and what the
//! server answers.
//!
//! Only what can still be linked to the visitor is named here: the session
//! ids this browser holds and its consent id. The server adds today's events
//! under the visitor id it computes from the request itself, as at ingest.
//! Older events are linked to nobody (yesterday's salt is destroyed and
//! events carry no lasting identifier), so there is nothing more to erase.

use serde::{Deserialize, Serialize};

use crate::Rejection;
use crate::event::{check_id, check_site};

/// Most session ids one erase request may name.
pub const MAX_ERASE_SESSIONS: usize = 16;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EraseRequest {
    pub site: String,
    /// The session ids this browser still holds.
    #[serde(default)]
    pub sessions: Vec<String>,
    /// The device's consent id, whose consent records go too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_id: Option<String>,
}

impl EraseRequest {
    pub fn validate(&self) -> Result<(), Rejection> {
        check_site(&self.site)?;
        if self.sessions.len() > MAX_ERASE_SESSIONS {
            return Err(Rejection::TooManyEvents {
                count: self.sessions.len(),
                max: MAX_ERASE_SESSIONS,
            });
        }
        for (i, session) in self.sessions.iter().enumerate() {
            check_id(&format!("sessions[{i}]"), session)?;
        }
        if let Some(id) = &self.consent_id {
            check_id("consent_id", id)?;
        }
        Ok(())
    }
}

/// What was deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EraseReceipt {
    pub events_deleted: u64,
    pub consent_records_deleted: u64,
}
