//! Moderation of participants' media and presence: mute (one participant or a whole room),
//! hold, resume, move to another room.

use super::extract::{Json, Path};
use super::guard::Caller;
use super::schema::{AuthErrors, BadParams, BodyErrors, NotFound, ParticipantList, ParticipantSchema, TrackKind};
use super::run;
use crate::state::AppState;
use crate::http::ApiError;
use axum::extract::State;
use serde::Deserialize;
use std::sync::Arc;
use switchboard_signaling::ops::{self, MuteRequest};
use switchboard_signaling::{Identity, MediaKind, ParticipantView, RoomName, TrackSid};
use utoipa::ToSchema;

/// Body of `POST …/participants/{identity}/mute`: `track` (one track), `kind` (every track of that
/// kind), or neither (every track).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MuteParticipant {
    /// A track sid.
    #[schema(value_type = Option<String>)]
    track: Option<TrackSid>,
    /// `audio` or `video`; other values are refused with 400.
    #[schema(value_type = Option<TrackKind>)]
    kind: Option<MediaKind>,
    /// Mute (true) or unmute (false; a request the participant accepts unless the room has
    /// `allow_remote_unmute`).
    muted: bool,
}

/// Body of `POST /api/v1/rooms/{room}/mute`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MuteRoom {
    /// `audio` or `video`; other values are refused with 400.
    #[schema(value_type = TrackKind)]
    kind: MediaKind,
    /// Identities left alone.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    except: Vec<Identity>,
}

/// Body of `POST …/participants/{identity}/move`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoveParticipant {
    /// Destination room (not the current one).
    #[schema(value_type = String, min_length = 1, max_length = 64)]
    to_room: RoomName,
}

/// Mute or unmute a participant's tracks (server-side: forwarding stops at once).
#[utoipa::path(
    operation_id = "mute_participant",
    post, path = "/api/v1/rooms/{room}/participants/{identity}/mute", tag = "moderation", request_body = MuteParticipant,
    params(("room" = String, Path, description = "Room name"), ("identity" = String, Path, description = "Participant identity")),
    responses((status = 200, description = "The updated participant", body = ParticipantSchema), NotFound, BodyErrors, AuthErrors)
)]
pub(crate) async fn mute(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((room, identity)): Path<(RoomName, Identity)>,
    Json(body): Json<MuteParticipant>,
) -> Result<Json<ParticipantView>, ApiError> {
    let request = MuteRequest { track: body.track, kind: body.kind, muted: body.muted };
    run(&state, &room, ops::Mute { identity, request }, &caller).await.map(Json)
}

/// Mute every track of a kind in the room, except some identities.
#[utoipa::path(
    operation_id = "mute_room",
    post, path = "/api/v1/rooms/{room}/mute", tag = "moderation", request_body = MuteRoom,
    params(("room" = String, Path, description = "Room name")),
    responses((status = 200, description = "The participants after muting", body = ParticipantList), NotFound, BodyErrors, AuthErrors)
)]
pub(crate) async fn mute_room(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(room): Path<RoomName>,
    Json(body): Json<MuteRoom>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let op = ops::MuteRoom { kind: body.kind, except: body.except };
    let participants = run(&state, &room, op, &caller).await?;
    Ok(Json(serde_json::json!({ "participants": participants })))
}

/// Put a participant on hold: its tracks stop being forwarded and it receives nothing.
#[utoipa::path(
    operation_id = "hold_participant",
    post, path = "/api/v1/rooms/{room}/participants/{identity}/hold", tag = "moderation",
    params(("room" = String, Path, description = "Room name"), ("identity" = String, Path, description = "Participant identity")),
    responses((status = 200, description = "The participant, `on_hold`", body = ParticipantSchema), BadParams, NotFound,
        (status = 422, description = "Not in a state that can be held (`invalid_request`)", body = super::schema::ErrorBody), AuthErrors)
)]
pub(crate) async fn hold(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((room, identity)): Path<(RoomName, Identity)>,
) -> Result<Json<ParticipantView>, ApiError> {
    run(&state, &room, ops::Hold(identity), &caller).await.map(Json)
}

/// Resume a held participant (media both ways, with a keyframe request).
#[utoipa::path(
    operation_id = "resume_participant",
    post, path = "/api/v1/rooms/{room}/participants/{identity}/resume", tag = "moderation",
    params(("room" = String, Path, description = "Room name"), ("identity" = String, Path, description = "Participant identity")),
    responses((status = 200, description = "The participant, `connected`", body = ParticipantSchema), BadParams, NotFound,
        (status = 422, description = "Not on hold (`invalid_request`)", body = super::schema::ErrorBody), AuthErrors)
)]
pub(crate) async fn resume(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((room, identity)): Path<(RoomName, Identity)>,
) -> Result<Json<ParticipantView>, ApiError> {
    run(&state, &room, ops::Resume(identity), &caller).await.map(Json)
}

/// Move a participant to another room, same identity, no new token.
#[utoipa::path(
    operation_id = "move_participant",
    post, path = "/api/v1/rooms/{room}/participants/{identity}/move", tag = "moderation", request_body = MoveParticipant,
    params(("room" = String, Path, description = "Room name"), ("identity" = String, Path, description = "Participant identity")),
    responses((status = 200, description = "The participant in its new room", body = ParticipantSchema), NotFound, BodyErrors, AuthErrors)
)]
pub(crate) async fn move_to(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((room, identity)): Path<(RoomName, Identity)>,
    Json(body): Json<MoveParticipant>,
) -> Result<Json<ParticipantView>, ApiError> {
    let op = ops::Move { identity, to_room: body.to_room };
    run(&state, &room, op, &caller).await.map(Json)
}
