//! Annotations: marks on a site's timeline (a deploy, a campaign launch)
//! drawn on every chart over time, so a change in a figure can be read
//! against what happened then.

use serde::{Deserialize, Serialize};

use crate::Rejection;

/// The longest annotation text, in characters: a line under a chart.
pub const MAX_TEXT: usize = 200;

/// The earliest and latest instants an annotation may mark (2000 to
/// 2100, in ms): anything outside is a unit mistake (seconds, not ms).
const EARLIEST: i64 = 946_684_800_000;
const LATEST: i64 = 4_102_444_800_000;

/// `POST /api/sites/{site}/annotations`: what happened, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAnnotation {
    /// When it happened, in ms since the epoch.
    pub at: i64,
    /// What happened ("Deploy 2.4.0", "Spring campaign starts").
    pub text: String,
}

impl NewAnnotation {
    pub fn validate(&self) -> Result<(), Rejection> {
        let text = self.text.trim();
        if text.is_empty() {
            return Err(Rejection::Empty {
                field: "text".into(),
            });
        }
        let len = text.chars().count();
        if len > MAX_TEXT {
            return Err(Rejection::TooLong {
                field: "text".into(),
                len,
                max: MAX_TEXT,
            });
        }
        if text.chars().any(char::is_control) {
            return Err(Rejection::ControlCharacter {
                field: "text".into(),
            });
        }
        if !(EARLIEST..=LATEST).contains(&self.at) {
            return Err(Rejection::OutOfRangeNumber {
                field: "at".into(),
                min: format!("{EARLIEST} (1 Jan 2000, in ms)"),
                max: format!("{LATEST} (1 Jan 2100)"),
            });
        }
        Ok(())
    }
}

/// An annotation as kept and listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Annotation {
    pub id: String,
    pub site: String,
    /// ms since the epoch.
    pub at: i64,
    pub text: String,
    /// Who added it: a username, or `api key NAME`.
    pub added_by: String,
    /// ms since the epoch.
    pub added_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(at: i64, text: &str) -> NewAnnotation {
        NewAnnotation {
            at,
            text: text.into(),
        }
    }

    #[test]
    fn an_annotation_needs_a_short_line_of_text_and_an_instant_in_ms() {
        assert_eq!(new(1_796_000_000_000, "Deploy 2.4.0").validate(), Ok(()));
        assert_eq!(
            new(1_796_000_000_000, "  ").validate(),
            Err(Rejection::Empty {
                field: "text".into()
            })
        );
        assert!(matches!(
            new(1_796_000_000_000, &"x".repeat(201)).validate(),
            Err(Rejection::TooLong { len: 201, .. })
        ));
        assert_eq!(
            new(1_796_000_000_000, "a\nb").validate(),
            Err(Rejection::ControlCharacter {
                field: "text".into()
            })
        );
        // Seconds instead of ms.
        assert!(matches!(
            new(1_796_000_000, "Deploy").validate(),
            Err(Rejection::OutOfRangeNumber { .. })
        ));
    }
}
