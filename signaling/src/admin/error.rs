//! Why a moderation operation failed: one domain error, mapped to HTTP statuses by the server and
//! to protocol error codes for in-room moderation.

/// Why a moderation operation failed. Mapped to HTTP statuses by the server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// 404.
    #[error("room {0:?} not found")]
    RoomNotFound(String),
    /// 404.
    #[error("participant {0:?} not found in this room")]
    ParticipantNotFound(String),
    /// 404.
    #[error("track {0:?} not found")]
    TrackNotFound(String),
    /// 409.
    #[error("room {0:?} already exists")]
    RoomExists(String),
    /// 422: a well-formed request the room cannot carry out in its current state.
    #[error("{0}")]
    Invalid(String),
    /// 403 (in-room moderation without `room_admin`).
    #[error("{0}")]
    PermissionDenied(String),
    /// 503.
    #[error("the server is shutting down")]
    ShuttingDown,
}

impl AdminError {
    /// The stable snake_case code of the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            AdminError::RoomNotFound(_) => "room_not_found",
            AdminError::ParticipantNotFound(_) => "participant_not_found",
            AdminError::TrackNotFound(_) => "track_not_found",
            AdminError::RoomExists(_) => "room_exists",
            AdminError::Invalid(_) => "invalid_request",
            AdminError::PermissionDenied(_) => "permission_denied",
            AdminError::ShuttingDown => "unavailable",
        }
    }
}
