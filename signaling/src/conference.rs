//! The conference: registry of rooms, the entry point for joins, and the router of media events
//! to the room that owns each peer.

use crate::admin::{AdminError, AdminOp, AdminReply, RoomSettings, RoomView};
use crate::call_state::DisconnectReason;
use crate::events::EventSink;
use std::time::Duration;
use crate::ids::{Identity, ParticipantSid, RoomName};
use crate::permissions::Permissions;
use crate::protocol::{ClientMessage, Outbound};
use crate::room::{Room, RoomCommand};
use dashmap::DashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use switchboard_media::{MediaEvent, MediaHandle, PeerId, ShardSnapshot};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

/// Limits and defaults of the conference.
#[derive(Clone)]
pub struct ConferenceOptions {
    /// Settings of rooms created by a join or without explicit values.
    pub default_room: RoomSettings,
    /// Where events go.
    pub events: EventSink,
    /// How often media statistics are sampled (bitrates, loss, quality).
    pub stats_interval: Duration,
    /// Told how long each participant took from joining to connected media (for metrics).
    pub on_join_latency: Option<JoinLatencyObserver>,
}

/// Receives join latencies.
pub type JoinLatencyObserver = Arc<dyn Fn(Duration) + Send + Sync>;

impl Default for ConferenceOptions {
    fn default() -> Self {
        Self {
            default_room: RoomSettings {
                max_participants: 0,
                lobby: false,
                allow_remote_unmute: false,
                empty_timeout_s: 20,
                metadata: serde_json::Value::Null,
            },
            events: EventSink::default(),
            stats_interval: Duration::from_secs(2),
            on_join_latency: None,
        }
    }
}

/// Who wants to join which room (from a verified token).
#[derive(Clone, Debug)]
pub struct JoinRequest {
    /// The room.
    pub room: RoomName,
    /// Unique within the room; a second join replaces the first.
    pub identity: Identity,
    /// Display name.
    pub name: String,
    /// What it may do.
    pub permissions: Permissions,
    /// Application data.
    pub metadata: serde_json::Value,
    /// The token's `jti`: a removed participant's token no longer admits it to the room.
    pub token_id: String,
}

/// Why a join was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// The room is at its participant limit.
    #[error("the room is full")]
    RoomFull,
    /// The identity is banned from the room.
    #[error("this identity is banned from the room")]
    Banned,
    /// The token was used by a participant a moderator removed.
    #[error("this token was revoked when its participant was removed")]
    TokenRevoked,
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The server is draining: existing calls continue, new joins go elsewhere.
    #[error("the server is draining and accepts no new participants; retry on another server")]
    Draining,
}

/// Counts of live objects, for leak checks, metrics and the admin API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConferenceSnapshot {
    /// Open rooms (room tasks).
    pub rooms: usize,
    /// Participants in all rooms (lobby excluded).
    pub participants: usize,
    /// Participants by call state (`lobby`, `joining`, `connected`, `on_hold`).
    pub participants_by_state: std::collections::BTreeMap<&'static str, usize>,
    /// Published tracks.
    pub tracks: usize,
    /// NACKs sent to publishers so far.
    pub nacks_sent: u64,
    /// NACKs received from subscribers so far.
    pub nacks_received: u64,
    /// Live sessions (WebSocket handlers holding a [`Session`]).
    pub sessions: usize,
    /// Media shard objects.
    pub media: ShardSnapshot,
}

pub(crate) struct Inner {
    pub(crate) rooms: DashMap<RoomName, mpsc::UnboundedSender<RoomCommand>>,
    /// Which room owns a media peer, for routing media events.
    pub(crate) peers: DashMap<PeerId, RoomName>,
    /// Which room a participant session is in (it changes on a move).
    pub(crate) locations: DashMap<ParticipantSid, RoomName>,
    pub(crate) media: MediaHandle,
    pub(crate) options: ConferenceOptions,
    pub(crate) shutdown: CancellationToken,
    next_peer: AtomicU64,
    sessions: AtomicUsize,
    /// Set once a drain started: joins are refused.
    draining: std::sync::atomic::AtomicBool,
    /// NACKs we sent to publishers, summed from stream statistics.
    pub(crate) nacks_to_publishers: AtomicU64,
    /// NACKs subscribers sent us, summed from stream statistics.
    pub(crate) nacks_from_subscribers: AtomicU64,
    tasks: TaskTracker,
}

impl Inner {
    pub(crate) fn next_peer(&self) -> PeerId {
        PeerId(self.next_peer.fetch_add(1, Ordering::Relaxed))
    }
}

/// The conference. Cheap to clone.
#[derive(Clone)]
pub struct Conference {
    inner: Arc<Inner>,
}

impl Conference {
    /// Starts the conference over a running media shard and its event stream.
    pub fn start(
        media: MediaHandle,
        events: mpsc::UnboundedReceiver<MediaEvent>,
        options: ConferenceOptions,
        shutdown: CancellationToken,
    ) -> Self {
        let inner = Arc::new(Inner {
            rooms: DashMap::new(),
            peers: DashMap::new(),
            locations: DashMap::new(),
            media,
            options,
            shutdown,
            next_peer: AtomicU64::new(1),
            sessions: AtomicUsize::new(0),
            draining: std::sync::atomic::AtomicBool::new(false),
            nacks_to_publishers: AtomicU64::new(0),
            nacks_from_subscribers: AtomicU64::new(0),
            tasks: TaskTracker::new(),
        });
        inner.tasks.spawn(route_media_events(inner.clone(), events));
        inner.tasks.spawn(sample_stats(inner.clone()));
        Self { inner }
    }

    /// Joins `request.room` (creating it), returning the session the WebSocket drives.
    pub async fn join(&self, request: JoinRequest) -> Result<Session, JoinError> {
        // A room may close between lookup and join; then its channel is closed and we retry.
        for _ in 0..3 {
            if self.inner.shutdown.is_cancelled() {
                return Err(JoinError::ShuttingDown);
            }
            if self.is_draining() {
                return Err(JoinError::Draining);
            }
            let room_tx = room_sender(&self.inner, &request.room, None);
            let (out_tx, out_rx) = mpsc::channel(512);
            let (reply, answer) = oneshot::channel();
            let cmd = RoomCommand::Join { request: request.clone(), out: out_tx, reply };
            if room_tx.send(cmd).is_err() {
                self.inner.rooms.remove_if(&request.room, |_, tx| tx.is_closed());
                continue;
            }
            match answer.await {
                Ok(Ok(sid)) => {
                    self.inner.sessions.fetch_add(1, Ordering::Relaxed);
                    return Ok(Session { sid, outbound: out_rx, inner: self.inner.clone() });
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => continue,
            }
        }
        Err(JoinError::ShuttingDown)
    }

    /// Settings of a room created without explicit values.
    pub fn default_room_settings(&self) -> RoomSettings {
        self.inner.options.default_room.clone()
    }

    /// Creates a room with `settings`; `RoomExists` if it is open already.
    pub async fn create_room(&self, name: &str, settings: RoomSettings) -> Result<RoomView, AdminError> {
        let name = validate_room_name(name)?;
        let mut created = false;
        let tx = self
            .inner
            .rooms
            .entry(name.clone())
            .or_insert_with(|| {
                created = true;
                spawn_room(&self.inner, &name, settings)
            })
            .clone();
        if !created {
            return Err(AdminError::RoomExists(name.0));
        }
        room_view(&tx).await.ok_or(AdminError::RoomNotFound(name.0))
    }

    /// Every open room.
    pub async fn list_rooms(&self) -> Vec<RoomView> {
        let senders: Vec<_> = self.inner.rooms.iter().map(|r| r.value().clone()).collect();
        let mut rooms = Vec::new();
        for tx in senders {
            if let Some(v) = room_view(&tx).await {
                rooms.push(v);
            }
        }
        rooms.sort_by(|a, b| a.name.cmp(&b.name));
        rooms
    }

    /// Runs a moderation operation on `room`; `by` names the moderator in events.
    pub async fn admin(&self, room: &str, op: AdminOp, by: &str) -> Result<AdminReply, AdminError> {
        if self.inner.shutdown.is_cancelled() {
            return Err(AdminError::ShuttingDown);
        }
        let tx = self
            .inner
            .rooms
            .get(&RoomName(room.to_owned()))
            .map(|r| r.value().clone())
            .ok_or_else(|| AdminError::RoomNotFound(room.into()))?;
        let (reply, answer) = oneshot::channel();
        tx.send(RoomCommand::Admin { op, by: by.into(), reply }).map_err(|_| AdminError::RoomNotFound(room.into()))?;
        answer.await.map_err(|_| AdminError::RoomNotFound(room.into()))?
    }

    /// Starts a drain: new joins are refused and every participant is told `going_away` with
    /// the deadline; existing calls continue. Idempotent.
    pub fn start_drain(&self, deadline: Duration) {
        if self.inner.draining.swap(true, Ordering::SeqCst) {
            return;
        }
        for tx in self.inner.rooms.iter().map(|r| r.value().clone()).collect::<Vec<_>>() {
            let _ = tx.send(RoomCommand::GoingAway { deadline_s: deadline.as_secs() });
        }
    }

    /// A drain has started.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }

    /// Resolves when no participant is left in any room.
    pub async fn emptied(&self) {
        loop {
            if self.snapshot().await.participants == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Live object counts.
    pub async fn snapshot(&self) -> ConferenceSnapshot {
        let senders: Vec<_> = self.inner.rooms.iter().map(|r| r.value().clone()).collect();
        let mut snapshot = ConferenceSnapshot { rooms: senders.len(), ..Default::default() };
        for tx in &senders {
            let (reply, rx) = oneshot::channel();
            if tx.send(RoomCommand::Count { reply }).is_ok() {
                if let Ok(counts) = rx.await {
                    snapshot.participants += counts.participants;
                    snapshot.tracks += counts.tracks;
                    for (state, n) in counts.by_state {
                        *snapshot.participants_by_state.entry(state).or_default() += n;
                    }
                }
            }
        }
        ConferenceSnapshot {
            nacks_sent: self.inner.nacks_to_publishers.load(Ordering::Relaxed),
            nacks_received: self.inner.nacks_from_subscribers.load(Ordering::Relaxed),
            sessions: self.inner.sessions.load(Ordering::Relaxed),
            media: self.inner.media.snapshot().await.unwrap_or_default(),
            ..snapshot
        }
    }

    /// Waits until every room task and the media router have ended (after shutdown).
    pub async fn closed(&self) {
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }
}

fn validate_room_name(name: &str) -> Result<RoomName, AdminError> {
    let ok = !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(RoomName(name.to_owned()))
    } else {
        Err(AdminError::Invalid("room names are 1–64 letters, digits, '-', '_' or '.'".into()))
    }
}

async fn room_view(tx: &mpsc::UnboundedSender<RoomCommand>) -> Option<RoomView> {
    let (reply, rx) = oneshot::channel();
    tx.send(RoomCommand::View { reply }).ok()?;
    rx.await.ok()
}

fn spawn_room(inner: &Arc<Inner>, name: &RoomName, settings: RoomSettings) -> mpsc::UnboundedSender<RoomCommand> {
    let (tx, rx) = mpsc::unbounded_channel();
    inner.tasks.spawn(Room::new(name.clone(), settings, inner.clone()).run(rx));
    tx
}

/// The channel of room `name`, creating the room (with `settings` or the defaults) if needed.
pub(crate) fn room_sender(inner: &Arc<Inner>, name: &RoomName, settings: Option<RoomSettings>) -> mpsc::UnboundedSender<RoomCommand> {
    inner
        .rooms
        .entry(name.clone())
        .or_insert_with(|| spawn_room(inner, name, settings.unwrap_or_else(|| inner.options.default_room.clone())))
        .clone()
}

/// Samples media statistics periodically and hands each room its peers' samples.
async fn sample_stats(inner: Arc<Inner>) {
    let mut tick = tokio::time::interval(inner.options.stats_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = inner.shutdown.cancelled() => break,
        }
        let Some(samples) = inner.media.stats().await else { break };
        let mut by_room: std::collections::HashMap<RoomName, Vec<switchboard_media::PeerStats>> = Default::default();
        for s in samples {
            if let Some(room) = inner.peers.get(&s.peer).map(|r| r.value().clone()) {
                by_room.entry(room).or_default().push(s);
            }
        }
        for (room, samples) in by_room {
            if let Some(tx) = inner.rooms.get(&room).map(|t| t.value().clone()) {
                let _ = tx.send(RoomCommand::Stats(samples));
            }
        }
    }
}

/// Splits an audio-level report by room.
fn route_audio_levels(inner: &Inner, levels: &[switchboard_media::AudioLevel]) {
    let mut by_room: std::collections::HashMap<RoomName, Vec<switchboard_media::AudioLevel>> = Default::default();
    for l in levels {
        if let Some(room) = inner.peers.get(&l.publisher).map(|r| r.value().clone()) {
            by_room.entry(room).or_default().push(*l);
        }
    }
    for (room, levels) in by_room {
        if let Some(tx) = inner.rooms.get(&room).map(|t| t.value().clone()) {
            let _ = tx.send(RoomCommand::Media(MediaEvent::AudioLevels { levels }));
        }
    }
}

/// Forwards each media event to the room owning its peer.
async fn route_media_events(inner: Arc<Inner>, mut events: mpsc::UnboundedReceiver<MediaEvent>) {
    loop {
        let ev = tokio::select! {
            ev = events.recv() => ev,
            () = inner.shutdown.cancelled() => None,
        };
        let Some(ev) = ev else { break };
        if let MediaEvent::AudioLevels { levels } = &ev {
            route_audio_levels(&inner, levels);
            continue;
        }
        let peer = match &ev {
            MediaEvent::LocalDescription { peer, .. }
            | MediaEvent::NegotiationFailed { peer, .. }
            | MediaEvent::PeerConnected { peer, .. }
            | MediaEvent::PeerFailed { peer } => *peer,
            MediaEvent::SourceOpened { publisher, .. } | MediaEvent::SourceClosed { publisher, .. } => *publisher,
            other => {
                warn!(event = ?other, "unhandled media event");
                continue;
            }
        };
        let room = inner.peers.get(&peer).map(|r| r.value().clone());
        if let Some(tx) = room.and_then(|name| inner.rooms.get(&name).map(|t| t.value().clone())) {
            let _ = tx.send(RoomCommand::Media(ev));
        }
    }
}

/// One participant's session, driven by its WebSocket. Dropping it tells the room the
/// participant vanished (reason `timeout`); after `leave` that is a no-op.
pub struct Session {
    /// The participant's sid.
    pub sid: ParticipantSid,
    /// Messages for the client, in order; ends after a [`Outbound::Close`].
    pub outbound: mpsc::Receiver<Outbound>,
    inner: Arc<Inner>,
}

impl Session {
    /// The room the participant is in now (a move changes it).
    pub fn room(&self) -> Option<RoomName> {
        self.inner.locations.get(&self.sid).map(|r| r.value().clone())
    }

    fn send(&self, cmd: RoomCommand) {
        let tx = self.room().and_then(|room| self.inner.rooms.get(&room).map(|t| t.value().clone()));
        if let Some(tx) = tx {
            let _ = tx.send(cmd);
        }
    }

    /// Hands a client message to the participant's current room.
    pub fn handle(&self, msg: ClientMessage) {
        self.send(RoomCommand::Client { sid: self.sid.clone(), msg });
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.send(RoomCommand::Disconnected { sid: self.sid.clone(), reason: DisconnectReason::Timeout });
        self.inner.sessions.fetch_sub(1, Ordering::Relaxed);
    }
}
