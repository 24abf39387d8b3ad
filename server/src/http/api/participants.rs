//! Participants of a room: list, get, live update, remove (kick, optionally ban), and the ban list.

use super::extract::{Json, Path, Query};
use super::guard::Caller;
use super::schema::{
    AuthErrors, BadParams, BanList, BodyErrors, NotFound, ParticipantList, ParticipantSchema, PermissionsSchema,
};
use super::run;
use crate::state::AppState;
use crate::http::ApiError;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use std::sync::Arc;
use switchboard_signaling::ops::{self, ParticipantPatch};
use switchboard_signaling::{Identity, ParticipantView, Permissions, RoomName};
use utoipa::{IntoParams, ToSchema};

/// Body of `PATCH …/participants/{identity}`; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateParticipant {
    /// Display name.
    name: Option<String>,
    /// Free-form application data (replaces the old value).
    metadata: Option<serde_json::Value>,
    /// New permissions; replace the old ones at once.
    #[schema(value_type = Option<PermissionsSchema>)]
    permissions: Option<Permissions>,
    /// `false` lowers the participant's raised hand (only the participant raises it: `true` is
    /// refused with 422).
    hand_raised: Option<bool>,
}

/// Options of `DELETE …/participants/{identity}`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RemoveOptions {
    /// Told to the client in `removed{reason}`.
    reason: Option<String>,
    /// Also ban the identity from the room (`true`/`false`).
    #[serde(default)]
    ban: bool,
}

/// Every participant of the room, lobby and invitees included, with call state, tracks,
/// permissions and remote address.
#[utoipa::path(
    operation_id = "list_participants",
    get, path = "/api/v1/rooms/{room}/participants", tag = "participants",
    params(("room" = String, Path, description = "Room name")),
    responses((status = 200, description = "The participants", body = ParticipantList), BadParams, NotFound, AuthErrors)
)]
pub(crate) async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(room): Path<RoomName>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let participants = run(&state, &room, ops::ListParticipants, &caller).await?;
    Ok(Json(serde_json::json!({ "participants": participants })))
}

/// One participant, with per-track state.
#[utoipa::path(
    operation_id = "get_participant",
    get, path = "/api/v1/rooms/{room}/participants/{identity}", tag = "participants",
    params(("room" = String, Path, description = "Room name"), ("identity" = String, Path, description = "Participant identity")),
    responses((status = 200, description = "The participant", body = ParticipantSchema), BadParams, NotFound, AuthErrors)
)]
pub(crate) async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((room, identity)): Path<(RoomName, Identity)>,
) -> Result<Json<ParticipantView>, ApiError> {
    run(&state, &room, ops::GetParticipant(identity), &caller).await.map(Json)
}

/// Change name, metadata or permissions, live.
#[utoipa::path(
    operation_id = "update_participant",
    patch, path = "/api/v1/rooms/{room}/participants/{identity}", tag = "participants", request_body = UpdateParticipant,
    params(("room" = String, Path, description = "Room name"), ("identity" = String, Path, description = "Participant identity")),
    responses((status = 200, description = "The updated participant", body = ParticipantSchema), NotFound, BodyErrors, AuthErrors)
)]
pub(crate) async fn update(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((room, identity)): Path<(RoomName, Identity)>,
    Json(body): Json<UpdateParticipant>,
) -> Result<Json<ParticipantView>, ApiError> {
    let patch = ParticipantPatch {
        name: body.name,
        metadata: body.metadata,
        permissions: body.permissions,
        hand_raised: body.hand_raised,
    };
    run(&state, &room, ops::UpdateParticipant { identity, patch }, &caller).await.map(Json)
}

/// Remove (kick) a participant; `?reason=` is told to it, `?ban=true` keeps it out.
#[utoipa::path(
    operation_id = "remove_participant",
    delete, path = "/api/v1/rooms/{room}/participants/{identity}", tag = "participants",
    params(("room" = String, Path, description = "Room name"), ("identity" = String, Path, description = "Participant identity"), RemoveOptions),
    responses((status = 204, description = "Removed"), BadParams, NotFound, AuthErrors)
)]
pub(crate) async fn remove(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((room, identity)): Path<(RoomName, Identity)>,
    Query(options): Query<RemoveOptions>,
) -> Result<StatusCode, ApiError> {
    let op = ops::RemoveParticipant { identity, reason: options.reason, ban: options.ban };
    run(&state, &room, op, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The room's ban list.
#[utoipa::path(
    operation_id = "list_bans",
    get, path = "/api/v1/rooms/{room}/bans", tag = "participants",
    params(("room" = String, Path, description = "Room name")),
    responses((status = 200, description = "Banned identities", body = BanList), BadParams, NotFound, AuthErrors)
)]
pub(crate) async fn bans(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(room): Path<RoomName>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let bans = run(&state, &room, ops::ListBans, &caller).await?;
    Ok(Json(serde_json::json!({ "bans": bans })))
}

/// Lift a ban.
#[utoipa::path(
    operation_id = "lift_ban",
    delete, path = "/api/v1/rooms/{room}/bans/{identity}", tag = "participants",
    params(("room" = String, Path, description = "Room name"), ("identity" = String, Path, description = "Banned identity")),
    responses((status = 204, description = "Lifted"), BadParams, NotFound, AuthErrors)
)]
pub(crate) async fn lift_ban(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path((room, identity)): Path<(RoomName, Identity)>,
) -> Result<StatusCode, ApiError> {
    run(&state, &room, ops::LiftBan(identity), &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
