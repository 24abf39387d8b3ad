//! Switchboard signalling: the conference model (rooms, participants, tracks, permissions) and
//! the JSON WebSocket protocol. No HTTP, no files, no environment: the server crate feeds it.
#![warn(missing_docs)]

mod conference;
mod ids;
mod participant;
mod permissions;
pub mod protocol;
mod room;

pub use conference::{Conference, ConferenceOptions, ConferenceSnapshot, JoinError, JoinRequest, Session};
pub use ids::{Identity, ParticipantSid, RoomName, TrackSid};
pub use permissions::Permissions;
pub use protocol::{ClientMessage, ErrorCode, Outbound, ServerMessage, PROTOCOL_VERSION};
