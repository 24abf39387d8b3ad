//! The HTTP surface: every route of the server is listed in [`router`].

mod api;
mod assets;
mod dev_token;
mod error;
mod ws;

use crate::state::AppState;
use api::extract::MAX_BODY_BYTES;
use api::guard::{require_admin, Gate};
use api::{data, events, invites, lobby, moderation, participants, rooms, server, sessions};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderValue, Method};
use axum::routing::{delete, get, post};
use axum::{middleware, Router};
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub(crate) use error::ApiError;

/// All routes.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let router = Router::new()
        .merge(admin_api(state.clone()))
        .route("/api/v1/openapi.json", get(api::openapi::openapi_json))
        .route("/ws", get(ws::upgrade))
        .route("/dev/token", post(dev_token::mint))
        .route("/dev/admin-token", post(dev_token::mint_admin))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/", get(assets::index))
        .route("/join", get(assets::index))
        .route("/admin", get(assets::admin))
        .fallback(assets::file)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), count_requests))
        .with_state(state.clone());
    match cors(&state.config.cors_origins) {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// Counts `/api/…` requests by route template (not raw path: bounded label values) and status.
async fn count_requests(
    State(state): State<Arc<AppState>>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let route = request.extensions().get::<axum::extract::MatchedPath>().map(|p| p.as_str().to_owned());
    let response = next.run(request).await;
    if let Some(route) = route.filter(|r| r.starts_with("/api/")) {
        state.metrics.count_api_request(&route, response.status().as_u16());
    }
    response
}

/// `/api/v1`: every route behind the admin gate (token, `admin` grant, rate limit), JSON bodies
/// of at most 64 KiB.
fn admin_api(state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/rooms", post(rooms::create).get(rooms::list))
        .route("/api/v1/rooms/{room}", get(rooms::get).patch(rooms::update).delete(rooms::end))
        .route("/api/v1/rooms/{room}/participants", get(participants::list))
        .route(
            "/api/v1/rooms/{room}/participants/{identity}",
            get(participants::get).patch(participants::update).delete(participants::remove),
        )
        .route("/api/v1/rooms/{room}/bans", get(participants::bans))
        .route("/api/v1/rooms/{room}/bans/{identity}", delete(participants::lift_ban))
        .route("/api/v1/rooms/{room}/participants/{identity}/mute", post(moderation::mute))
        .route("/api/v1/rooms/{room}/mute", post(moderation::mute_room))
        .route("/api/v1/rooms/{room}/participants/{identity}/hold", post(moderation::hold))
        .route("/api/v1/rooms/{room}/participants/{identity}/resume", post(moderation::resume))
        .route("/api/v1/rooms/{room}/participants/{identity}/move", post(moderation::move_to))
        .route("/api/v1/rooms/{room}/invites", post(invites::create))
        .route("/api/v1/rooms/{room}/lobby", get(lobby::list))
        .route("/api/v1/rooms/{room}/lobby/{identity}/admit", post(lobby::admit))
        .route("/api/v1/rooms/{room}/lobby/{identity}/deny", post(lobby::deny))
        .route("/api/v1/rooms/{room}/data", post(data::send))
        .route("/api/v1/tokens", post(invites::mint))
        .route("/api/v1/events", get(events::stream))
        .route("/api/v1/sessions", get(sessions::list))
        .route("/api/v1/sessions/{id}", get(sessions::get))
        .route("/api/v1/server", get(server::get))
        .route("/api/v1/server/drain", post(server::drain))
        .route_layer(middleware::from_fn_with_state(Gate::new(state), require_admin))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Cross-origin access for the configured origins only; none configured: no CORS headers at all,
/// so browsers allow same-origin use only. `*` allows any origin (tokens are bearer headers, not
/// cookies, so no credentials are involved).
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        // `Config::validate` has checked that each origin is a valid header value.
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([header::RETRY_AFTER, header::WWW_AUTHENTICATE])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on this path"),
    )
}

async fn ready(State(state): State<Arc<AppState>>) -> Result<&'static str, ApiError> {
    if state.shutdown.is_cancelled() || state.conference.is_draining() {
        return Err(ApiError::unavailable("shutting down"));
    }
    Ok("ready")
}

async fn metrics(State(state): State<Arc<AppState>>) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    let snapshot = state.conference.snapshot().await;
    (
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(&snapshot, state.events.dropped()),
    )
}
