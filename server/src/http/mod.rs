//! The HTTP surface: every route of the server is listed in [`router`].

mod assets;
mod dev_token;
mod error;
mod ws;

use crate::app::AppState;
use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

pub(crate) use error::ApiError;

/// All routes.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/ws", get(ws::upgrade))
        .route("/dev/token", post(dev_token::mint))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/", get(assets::index))
        .route("/join", get(assets::index))
        .fallback(assets::file)
        .with_state(state)
}

async fn ready(State(state): State<Arc<AppState>>) -> Result<&'static str, ApiError> {
    if state.shutdown.is_cancelled() {
        return Err(ApiError::unavailable("shutting down"));
    }
    Ok("ready")
}

async fn metrics(State(state): State<Arc<AppState>>) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    let snapshot = state.conference.snapshot().await;
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(&snapshot),
    )
}
