//! The admin REST API under `/api/v1` (ARCHITECTURE §5): handlers that parse HTTP into typed
//! operations (`switchboard_signaling::ops`) on a room and serialise each operation's own reply.
//! Routing lives in `http/mod.rs`; authentication in [`guard`]; the OpenAPI document in
//! [`openapi`]. No moderation logic lives here: the room decides.
//!
//! Input rule: a value that cannot become the operation's type (a name against the naming rule,
//! an unknown enum value, a number out of its documented range) is 400 `invalid_request` with the
//! field named; a well-formed request the room cannot carry out now is 422.

pub(crate) mod data;
pub(crate) mod events;
pub(crate) mod extract;
pub(crate) mod guard;
pub(crate) mod invites;
pub(crate) mod lobby;
pub(crate) mod moderation;
pub(crate) mod openapi;
pub(crate) mod participants;
pub(crate) mod rooms;
pub(crate) mod schema;
pub(crate) mod server;
pub(crate) mod sessions;

use crate::http::ApiError;
use crate::state::AppState;
use guard::Caller;
use switchboard_signaling::{AdminOp, RoomName};

/// Runs one operation on `room` on behalf of `caller`; the reply is the operation's own type.
async fn run<Op: AdminOp>(state: &AppState, room: &RoomName, op: Op, caller: &Caller) -> Result<Op::Reply, ApiError> {
    Ok(state.conference.admin(room, op, &caller.0).await?)
}
