//! One room's task: the single owner of the room's participants, lobby, invites, bans and tracks.
//!
//! Everything that changes a room arrives as a [`RoomCommand`] (joins, client messages,
//! disconnects, media events, moderation), so the room needs no locks. The task ends when the
//! room has been empty for its `empty_timeout_s`, or is ended, after removing itself from the
//! conference registry. Membership lives in `membership.rs`, moderation in `moderation.rs`,
//! client messages in `client.rs` and media events in `media_events.rs`.

mod client;
mod media_events;
mod membership;
mod moderation;
mod speakers;
mod stats;

use crate::admin::{AdminError, AdminOp, AdminReply, RoomSettings, RoomView};
use crate::call_state::DisconnectReason;
use crate::conference::{Inner, JoinError, JoinRequest};
use crate::events::EventKind;
use crate::ids::{random_sid, ParticipantSid, RoomName, TrackSid};
use crate::participant::{Member, Participant};
use crate::protocol::{ClientMessage, Outbound, RoomInfo, ServerMessage};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use switchboard_media::{MediaEvent, MediaKind, PeerId, SourceId};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{info, warn};

pub(crate) use membership::MovedParticipant;

/// What a room task is asked to do.
pub(crate) enum RoomCommand {
    Join {
        request: JoinRequest,
        out: mpsc::Sender<Outbound>,
        reply: oneshot::Sender<Result<ParticipantSid, JoinError>>,
    },
    Client {
        sid: ParticipantSid,
        msg: ClientMessage,
    },
    Disconnected {
        sid: ParticipantSid,
        reason: DisconnectReason,
    },
    Media(MediaEvent),
    Admin {
        op: AdminOp,
        by: String,
        reply: oneshot::Sender<Result<AdminReply, AdminError>>,
    },
    MoveIn(Box<MovedParticipant>),
    GoingAway {
        deadline_s: u64,
    },
    Stats(Vec<switchboard_media::PeerStats>),
    View {
        reply: oneshot::Sender<RoomView>,
    },
    Count {
        reply: oneshot::Sender<RoomCounts>,
    },
}

/// What a room contributes to the conference snapshot.
#[derive(Default)]
pub(crate) struct RoomCounts {
    pub(crate) participants: usize,
    pub(crate) tracks: usize,
    pub(crate) by_state: Vec<(&'static str, usize)>,
}

/// An invite not yet used.
struct Invite {
    name: Option<String>,
    expires_at: u64,
}

pub(crate) struct Room {
    name: RoomName,
    sid: String,
    created_at: String,
    settings: RoomSettings,
    inner: Arc<Inner>,
    participants: HashMap<ParticipantSid, Participant>,
    lobby: Vec<Member>,
    invites: HashMap<String, Invite>,
    bans: BTreeSet<String>,
    /// Token ids of removed participants: that token no longer admits to this room.
    revoked_tokens: HashSet<String>,
    /// Source → (publisher, track), for media events.
    sources: HashMap<SourceId, (ParticipantSid, TrackSid)>,
    /// Media peer → owner, for media events.
    peers: HashMap<PeerId, ParticipantSid>,
    /// Moderator mutes by (identity, kind) → moderator: an audio (video) track the identity
    /// publishes later (after a rejoin, a reload, a new device) starts muted and locked, until a
    /// moderator's unmute takes effect. By kind, not by source name, because the client names its
    /// sources and could rename its way out of a lock.
    mute_locks: HashMap<(String, MediaKind), String>,
    /// Media events of peers moving into this room that arrived before the participant did
    /// (see `Room::on_media`), replayed by `move_in`.
    arriving: Vec<(PeerId, MediaEvent)>,
    empty_since: Option<Instant>,
    ended: bool,
    started: Instant,
    peak_participants: usize,
    speakers: speakers::Speakers,
}

impl Room {
    pub(crate) fn new(name: RoomName, settings: RoomSettings, inner: Arc<Inner>) -> Self {
        Self {
            name,
            sid: random_sid("RM"),
            created_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            settings,
            inner,
            participants: HashMap::new(),
            lobby: Vec::new(),
            invites: HashMap::new(),
            bans: BTreeSet::new(),
            revoked_tokens: HashSet::new(),
            sources: HashMap::new(),
            peers: HashMap::new(),
            mute_locks: HashMap::new(),
            arriving: Vec::new(),
            empty_since: Some(Instant::now()),
            ended: false,
            started: Instant::now(),
            peak_participants: 0,
            speakers: Default::default(),
        }
    }

    pub(crate) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<RoomCommand>) {
        info!(room = %self.name, "room opened");
        self.emit(EventKind::RoomStarted, None, serde_json::to_value(&self.settings).unwrap_or_default());
        loop {
            let timeout = Duration::from_secs(self.settings.empty_timeout_s);
            let deadline = self.empty_since.map(|t| t + timeout);
            let expired = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(cmd) => self.handle(cmd),
                    None => break,
                },
                () = expired => self.ended = true,
                () = self.inner.shutdown.cancelled() => {
                    self.disconnect_all(DisconnectReason::ServerShutdown, 1001);
                    self.ended = true;
                }
            }
            if self.ended {
                // Close the channel first, so a join racing with us fails and retries on a new
                // room; handle what was already queued; then drop our (closed) registry entry.
                commands.close();
                while let Some(cmd) = commands.recv().await {
                    self.handle(cmd);
                }
                self.disconnect_all(DisconnectReason::RoomEnded, 1000);
                self.inner.rooms.remove_if(&self.name, |_, tx| tx.is_closed());
                break;
            }
        }
        let data = serde_json::json!({
            "duration_s": self.started.elapsed().as_secs_f64(),
            "peak_participants": self.peak_participants,
        });
        self.emit(EventKind::RoomEnded, None, data);
        info!(room = %self.name, "room closed");
    }

    fn handle(&mut self, cmd: RoomCommand) {
        match cmd {
            RoomCommand::Join { request, out, reply } => {
                let _ = reply.send(self.join(request, out));
            }
            RoomCommand::Client { sid, msg } => self.on_client(&sid, msg),
            RoomCommand::Disconnected { sid, reason } => self.remove(&sid, reason, None, 1000),
            RoomCommand::Media(ev) => self.on_media_routed(ev),
            RoomCommand::Admin { op, by, reply } => {
                let _ = reply.send(self.on_admin(op, &by));
            }
            RoomCommand::MoveIn(moved) => self.move_in(*moved),
            RoomCommand::GoingAway { deadline_s } => {
                self.broadcast(None, ServerMessage::GoingAway { deadline_s });
                for m in &self.lobby {
                    let _ = m.send(ServerMessage::GoingAway { deadline_s });
                }
            }
            RoomCommand::Stats(samples) => self.on_stats(samples),
            RoomCommand::View { reply } => {
                let _ = reply.send(self.view());
            }
            RoomCommand::Count { reply } => {
                let mut by_state: HashMap<&'static str, usize> = HashMap::new();
                for p in self.participants.values() {
                    *by_state.entry(p.state.as_str()).or_default() += 1;
                }
                if !self.lobby.is_empty() {
                    by_state.insert("lobby", self.lobby.len());
                }
                let _ = reply.send(RoomCounts {
                    participants: self.participants.len(),
                    tracks: self.participants.values().map(|p| p.tracks.len()).sum(),
                    by_state: by_state.into_iter().collect(),
                });
            }
        }
        self.update_empty();
    }

    fn emit(&self, kind: EventKind, participant: Option<&str>, data: serde_json::Value) {
        self.inner.options.events.emit(kind, &self.name.0, &self.sid, participant, data);
    }

    fn update_empty(&mut self) {
        self.peak_participants = self.peak_participants.max(self.participants.len());
        let empty = self.participants.is_empty() && self.lobby.is_empty();
        match (empty, self.empty_since) {
            (true, None) => self.empty_since = Some(Instant::now()),
            (false, Some(_)) => self.empty_since = None,
            _ => {}
        }
    }

    fn info(&self) -> RoomInfo {
        RoomInfo { name: self.name.0.clone(), sid: self.sid.clone() }
    }

    fn view(&self) -> RoomView {
        RoomView {
            name: self.name.0.clone(),
            sid: self.sid.clone(),
            created_at: self.created_at.clone(),
            num_participants: self.participants.len(),
            num_waiting: self.lobby.len(),
            active_speaker: self.active_speaker(),
            settings: self.settings.clone(),
        }
    }

    fn find(&self, identity: &str) -> Option<ParticipantSid> {
        self.participants.values().find(|p| p.member.identity.0 == identity).map(|p| p.member.sid.clone())
    }

    /// Sends to everyone (but `except`) who may see `about` (hidden participants are not seen);
    /// participants that cannot keep up are removed.
    fn broadcast(&mut self, except: Option<&ParticipantSid>, msg: ServerMessage) {
        let stuck: Vec<ParticipantSid> = self
            .participants
            .values()
            .filter(|p| Some(&p.member.sid) != except)
            .filter(|p| p.send(msg.clone()).is_err())
            .map(|p| p.member.sid.clone())
            .collect();
        for sid in stuck {
            warn!(room = %self.name, participant = %sid, "signalling queue full; disconnecting");
            self.remove(&sid, DisconnectReason::Error, None, 1011);
        }
    }

    fn send_to(&mut self, sid: &ParticipantSid, msg: ServerMessage) {
        let failed = self.participants.get(sid).is_some_and(|p| p.send(msg).is_err());
        if failed {
            self.remove(sid, DisconnectReason::Error, None, 1011);
        }
    }

    /// Tells everyone (the participant too) that a participant changed.
    fn announce_update(&mut self, sid: &ParticipantSid) {
        if let Some(p) = self.participants.get(sid) {
            let msg = ServerMessage::ParticipantUpdated { participant: p.info() };
            if p.member.permissions.hidden {
                self.send_to(sid, msg);
            } else {
                self.broadcast(None, msg);
            }
        }
    }

    fn disconnect_all(&mut self, reason: DisconnectReason, code: u16) {
        for sid in self.participants.keys().cloned().collect::<Vec<_>>() {
            let notice = ServerMessage::Removed { reason: reason.as_str().into() };
            self.remove(&sid, reason, Some(notice), code);
        }
        for m in std::mem::take(&mut self.lobby) {
            let _ = m.send(ServerMessage::Removed { reason: reason.as_str().into() });
            m.close(code, reason.as_str());
            self.inner.locations.remove(&m.sid);
        }
    }
}
