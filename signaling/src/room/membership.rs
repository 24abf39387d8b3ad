//! Who is in the room: joining (directly or through the lobby), leaving or being removed, and
//! moving between rooms with the same media peers.

use super::*;
use crate::call_state::CallState;
use crate::events::EventKind;
use crate::conference::room_sender;
use crate::ids::Identity;
use crate::participant::Track;
use crate::protocol::PROTOCOL_VERSION;
use switchboard_media::{MediaCommand, PeerRole};

/// A participant handed from one room to another by a move.
pub(crate) struct MovedParticipant {
    pub(crate) participant: Participant,
    /// The moderator mutes that hold on this person (see `Room::mute_locks`).
    pub(crate) mute_locks: Vec<(MediaKind, String)>,
}

impl Room {
    pub(super) fn join(&mut self, req: JoinRequest, out: mpsc::Sender<Outbound>) -> Result<ParticipantSid, JoinError> {
        if self.bans.contains(&req.identity.0) {
            return Err(JoinError::Banned);
        }
        if self.revoked_tokens.contains(&req.token_id) {
            return Err(JoinError::TokenRevoked);
        }
        if let Some(old) = self.find(&req.identity.0) {
            let notice = ServerMessage::Removed { reason: DisconnectReason::Replaced.as_str().into() };
            self.remove(&old, DisconnectReason::Replaced, Some(notice), 4009);
        }
        if let Some(pos) = self.lobby.iter().position(|m| m.identity == req.identity) {
            let old = self.lobby.remove(pos);
            old.close(4009, DisconnectReason::Replaced.as_str());
        }
        let max = self.settings.max_participants as usize;
        if max > 0 && self.participants.len() >= max {
            return Err(JoinError::RoomFull);
        }
        self.invites.remove(&req.identity.0);
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
        };
        let sid = member.sid.clone();
        self.inner.locations.insert(sid.clone(), self.name.clone());
        if self.settings.lobby && !member.permissions.room_admin {
            let _ = member.send(ServerMessage::LobbyWaiting { protocol: PROTOCOL_VERSION, room: self.info() });
            info!(room = %self.name, participant = %sid, identity = %member.identity, "waiting in the lobby");
            self.emit(EventKind::ParticipantStateChanged, Some(&member.identity.0), serde_json::json!({ "sid": sid, "state": "lobby" }));
            self.lobby.push(member);
        } else {
            self.admit(member, None);
        }
        Ok(sid)
    }

    /// Gives a member media peers and a place in the room; `admitted` precedes `joined` when it
    /// comes from the lobby.
    pub(super) fn admit(&mut self, member: Member, from_lobby: Option<&str>) -> ParticipantSid {
        let (publisher, subscriber) = (self.inner.next_peer(), self.inner.next_peer());
        let sid = member.sid.clone();
        for (peer, role) in [(publisher, PeerRole::Publisher), (subscriber, PeerRole::Subscriber)] {
            self.inner.peers.insert(peer, self.name.clone());
            self.peers.insert(peer, sid.clone());
            self.inner.media.send(MediaCommand::AddPeer { peer, role });
        }
        let participant = Participant {
            member,
            state: CallState::Joining,
            publisher,
            subscriber,
            remote: None,
            tracks: Default::default(),
            withheld: Vec::new(),
            declared_sources: HashMap::new(),
            offer_outstanding: false,
            subscriptions: HashMap::new(),
            quality: None,
            retired: Default::default(),
            leg_base: Default::default(),
            hand_raised_at: None,
        };
        if let Some(by) = from_lobby {
            info!(room = %self.name, participant = %sid, by, "admitted from the lobby");
            let _ = participant.send(ServerMessage::Admitted);
        }
        let joined = ServerMessage::Joined {
            protocol: PROTOCOL_VERSION,
            room: self.info(),
            participant: participant.info(),
            participants: self.visible_infos(),
            ice_servers: Vec::new(),
        };
        let _ = participant.send(joined);
        let data = serde_json::json!({
            "sid": sid, "name": participant.member.name, "permissions": participant.member.permissions,
            "admitted_by": from_lobby,
        });
        self.emit(EventKind::ParticipantJoined, Some(&participant.member.identity.0), data);
        self.enter(participant);
        sid
    }

    fn visible_infos(&self) -> Vec<crate::protocol::ParticipantInfo> {
        self.participants.values().filter(|p| !p.member.permissions.hidden).map(|p| p.info()).collect()
    }

    /// Puts a participant (new or moved in) into the room: subscriptions both ways and events.
    fn enter(&mut self, participant: Participant) {
        let sid = participant.member.sid.clone();
        if !participant.member.permissions.hidden {
            self.broadcast(None, ServerMessage::ParticipantJoined { participant: participant.info() });
        }
        if participant.member.permissions.can_subscribe {
            for other in self.participants.values() {
                for track in other.tracks.values() {
                    self.inner.media.send(MediaCommand::Subscribe {
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
        self.participants.insert(sid.clone(), participant);
        for track in tracks {
            self.sources.insert(track.source_id, (sid.clone(), track.sid.clone()));
            self.offer_track(&sid, &track);
        }
    }

    /// Subscribes everyone else who may receive it to `track`, and announces it.
    pub(super) fn offer_track(&mut self, publisher: &ParticipantSid, track: &Track) {
        let subscribers: Vec<PeerId> = self
            .participants
            .values()
            .filter(|o| &o.member.sid != publisher && o.member.permissions.can_subscribe)
            .map(|o| o.subscriber)
            .collect();
        for subscriber in subscribers {
            self.inner.media.send(MediaCommand::Subscribe {
                subscriber,
                source: track.source_id,
                stream_id: publisher.0.clone(),
                track_id: track.sid.0.clone(),
            });
        }
        self.broadcast(None, ServerMessage::TrackPublished { participant: publisher.clone(), track: track.info() });
        let identity = self.participants.get(publisher).map(|p| p.member.identity.0.clone());
        let data = serde_json::json!({ "track": track.sid, "kind": track.kind.as_str(), "source": track.source, "codec": track.mime_type });
        self.emit(EventKind::TrackPublished, identity.as_deref(), data);
    }

    /// Stops forwarding `track` to everyone and announces it gone.
    pub(super) fn withdraw_track(&mut self, publisher: &ParticipantSid, track: &Track) {
        let subscribers: Vec<PeerId> = self.participants.values().map(|o| o.subscriber).collect();
        for subscriber in subscribers {
            self.inner.media.send(MediaCommand::Unsubscribe { subscriber, source: track.source_id });
        }
        self.sources.remove(&track.source_id);
        self.broadcast(None, ServerMessage::TrackUnpublished { participant: publisher.clone(), track: track.sid.clone() });
        let identity = self.participants.get(publisher).map(|p| p.member.identity.0.clone());
        self.emit(EventKind::TrackUnpublished, identity.as_deref(), serde_json::json!({ "track": track.sid }));
    }

    /// Removes a participant (or lobby member): media closed, tracks unpublished, others told,
    /// `notice` sent to it before the close. Idempotent.
    pub(super) fn remove(&mut self, sid: &ParticipantSid, reason: DisconnectReason, notice: Option<ServerMessage>, code: u16) {
        if let Some(pos) = self.lobby.iter().position(|m| &m.sid == sid) {
            let m = self.lobby.remove(pos);
            if let Some(n) = notice {
                let _ = m.send(n);
            }
            m.close(code, reason.as_str());
            self.inner.locations.remove_if(sid, |_, room| room == &self.name);
            self.emit(EventKind::ParticipantLeft, Some(&m.identity.0), serde_json::json!({ "sid": sid, "reason": reason, "from": "lobby" }));
            return;
        }
        let Some(mut p) = self.participants.remove(sid) else { return };
        self.speakers.forget(sid);
        let _ = p.state.transition(CallState::Disconnected(reason));
        for peer in [p.publisher, p.subscriber] {
            self.inner.media.send(MediaCommand::ClosePeer { peer });
            self.inner.peers.remove(&peer);
            self.peers.remove(&peer);
        }
        for track in p.tracks.values() {
            self.sources.remove(&track.source_id);
            self.broadcast(None, ServerMessage::TrackUnpublished { participant: p.member.sid.clone(), track: track.sid.clone() });
        }
        if !p.member.permissions.hidden {
            let left = ServerMessage::ParticipantLeft {
                participant: p.member.sid.clone(),
                identity: p.member.identity.0.clone(),
                reason: reason.as_str().into(),
            };
            self.broadcast(None, left);
        }
        if let Some(n) = notice {
            let _ = p.send(n);
        }
        p.member.close(code, reason.as_str());
        self.inner.locations.remove_if(sid, |_, room| room == &self.name);
        let mut data = p.summary();
        data["reason"] = serde_json::json!(reason);
        self.emit(EventKind::ParticipantLeft, Some(&p.member.identity.0), data);
        info!(room = %self.name, participant = %sid, identity = %p.member.identity, reason = reason.as_str(), "participant left");
    }

    /// Takes a participant out of this room without closing its media, and hands it to `to`.
    pub(super) fn move_out(&mut self, identity: &str, to: &str) -> Result<crate::admin::ParticipantView, AdminError> {
        if to.trim().is_empty() || to.len() > 64 {
            return Err(AdminError::Invalid("to_room must be 1–64 characters".into()));
        }
        if to == self.name.0 {
            return Err(AdminError::Invalid(format!("{identity:?} is already in room {to:?}")));
        }
        let sid = self.find(identity).ok_or_else(|| AdminError::ParticipantNotFound(identity.into()))?;
        let Some(p) = self.participants.remove(&sid) else { return Err(AdminError::ParticipantNotFound(identity.into())) };
        // Routes between the mover and this room's members go away both ways.
        for other in self.participants.values() {
            for track in other.tracks.values() {
                self.inner.media.send(MediaCommand::Unsubscribe { subscriber: p.subscriber, source: track.source_id });
            }
        }
        for track in p.tracks.values().cloned().collect::<Vec<_>>() {
            self.withdraw_track(&sid, &track);
        }
        let to_room = RoomName(to.to_owned());
        for peer in [p.publisher, p.subscriber] {
            self.peers.remove(&peer);
            self.inner.peers.insert(peer, to_room.clone());
        }
        self.inner.locations.insert(sid.clone(), to_room.clone());
        if !p.member.permissions.hidden {
            let left = ServerMessage::ParticipantLeft {
                participant: sid.clone(),
                identity: p.member.identity.0.clone(),
                reason: DisconnectReason::Moved.as_str().into(),
            };
            self.broadcast(None, left);
        }
        let view = p.view();
        info!(room = %self.name, participant = %sid, to, "participant moved");
        let mut data = p.summary();
        data["reason"] = serde_json::json!(DisconnectReason::Moved);
        data["to_room"] = serde_json::json!(to);
        self.emit(EventKind::ParticipantLeft, Some(&p.member.identity.0), data);
        let identity = p.member.identity.0.clone();
        let locked: Vec<MediaKind> = self.mute_locks.keys().filter(|(i, _)| *i == identity).map(|(_, k)| *k).collect();
        let mute_locks = locked.into_iter().filter_map(|k| self.mute_locks.remove(&(identity.clone(), k)).map(|by| (k, by))).collect();
        let sender = room_sender(&self.inner, &to_room, None);
        if sender.send(RoomCommand::MoveIn(Box::new(MovedParticipant { participant: p, mute_locks }))).is_err() {
            warn!(room = %self.name, to, "destination room closed during a move");
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
        for (kind, by) in mute_locks {
            self.mute_locks.insert((p.member.identity.0.clone(), kind), by);
        }
        let identity: Identity = p.member.identity.clone();
        if let Some(old) = self.find(&identity.0) {
            let notice = ServerMessage::Removed { reason: DisconnectReason::Replaced.as_str().into() };
            self.remove(&old, DisconnectReason::Replaced, Some(notice), 4009);
        }
        let sid = p.member.sid.clone();
        for peer in [p.publisher, p.subscriber] {
            self.peers.insert(peer, sid.clone());
            self.inner.peers.insert(peer, self.name.clone());
        }
        self.inner.locations.insert(sid.clone(), self.name.clone());
        let _ = p.send(ServerMessage::Moved { room: self.info(), participants: self.visible_infos() });
        let data = serde_json::json!({ "sid": sid, "name": p.member.name, "permissions": p.member.permissions, "moved": true });
        self.emit(EventKind::ParticipantJoined, Some(&identity.0), data);
        let peers = [p.publisher, p.subscriber];
        self.enter(p);
        self.replay_arriving(peers);
    }
}
