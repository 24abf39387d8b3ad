//! Who asks to join which room (from a verified token), and why a join can be refused.

use crate::ids::{Identity, RoomName};
use crate::permissions::Permissions;

/// Who wants to join which room (from a verified token).
#[derive(Clone, Debug)]
pub struct JoinRequest {
    /// The room.
    pub room: RoomName,
    /// Unique within the room; a second join replaces the first.
    pub identity: Identity,
    /// Display name.
    pub name: String,
    /// What it may do.
    pub permissions: Permissions,
    /// Application data.
    pub metadata: serde_json::Value,
    /// The token's `jti`: a removed participant's token no longer admits it to the room.
    pub token_id: String,
}

/// Why a join was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// The room is at its participant limit.
    #[error("the room is full")]
    RoomFull,
    /// The identity is banned from the room.
    #[error("this identity is banned from the room")]
    Banned,
    /// The token was used by a participant a moderator removed.
    #[error("this token was revoked when its participant was removed")]
    TokenRevoked,
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The server is draining: existing calls continue, new joins go elsewhere.
    #[error("the server is draining and accepts no new participants; retry on another server")]
    Draining,
}

impl JoinError {
    /// How the connection is refused: the `error` code and message the client gets, and the
    /// close code that follows.
    pub fn refusal(&self) -> (crate::protocol::ErrorCode, String, u16) {
        use crate::protocol::ErrorCode;
        match self {
            JoinError::RoomFull => (ErrorCode::RoomFull, "the room is full; try again later".into(), 4003),
            JoinError::Banned => (ErrorCode::Banned, self.to_string(), 4003),
            JoinError::TokenRevoked => {
                (ErrorCode::TokenRevoked, "this token was revoked when its participant was removed; ask for a new invite".into(), 4003)
            }
            JoinError::Draining => (ErrorCode::ServerDraining, self.to_string(), 1013),
            JoinError::ShuttingDown => (ErrorCode::Internal, self.to_string(), 1001),
        }
    }
}
