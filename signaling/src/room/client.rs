//! Messages from a participant's client: negotiation, its own mutes, unmute answers, data, and
//! in-room moderation (`moderate`, with the `room_admin` permission).

use super::ops::AdminOp;
use super::Room;
use crate::admin::ops::{
    Admit, Deny, Hold, ListParticipants, Move, Mute, MuteRequest, MuteRoom, ParticipantPatch, RemoveParticipant,
    Resume, UpdateParticipant,
};
use crate::admin::AdminError;
use crate::call_state::DisconnectReason;
use crate::ids::{Identity, ParticipantSid, RoomName, TrackSid};
use crate::protocol::{ClientMessage, ErrorCode, IceTarget, ModerateRequest, Outbound, ServerMessage};
use switchboard_media::{MediaCommand, MediaKind};

impl Room {
    pub(super) fn on_client(&mut self, sid: &ParticipantSid, msg: ClientMessage) {
        if !self.participants.contains(sid) {
            if self.lobby.get(sid).is_some() {
                self.on_lobby_client(sid, msg);
            }
            return;
        }
        let Some(p) = self.participants.get_mut(sid) else { return };
        match msg {
            ClientMessage::PublishOffer { sdp, sources } => {
                if !p.member.permissions.can_publish {
                    return self.deny(sid, "this token may not publish (can_publish is false)");
                }
                p.declared_sources = sources;
                self.shared.media.send(MediaCommand::ApplyOffer { peer: p.publisher, sdp });
            }
            ClientMessage::SubscribeAnswer { sdp } => {
                if p.unanswered_offer.is_none() {
                    let msg = ServerMessage::error(ErrorCode::OutOfOrder, "subscribe_answer without an outstanding subscribe_offer");
                    return self.send_to(sid, msg);
                }
                p.unanswered_offer = None;
                self.shared.media.send(MediaCommand::ApplyAnswer { peer: p.subscriber, sdp });
            }
            ClientMessage::IceRestart => {
                self.shared.media.send(MediaCommand::RestartIce { peer: p.subscriber });
            }
            ClientMessage::IceCandidate { target, candidate } => {
                let peer = match target {
                    IceTarget::Publisher => p.publisher,
                    IceTarget::Subscriber => p.subscriber,
                };
                if !candidate.candidate.is_empty() {
                    let cmd = MediaCommand::AddRemoteCandidate { peer, candidate: candidate.candidate, sdp_mid: candidate.sdp_mid };
                    self.shared.media.send(cmd);
                }
            }
            ClientMessage::SetTrackMuted { track, muted } => {
                let track = TrackSid(track);
                let Some(t) = p.tracks.get(&track) else {
                    return self.send_to(sid, ServerMessage::error(ErrorCode::NotFound, format!("you publish no track {track}")));
                };
                if let Err(locked) = t.mute.publisher_may(muted) {
                    let msg = format!("track {track} was muted by moderator {}; only a moderator can unmute it", locked.0);
                    return self.deny(sid, &msg);
                }
                self.set_track_muted(sid, &track, muted, None);
            }
            ClientMessage::UnmuteResponse { track, accept } => {
                let track = TrackSid(track);
                let requested = p.tracks.get(&track).is_some_and(|t| t.mute.unmute_requested);
                if !requested {
                    let msg = ServerMessage::error(ErrorCode::OutOfOrder, format!("no unmute request is pending for track {track}"));
                    return self.send_to(sid, msg);
                }
                if accept {
                    self.set_track_muted(sid, &track, false, None);
                } else if let Some(t) = p.tracks.get_mut(&track) {
                    t.mute.unmute_requested = false;
                }
            }
            ClientMessage::SendData { payload, to } => {
                if !p.member.permissions.can_publish_data {
                    return self.deny(sid, "this token may not send data (can_publish_data is false)");
                }
                // Identities that break the naming rule cannot be anyone here.
                let to: Vec<Identity> = to.into_iter().filter_map(|i| Identity::parse(i).ok()).collect();
                self.send_data(Some(sid), payload, &to);
            }
            // No permission needed: raising a hand is how someone who may not publish asks to.
            ClientMessage::SetHandRaised { raised } => self.set_hand_raised(sid, raised),
            ClientMessage::UpdateSubscription { track, visible, width, height, max_layer } => {
                let subscriber = p.subscriber;
                self.update_subscription(sid, subscriber, TrackSid(track), visible, (width, height), max_layer);
            }
            ClientMessage::Moderate(req) => {
                if !p.member.permissions.room_admin {
                    return self.deny(sid, "moderation needs the room_admin permission");
                }
                if p.member.token_room != self.name {
                    let msg = format!("room_admin applies to room {:?} only (the token's room)", p.member.token_room.as_str());
                    return self.deny(sid, &msg);
                }
                let by = p.member.identity.clone();
                self.moderate(sid, req, &by);
            }
            ClientMessage::Leave => self.remove(sid, DisconnectReason::Left, None, 1000),
            ClientMessage::Ping { ts } => self.send_to(sid, ServerMessage::Pong { ts }),
        }
    }

    /// `update_subscription`: checks the numbers and the track, then tells the media shard.
    fn update_subscription(
        &mut self,
        sid: &ParticipantSid,
        subscriber: switchboard_media::PeerId,
        track: TrackSid,
        visible: bool,
        (width, height): (Option<u32>, Option<u32>),
        max_layer: Option<u8>,
    ) {
        const MAX_SIDE: u32 = 16_384;
        let side = |v: Option<u32>| v.map(|v| u16::try_from(v).ok().filter(|v| (1..=MAX_SIDE as u16).contains(v)).ok_or(v));
        let size = match (side(width), side(height)) {
            (Some(Ok(w)), Some(Ok(h))) => Some((w, h)),
            (None, None) => None,
            (Some(Ok(_)), None) | (None, Some(Ok(_))) => {
                return self.send_to(sid, ServerMessage::error(ErrorCode::InvalidMessage, "give both width and height, or neither"));
            }
            (Some(Err(v)), _) | (_, Some(Err(v))) => {
                let msg = format!("width and height must be 1..={MAX_SIDE} pixels, got {v}");
                return self.send_to(sid, ServerMessage::error(ErrorCode::InvalidMessage, msg));
            }
        };
        if let Some(layer) = max_layer.filter(|l| *l > 2) {
            let msg = format!("max_layer must be 0 (quarter), 1 (half) or 2 (full), got {layer}");
            return self.send_to(sid, ServerMessage::error(ErrorCode::InvalidMessage, msg));
        }
        let found = self
            .participants
            .iter()
            .filter(|o| &o.member.sid != sid)
            .flat_map(|o| o.tracks.values())
            .find(|t| t.sid == track && t.kind == MediaKind::Video);
        let Some(source) = found.map(|t| t.source_id) else {
            let msg = format!("you receive no video track {track}");
            return self.send_to(sid, ServerMessage::error(ErrorCode::NotFound, msg));
        };
        self.shared.media.send(MediaCommand::SetSubscription { subscriber, source, visible, size, max_layer });
    }

    /// A lobby member may only leave or ping; the rest waits for admission.
    fn on_lobby_client(&mut self, sid: &ParticipantSid, msg: ClientMessage) {
        let reply = match msg {
            ClientMessage::Leave => return self.remove(sid, DisconnectReason::Left, None, 1000),
            ClientMessage::Ping { ts } => ServerMessage::Pong { ts },
            _ => ServerMessage::error(ErrorCode::OutOfOrder, "you are waiting in the lobby; a moderator must admit you first"),
        };
        if let Some(m) = self.lobby.get(sid) {
            let _ = m.send(reply);
        }
    }

    fn deny(&mut self, sid: &ParticipantSid, message: &str) {
        self.send_to(sid, ServerMessage::error(ErrorCode::PermissionDenied, message));
    }

    /// An in-room `moderate` message: parsed into its operation, run, answered with
    /// `moderate_result` (or an `error`) through the moderator's own queue — it may have removed
    /// or moved itself.
    fn moderate(&mut self, sid: &ParticipantSid, req: ModerateRequest, by: &Identity) {
        let out = self.participants.get(sid).map(|p| p.member.out.clone());
        let action = req.action.clone();
        let reply = match self.run_moderate(req, by) {
            Ok(result) => ServerMessage::ModerateResult { action, result },
            Err(Refusal::Message(code, message)) => ServerMessage::error(code, message),
            Err(Refusal::Admin(e)) => {
                let code = match e {
                    AdminError::ParticipantNotFound(_) | AdminError::TrackNotFound(_) | AdminError::RoomNotFound(_) => ErrorCode::NotFound,
                    AdminError::PermissionDenied(_) => ErrorCode::PermissionDenied,
                    _ => ErrorCode::InvalidMessage,
                };
                ServerMessage::error(code, e.to_string())
            }
        };
        if let Some(out) = out {
            let _ = out.try_send(Outbound::Message(reply));
        }
    }

    fn run_moderate(&mut self, req: ModerateRequest, by: &Identity) -> Result<serde_json::Value, Refusal> {
        let invalid = |message: String| Refusal::Message(ErrorCode::InvalidMessage, message);
        let identity = || {
            let text = req.identity.clone().unwrap_or_default();
            Identity::parse(text).map_err(|e| invalid(format!("{} needs a valid identity: {e}", req.action)))
        };
        let kind = || match req.kind.as_deref() {
            None => Ok(None),
            Some("audio") => Ok(Some(MediaKind::Audio)),
            Some("video") => Ok(Some(MediaKind::Video)),
            Some(other) => Err(invalid(format!("kind must be \"audio\" or \"video\", not {other:?}"))),
        };
        match req.action.as_str() {
            "mute" | "unmute" => {
                let request = MuteRequest { track: req.track.clone().map(TrackSid), kind: kind()?, muted: req.action == "mute" };
                self.moderate_op(Mute { identity: identity()?, request }, by)
            }
            "mute_room" => {
                let kind = kind()?.ok_or_else(|| invalid("mute_room needs kind \"audio\" or \"video\"".into()))?;
                let except = req.except.iter().filter_map(|i| Identity::parse(i.as_str()).ok()).collect();
                self.moderate_op(MuteRoom { kind, except }, by)
            }
            "hold" => self.moderate_op(Hold(identity()?), by),
            "resume" => self.moderate_op(Resume(identity()?), by),
            "remove" => self.moderate_op(RemoveParticipant { identity: identity()?, reason: req.reason.clone(), ban: req.ban }, by),
            "move" => {
                let to_room = RoomName::parse(req.to_room.clone().unwrap_or_default()).map_err(|e| invalid(format!("move needs to_room: {e}")))?;
                self.moderate_op(Move { identity: identity()?, to_room }, by)
            }
            "admit" => self.moderate_op(Admit(identity()?), by),
            "deny" => self.moderate_op(Deny(identity()?), by),
            "lower_hand" => {
                let patch = ParticipantPatch { hand_raised: Some(false), ..Default::default() };
                self.moderate_op(UpdateParticipant { identity: identity()?, patch }, by)
            }
            "update_permissions" => {
                let permissions = req.permissions.clone().ok_or_else(|| invalid("update_permissions needs permissions".into()))?;
                let patch = ParticipantPatch { permissions: Some(permissions), ..Default::default() };
                self.moderate_op(UpdateParticipant { identity: identity()?, patch }, by)
            }
            "list" => self.moderate_op(ListParticipants, by),
            other => Err(invalid(format!("unknown moderate action {other:?}; see docs/protocol.md"))),
        }
    }

    fn moderate_op<Op: AdminOp>(&mut self, op: Op, by: &Identity) -> Result<serde_json::Value, Refusal> {
        let reply = self.run_admin(op, by).map_err(Refusal::Admin)?;
        Ok(serde_json::to_value(reply).unwrap_or(serde_json::Value::Null))
    }
}

/// Why a `moderate` message was refused.
enum Refusal {
    /// Before the operation ran: the message itself is wrong.
    Message(ErrorCode, String),
    /// The operation refused.
    Admin(AdminError),
}
