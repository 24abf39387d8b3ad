//! The waiting room: list who waits, admit, deny.

use super::extract::{Json, Path};
use super::guard::Caller;
use super::schema::{AuthErrors, BadParams, NotFound, ParticipantList, ParticipantSchema};
use super::run;
use crate::state::AppState;
use crate::http::ApiError;
use axum::extract::State;
use axum::http::StatusCode;
use std::sync::Arc;
use switchboard_signaling::{ops, Identity, ParticipantView, RoomName};

/// Participants waiting in the lobby.
#[utoipa::path(
    operation_id = "list_lobby",
    get, path = "/api/v1/rooms/{room}/lobby", tag = "lobby",
    params(("room" = String, Path, description = "Room name")),
    responses((status = 200, description = "Who waits", body = ParticipantList), BadParams, NotFound, AuthErrors)
)]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(room): Path<RoomName>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let participants = run(&state, &room, ops::ListLobby, &caller).await?;
    Ok(Json(serde_json::json!({ "participants": participants })))
}

/// Admit a waiting participant into the room.
#[utoipa::path(
    operation_id = "admit_from_lobby",
    post, path = "/api/v1/rooms/{room}/lobby/{identity}/admit", tag = "lobby",
    params(("room" = String, Path, description = "Room name"), ("identity" = String, Path, description = "Waiting identity")),
    responses((status = 200, description = "The admitted participant", body = ParticipantSchema), BadParams, NotFound, AuthErrors)
)]
pub(crate) async fn admit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((room, identity)): Path<(RoomName, Identity)>,
) -> Result<Json<ParticipantView>, ApiError> {
    run(&state, &room, ops::Admit(identity), &caller).await.map(Json)
}

/// Turn a waiting participant away (it is disconnected with `denied`).
#[utoipa::path(
    operation_id = "deny_from_lobby",
    post, path = "/api/v1/rooms/{room}/lobby/{identity}/deny", tag = "lobby",
    params(("room" = String, Path, description = "Room name"), ("identity" = String, Path, description = "Waiting identity")),
    responses((status = 204, description = "Denied"), BadParams, NotFound, AuthErrors)
)]
pub(crate) async fn deny(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((room, identity)): Path<(RoomName, Identity)>,
) -> Result<StatusCode, ApiError> {
    run(&state, &room, ops::Deny(identity), &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
