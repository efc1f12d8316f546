//! What every dashboard report checks before it reaches the store, in one
//! extractor, [`Report`]: who asks (see [`crate::auth::Reader`]), its
//! parameters parse (refused in Sonde's error format, not axum's), its period
//! is a period no longer than the report covers, its series has few enough
//! buckets, and its site exists and may be read. A handler then only says
//! what to ask the store ([`Report::answer`]).
//!
//! The checks run in the order of the answers a client can act on: who
//! asks (401), what was asked (422), then about what (403, 404).

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use sonde_protocol::Granularity;
use sonde_protocol::consent_report::{ConsentLogQuery, ConsentReportQuery};
use sonde_protocol::errors::ErrorsQuery;
use sonde_protocol::events_report::EventsQuery;
use sonde_protocol::funnel::FunnelQuery;
use sonde_protocol::goal::ConversionsQuery;
use sonde_protocol::overview::OverviewQuery;
use sonde_protocol::performance::PerformanceQuery;
use sonde_protocol::raw_events::RawEventsQuery;
use sonde_protocol::usage::{RealtimeQuery, UsageQuery};

use crate::auth::Reader;
use crate::error::AppError;
use crate::site::Site;
use crate::state::AppState;
use crate::store::{ImportedStore, ReportStore, SavedStore};

/// Most buckets one series may have (a year of days, or ~41 days of hours).
pub const MAX_BUCKETS: i64 = 1000;

/// Longest period a report covers: about thirteen months.
pub const MAX_DAYS: i64 = 400;

/// Query-string parameters, refused as [`AppError::BadQuery`].
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(params)| Params(params))
            .map_err(|e| AppError::BadQuery {
                field: None,
                message: e.body_text(),
            })
    }
}

/// A report's parameters as the shared checks read them.
pub trait ReportParams: Send + 'static {
    /// The site the report is about.
    fn site(&self) -> &str;
    /// `[from, to)`, for a report over a chosen period.
    fn period(&self) -> Option<(i64, i64)>;
    /// The series' granularity, for a report with a series.
    fn granularity(&self) -> Option<Granularity> {
        None
    }
    /// Whether the period may be longer than [`MAX_DAYS`].
    const ANY_LENGTH: bool = false;
    /// A report's own checks of its parameters, after the shared ones.
    fn check(&self) -> Result<(), AppError> {
        Ok(())
    }
}

/// A checked report request: its parameters, its site, who asks.
#[derive(Debug)]
pub struct Report<Q> {
    pub query: Q,
    pub site: Arc<Site>,
    pub reader: Reader,
    app: AppState,
}

/// What a report's blocking task asks: the stores it reads, and the
/// smallest group a breakdown may list.
#[derive(Clone, Debug)]
pub struct ReportStores {
    pub reports: Arc<dyn ReportStore>,
    pub saved: Arc<dyn SavedStore>,
    pub imported: Arc<dyn ImportedStore>,
    pub min_group_size: u64,
}

impl<Q: ReportParams> Report<Q> {
    /// Checks parameters that came some other way than the query string
    /// (a funnel's JSON body).
    pub fn check(app: &AppState, reader: Reader, query: Q) -> Result<Self, AppError> {
        if let Some((from, to)) = query.period() {
            check_period(from, to)?;
            if !Q::ANY_LENGTH {
                check_length(from, to, MAX_DAYS)?;
            }
            if let Some(granularity) = query.granularity() {
                check_buckets(from, to, granularity)?;
            }
        }
        query.check()?;
        let site = site(app, &reader, query.site())?;
        Ok(Report {
            query,
            site,
            reader,
            app: app.clone(),
        })
    }

    /// The server's state, for what a report loads before it asks the
    /// store (a saved goal).
    pub fn app(&self) -> &AppState {
        &self.app
    }

    /// Asks the stores, in a blocking task: store calls block and must
    /// stay off the async executor.
    pub async fn run<R: Send + 'static>(
        self,
        ask: impl FnOnce(Q, Arc<Site>, ReportStores) -> Result<R, AppError> + Send + 'static,
    ) -> Result<R, AppError> {
        let stores = ReportStores {
            reports: self.app.stores().reports.clone(),
            saved: self.app.stores().saved.clone(),
            imported: self.app.stores().imported.clone(),
            min_group_size: self.app.min_group_size(),
        };
        let (query, site) = (self.query, self.site);
        tokio::task::spawn_blocking(move || ask(query, site, stores)).await?
    }

    /// [`Report::run`], answered as JSON.
    pub async fn answer<R: Send + 'static>(
        self,
        ask: impl FnOnce(Q, Arc<Site>, ReportStores) -> Result<R, AppError> + Send + 'static,
    ) -> Result<Json<R>, AppError> {
        self.run(ask).await.map(Json)
    }
}

impl<Q: ReportParams + DeserializeOwned> FromRequestParts<AppState> for Report<Q> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, AppError> {
        let reader = Reader::from_request_parts(parts, app).await?;
        let Params(query) = Params::<Q>::from_request_parts(parts, app).await?;
        Report::check(app, reader, query)
    }
}

/// `[from, to)` must hold at least one millisecond.
fn check_period(from: i64, to: i64) -> Result<(), AppError> {
    if to <= from {
        return Err(AppError::BadQuery {
            field: Some("to".into()),
            message: format!("`to` ({to}) must be after `from` ({from})"),
        });
    }
    Ok(())
}

/// A period of at most `max_days` days.
fn check_length(from: i64, to: i64, max_days: i64) -> Result<(), AppError> {
    if to - from > max_days * 86_400_000 {
        return Err(AppError::BadQuery {
            field: Some("to".into()),
            message: format!("the period is longer than {max_days} days"),
        });
    }
    Ok(())
}

/// A series of at most [`MAX_BUCKETS`] buckets.
fn check_buckets(from: i64, to: i64, granularity: Granularity) -> Result<(), AppError> {
    let buckets = (to - from) / granularity.approx_millis();
    if buckets > MAX_BUCKETS {
        return Err(AppError::BadQuery {
            field: Some("granularity".into()),
            message: format!(
                "the range holds {buckets} buckets at this granularity, the limit is {MAX_BUCKETS}; choose a coarser granularity or a shorter range"
            ),
        });
    }
    Ok(())
}

/// The site a query is about, if the reader may read it.
pub fn site(app: &AppState, reader: &Reader, key: &str) -> Result<Arc<Site>, AppError> {
    reader.check_site(key)?;
    known_site(app, key)
}

/// A site the server has.
pub fn known_site(app: &AppState, key: &str) -> Result<Arc<Site>, AppError> {
    app.sites()
        .get(key)
        .ok_or_else(|| AppError::UnknownSite(key.to_owned()))
}

/// Implements [`ReportParams`] for a query with `site`, `from` and `to`;
/// `series` when it has a `granularity`, `any_length` when its period may
/// be longer than [`MAX_DAYS`].
macro_rules! period_params {
    ($query:ty, series: $series:tt, any_length: $any:expr) => {
        impl ReportParams for $query {
            fn site(&self) -> &str {
                &self.site
            }
            fn period(&self) -> Option<(i64, i64)> {
                Some((self.from, self.to))
            }
            fn granularity(&self) -> Option<Granularity> {
                period_params!(@granularity self $series)
            }
            const ANY_LENGTH: bool = $any;
        }
    };
    (@granularity $self:ident true) => {
        Some($self.granularity)
    };
    (@granularity $self:ident false) => {
        None
    };
}

// The usage series is bounded by its bucket count only: a long period at a
// coarse granularity is fine.
period_params!(UsageQuery, series: true, any_length: true);
period_params!(ErrorsQuery, series: true, any_length: false);
period_params!(EventsQuery, series: true, any_length: false);
period_params!(PerformanceQuery, series: true, any_length: false);
period_params!(ConversionsQuery, series: true, any_length: false);
period_params!(OverviewQuery, series: false, any_length: false);
period_params!(ConsentReportQuery, series: false, any_length: true);
period_params!(FunnelQuery, series: false, any_length: true);

impl ReportParams for ConsentLogQuery {
    fn site(&self) -> &str {
        &self.site
    }
    fn period(&self) -> Option<(i64, i64)> {
        Some((self.from, self.to))
    }
    const ANY_LENGTH: bool = true;
    fn check(&self) -> Result<(), AppError> {
        super::consent_log::Format::parse(&self.format).map(|_| ())
    }
}

impl ReportParams for RawEventsQuery {
    fn site(&self) -> &str {
        &self.site
    }
    fn period(&self) -> Option<(i64, i64)> {
        Some((self.from, self.to))
    }
    const ANY_LENGTH: bool = true;
}

/// The last minutes, not a chosen period.
impl ReportParams for RealtimeQuery {
    fn site(&self) -> &str {
        &self.site
    }
    fn period(&self) -> Option<(i64, i64)> {
        None
    }
}
