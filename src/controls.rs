//! The controls every report page shows, and the state they keep in the
//! URL (`?range=7d&source=news.example`), so that a view can be bookmarked,
//! shared, and carried along when a person moves to another page:
//!
//! - `range`: the time range and its picker;
//! - `filters`: the filters and their chips;
//! - `query`: the URL's query, as the links of the controls change it;
//! - `outcome`: what a form says after it is sent;
//! - `view`: what a page reads of them (`use_view`), and the period it asks
//!   the server about.

pub mod filters;
pub mod outcome;
pub mod query;
pub mod range;
pub mod versus;
pub mod view;

pub use filters::FilterChips;
pub use outcome::{FormOutcome, Outcome, send_change};
pub use range::{Range, RangeControl, RangePicker};
pub use versus::VersusControl;
pub use view::{View, period, use_view};
