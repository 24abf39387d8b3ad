//! Rooms: create, list, get, update settings, end (`/api/v1/rooms[/{room}]`).

use super::extract::{Json, Path};
use super::guard::Caller;
use super::run;
use super::schema::{AuthErrors, BadParams, BodyErrors, ErrorBody, NotFound, RoomList, RoomSchema};
use crate::http::ApiError;
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use std::sync::Arc;
use switchboard_signaling::ops;
use switchboard_signaling::{RoomName, RoomPatch, RoomView};
use utoipa::ToSchema;

/// Body of `POST /api/v1/rooms`; absent settings take the server's defaults.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateRoom {
    /// Unique room name: 1–64 letters, digits, `-`, `_` or `.`.
    #[schema(value_type = String, example = "standup", min_length = 1, max_length = 64)]
    name: RoomName,
    /// Most participants; 0 means no limit.
    #[schema(minimum = 0, maximum = 100000)]
    max_participants: Option<u32>,
    /// Joiners wait in the lobby until admitted.
    lobby: Option<bool>,
    /// A moderator's unmute applies at once instead of asking the participant.
    allow_remote_unmute: Option<bool>,
    /// Seconds an empty room stays open (at most a week).
    #[schema(minimum = 0, maximum = 604800)]
    empty_timeout_s: Option<u64>,
    /// Free-form application data.
    metadata: Option<serde_json::Value>,
}

/// Body of `PATCH /api/v1/rooms/{room}`; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = UpdateRoom)]
pub(crate) struct UpdateRoomBody {
    /// Most participants; 0 means no limit.
    #[schema(minimum = 0, maximum = 100000)]
    max_participants: Option<u32>,
    /// Joiners wait in the lobby until admitted.
    lobby: Option<bool>,
    /// A moderator's unmute applies at once instead of asking the participant.
    allow_remote_unmute: Option<bool>,
    /// Seconds an empty room stays open (at most a week).
    #[schema(minimum = 0, maximum = 604800)]
    empty_timeout_s: Option<u64>,
    /// Free-form application data (replaces the old value).
    metadata: Option<serde_json::Value>,
}

/// A change, range-checked (400 naming the field otherwise).
fn checked(patch: RoomPatch) -> Result<RoomPatch, ApiError> {
    patch.validate()?;
    Ok(patch)
}

impl CreateRoom {
    fn settings(self) -> Result<RoomPatch, ApiError> {
        let CreateRoom { name: _, max_participants, lobby, allow_remote_unmute, empty_timeout_s, metadata } = self;
        checked(RoomPatch { max_participants, lobby, allow_remote_unmute, empty_timeout_s, metadata })
    }
}

impl UpdateRoomBody {
    fn patch(self) -> Result<RoomPatch, ApiError> {
        let UpdateRoomBody { max_participants, lobby, allow_remote_unmute, empty_timeout_s, metadata } = self;
        checked(RoomPatch { max_participants, lobby, allow_remote_unmute, empty_timeout_s, metadata })
    }
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
    let name = body.name.clone();
    let mut settings = state.conference.default_room_settings();
    body.settings()?.apply(&mut settings);
    let room = state.conference.create_room(&name, settings).await?;
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
    Path(room): Path<RoomName>,
) -> Result<Json<RoomView>, ApiError> {
    run(&state, &room, ops::GetRoom, &caller).await.map(Json)
}

/// Change settings or metadata.
#[utoipa::path(
    operation_id = "update_room",
    patch, path = "/api/v1/rooms/{room}", tag = "rooms", request_body = UpdateRoomBody,
    params(("room" = String, Path, description = "Room name")),
    responses((status = 200, description = "The updated room", body = RoomSchema), NotFound, BodyErrors, AuthErrors)
)]
pub(crate) async fn update(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(room): Path<RoomName>,
    Json(body): Json<UpdateRoomBody>,
) -> Result<Json<RoomView>, ApiError> {
    run(&state, &room, ops::UpdateRoom(body.patch()?), &caller).await.map(Json)
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
    Path(room): Path<RoomName>,
) -> Result<StatusCode, ApiError> {
    run(&state, &room, ops::EndRoom, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use switchboard_signaling::admin::{MAX_EMPTY_TIMEOUT_S, MAX_PARTICIPANTS_LIMIT};

    #[test]
    fn the_documented_ranges_are_the_enforced_ones() {
        // utoipa takes the bounds as literals; they must be signalling's constants.
        let doc: serde_json::Value = serde_json::from_str(super::super::openapi::document()).unwrap();
        for schema in ["CreateRoom", "UpdateRoom"] {
            let props = &doc["components"]["schemas"][schema]["properties"];
            assert_eq!(props["empty_timeout_s"]["maximum"], MAX_EMPTY_TIMEOUT_S, "{schema}");
            assert_eq!(props["max_participants"]["maximum"], MAX_PARTICIPANTS_LIMIT, "{schema}");
            assert_eq!(props["empty_timeout_s"]["minimum"], 0, "{schema}");
        }
    }
}
