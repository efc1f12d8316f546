//! Limits on what the collector may send, enforced by the collector before
//! sending and by the server at ingest. Changing one changes both sides.

/// Largest ingest request body, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Most events in one batch.
pub const MAX_EVENTS_PER_BATCH: usize = 50;
/// Longest site key.
pub const MAX_SITE_KEY_LEN: usize = 64;
/// Longest client-generated event or session id.
pub const MAX_ID_LEN: usize = 64;
/// Longest URL (path plus kept query) or referrer.
pub const MAX_URL_LEN: usize = 2048;
/// Longest page title.
pub const MAX_TITLE_LEN: usize = 512;
/// How far an event's timestamp may lie in the past (7 days, in ms): older
/// events from a long-offline browser are refused rather than back-filled.
pub const MAX_EVENT_AGE_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// How far an event's timestamp may lie in the future (10 minutes, in ms), to
/// tolerate clock skew on the visitor's device.
pub const MAX_EVENT_SKEW_MS: i64 = 10 * 60 * 1000;
/// Longest custom event name, property name or form name.
pub const MAX_NAME_LEN: usize = 64;
/// Most properties on one custom event.
pub const MAX_PROPS: usize = 20;
/// Longest text property value or campaign parameter.
pub const MAX_PROP_VALUE_LEN: usize = 256;
/// Longest error message.
pub const MAX_MESSAGE_LEN: usize = 1024;
/// Longest error stack trace.
pub const MAX_STACK_LEN: usize = 4096;
/// Longest banner title a site may set (characters).
pub const MAX_BANNER_TITLE_LEN: usize = 120;
/// Longest banner text a site may set (characters).
pub const MAX_BANNER_TEXT_LEN: usize = 1000;
