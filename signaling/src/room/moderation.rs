//! Moderation of one room: the admin operations (also reachable in-room through `moderate`),
//! server-enforced mute, hold/resume, live permission changes, lobby, invites, bans and data.

use super::*;
use crate::admin::{MuteRequest, ParticipantPatch, ParticipantView, RoomPatch};
use crate::call_state::CallState;
use crate::events::EventKind;
use crate::participant::Track;
use switchboard_media::{MediaCommand, MediaKind};

fn parse_kind(kind: &str) -> Result<MediaKind, AdminError> {
    match kind {
        "audio" => Ok(MediaKind::Audio),
        "video" => Ok(MediaKind::Video),
        other => Err(AdminError::Invalid(format!("kind must be \"audio\" or \"video\", not {other:?}"))),
    }
}

/// The record of a state-changing operation: action name, target identity, details.
fn moderator_action(op: &AdminOp) -> Option<(&'static str, Option<String>, serde_json::Value)> {
    use serde_json::json;
    Some(match op {
        AdminOp::GetRoom | AdminOp::ListParticipants | AdminOp::GetParticipant(_) | AdminOp::ListBans | AdminOp::ListLobby => return None,
        AdminOp::UpdateRoom(_) => ("update_room", None, json!({})),
        AdminOp::EndRoom => ("end_room", None, json!({})),
        AdminOp::UpdateParticipant(i, patch) => ("update_participant", Some(i.clone()), json!({ "permissions": patch.permissions, "name": patch.name })),
        AdminOp::RemoveParticipant { identity, reason, ban } => ("remove", Some(identity.clone()), json!({ "reason": reason, "ban": ban })),
        AdminOp::LiftBan(i) => ("lift_ban", Some(i.clone()), json!({})),
        AdminOp::Mute(i, req) => (if req.muted { "mute" } else { "unmute" }, Some(i.clone()), json!({ "track": req.track, "kind": req.kind })),
        AdminOp::MuteRoom { kind, except } => ("mute_room", None, json!({ "kind": kind, "except": except })),
        AdminOp::Hold(i) => ("hold", Some(i.clone()), json!({})),
        AdminOp::Resume(i) => ("resume", Some(i.clone()), json!({})),
        AdminOp::Move { identity, to_room } => ("move", Some(identity.clone()), json!({ "to_room": to_room })),
        AdminOp::Admit(i) => ("admit", Some(i.clone()), json!({})),
        AdminOp::Deny(i) => ("deny", Some(i.clone()), json!({})),
        AdminOp::Invite { identity, expires_at, .. } => ("invite", Some(identity.clone()), json!({ "expires_at": expires_at })),
        AdminOp::SendData { to, .. } => ("send_data", None, json!({ "to": to })),
    })
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl Room {
    pub(super) fn on_admin(&mut self, op: AdminOp, by: &str) -> Result<AdminReply, AdminError> {
        let record = moderator_action(&op);
        let result = self.run_admin(op, by);
        if let (Some((action, target, details)), Ok(_)) = (record, &result) {
            let data = serde_json::json!({ "action": action, "by": by, "details": details });
            self.emit(EventKind::ModeratorAction, target.as_deref(), data);
        }
        result
    }

    fn run_admin(&mut self, op: AdminOp, by: &str) -> Result<AdminReply, AdminError> {
        use AdminReply as R;
        match op {
            AdminOp::GetRoom => Ok(R::Room(self.view())),
            AdminOp::UpdateRoom(patch) => self.update_room(patch).map(R::Room),
            AdminOp::EndRoom => {
                info!(room = %self.name, by, "room ended by a moderator");
                self.disconnect_all(DisconnectReason::RoomEnded, 1000);
                self.ended = true;
                Ok(R::Done)
            }
            AdminOp::ListParticipants => Ok(R::Participants(self.all_views())),
            AdminOp::GetParticipant(identity) => self
                .all_views()
                .into_iter()
                .find(|v| v.identity == identity)
                .map(R::Participant)
                .ok_or(AdminError::ParticipantNotFound(identity)),
            AdminOp::UpdateParticipant(identity, patch) => self.update_participant(&identity, patch).map(R::Participant),
            AdminOp::RemoveParticipant { identity, reason, ban } => self.remove_by_moderator(&identity, reason, ban, by).map(|()| R::Done),
            AdminOp::ListBans => Ok(R::Identities(self.bans.iter().cloned().collect())),
            AdminOp::LiftBan(identity) => {
                if self.bans.remove(&identity) {
                    Ok(R::Done)
                } else {
                    Err(AdminError::ParticipantNotFound(identity))
                }
            }
            AdminOp::Mute(identity, req) => self.mute(&identity, req, by).map(R::Participant),
            AdminOp::MuteRoom { kind, except } => {
                let kind = parse_kind(&kind)?;
                let targets: Vec<String> = self
                    .participants
                    .values()
                    .map(|p| p.member.identity.0.clone())
                    .filter(|i| !except.contains(i))
                    .collect();
                let mut views = Vec::new();
                for identity in targets {
                    let req = MuteRequest { track: None, kind: Some(kind.as_str().into()), muted: true };
                    views.push(self.mute(&identity, req, by)?);
                }
                Ok(R::Participants(views))
            }
            AdminOp::Hold(identity) => self.set_hold(&identity, true, by).map(R::Participant),
            AdminOp::Resume(identity) => self.set_hold(&identity, false, by).map(R::Participant),
            AdminOp::Move { identity, to_room } => self.move_out(&identity, &to_room).map(R::Participant),
            AdminOp::ListLobby => Ok(R::Participants(self.lobby.iter().map(|m| m.view(CallState::Lobby, None, vec![], vec![], None)).collect())),
            AdminOp::Admit(identity) => {
                let pos = self.lobby_position(&identity)?;
                let member = self.lobby.remove(pos);
                let sid = self.admit(member, Some(by));
                self.participants.get(&sid).map(|p| R::Participant(p.view())).ok_or(AdminError::ParticipantNotFound(identity))
            }
            AdminOp::Deny(identity) => {
                let pos = self.lobby_position(&identity)?;
                let m = self.lobby.remove(pos);
                let _ = m.send(ServerMessage::Denied);
                m.close(1000, DisconnectReason::Denied.as_str());
                self.inner.locations.remove(&m.sid);
                let data = serde_json::json!({ "sid": m.sid, "reason": DisconnectReason::Denied, "from": "lobby" });
                self.emit(EventKind::ParticipantLeft, Some(&identity), data);
                info!(room = %self.name, identity, by, "denied from the lobby");
                Ok(R::Done)
            }
            AdminOp::Invite { identity, name, expires_at } => {
                self.invites.insert(identity, Invite { name, expires_at });
                Ok(R::Done)
            }
            AdminOp::SendData { payload, to } => Ok(R::Delivered(self.send_data(None, payload, &to))),
        }
    }

    fn lobby_position(&self, identity: &str) -> Result<usize, AdminError> {
        self.lobby
            .iter()
            .position(|m| m.identity.0 == identity)
            .ok_or_else(|| AdminError::ParticipantNotFound(identity.into()))
    }

    /// Participants (oldest first), lobby members and unexpired invitees.
    fn all_views(&mut self) -> Vec<ParticipantView> {
        let now = unix_now();
        self.invites.retain(|_, i| i.expires_at > now);
        let mut views: Vec<ParticipantView> = self.participants.values().map(Participant::view).collect();
        // In joining order (then by identity), not the map's: lists and tables stay put.
        views.sort_by(|a, b| (&a.joined_at, &a.identity).cmp(&(&b.joined_at, &b.identity)));
        views.extend(self.lobby.iter().map(|m| m.view(CallState::Lobby, None, vec![], vec![], None)));
        views.extend(self.invites.iter().map(|(identity, invite)| ParticipantView {
            sid: String::new(),
            identity: identity.clone(),
            name: invite.name.clone().unwrap_or_else(|| identity.clone()),
            state: CallState::Invited.as_str(),
            disconnect_reason: None,
            joined_at: String::new(),
            permissions: Default::default(),
            metadata: serde_json::Value::Null,
            remote_address: None,
            tracks: vec![],
            subscriptions: vec![],
            connection_quality: "unknown",
            hand_raised: false,
            hand_raised_at: None,
        }));
        views
    }

    fn update_room(&mut self, patch: RoomPatch) -> Result<RoomView, AdminError> {
        let s = &mut self.settings;
        if let Some(v) = patch.max_participants {
            s.max_participants = v;
        }
        if let Some(v) = patch.lobby {
            s.lobby = v;
        }
        if let Some(v) = patch.allow_remote_unmute {
            s.allow_remote_unmute = v;
        }
        if let Some(v) = patch.empty_timeout_s {
            s.empty_timeout_s = v;
        }
        if let Some(v) = patch.metadata {
            s.metadata = v;
        }
        Ok(self.view())
    }

    fn participant_sid(&self, identity: &str) -> Result<ParticipantSid, AdminError> {
        self.find(identity).ok_or_else(|| AdminError::ParticipantNotFound(identity.into()))
    }

    fn view_of(&self, sid: &ParticipantSid) -> Result<ParticipantView, AdminError> {
        self.participants.get(sid).map(Participant::view).ok_or_else(|| AdminError::ParticipantNotFound(sid.0.clone()))
    }

    fn remove_by_moderator(&mut self, identity: &str, reason: Option<String>, ban: bool, by: &str) -> Result<(), AdminError> {
        let reason_text = reason.unwrap_or_else(|| DisconnectReason::Removed.as_str().into());
        if ban {
            self.bans.insert(identity.to_owned());
        }
        if let Ok(pos) = self.lobby_position(identity) {
            let m = self.lobby.remove(pos);
            self.revoked_tokens.insert(m.token_id.clone());
            let _ = m.send(ServerMessage::Removed { reason: reason_text });
            m.close(1000, DisconnectReason::Removed.as_str());
            self.inner.locations.remove(&m.sid);
            return Ok(());
        }
        let sid = match self.participant_sid(identity) {
            Ok(sid) => sid,
            // Banning someone who is not here is still a ban.
            Err(_) if ban => return Ok(()),
            Err(e) => return Err(e),
        };
        if let Some(p) = self.participants.get(&sid) {
            self.revoked_tokens.insert(p.member.token_id.clone());
        }
        info!(room = %self.name, identity, by, ban, "participant removed by a moderator");
        self.remove(&sid, DisconnectReason::Removed, Some(ServerMessage::Removed { reason: reason_text }), 1000);
        Ok(())
    }

    /// Server-enforced mute. Muting applies at once; unmuting applies at once only with
    /// `allow_remote_unmute` (or when the participant unmutes a track it muted itself),
    /// otherwise the participant is asked.
    pub(super) fn mute(&mut self, identity: &str, req: MuteRequest, by: &str) -> Result<ParticipantView, AdminError> {
        let sid = self.participant_sid(identity)?;
        let p = self.participants.get(&sid).ok_or_else(|| AdminError::ParticipantNotFound(identity.into()))?;
        let selected: Vec<TrackSid> = match (&req.track, &req.kind) {
            (Some(track), _) => {
                let t = p.tracks.get(&TrackSid(track.clone())).ok_or_else(|| AdminError::TrackNotFound(track.clone()))?;
                vec![t.sid.clone()]
            }
            (None, Some(kind)) => {
                let kind = parse_kind(kind)?;
                p.tracks.values().filter(|t| t.kind == kind).map(|t| t.sid.clone()).collect()
            }
            (None, None) => p.tracks.keys().cloned().collect(),
        };
        for track in selected {
            if req.muted {
                self.set_track_muted(&sid, &track, true, Some(by));
            } else if self.settings.allow_remote_unmute {
                self.set_track_muted(&sid, &track, false, Some(by));
            } else if let Some(t) = self.participants.get_mut(&sid).and_then(|p| p.tracks.get_mut(&track)) {
                if t.muted {
                    t.unmute_requested = true;
                    self.send_to(&sid, ServerMessage::UnmuteRequested { track, by: by.into() });
                }
            }
        }
        self.view_of(&sid)
    }

    /// Applies a mute state to one track: media, bookkeeping and `track_muted` to everyone.
    pub(super) fn set_track_muted(&mut self, sid: &ParticipantSid, track: &TrackSid, muted: bool, by: Option<&str>) {
        let Some(p) = self.participants.get_mut(sid) else { return };
        let on_hold = p.state == CallState::OnHold;
        let Some(t) = p.tracks.get_mut(track) else { return };
        if muted && by.is_none() && t.muted_by.is_some() {
            // The publisher muting a track a moderator muted changes nothing: the moderator's
            // mute (and its lock) stays.
            return;
        }
        let muted_by = if muted { by.map(str::to_owned) } else { None };
        if t.muted == muted && t.muted_by == muted_by {
            return;
        }
        t.muted = muted;
        t.muted_by = muted_by;
        t.unmute_requested = false;
        if !on_hold {
            self.inner.media.send(MediaCommand::SetSourceMuted { source: t.source_id, muted });
        }
        let identity = p.member.identity.0.clone();
        let (kind, locked_by) = (t.kind, t.muted_by.clone());
        // The lock of this kind lasts while any of its tracks is moderator-muted; it outlives
        // those tracks (that is its point) and ends when a moderator's unmute takes effect.
        let still_locked = p.tracks.values().any(|t| t.kind == kind && t.muted_by.is_some());
        match locked_by {
            Some(by) => _ = self.mute_locks.insert((identity.clone(), kind), by),
            None if !muted && !still_locked => _ = self.mute_locks.remove(&(identity.clone(), kind)),
            None => {}
        }
        let msg = ServerMessage::TrackMuted { participant: sid.clone(), track: track.clone(), muted, by: by.map(str::to_owned) };
        self.broadcast(None, msg);
        let kind = if muted { EventKind::TrackMuted } else { EventKind::TrackUnmuted };
        self.emit(kind, Some(&identity), serde_json::json!({ "track": track, "by": by }));
    }

    fn set_hold(&mut self, identity: &str, hold: bool, by: &str) -> Result<ParticipantView, AdminError> {
        let sid = self.participant_sid(identity)?;
        let p = self.participants.get_mut(&sid).ok_or_else(|| AdminError::ParticipantNotFound(identity.into()))?;
        let to = if hold { CallState::OnHold } else { CallState::Connected };
        if p.state == to {
            return Ok(p.view());
        }
        // Resume only ends a hold (Joining → Connected is the transport's job, not a moderator's).
        let allowed = if hold { p.state == CallState::Connected } else { p.state == CallState::OnHold };
        let transition = if allowed { p.state.transition(to) } else { Err(crate::call_state::IllegalTransition { from: p.state, to }) };
        transition.map_err(|_| {
            AdminError::Invalid(format!("{identity:?} is {} and cannot be {}", p.state.as_str(), if hold { "held" } else { "resumed" }))
        })?;
        for t in p.tracks.values() {
            if !t.muted {
                self.inner.media.send(MediaCommand::SetSourceMuted { source: t.source_id, muted: hold });
            }
        }
        if p.member.permissions.can_subscribe {
            self.inner.media.send(MediaCommand::SetSubscriberPaused { subscriber: p.subscriber, paused: hold });
        }
        info!(room = %self.name, identity, by, hold, "hold changed");
        let data = serde_json::json!({ "sid": sid, "state": to.as_str(), "by": by });
        self.emit(EventKind::ParticipantStateChanged, Some(identity), data);
        let msg = if hold { ServerMessage::OnHold { by: by.into() } } else { ServerMessage::Resumed { by: by.into() } };
        self.send_to(&sid, msg);
        self.announce_update(&sid);
        self.view_of(&sid)
    }

    fn update_participant(&mut self, identity: &str, patch: ParticipantPatch) -> Result<ParticipantView, AdminError> {
        if patch.hand_raised == Some(true) {
            return Err(AdminError::Invalid("only the participant can raise its hand; send hand_raised: false to lower it".into()));
        }
        let sid = self.participant_sid(identity)?;
        let p = self.participants.get_mut(&sid).ok_or_else(|| AdminError::ParticipantNotFound(identity.into()))?;
        if let Some(name) = patch.name {
            if name.trim().is_empty() || name.len() > 128 {
                return Err(AdminError::Invalid("name must be 1–128 characters".into()));
            }
            p.member.name = name;
        }
        if let Some(metadata) = patch.metadata {
            p.member.metadata = metadata;
        }
        if patch.hand_raised == Some(false) {
            p.hand_raised_at = None;
        }
        if let Some(perms) = patch.permissions {
            let old = std::mem::replace(&mut p.member.permissions, perms.clone());
            self.apply_permission_change(&sid, &old, &perms);
        }
        self.participant_changed(&sid)
    }

    /// Raises or lowers a participant's hand (its own `set_hand_raised`); a no-op when unchanged.
    pub(super) fn set_hand_raised(&mut self, sid: &ParticipantSid, raised: bool) {
        let Some(p) = self.participants.get_mut(sid) else { return };
        if p.hand_raised_at.is_some() == raised {
            return;
        }
        p.hand_raised_at = raised.then(|| humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string());
        info!(room = %self.name, participant = %sid, raised, "hand changed");
        let _ = self.participant_changed(sid);
    }

    /// Tells the room and the event stream that a participant changed, and returns its view.
    fn participant_changed(&mut self, sid: &ParticipantSid) -> Result<ParticipantView, AdminError> {
        self.announce_update(sid);
        let view = self.view_of(sid)?;
        self.emit(EventKind::ParticipantUpdated, Some(&view.identity), serde_json::to_value(&view).unwrap_or_default());
        Ok(view)
    }

    /// Makes a permission change take effect at once: tracks withdrawn or republished,
    /// forwarding to the participant paused or resumed.
    fn apply_permission_change(&mut self, sid: &ParticipantSid, old: &crate::Permissions, new: &crate::Permissions) {
        let Some(p) = self.participants.get_mut(sid) else { return };
        let (subscriber, on_hold) = (p.subscriber, p.state == CallState::OnHold);
        let revoke: Vec<Track> = p.tracks.values().filter(|t| !new.may_publish(&t.source)).cloned().collect();
        for t in &revoke {
            p.tracks.remove(&t.sid);
        }
        p.withheld.extend(revoke.iter().cloned());
        let (grant, keep): (Vec<Track>, Vec<Track>) = std::mem::take(&mut p.withheld).into_iter().partition(|t| new.may_publish(&t.source));
        p.withheld = keep;
        for t in &grant {
            p.tracks.insert(t.sid.clone(), t.clone());
        }
        for t in &revoke {
            self.inner.media.send(MediaCommand::SetSourceMuted { source: t.source_id, muted: true });
            self.withdraw_track(sid, t);
        }
        for t in &grant {
            if !t.muted && !on_hold {
                self.inner.media.send(MediaCommand::SetSourceMuted { source: t.source_id, muted: false });
            }
            self.sources.insert(t.source_id, (sid.clone(), t.sid.clone()));
            self.offer_track(sid, t);
        }
        if old.can_subscribe != new.can_subscribe && !on_hold {
            self.inner.media.send(MediaCommand::SetSubscriberPaused { subscriber, paused: !new.can_subscribe });
        }
    }

    /// Sends `payload` to everyone (or the listed identities) except the sender; returns how many.
    pub(super) fn send_data(&mut self, from: Option<&ParticipantSid>, payload: serde_json::Value, to: &[String]) -> usize {
        let from_identity = from.and_then(|s| self.participants.get(s)).map(|p| p.member.identity.0.clone());
        let recipients: Vec<ParticipantSid> = self
            .participants
            .values()
            .filter(|p| Some(&p.member.sid) != from)
            .filter(|p| to.is_empty() || to.contains(&p.member.identity.0))
            .map(|p| p.member.sid.clone())
            .collect();
        for sid in &recipients {
            self.send_to(sid, ServerMessage::Data { from: from_identity.clone(), payload: payload.clone() });
        }
        recipients.len()
    }
}
