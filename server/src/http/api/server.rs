//! The server itself: its status (`GET /api/v1/server`) and its drain
//! (`POST /api/v1/server/drain`), the admin-call twin of SIGTERM.

use super::extract::{Json, Query};
use super::guard::Caller;
use super::schema::{AuthErrors, BadParams};
use crate::state::AppState;
use crate::drain::DrainStatus;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};

/// What the server is doing.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServerStatus {
    /// The `switchboard` version.
    version: &'static str,
    /// A drain is in progress: no new joins, `/readyz` answers 503.
    draining: bool,
    /// The drain in progress, absent when none.
    drain: Option<DrainStatus>,
    /// Open rooms.
    rooms: usize,
    /// Participants in all rooms (lobby excluded).
    participants: usize,
}

async fn status(state: &AppState) -> ServerStatus {
    let snapshot = state.conference.snapshot().await;
    let drain = state.drain.status();
    ServerStatus {
        version: env!("CARGO_PKG_VERSION"),
        draining: drain.is_some(),
        drain,
        rooms: snapshot.rooms,
        participants: snapshot.participants,
    }
}

/// Options of `POST /api/v1/server/drain`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct DrainOptions {
    /// Seconds until everyone still connected is disconnected; at most, and by default, the
    /// server's `drain_timeout_s` (which is what the pod's termination grace period allows).
    timeout_s: Option<u64>,
}

/// The server's version, drain state and load.
#[utoipa::path(
    operation_id = "get_server",
    get, path = "/api/v1/server", tag = "server",
    responses((status = 200, description = "Server status", body = ServerStatus), AuthErrors)
)]
pub(crate) async fn get(State(state): State<Arc<AppState>>, _caller: Caller) -> Json<ServerStatus> {
    Json(status(&state).await)
}

/// Drain the server, as SIGTERM does: `/readyz` turns 503 at once, new joins are refused
/// (`server_draining`), participants are told `going_away`; calls continue until every room is
/// empty or the deadline passes, then everyone left is disconnected with `server_shutdown` and
/// the process exits 0. Idempotent: a second call returns the drain in progress unchanged.
#[utoipa::path(
    operation_id = "drain_server",
    post, path = "/api/v1/server/drain", tag = "server",
    params(DrainOptions),
    responses((status = 202, description = "The drain in progress", body = ServerStatus), BadParams, AuthErrors)
)]
pub(crate) async fn drain(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(options): Query<DrainOptions>,
) -> (StatusCode, Json<ServerStatus>) {
    state.start_drain(options.timeout_s.map(Duration::from_secs), format!("admin:{}", caller.0));
    (StatusCode::ACCEPTED, Json(status(&state).await))
}
