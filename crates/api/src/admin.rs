//! `/metrics` (Prometheus text exposition) and `/healthz` of the admin
//! listener. The metrics registry belongs to the binary; it hands in how to
//! render it.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

/// Renders the Prometheus text exposition of the process's metrics.
pub type RenderMetrics = Arc<dyn Fn() -> String + Send + Sync>;

/// `GET /metrics` and `GET /healthz`.
pub fn router(render: RenderMetrics) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(render)
}

async fn metrics(State(render): State<RenderMetrics>) -> impl IntoResponse {
    // Rendering walks every series: keep it off the async worker.
    let text = tokio::task::spawn_blocking(move || render())
        .await
        .unwrap_or_default();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        text,
    )
}
