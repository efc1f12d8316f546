//! What the operator's tooling asks: liveness, readiness and metrics.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::metrics::{CONTENT_TYPE, Gauges};
use crate::state::AppState;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: ready to take events: the store answers and the writer runs.
pub async fn readyz(State(app): State<AppState>) -> impl IntoResponse {
    let store = app.stores().inspection.clone();
    let store_ok = tokio::task::spawn_blocking(move || store.ping())
        .await
        .is_ok_and(|r| r.is_ok());
    if store_ok && app.writer().is_running() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

/// `GET /metrics`: Prometheus (OpenMetrics) text format.
pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    // Off the runtime: on a cluster, the size is asked of every server.
    let store = app.stores().inspection.clone();
    let store_bytes = tokio::task::spawn_blocking(move || store.size_on_disk())
        .await
        .unwrap_or_default();
    let gauges = Gauges {
        queue_depth: app.writer().depth(),
        store_bytes,
    };
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        app.metrics().render(gauges),
    )
}
