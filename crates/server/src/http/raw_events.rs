//! `GET /api/raw-events`: a period's events as a CSV or Parquet download,
//! streamed as the store reads them ([`crate::raw_events`]). For people
//! signed in and site API keys with the `stats` scope; not for share links,
//! which show the reports (and their smallest groups hidden), not rows.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sonde_protocol::ApiError;
use sonde_protocol::raw_events::RawEventsQuery;
use tokio::sync::mpsc;

use super::report_query::Report;
use crate::auth::Reader;
use crate::error::AppError;

/// Chunks on their way to the client; the store waits while they wait.
const CHUNKS_IN_FLIGHT: usize = 4;
const CHUNK: usize = 64 * 1024;

/// A blocking writer into the response body.
struct BodyWriter(mpsc::Sender<Result<Bytes, std::io::Error>>);

impl Write for BodyWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client left"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `GET /api/raw-events?site=…&from=…&to=…&format=csv|parquet`
#[utoipa::path(get, path = "/api/raw-events", tag = "dashboard",
    params(RawEventsQuery),
    responses((status = 200, description = "The period's events in time order, one row each, as a download (columns in the README)", body = String),
        (status = 401, description = "Not signed in, no API key, or a revoked one", body = ApiError),
        (status = 403, description = "A share link, or a key of another site or without the stats scope", body = ApiError),
        (status = 422, description = "A bad period or format", body = ApiError)))]
pub async fn export(report: Report<RawEventsQuery>) -> Result<Response, AppError> {
    if matches!(report.reader, Reader::Share { .. }) {
        return Err(AppError::RawEventsNotShared);
    }
    let RawEventsQuery {
        site,
        from,
        to,
        format,
    } = report.query.clone();
    let store = report.app().stores().transfer.clone();
    let day = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.format("%Y%m%d").to_string())
            .unwrap_or_default()
    };
    let file = format!(
        "attachment; filename=\"events-{site}-{}-{}.{}\"",
        day(from),
        day(to - 1),
        format.extension()
    );
    let (sender, mut receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufWriter::with_capacity(CHUNK, BodyWriter(sender.clone()));
        let written = crate::raw_events::write(store.as_ref(), &site, (from, to), format, &mut out)
            .and_then(|n| out.flush().map(|()| n).map_err(Into::into));
        match written {
            Ok(events) => tracing::info!(%site, events, "raw events exported"),
            Err(e) => {
                // Ends the body without its last chunk: the client sees a
                // broken download, never a short file that looks whole.
                tracing::warn!(%site, error = %e, "the raw events export stopped");
                let _ = sender.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        }
    });
    let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| {
        receiver.poll_recv(cx)
    }));
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, file),
        ],
        body,
    )
        .into_response())
}
