//! Rooms: create, list, get, update settings, end (`/api/v1/rooms[/{room}]`).

use super::extract::{Json, Path};
use super::guard::Caller;
use super::schema::{AuthErrors, BadParams, BodyErrors, ErrorBody, NotFound, RoomList, RoomSchema};
use super::{expect_done, expect_room, run};
use crate::app::AppState;
use crate::http::ApiError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use std::sync::Arc;
use switchboard_signaling::{AdminOp, RoomPatch, RoomView};
use utoipa::ToSchema;

/// Body of `POST /api/v1/rooms`; absent settings take the server's defaults.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateRoom {
    /// Unique room name: 1–64 letters, digits, `-`, `_` or `.`.
    #[schema(example = "standup")]
    name: String,
    /// Most participants; 0 means no limit.
    max_participants: Option<u32>,
    /// Joiners wait in the lobby until admitted.
    lobby: Option<bool>,
    /// A moderator's unmute applies at once instead of asking the participant.
    allow_remote_unmute: Option<bool>,
    /// Seconds an empty room stays open.
    empty_timeout_s: Option<u64>,
    /// Free-form application data.
    metadata: Option<serde_json::Value>,
}

/// Body of `PATCH /api/v1/rooms/{room}`; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateRoom {
    /// Most participants; 0 means no limit.
    max_participants: Option<u32>,
    /// Joiners wait in the lobby until admitted.
    lobby: Option<bool>,
    /// A moderator's unmute applies at once instead of asking the participant.
    allow_remote_unmute: Option<bool>,
    /// Seconds an empty room stays open.
    empty_timeout_s: Option<u64>,
    /// Free-form application data (replaces the old value).
    metadata: Option<serde_json::Value>,
}

/// Create a room.
#[utoipa::path(
    operation_id = "create_room",
    post, path = "/api/v1/rooms", tag = "rooms", request_body = CreateRoom,
    responses(
        (status = 201, description = "The new room", body = RoomSchema),
        (status = 409, description = "A room of that name exists (`room_exists`)", body = ErrorBody),
        BodyErrors, AuthErrors,
    )
)]
pub(crate) async fn create(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    Json(body): Json<CreateRoom>,
) -> Result<impl IntoResponse, ApiError> {
    let mut settings = state.conference.default_room_settings();
    if let Some(v) = body.max_participants {
        settings.max_participants = v;
    }
    if let Some(v) = body.lobby {
        settings.lobby = v;
    }
    if let Some(v) = body.allow_remote_unmute {
        settings.allow_remote_unmute = v;
    }
    if let Some(v) = body.empty_timeout_s {
        settings.empty_timeout_s = v;
    }
    if let Some(v) = body.metadata {
        settings.metadata = v;
    }
    let room = state.conference.create_room(&body.name, settings).await?;
    Ok((StatusCode::CREATED, Json(room)))
}

/// List open rooms.
#[utoipa::path(
    operation_id = "list_rooms",
    get, path = "/api/v1/rooms", tag = "rooms",
    responses((status = 200, description = "Every open room", body = RoomList), AuthErrors)
)]
pub(crate) async fn list(State(state): State<Arc<AppState>>, _caller: Caller) -> Json<serde_json::Value> {
    let rooms: Vec<RoomView> = state.conference.list_rooms().await;
    Json(serde_json::json!({ "rooms": rooms }))
}

/// One room: participant count, creation time, settings.
#[utoipa::path(
    operation_id = "get_room",
    get, path = "/api/v1/rooms/{room}", tag = "rooms",
    params(("room" = String, Path, description = "Room name")),
    responses((status = 200, description = "The room", body = RoomSchema), BadParams, NotFound, AuthErrors)
)]
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(room): Path<String>,
) -> Result<Json<RoomView>, ApiError> {
    expect_room(run(&state, &room, AdminOp::GetRoom, &caller).await?).map(Json)
}

/// Change settings or metadata.
#[utoipa::path(
    operation_id = "update_room",
    patch, path = "/api/v1/rooms/{room}", tag = "rooms", request_body = UpdateRoom,
    params(("room" = String, Path, description = "Room name")),
    responses((status = 200, description = "The updated room", body = RoomSchema), NotFound, BodyErrors, AuthErrors)
)]
pub(crate) async fn update(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(room): Path<String>,
    Json(body): Json<UpdateRoom>,
) -> Result<Json<RoomView>, ApiError> {
    let patch = RoomPatch {
        max_participants: body.max_participants,
        lobby: body.lobby,
        allow_remote_unmute: body.allow_remote_unmute,
        empty_timeout_s: body.empty_timeout_s,
        metadata: body.metadata,
    };
    expect_room(run(&state, &room, AdminOp::UpdateRoom(patch), &caller).await?).map(Json)
}

/// End the conference: everyone is disconnected with `room_ended` and the room closes.
#[utoipa::path(
    operation_id = "end_room",
    delete, path = "/api/v1/rooms/{room}", tag = "rooms",
    params(("room" = String, Path, description = "Room name")),
    responses((status = 204, description = "Ended"), BadParams, NotFound, AuthErrors)
)]
pub(crate) async fn end(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(room): Path<String>,
) -> Result<StatusCode, ApiError> {
    expect_done(run(&state, &room, AdminOp::EndRoom, &caller).await?)?;
    Ok(StatusCode::NO_CONTENT)
}
