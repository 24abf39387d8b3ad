//! Who is in the room: joining (directly or through the lobby), leaving or being removed, and
//! moving between rooms with the same media peers.

use super::participant::{Member, Participant, Track};
use super::{open, Room, RoomCommand};
use crate::admin::{AdminError, ParticipantView};
use crate::call_state::{CallState, DisconnectReason};
use crate::events::EventKind;
use crate::ids::{random_sid, Identity, ParticipantSid, RoomName};
use crate::join::{JoinError, JoinRequest};
use crate::protocol::{Outbound, ServerMessage, PROTOCOL_VERSION};
use std::time::SystemTime;
use switchboard_media::{MediaCommand, MediaKind, PeerId, PeerRole};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{info, warn};

/// A participant handed from one room to another by a move.
pub(crate) struct MovedParticipant {
    pub(crate) participant: Participant,
    /// The moderator mutes that hold on this person (see `MuteLocks`).
    pub(crate) mute_locks: Vec<(MediaKind, Identity)>,
}

impl Room {
    pub(super) fn join(&mut self, req: JoinRequest, connection: u64, out: mpsc::Sender<Outbound>) -> Result<ParticipantSid, JoinError> {
        self.bans.admit(&req)?;
        if let Some(old) = self.participants.find(&req.identity) {
            let notice = ServerMessage::Removed { reason: DisconnectReason::Replaced.as_str().into() };
            self.remove(&old, DisconnectReason::Replaced, Some(notice), 4009);
        }
        if let Some(old) = self.lobby.take_identity(&req.identity) {
            old.close(4009, DisconnectReason::Replaced.as_str());
        }
        let max = self.settings.max_participants as usize;
        if max > 0 && self.participants.len() >= max {
            return Err(JoinError::RoomFull);
        }
        self.invites.used(&req.identity);
        let member = Member {
            sid: ParticipantSid(random_sid("PA")),
            identity: req.identity,
            name: req.name,
            permissions: req.permissions,
            metadata: req.metadata,
            token_id: req.token_id,
            token_room: self.name.clone(),
            joined_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            since: Instant::now(),
            out,
            connection,
        };
        let sid = member.sid.clone();
        self.shared.locations.insert(sid.clone(), self.name.clone());
        if self.settings.lobby && !member.permissions.room_admin {
            let _ = member.send(ServerMessage::LobbyWaiting { protocol: PROTOCOL_VERSION, room: self.info() });
            info!(room = %self.name, participant = %sid, identity = %member.identity, "waiting in the lobby");
            self.emit(EventKind::ParticipantStateChanged, Some(&member.identity), serde_json::json!({ "sid": sid, "state": "lobby" }));
            self.lobby.push(member);
        } else {
            self.admit(member, None);
        }
        Ok(sid)
    }

    /// Gives a member media peers and a place in the room; `admitted` precedes `joined` when it
    /// comes from the lobby.
    pub(super) fn admit(&mut self, member: Member, from_lobby: Option<&Identity>) -> ParticipantSid {
        let (publisher, subscriber) = (self.shared.next_peer(), self.shared.next_peer());
        let sid = member.sid.clone();
        for (peer, role) in [(publisher, PeerRole::Publisher), (subscriber, PeerRole::Subscriber)] {
            self.shared.peers.insert(peer, self.name.clone());
            self.shared.media.send(MediaCommand::AddPeer { peer, role });
        }
        let participant = Participant::new(member, CallState::Joining, publisher, subscriber);
        self.shared.resume_tokens.insert(participant.resume_token.clone(), sid.clone());
        if let Some(by) = from_lobby {
            info!(room = %self.name, participant = %sid, %by, "admitted from the lobby");
            let _ = participant.send(ServerMessage::Admitted);
        }
        let joined = ServerMessage::Joined {
            protocol: PROTOCOL_VERSION,
            room: self.info(),
            participant: participant.info(),
            participants: self.visible_infos(),
            ice_servers: Vec::new(),
            resume_token: participant.resume_token.clone(),
            resume_window_s: self.shared.options.resume_window.as_secs(),
            resumed: false,
        };
        let _ = participant.send(joined);
        let data = serde_json::json!({
            "sid": sid, "name": participant.member.name, "permissions": participant.member.permissions,
            "admitted_by": from_lobby,
        });
        self.emit(EventKind::ParticipantJoined, Some(&participant.member.identity), data);
        self.enter(participant);
        sid
    }

    /// Puts a participant (new or moved in) into the room: subscriptions both ways and events.
    fn enter(&mut self, participant: Participant) {
        let sid = participant.member.sid.clone();
        if !participant.member.permissions.hidden {
            self.broadcast(None, ServerMessage::ParticipantJoined { participant: participant.info() });
        }
        if participant.member.permissions.can_subscribe {
            for other in self.participants.iter() {
                for track in other.tracks.values() {
                    self.shared.media.send(MediaCommand::Subscribe {
                        subscriber: participant.subscriber,
                        source: track.source_id,
                        stream_id: other.member.sid.0.clone(),
                        track_id: track.sid.0.clone(),
                    });
                }
            }
        }
        let tracks: Vec<Track> = participant.tracks.values().cloned().collect();
        info!(room = %self.name, participant = %sid, identity = %participant.member.identity, "participant joined");
        self.participants.insert(participant);
        for track in tracks {
            self.participants.index_source(track.source_id, &sid, &track.sid);
            self.offer_track(&sid, &track);
        }
    }

    /// Subscribes everyone else who may receive it to `track`, and announces it.
    pub(super) fn offer_track(&mut self, publisher: &ParticipantSid, track: &Track) {
        let subscribers: Vec<PeerId> = self
            .participants
            .iter()
            .filter(|o| &o.member.sid != publisher && o.member.permissions.can_subscribe)
            .map(|o| o.subscriber)
            .collect();
        for subscriber in subscribers {
            self.shared.media.send(MediaCommand::Subscribe {
                subscriber,
                source: track.source_id,
                stream_id: publisher.0.clone(),
                track_id: track.sid.0.clone(),
            });
        }
        self.broadcast(None, ServerMessage::TrackPublished { participant: publisher.clone(), track: track.info() });
        let identity = self.participants.get(publisher).map(|p| p.member.identity.clone());
        let data = serde_json::json!({ "track": track.sid, "kind": track.kind.as_str(), "source": track.source, "codec": track.mime_type });
        self.emit(EventKind::TrackPublished, identity.as_ref(), data);
    }

    /// Stops forwarding `track` (of `publisher`, `identity`) to everyone and announces it gone.
    pub(super) fn withdraw_track(&mut self, publisher: &ParticipantSid, identity: &Identity, track: &Track) {
        let subscribers: Vec<PeerId> = self.participants.iter().map(|o| o.subscriber).collect();
        for subscriber in subscribers {
            self.shared.media.send(MediaCommand::Unsubscribe { subscriber, source: track.source_id });
        }
        self.participants.forget_source(track.source_id);
        self.broadcast(None, ServerMessage::TrackUnpublished { participant: publisher.clone(), track: track.sid.clone() });
        self.emit(EventKind::TrackUnpublished, Some(identity), serde_json::json!({ "track": track.sid }));
    }

    /// Removes a lobby member (told `notice` first) and records its departure.
    pub(super) fn remove_from_lobby(&mut self, member: Member, reason: DisconnectReason, notice: Option<ServerMessage>, code: u16) {
        if let Some(n) = notice {
            let _ = member.send(n);
        }
        member.close(code, reason.as_str());
        self.shared.locations.remove_if(&member.sid, |_, room| room == &self.name);
        let data = serde_json::json!({ "sid": member.sid, "reason": reason, "from": "lobby" });
        self.emit(EventKind::ParticipantLeft, Some(&member.identity), data);
    }

    /// Removes a participant (or lobby member): media closed, tracks unpublished, others told,
    /// `notice` sent to it before the close. Idempotent.
    pub(super) fn remove(&mut self, sid: &ParticipantSid, reason: DisconnectReason, notice: Option<ServerMessage>, code: u16) {
        if let Some(m) = self.lobby.take(sid) {
            return self.remove_from_lobby(m, reason, notice, code);
        }
        let Some(mut p) = self.participants.remove(sid) else { return };
        self.speakers.forget(sid);
        let _ = p.state.transition(CallState::Disconnected(reason));
        for peer in [p.publisher, p.subscriber] {
            self.shared.media.send(MediaCommand::ClosePeer { peer });
            self.shared.peers.remove(&peer);
        }
        for track in p.tracks.values() {
            self.broadcast(None, ServerMessage::TrackUnpublished { participant: p.member.sid.clone(), track: track.sid.clone() });
        }
        if !p.member.permissions.hidden {
            let left = ServerMessage::ParticipantLeft {
                participant: p.member.sid.clone(),
                identity: p.member.identity.to_string(),
                reason: reason.as_str().into(),
            };
            self.broadcast(None, left);
        }
        if let Some(n) = notice {
            let _ = p.send(n);
        }
        p.member.close(code, reason.as_str());
        self.shared.locations.remove_if(sid, |_, room| room == &self.name);
        self.shared.resume_tokens.remove(&p.resume_token);
        let mut data = p.summary();
        data["reason"] = serde_json::json!(reason);
        self.emit(EventKind::ParticipantLeft, Some(&p.member.identity), data);
        info!(room = %self.name, participant = %sid, identity = %p.member.identity, reason = reason.as_str(), "participant left");
    }

    /// Takes a participant out of this room without closing its media, and hands it to `to`.
    pub(super) fn move_out(&mut self, identity: &Identity, to: &RoomName) -> Result<ParticipantView, AdminError> {
        if to == &self.name {
            return Err(AdminError::Invalid(format!("{identity:?} is already in room {to:?}")));
        }
        let sid = self.participants.find(identity).ok_or_else(|| AdminError::ParticipantNotFound(identity.to_string()))?;
        let Some(p) = self.participants.remove(&sid) else { return Err(AdminError::ParticipantNotFound(identity.to_string())) };
        let tracks: Vec<Track> = p.tracks.values().cloned().collect();
        // Routes between the mover and this room's members go away both ways.
        for other in self.participants.iter() {
            for track in other.tracks.values() {
                self.shared.media.send(MediaCommand::Unsubscribe { subscriber: p.subscriber, source: track.source_id });
            }
        }
        for track in &tracks {
            self.withdraw_track(&sid, &p.member.identity, track);
        }
        for peer in [p.publisher, p.subscriber] {
            self.shared.peers.insert(peer, to.clone());
        }
        self.shared.locations.insert(sid.clone(), to.clone());
        if !p.member.permissions.hidden {
            let left = ServerMessage::ParticipantLeft {
                participant: sid.clone(),
                identity: p.member.identity.to_string(),
                reason: DisconnectReason::Moved.as_str().into(),
            };
            self.broadcast(None, left);
        }
        let view = p.view();
        info!(room = %self.name, participant = %sid, %to, "participant moved");
        let mut data = p.summary();
        data["reason"] = serde_json::json!(DisconnectReason::Moved);
        data["to_room"] = serde_json::json!(to);
        self.emit(EventKind::ParticipantLeft, Some(&p.member.identity), data);
        let mute_locks = self.mute_locks.take(&p.member.identity);
        let sender = open(&self.shared, to, None);
        if sender.send(RoomCommand::MoveIn(Box::new(MovedParticipant { participant: p, mute_locks }))).is_err() {
            warn!(room = %self.name, %to, "destination room closed during a move");
        }
        Ok(view)
    }

    /// Receives a participant moved from another room.
    pub(super) fn move_in(&mut self, moved: MovedParticipant) {
        let MovedParticipant { participant: mut p, mute_locks } = moved;
        // A new leg starts here: its duration and traffic count from now.
        p.member.since = Instant::now();
        p.leg_base = p.traffic();
        // A raised hand was a question to the old room; a moderator's mutes follow the person.
        p.hand_raised_at = None;
        let identity = p.member.identity.clone();
        self.mute_locks.restore(&identity, mute_locks);
        if let Some(old) = self.participants.find(&identity) {
            let notice = ServerMessage::Removed { reason: DisconnectReason::Replaced.as_str().into() };
            self.remove(&old, DisconnectReason::Replaced, Some(notice), 4009);
        }
        let sid = p.member.sid.clone();
        for peer in [p.publisher, p.subscriber] {
            self.shared.peers.insert(peer, self.name.clone());
        }
        self.shared.locations.insert(sid.clone(), self.name.clone());
        let _ = p.send(ServerMessage::Moved { room: self.info(), participants: self.visible_infos() });
        let data = serde_json::json!({ "sid": sid, "name": p.member.name, "permissions": p.member.permissions, "moved": true });
        self.emit(EventKind::ParticipantJoined, Some(&identity), data);
        let peers = [p.publisher, p.subscriber];
        self.enter(p);
        self.replay_arriving(peers);
    }
}
