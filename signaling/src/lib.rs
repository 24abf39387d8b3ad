//! Switchboard signalling: the conference model (rooms, participants, tracks, permissions) and
//! the JSON WebSocket protocol. No HTTP, no files, no environment: the server crate feeds it.
#![warn(missing_docs)]

pub mod admin;
pub mod call_state;
mod conference;
pub mod events;
mod ids;
mod participant;
mod permissions;
pub mod quality;
pub mod protocol;
mod room;

pub use admin::{
    AdminError, AdminOp, AdminReply, MuteRequest, ParticipantPatch, ParticipantView, RoomPatch, RoomSettings, RoomView,
    SubscriptionView, TrackStatsView, TrackView,
};
pub use call_state::{CallState, DisconnectReason};
pub use events::{ConferenceEvent, EventKind, EventSink};
pub use conference::{Conference, ConferenceOptions, JoinLatencyObserver, ConferenceSnapshot, JoinError, JoinRequest, Session};
pub use ids::{Identity, ParticipantSid, RoomName, TrackSid};
pub use permissions::Permissions;
pub use protocol::{ClientMessage, ErrorCode, Outbound, ServerMessage, PROTOCOL_VERSION};
