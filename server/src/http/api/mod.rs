//! The admin REST API under `/api/v1` (ARCHITECTURE §5): handlers that translate HTTP into
//! [`AdminOp`]s on a room and replies into JSON. Routing lives in `http/mod.rs`; authentication in
//! [`guard`]; the OpenAPI document in [`openapi`]. No moderation logic lives here: the room decides.

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

use crate::app::AppState;
use crate::http::ApiError;
use guard::Caller;
use switchboard_signaling::{AdminOp, AdminReply, ParticipantView, RoomView};

/// Runs one operation on `room` on behalf of `caller`.
async fn run(state: &AppState, room: &str, op: AdminOp, caller: &Caller) -> Result<AdminReply, ApiError> {
    Ok(state.conference.admin(room, op, &caller.0).await?)
}

// A reply of another shape than its operation promises is a bug in the room, hence 500.

fn expect_room(reply: AdminReply) -> Result<RoomView, ApiError> {
    match reply {
        AdminReply::Room(room) => Ok(room),
        other => Err(ApiError::internal(format!("expected a room, the room replied {other:?}"))),
    }
}

fn expect_participant(reply: AdminReply) -> Result<ParticipantView, ApiError> {
    match reply {
        AdminReply::Participant(p) => Ok(p),
        other => Err(ApiError::internal(format!("expected a participant, the room replied {other:?}"))),
    }
}

fn expect_participants(reply: AdminReply) -> Result<Vec<ParticipantView>, ApiError> {
    match reply {
        AdminReply::Participants(list) => Ok(list),
        other => Err(ApiError::internal(format!("expected participants, the room replied {other:?}"))),
    }
}

fn expect_done(reply: AdminReply) -> Result<(), ApiError> {
    match reply {
        AdminReply::Done => Ok(()),
        other => Err(ApiError::internal(format!("expected no content, the room replied {other:?}"))),
    }
}

/// Longest room name or identity, in bytes.
const MAX_NAME_BYTES: usize = 128;

/// Room names and identities appear in URLs, tokens and logs: 1–128 bytes, no control characters,
/// no `/` in room names (they are path segments).
fn validate_name(what: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid(format!("{what} must not be empty")));
    }
    if value.len() > MAX_NAME_BYTES {
        return Err(ApiError::invalid(format!("{what} is longer than {MAX_NAME_BYTES} bytes")));
    }
    if value.chars().any(char::is_control) || (what == "room" && value.contains('/')) {
        return Err(ApiError::invalid(format!("{what} {value:?} contains a forbidden character")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_name;

    #[test]
    fn names_must_be_short_printable_and_slash_free_for_rooms() {
        assert!(validate_name("room", "daily standup").is_ok());
        assert!(validate_name("identity", "a/b").is_ok());
        for bad in ["", "   ", "a/b", "tab\there", &"x".repeat(129)] {
            assert_eq!(validate_name("room", bad).unwrap_err().status(), 422, "{bad:?}");
        }
    }
}
