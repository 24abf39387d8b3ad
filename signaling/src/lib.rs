//! Switchboard signalling: the conference model (rooms, participants, tracks, permissions) and
//! the JSON WebSocket protocol, with the session loop that speaks it over any transport. No HTTP,
//! no files, no environment: the server crate feeds it.
#![warn(missing_docs)]

pub mod admin;
pub mod call_state;
mod conference;
pub mod events;
mod ids;
mod join;
mod media_router;
mod options;
mod permissions;
pub mod protocol;
pub mod quality;
mod registry;
mod room;
pub mod session;

pub use admin::ops;
pub use admin::{AdminError, InvalidSetting, ParticipantView, RoomPatch, RoomSettings, RoomView, SubscriptionView, TrackStatsView, TrackView};
pub use call_state::{CallState, DisconnectReason};
pub use conference::{Conference, ConferenceSnapshot};
pub use events::{ConferenceEvent, EventKind, EventSink};
pub use ids::{Identity, InvalidName, ParticipantSid, RoomName, TrackSid, MAX_IDENTITY_BYTES, MAX_ROOM_NAME_BYTES};
pub use join::{JoinError, JoinRequest};
pub use options::{ConferenceOptions, JoinLatencyObserver};
pub use permissions::Permissions;
pub use protocol::{ClientMessage, ErrorCode, Outbound, ServerMessage, PROTOCOL_VERSION};
pub use room::AdminOp;
pub use session::Session;
pub use switchboard_media::MediaKind;
