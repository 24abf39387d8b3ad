//! Data messages from the server to a room's participants (`data{from, payload}` on the WebSocket).

use super::extract::{Json, Path};
use super::guard::Caller;
use super::run;
use super::schema::{AuthErrors, BodyErrors, Delivered, NotFound};
use crate::state::AppState;
use crate::http::ApiError;
use axum::extract::State;
use serde::Deserialize;
use std::sync::Arc;
use switchboard_signaling::ops;
use switchboard_signaling::{Identity, RoomName};
use utoipa::ToSchema;

/// Body of `POST /api/v1/rooms/{room}/data`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendData {
    /// Any JSON value, delivered as is.
    payload: serde_json::Value,
    /// Recipients by identity; absent or empty: everyone in the room.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    to: Vec<Identity>,
}

/// Send a data message to everyone in the room, or to some identities.
#[utoipa::path(
    operation_id = "send_data",
    post, path = "/api/v1/rooms/{room}/data", tag = "data", request_body = SendData,
    params(("room" = String, Path, description = "Room name")),
    responses((status = 200, description = "How many participants it reached", body = Delivered), NotFound, BodyErrors, AuthErrors)
)]
pub(crate) async fn send(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(room): Path<RoomName>,
    Json(body): Json<SendData>,
) -> Result<Json<ops::Delivered>, ApiError> {
    run(&state, &room, ops::SendData { payload: body.payload, to: body.to }, &caller).await.map(Json)
}
