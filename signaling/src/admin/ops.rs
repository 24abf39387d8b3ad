//! The moderation operations a room carries out, one type each, with typed arguments (parsed once
//! at the edge: the admin API's bodies and paths, or an in-room `moderate` message). What each
//! returns is its own type (see [`crate::AdminOp::Reply`]), so a caller can never receive a reply
//! of another operation's shape. The room's side of each operation lives in `room/ops.rs`.

use super::settings::RoomPatch;
use crate::ids::{Identity, RoomName, TrackSid};
use crate::permissions::Permissions;
use serde::{Deserialize, Serialize};
use switchboard_media::MediaKind;

/// The room's view.
#[derive(Debug, Clone, PartialEq)]
pub struct GetRoom;

/// Change settings.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateRoom(pub RoomPatch);

/// Disconnect everyone with `room_ended` and close the room.
#[derive(Debug, Clone, PartialEq)]
pub struct EndRoom;

/// Every participant, lobby and unexpired invitees included.
#[derive(Debug, Clone, PartialEq)]
pub struct ListParticipants;

/// One participant.
#[derive(Debug, Clone, PartialEq)]
pub struct GetParticipant(pub Identity);

/// Change a participant's name, metadata, permissions or raised hand, live.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateParticipant {
    /// Who.
    pub identity: Identity,
    /// What changes.
    pub patch: ParticipantPatch,
}

/// A change of a participant; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantPatch {
    /// Display name.
    pub name: Option<String>,
    /// Application data.
    pub metadata: Option<serde_json::Value>,
    /// New permissions (replace the old ones, live).
    pub permissions: Option<Permissions>,
    /// `false` lowers the participant's hand; only the participant raises it.
    pub hand_raised: Option<bool>,
}

/// Remove (kick) a participant or a lobby member.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoveParticipant {
    /// Who.
    pub identity: Identity,
    /// Told to the client in `removed{reason}`.
    pub reason: Option<String>,
    /// Also ban the identity.
    pub ban: bool,
}

/// The ban list.
#[derive(Debug, Clone, PartialEq)]
pub struct ListBans;

/// Lift a ban.
#[derive(Debug, Clone, PartialEq)]
pub struct LiftBan(pub Identity);

/// Mute or unmute (ask to unmute) tracks of one participant.
#[derive(Debug, Clone, PartialEq)]
pub struct Mute {
    /// Whose tracks.
    pub identity: Identity,
    /// Which tracks, and which way.
    pub request: MuteRequest,
}

/// What to mute on one participant: one track, every track of a kind, or (neither) every track.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuteRequest {
    /// A track sid.
    pub track: Option<TrackSid>,
    /// `audio` or `video`.
    pub kind: Option<MediaKind>,
    /// Mute (true) or unmute / ask to unmute (false).
    pub muted: bool,
}

/// Mute every track of a kind in the room, except some identities.
#[derive(Debug, Clone, PartialEq)]
pub struct MuteRoom {
    /// Audio or video.
    pub kind: MediaKind,
    /// Identities left alone.
    pub except: Vec<Identity>,
}

/// Put a participant on hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Hold(pub Identity);

/// Resume a participant from hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Resume(pub Identity);

/// Move a participant to another room, same identity and media peers.
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    /// Who.
    pub identity: Identity,
    /// Where.
    pub to_room: RoomName,
}

/// Who waits in the lobby.
#[derive(Debug, Clone, PartialEq)]
pub struct ListLobby;

/// Admit a lobby member.
#[derive(Debug, Clone, PartialEq)]
pub struct Admit(pub Identity);

/// Turn a lobby member away.
#[derive(Debug, Clone, PartialEq)]
pub struct Deny(pub Identity);

/// Record an invite: the invitee is listed as `invited` until it joins or the invite expires.
#[derive(Debug, Clone, PartialEq)]
pub struct Invite {
    /// The invitee.
    pub identity: Identity,
    /// Its display name.
    pub name: Option<String>,
    /// Unix seconds.
    pub expires_at: u64,
}

/// Send a data payload to everyone, or to these identities.
#[derive(Debug, Clone, PartialEq)]
pub struct SendData {
    /// Any JSON value.
    pub payload: serde_json::Value,
    /// Recipients; empty means everyone.
    pub to: Vec<Identity>,
}

/// The reply of [`SendData`]: how many participants it reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Delivered {
    /// Recipients.
    pub delivered: usize,
}

/// The record a state-changing operation leaves in the event stream (`moderator_action`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModeratorRecord {
    /// `mute`, `hold`, `move`, …
    pub action: &'static str,
    /// The participant acted on.
    pub target: Option<Identity>,
    /// Arguments worth keeping.
    pub details: serde_json::Value,
}

impl ModeratorRecord {
    pub(crate) fn new(action: &'static str, target: Option<&Identity>, details: serde_json::Value) -> Option<Self> {
        Some(Self { action, target: target.cloned(), details })
    }
}
