//! Resume: a participant whose connection is lost stays in the room, `reconnecting`, instead of
//! leaving. Its WebSocket ending without a `leave` starts its resume window
//! (`resume_window_s`); its media transport going quiet (ICE `disconnected`) shows the same state
//! until the media is back or ICE fails. A new connection that presents the resume token of its
//! `joined` takes the old one's place: same sid, call state, tracks, subscriptions, permissions,
//! mute locks, hand and media peers; the client gets `joined` with `resumed: true` and keeps its
//! PeerConnections. Only when the window passes does the participant leave (reason `timeout`).
//! Lobby members do not resume: they leave as before.

use super::Room;
use crate::call_state::{CallState, DisconnectReason};
use crate::events::EventKind;
use crate::ids::{Identity, ParticipantSid};
use crate::protocol::{Outbound, ServerMessage, PROTOCOL_VERSION};
use switchboard_media::PeerId;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::info;

/// What a `reconnecting` participant lost, and the state it goes back to.
#[derive(Debug, Clone)]
pub(crate) struct Lost {
    /// Its WebSocket ended: messages to it are dropped until a resume.
    pub(crate) connection: bool,
    /// Its media peers whose ICE is `disconnected`.
    pub(crate) media: Vec<PeerId>,
    /// The call state before the loss.
    pub(crate) was: CallState,
    /// It leaves at this time unless resumed (set by a connection loss; a media loss alone ends
    /// when ICE fails).
    pub(crate) until: Option<Instant>,
}

/// Close code of a participant the server lost and removed (ICE failed, or its resume window
/// passed): not final for a client, which joins again as a new participant.
pub(crate) const CLOSE_LOST: u16 = 4010;

/// Why a resume was refused: the participant is gone or the token is not its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotResumable;

impl Room {
    /// Connection `connection` of `sid` ended without a `leave`: lost (`resumable`), or closed on
    /// purpose (the client's close frame, a protocol violation), which is a leave.
    pub(super) fn on_disconnected(&mut self, sid: &ParticipantSid, connection: u64, reason: DisconnectReason, resumable: bool) {
        let Some(p) = self.participants.get(sid) else {
            // A lobby member (or nobody any more): it leaves.
            return self.remove(sid, reason, None, 1000);
        };
        if p.member.connection != connection {
            return; // the end of a connection that a resume already replaced
        }
        let window = self.shared.options.resume_window;
        if window.is_zero() || !resumable {
            return self.remove(sid, reason, None, 1000);
        }
        let until = Instant::now().checked_add(window);
        self.lose(sid, |lost| {
            lost.connection = true;
            lost.until = until;
        });
    }

    /// A media peer of `sid` went `disconnected` (no ICE traffic for a while).
    pub(super) fn on_media_lost(&mut self, sid: &ParticipantSid, peer: PeerId) {
        self.lose(sid, |lost| {
            if !lost.media.contains(&peer) {
                lost.media.push(peer);
            }
        });
    }

    /// A media peer of `sid` is connected (again).
    pub(super) fn on_media_back(&mut self, sid: &ParticipantSid, peer: PeerId) {
        let Some(lost) = self.participants.get_mut(sid).and_then(|p| p.lost.as_mut()) else { return };
        lost.media.retain(|p| *p != peer);
        if !lost.connection && lost.media.is_empty() {
            self.restore(sid);
        }
    }

    /// Marks `sid` `reconnecting` (if it is not yet) and records what was lost.
    fn lose(&mut self, sid: &ParticipantSid, what: impl FnOnce(&mut Lost)) {
        let Some(p) = self.participants.get_mut(sid) else { return };
        let newly = p.lost.is_none();
        if newly {
            if !p.state.can_become(CallState::Reconnecting) {
                return;
            }
            p.lost = Some(Lost { connection: false, media: Vec::new(), was: p.state, until: None });
            p.state = CallState::Reconnecting;
        }
        if let Some(lost) = p.lost.as_mut() {
            what(lost);
        }
        if newly {
            let identity = p.member.identity.clone();
            info!(room = %self.name, participant = %sid, "participant reconnecting");
            self.announce_update(sid);
            self.emit(EventKind::ParticipantStateChanged, Some(&identity), serde_json::json!({ "sid": sid, "state": "reconnecting" }));
        }
    }

    /// `sid` is whole again: back to the state it had.
    fn restore(&mut self, sid: &ParticipantSid) {
        let Some(p) = self.participants.get_mut(sid) else { return };
        let Some(lost) = p.lost.take() else { return };
        if p.state.transition(lost.was).is_err() {
            return;
        }
        let (identity, state) = (p.member.identity.clone(), p.state.as_str());
        info!(room = %self.name, participant = %sid, state, "participant back");
        self.announce_update(sid);
        self.emit(EventKind::ParticipantStateChanged, Some(&identity), serde_json::json!({ "sid": sid, "state": state, "resumed": true }));
    }

    /// When the earliest resume window ends.
    pub(super) fn next_resume_deadline(&self) -> Option<Instant> {
        self.participants.iter().filter_map(|p| p.lost.as_ref()?.until).min()
    }

    /// Removes everyone whose resume window has passed.
    pub(super) fn expire_resume_windows(&mut self, now: Instant) {
        let expired: Vec<ParticipantSid> = self
            .participants
            .iter()
            .filter(|p| p.lost.as_ref().and_then(|l| l.until).is_some_and(|t| t <= now))
            .map(|p| p.member.sid.clone())
            .collect();
        for sid in expired {
            info!(room = %self.name, participant = %sid, "resume window passed");
            self.remove(&sid, DisconnectReason::Timeout, None, CLOSE_LOST);
        }
    }

    /// Connection `connection` (writing to `out`) presents `token` for `sid` with a token for
    /// `identity`: it takes the participant's place and gets `joined` with `resumed: true`.
    pub(super) fn resume(
        &mut self,
        sid: &ParticipantSid,
        token: &str,
        identity: &Identity,
        connection: u64,
        out: mpsc::Sender<Outbound>,
    ) -> Result<(), NotResumable> {
        let p = self.participants.get_mut(sid).ok_or(NotResumable)?;
        if p.resume_token != token || &p.member.identity != identity {
            return Err(NotResumable);
        }
        // The old connection (if the server had not noticed its end) closes when its queue does.
        p.member.out = out;
        p.member.connection = connection;
        let media_lost = match p.lost.as_mut() {
            Some(lost) => {
                lost.connection = false;
                lost.until = None;
                !lost.media.is_empty()
            }
            None => false,
        };
        let offer = p.unanswered_offer.clone();
        info!(room = %self.name, participant = %sid, "participant resumed");
        let joined = self.joined_message(sid, true);
        if let Some(msg) = joined {
            self.send_to(sid, msg);
        }
        if let Some(sdp) = offer {
            self.send_to(sid, ServerMessage::SubscribeOffer { sdp });
        }
        if !media_lost {
            self.restore(sid);
        }
        Ok(())
    }

    /// The `joined` message of participant `sid`: the room, itself, everyone it may see.
    pub(super) fn joined_message(&self, sid: &ParticipantSid, resumed: bool) -> Option<ServerMessage> {
        let p = self.participants.get(sid)?;
        let mut participant = p.info();
        if resumed {
            // It is back: what it is told is the state it returns to.
            if let Some(lost) = p.lost.as_ref().filter(|l| l.media.is_empty()) {
                participant.state = lost.was.as_str();
            }
        }
        Some(ServerMessage::Joined {
            protocol: PROTOCOL_VERSION,
            room: self.info(),
            participant,
            participants: self.visible_infos().into_iter().filter(|i| &i.sid != sid).collect(),
            ice_servers: Vec::new(),
            resume_token: p.resume_token.clone(),
            resume_window_s: self.shared.options.resume_window.as_secs(),
            resumed,
        })
    }
}
