//! Messages from a participant's client: negotiation, its own mutes, unmute answers, data, and
//! in-room moderation (`moderate`, with the `room_admin` permission).

use super::*;
use crate::admin::{MuteRequest, ParticipantPatch};
use crate::protocol::{ErrorCode, IceTarget, ModerateRequest};
use switchboard_media::MediaCommand;

impl Room {
    pub(super) fn on_client(&mut self, sid: &ParticipantSid, msg: ClientMessage) {
        if !self.participants.contains_key(sid) {
            if self.lobby.iter().any(|m| &m.sid == sid) {
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
                self.inner.media.send(MediaCommand::ApplyOffer { peer: p.publisher, sdp });
            }
            ClientMessage::SubscribeAnswer { sdp } => {
                if !p.offer_outstanding {
                    let msg = ServerMessage::error(ErrorCode::OutOfOrder, "subscribe_answer without an outstanding subscribe_offer");
                    return self.send_to(sid, msg);
                }
                p.offer_outstanding = false;
                self.inner.media.send(MediaCommand::ApplyAnswer { peer: p.subscriber, sdp });
            }
            ClientMessage::IceCandidate { target, candidate } => {
                let peer = match target {
                    IceTarget::Publisher => p.publisher,
                    IceTarget::Subscriber => p.subscriber,
                };
                if !candidate.candidate.is_empty() {
                    let cmd = MediaCommand::AddRemoteCandidate { peer, candidate: candidate.candidate, sdp_mid: candidate.sdp_mid };
                    self.inner.media.send(cmd);
                }
            }
            ClientMessage::SetTrackMuted { track, muted } => {
                let track = TrackSid(track);
                let Some(t) = p.tracks.get(&track) else {
                    return self.send_to(sid, ServerMessage::error(ErrorCode::NotFound, format!("you publish no track {track}")));
                };
                if !muted {
                    if let Some(by) = &t.muted_by {
                        let msg = format!("track {track} was muted by moderator {by}; only a moderator can unmute it");
                        return self.deny(sid, &msg);
                    }
                }
                self.set_track_muted(sid, &track, muted, None);
            }
            ClientMessage::UnmuteResponse { track, accept } => {
                let track = TrackSid(track);
                let requested = p.tracks.get(&track).is_some_and(|t| t.unmute_requested);
                if !requested {
                    let msg = ServerMessage::error(ErrorCode::OutOfOrder, format!("no unmute request is pending for track {track}"));
                    return self.send_to(sid, msg);
                }
                if accept {
                    self.set_track_muted(sid, &track, false, None);
                } else if let Some(t) = p.tracks.get_mut(&track) {
                    t.unmute_requested = false;
                }
            }
            ClientMessage::SendData { payload, to } => {
                if !p.member.permissions.can_publish_data {
                    return self.deny(sid, "this token may not send data (can_publish_data is false)");
                }
                self.send_data(Some(sid), payload, &to);
            }
            // No permission needed: raising a hand is how someone who may not publish asks to.
            ClientMessage::SetHandRaised { raised } => self.set_hand_raised(sid, raised),
            ClientMessage::Moderate(req) => {
                if !p.member.permissions.room_admin {
                    return self.deny(sid, "moderation needs the room_admin permission");
                }
                if p.member.token_room != self.name {
                    let msg = format!("room_admin applies to room {:?} only (the token's room)", p.member.token_room.0);
                    return self.deny(sid, &msg);
                }
                let by = p.member.identity.0.clone();
                self.moderate(sid, req, &by);
            }
            ClientMessage::Leave => self.remove(sid, DisconnectReason::Left, None, 1000),
            ClientMessage::Ping { ts } => self.send_to(sid, ServerMessage::Pong { ts }),
        }
    }

    /// A lobby member may only leave or ping; the rest waits for admission.
    fn on_lobby_client(&mut self, sid: &ParticipantSid, msg: ClientMessage) {
        let Some(m) = self.lobby.iter().find(|m| &m.sid == sid) else { return };
        let reply = match msg {
            ClientMessage::Leave => return self.remove(sid, DisconnectReason::Left, None, 1000),
            ClientMessage::Ping { ts } => ServerMessage::Pong { ts },
            _ => ServerMessage::error(ErrorCode::OutOfOrder, "you are waiting in the lobby; a moderator must admit you first"),
        };
        let _ = m.send(reply);
    }

    fn deny(&mut self, sid: &ParticipantSid, message: &str) {
        self.send_to(sid, ServerMessage::error(ErrorCode::PermissionDenied, message));
    }

    fn moderate(&mut self, sid: &ParticipantSid, req: ModerateRequest, by: &str) {
        let identity = req.identity.clone().unwrap_or_default();
        let op = match req.action.as_str() {
            "mute" | "unmute" => AdminOp::Mute(
                identity,
                MuteRequest { track: req.track, kind: req.kind, muted: req.action == "mute" },
            ),
            "mute_room" => AdminOp::MuteRoom { kind: req.kind.unwrap_or_default(), except: req.except },
            "hold" => AdminOp::Hold(identity),
            "resume" => AdminOp::Resume(identity),
            "remove" => AdminOp::RemoveParticipant { identity, reason: req.reason, ban: req.ban },
            "move" => AdminOp::Move { identity, to_room: req.to_room.unwrap_or_default() },
            "admit" => AdminOp::Admit(identity),
            "deny" => AdminOp::Deny(identity),
            "lower_hand" => {
                AdminOp::UpdateParticipant(identity, ParticipantPatch { hand_raised: Some(false), ..Default::default() })
            }
            "update_permissions" => match req.permissions {
                Some(p) => AdminOp::UpdateParticipant(identity, ParticipantPatch { permissions: Some(p), ..Default::default() }),
                None => return self.send_to(sid, ServerMessage::error(ErrorCode::InvalidMessage, "update_permissions needs permissions")),
            },
            "list" => AdminOp::ListParticipants,
            other => {
                let msg = format!("unknown moderate action {other:?}; see docs/protocol.md");
                return self.send_to(sid, ServerMessage::error(ErrorCode::InvalidMessage, msg));
            }
        };
        let action = req.action;
        // The moderator may remove or move itself: answer through its own queue, not the room.
        let out = self.participants.get(sid).map(|p| p.member.out.clone());
        let reply = match self.on_admin(op, by) {
            Ok(r) => ServerMessage::ModerateResult { action, result: r.to_json() },
            Err(e) => {
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
}
