//! What moderation does to a room's participants: server-enforced mute (the policy itself is
//! `mute_locks.rs`), hold and resume, live changes of name, metadata, permissions and raised
//! hands, removal, and data messages. The admin operations (`ops.rs`) and in-room `moderate`
//! call these.

use super::participant::{Participant, Track};
use super::Room;
use crate::admin::ops::{MuteRequest, ParticipantPatch};
use crate::admin::{AdminError, ParticipantView};
use crate::call_state::{CallState, DisconnectReason, IllegalTransition};
use crate::events::EventKind;
use crate::ids::{Identity, ParticipantSid, TrackSid};
use crate::permissions::Permissions;
use crate::protocol::ServerMessage;
use switchboard_media::MediaCommand;
use tracing::info;

impl Room {
    pub(super) fn participant_sid(&self, identity: &Identity) -> Result<ParticipantSid, AdminError> {
        self.participants.find(identity).ok_or_else(|| AdminError::ParticipantNotFound(identity.to_string()))
    }

    pub(super) fn view_of(&self, sid: &ParticipantSid) -> Result<ParticipantView, AdminError> {
        self.participants.get(sid).map(Participant::view).ok_or_else(|| AdminError::ParticipantNotFound(sid.0.clone()))
    }

    /// Removes a participant or lobby member on a moderator's word; its token stops admitting
    /// anyone, and `ban` keeps the identity out (even one that is not here).
    pub(super) fn remove_by_moderator(&mut self, identity: &Identity, reason: Option<String>, ban: bool, by: &Identity) -> Result<(), AdminError> {
        let reason_text = reason.unwrap_or_else(|| DisconnectReason::Removed.as_str().into());
        if ban {
            self.bans.ban(identity.clone());
        }
        if let Some(m) = self.lobby.take_identity(identity) {
            self.bans.revoke_token(&m.token_id);
            let _ = m.send(ServerMessage::Removed { reason: reason_text });
            m.close(1000, DisconnectReason::Removed.as_str());
            self.shared.locations.remove(&m.sid);
            return Ok(());
        }
        let sid = match self.participant_sid(identity) {
            Ok(sid) => sid,
            // Banning someone who is not here is still a ban.
            Err(_) if ban => return Ok(()),
            Err(e) => return Err(e),
        };
        if let Some(p) = self.participants.get(&sid) {
            self.bans.revoke_token(&p.member.token_id);
        }
        info!(room = %self.name, %identity, %by, ban, "participant removed by a moderator");
        self.remove(&sid, DisconnectReason::Removed, Some(ServerMessage::Removed { reason: reason_text }), 1000);
        Ok(())
    }

    /// Server-enforced mute. Muting applies at once; unmuting applies at once only with
    /// `allow_remote_unmute`, otherwise the participant is asked.
    pub(super) fn mute(&mut self, identity: &Identity, req: &MuteRequest, by: &Identity) -> Result<ParticipantView, AdminError> {
        let sid = self.participant_sid(identity)?;
        let p = self.participants.get(&sid).ok_or_else(|| AdminError::ParticipantNotFound(identity.to_string()))?;
        let selected: Vec<TrackSid> = match (&req.track, req.kind) {
            (Some(track), _) => {
                let t = p.tracks.get(track).ok_or_else(|| AdminError::TrackNotFound(track.0.clone()))?;
                vec![t.sid.clone()]
            }
            (None, Some(kind)) => p.tracks.values().filter(|t| t.kind == kind).map(|t| t.sid.clone()).collect(),
            (None, None) => p.tracks.keys().cloned().collect(),
        };
        for track in selected {
            if req.muted || self.settings.allow_remote_unmute {
                self.set_track_muted(&sid, &track, req.muted, Some(by));
            } else if let Some(t) = self.participants.get_mut(&sid).and_then(|p| p.tracks.get_mut(&track)) {
                if t.mute.request_unmute() {
                    self.send_to(&sid, ServerMessage::UnmuteRequested { track, by: by.to_string() });
                }
            }
        }
        self.view_of(&sid)
    }

    /// Applies a mute state to one track as `by` (a moderator; `None`: the publisher) asks:
    /// media, the mute lock of its kind, and `track_muted` to everyone.
    pub(super) fn set_track_muted(&mut self, sid: &ParticipantSid, track: &TrackSid, muted: bool, by: Option<&Identity>) {
        let Some(p) = self.participants.get_mut(sid) else { return };
        let on_hold = p.state == CallState::OnHold;
        let Some(t) = p.tracks.get_mut(track) else { return };
        if !t.mute.set(muted, by) {
            return;
        }
        if !on_hold {
            self.shared.media.send(MediaCommand::SetSourceMuted { source: t.source_id, muted });
        }
        let (kind, mute) = (t.kind, t.mute.clone());
        let still_locked = p.tracks.values().any(|t| t.kind == kind && t.mute.muted_by.is_some());
        let identity = p.member.identity.clone();
        self.mute_locks.track_changed(&identity, kind, &mute, still_locked);
        let by_text = by.map(|b| b.to_string());
        let msg = ServerMessage::TrackMuted { participant: sid.clone(), track: track.clone(), muted, by: by_text.clone() };
        self.broadcast(None, msg);
        let kind = if muted { EventKind::TrackMuted } else { EventKind::TrackUnmuted };
        self.emit(kind, Some(&identity), serde_json::json!({ "track": track, "by": by_text }));
    }

    pub(super) fn set_hold(&mut self, identity: &Identity, hold: bool, by: &Identity) -> Result<ParticipantView, AdminError> {
        let sid = self.participant_sid(identity)?;
        let p = self.participants.get_mut(&sid).ok_or_else(|| AdminError::ParticipantNotFound(identity.to_string()))?;
        let to = if hold { CallState::OnHold } else { CallState::Connected };
        if p.state == to {
            return Ok(p.view());
        }
        // Resume only ends a hold (Joining → Connected is the transport's job, not a moderator's).
        let allowed = if hold { p.state == CallState::Connected } else { p.state == CallState::OnHold };
        let transition = if allowed { p.state.transition(to) } else { Err(IllegalTransition { from: p.state, to }) };
        transition.map_err(|_| {
            AdminError::Invalid(format!("{identity:?} is {} and cannot be {}", p.state.as_str(), if hold { "held" } else { "resumed" }))
        })?;
        for t in p.tracks.values() {
            if !t.mute.muted {
                self.shared.media.send(MediaCommand::SetSourceMuted { source: t.source_id, muted: hold });
            }
        }
        if p.member.permissions.can_subscribe {
            self.shared.media.send(MediaCommand::SetSubscriberPaused { subscriber: p.subscriber, paused: hold });
        }
        info!(room = %self.name, %identity, %by, hold, "hold changed");
        let data = serde_json::json!({ "sid": sid, "state": to.as_str(), "by": by });
        self.emit(EventKind::ParticipantStateChanged, Some(identity), data);
        let by = by.to_string();
        let msg = if hold { ServerMessage::OnHold { by } } else { ServerMessage::Resumed { by } };
        self.send_to(&sid, msg);
        self.announce_update(&sid);
        self.view_of(&sid)
    }

    pub(super) fn update_participant(&mut self, identity: &Identity, patch: ParticipantPatch) -> Result<ParticipantView, AdminError> {
        if patch.hand_raised == Some(true) {
            return Err(AdminError::Invalid("only the participant can raise its hand; send hand_raised: false to lower it".into()));
        }
        let sid = self.participant_sid(identity)?;
        let p = self.participants.get_mut(&sid).ok_or_else(|| AdminError::ParticipantNotFound(identity.to_string()))?;
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
        let identity = self.participants.get(sid).map(|p| p.member.identity.clone());
        self.emit(EventKind::ParticipantUpdated, identity.as_ref(), serde_json::to_value(&view).unwrap_or_default());
        Ok(view)
    }

    /// Makes a permission change take effect at once: tracks withdrawn or republished,
    /// forwarding to the participant paused or resumed.
    fn apply_permission_change(&mut self, sid: &ParticipantSid, old: &Permissions, new: &Permissions) {
        let Some(p) = self.participants.get_mut(sid) else { return };
        let (subscriber, on_hold, identity) = (p.subscriber, p.state == CallState::OnHold, p.member.identity.clone());
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
            self.shared.media.send(MediaCommand::SetSourceMuted { source: t.source_id, muted: true });
            self.withdraw_track(sid, &identity, t);
        }
        for t in &grant {
            if !t.mute.muted && !on_hold {
                self.shared.media.send(MediaCommand::SetSourceMuted { source: t.source_id, muted: false });
            }
            self.participants.index_source(t.source_id, sid, &t.sid);
            self.offer_track(sid, t);
        }
        if old.can_subscribe != new.can_subscribe && !on_hold {
            self.shared.media.send(MediaCommand::SetSubscriberPaused { subscriber, paused: !new.can_subscribe });
        }
    }

    /// Sends `payload` to everyone (or the listed identities) except the sender; returns how many.
    pub(super) fn send_data(&mut self, from: Option<&ParticipantSid>, payload: serde_json::Value, to: &[Identity]) -> usize {
        let from_identity = from.and_then(|s| self.participants.get(s)).map(|p| p.member.identity.to_string());
        let recipients: Vec<ParticipantSid> = self
            .participants
            .iter()
            .filter(|p| Some(&p.member.sid) != from)
            .filter(|p| to.is_empty() || to.contains(&p.member.identity))
            .map(|p| p.member.sid.clone())
            .collect();
        for sid in &recipients {
            self.send_to(sid, ServerMessage::Data { from: from_identity.clone(), payload: payload.clone() });
        }
        recipients.len()
    }
}
