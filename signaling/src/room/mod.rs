//! One room's task: the single owner of the room's participants, lobby, invites, bans, mute
//! locks and tracks.
//!
//! Everything that changes a room arrives as a [`RoomCommand`] (joins, client messages,
//! disconnects, media events, moderation), so the room needs no locks. The task ends when the
//! room has been empty for its `empty_timeout_s`, or is ended, after removing itself from the
//! registry. The room's parts are plain types of their own (`participants`, `lobby`, `invites`,
//! `bans`, `mute_locks`, `speakers`); what the room does with them is split by concern:
//! `membership` (join, leave, move), `moderation` (mute, hold, permissions, data), `ops` (the
//! admin operations), `client` (client messages), `media_events` and `stats`.

mod bans;
mod client;
mod invites;
mod lobby;
mod media_events;
mod membership;
mod moderation;
mod mute_locks;
mod ops;
mod participant;
mod participants;
mod resume;
mod speakers;
mod stats;

use crate::admin::{RoomSettings, RoomView};
use crate::call_state::DisconnectReason;
use crate::events::EventKind;
use crate::ids::{random_sid, Identity, ParticipantSid, RoomName};
use crate::join::{JoinError, JoinRequest};
use crate::protocol::{Outbound, ParticipantInfo, RoomInfo, ServerMessage};
use crate::registry::Registry;
use bans::Bans;
use invites::Invites;
use lobby::Lobby;
use media_events::Arriving;
use mute_locks::MuteLocks;
use participants::Participants;
use speakers::Speakers;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use switchboard_media::{MediaEvent, PeerStats};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{info, warn};

pub(crate) use membership::MovedParticipant;
pub use ops::AdminOp;
pub(crate) use ops::task;

/// The registry of a conference whose rooms are these.
pub(crate) type Shared = Arc<Registry<RoomCommand>>;

/// An admin operation on its way to a room, with its reply channel inside (see `ops.rs`).
pub(crate) type AdminTask = Box<dyn FnOnce(&mut Room) + Send>;

/// What a room task is asked to do.
pub(crate) enum RoomCommand {
    Join {
        request: JoinRequest,
        connection: u64,
        out: mpsc::Sender<Outbound>,
        reply: oneshot::Sender<Result<ParticipantSid, JoinError>>,
    },
    /// A new connection presents participant `sid`'s resume token.
    Resume {
        sid: ParticipantSid,
        token: String,
        identity: Identity,
        connection: u64,
        out: mpsc::Sender<Outbound>,
        reply: oneshot::Sender<bool>,
    },
    Client {
        sid: ParticipantSid,
        msg: crate::protocol::ClientMessage,
    },
    /// Connection `connection` of `sid` ended without a `leave`; `resumable` unless it was
    /// closed on purpose.
    Disconnected {
        sid: ParticipantSid,
        connection: u64,
        reason: DisconnectReason,
        resumable: bool,
    },
    Media(MediaEvent),
    Admin(AdminTask),
    MoveIn(Box<MovedParticipant>),
    GoingAway {
        deadline_s: u64,
    },
    Stats(Vec<PeerStats>),
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

/// When the room started, since when it is empty, whether it ended, and its peak size.
struct Lifetime {
    started: Instant,
    empty_since: Option<Instant>,
    ended: bool,
    peak_participants: usize,
}

/// One room (the state its task owns). Public only so that [`AdminOp`] can name it; nothing
/// outside the crate can reach it.
pub struct Room {
    name: RoomName,
    sid: String,
    created_at: String,
    settings: RoomSettings,
    shared: Shared,
    participants: Participants,
    lobby: Lobby,
    invites: Invites,
    bans: Bans,
    mute_locks: MuteLocks,
    /// Media events of peers moving into this room that arrived before their participant.
    arriving: Arriving,
    speakers: Speakers,
    life: Lifetime,
}

/// Starts the task of a new room `name` and registers nothing: the caller inserts the returned
/// channel into the registry.
pub(crate) fn spawn(shared: &Shared, name: &RoomName, settings: RoomSettings) -> mpsc::UnboundedSender<RoomCommand> {
    let (tx, rx) = mpsc::unbounded_channel();
    shared.tasks.spawn(Room::new(name.clone(), settings, shared.clone()).run(rx));
    tx
}

/// The channel of room `name`, creating the room (with `settings` or the defaults) if needed.
pub(crate) fn open(shared: &Shared, name: &RoomName, settings: Option<RoomSettings>) -> mpsc::UnboundedSender<RoomCommand> {
    shared
        .rooms
        .entry(name.clone())
        .or_insert_with(|| spawn(shared, name, settings.unwrap_or_else(|| shared.options.default_room.clone())))
        .clone()
}

impl Room {
    fn new(name: RoomName, settings: RoomSettings, shared: Shared) -> Self {
        let now = Instant::now();
        Self {
            name,
            sid: random_sid("RM"),
            created_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            settings,
            shared,
            participants: Participants::default(),
            lobby: Lobby::default(),
            invites: Invites::default(),
            bans: Bans::default(),
            mute_locks: MuteLocks::default(),
            arriving: Arriving::default(),
            speakers: Speakers::default(),
            life: Lifetime { started: now, empty_since: Some(now), ended: false, peak_participants: 0 },
        }
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<RoomCommand>) {
        info!(room = %self.name, "room opened");
        self.emit(EventKind::RoomStarted, None, serde_json::to_value(&self.settings).unwrap_or_default());
        loop {
            // The timeout is range-checked at the edge; a far-off deadline is "never", not a panic.
            let timeout = Duration::from_secs(self.settings.empty_timeout_s);
            let deadline = self.life.empty_since.and_then(|t| t.checked_add(timeout));
            let expired = sleep_until(deadline);
            let resume_deadline = self.next_resume_deadline();
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(cmd) => self.handle(cmd),
                    None => break,
                },
                () = expired => self.life.ended = true,
                () = sleep_until(resume_deadline) => {
                    self.expire_resume_windows(Instant::now());
                    self.update_empty();
                }
                () = self.shared.shutdown.cancelled() => {
                    self.disconnect_all(DisconnectReason::ServerShutdown, 1001);
                    self.life.ended = true;
                }
            }
            if self.life.ended {
                // Close the channel first, so a join racing with us fails and retries on a new
                // room; handle what was already queued; then drop our (closed) registry entry.
                commands.close();
                while let Some(cmd) = commands.recv().await {
                    self.handle(cmd);
                }
                self.disconnect_all(DisconnectReason::RoomEnded, 1000);
                self.shared.forget_closed(&self.name);
                break;
            }
        }
        let data = serde_json::json!({
            "duration_s": self.life.started.elapsed().as_secs_f64(),
            "peak_participants": self.life.peak_participants,
        });
        self.emit(EventKind::RoomEnded, None, data);
        info!(room = %self.name, "room closed");
    }

    fn handle(&mut self, cmd: RoomCommand) {
        match cmd {
            RoomCommand::Join { request, connection, out, reply } => {
                let _ = reply.send(self.join(request, connection, out));
            }
            RoomCommand::Resume { sid, token, identity, connection, out, reply } => {
                let _ = reply.send(self.resume(&sid, &token, &identity, connection, out).is_ok());
            }
            RoomCommand::Client { sid, msg } => self.on_client(&sid, msg),
            RoomCommand::Disconnected { sid, connection, reason, resumable } => {
                self.on_disconnected(&sid, connection, reason, resumable)
            }
            RoomCommand::Media(ev) => self.on_media_routed(ev),
            RoomCommand::Admin(task) => task(self),
            RoomCommand::MoveIn(moved) => self.move_in(*moved),
            RoomCommand::GoingAway { deadline_s } => {
                self.broadcast(None, ServerMessage::GoingAway { deadline_s });
                for m in self.lobby.iter() {
                    let _ = m.send(ServerMessage::GoingAway { deadline_s });
                }
            }
            RoomCommand::Stats(samples) => self.on_stats(samples),
            RoomCommand::View { reply } => {
                let _ = reply.send(self.view());
            }
            RoomCommand::Count { reply } => {
                let _ = reply.send(self.counts());
            }
        }
        self.update_empty();
    }

    fn counts(&self) -> RoomCounts {
        let mut by_state: HashMap<&'static str, usize> = HashMap::new();
        for p in self.participants.iter() {
            *by_state.entry(p.state.as_str()).or_default() += 1;
        }
        if !self.lobby.is_empty() {
            by_state.insert("lobby", self.lobby.len());
        }
        RoomCounts {
            participants: self.participants.len(),
            tracks: self.participants.track_count(),
            by_state: by_state.into_iter().collect(),
        }
    }

    fn emit(&self, kind: EventKind, participant: Option<&Identity>, data: serde_json::Value) {
        self.shared.options.events.emit(kind, self.name.as_str(), &self.sid, participant.map(Identity::as_str), data);
    }

    fn update_empty(&mut self) {
        let life = &mut self.life;
        life.peak_participants = life.peak_participants.max(self.participants.len());
        let empty = self.participants.is_empty() && self.lobby.is_empty();
        match (empty, life.empty_since) {
            (true, None) => life.empty_since = Some(Instant::now()),
            (false, Some(_)) => life.empty_since = None,
            _ => {}
        }
    }

    fn info(&self) -> RoomInfo {
        RoomInfo { name: self.name.to_string(), sid: self.sid.clone() }
    }

    fn view(&self) -> RoomView {
        RoomView {
            name: self.name.to_string(),
            sid: self.sid.clone(),
            created_at: self.created_at.clone(),
            num_participants: self.participants.len(),
            num_waiting: self.lobby.len(),
            active_speaker: self.active_speaker().map(|i| i.to_string()),
            settings: self.settings.clone(),
        }
    }

    /// Everyone's info that the others may see (hidden participants are not seen).
    fn visible_infos(&self) -> Vec<ParticipantInfo> {
        self.participants.iter().filter(|p| !p.member.permissions.hidden).map(|p| p.info()).collect()
    }

    /// Sends to everyone (but `except`); participants that cannot keep up are removed.
    fn broadcast(&mut self, except: Option<&ParticipantSid>, msg: ServerMessage) {
        let stuck: Vec<(ParticipantSid, _)> = self
            .participants
            .iter()
            .filter(|p| Some(&p.member.sid) != except)
            .filter_map(|p| p.send(msg.clone()).err().map(|why| (p.member.sid.clone(), why)))
            .collect();
        for (sid, why) in stuck {
            warn!(room = %self.name, participant = %sid, ?why, message = msg.kind(), "signalling queue refused a message; disconnecting");
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
        for sid in self.participants.sids() {
            let notice = ServerMessage::Removed { reason: reason.as_str().into() };
            self.remove(&sid, reason, Some(notice), code);
        }
        for m in self.lobby.take_all() {
            let _ = m.send(ServerMessage::Removed { reason: reason.as_str().into() });
            m.close(code, reason.as_str());
            self.shared.locations.remove(&m.sid);
        }
    }
}

/// Sleeps until `deadline`; forever if there is none.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
