//! The conference: registry of rooms, the entry point for joins, and the router of media events
//! to the room that owns each peer.

use crate::ids::{Identity, ParticipantSid, RoomName};
use crate::permissions::Permissions;
use crate::protocol::{ClientMessage, Outbound};
use crate::room::{Room, RoomCommand, DEFAULT_EMPTY_TIMEOUT};
use dashmap::DashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use switchboard_media::{MediaEvent, MediaHandle, PeerId, ShardSnapshot};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

/// Limits and timers of the conference.
#[derive(Clone, Debug)]
pub struct ConferenceOptions {
    /// An empty room closes after this long.
    pub empty_timeout: Duration,
    /// Most participants per room; 0 means no limit.
    pub max_participants: usize,
}

impl Default for ConferenceOptions {
    fn default() -> Self {
        Self { empty_timeout: DEFAULT_EMPTY_TIMEOUT, max_participants: 0 }
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
}

/// Why a join was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// The room is at its participant limit.
    #[error("the room is full")]
    RoomFull,
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
}

/// Counts of live objects, for leak checks and the admin API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConferenceSnapshot {
    /// Open rooms (room tasks).
    pub rooms: usize,
    /// Participants in all rooms.
    pub participants: usize,
    /// Live sessions (WebSocket handlers holding a [`Session`]).
    pub sessions: usize,
    /// Media shard objects.
    pub media: ShardSnapshot,
}

pub(crate) struct Inner {
    pub(crate) rooms: DashMap<RoomName, mpsc::UnboundedSender<RoomCommand>>,
    /// Which room owns a media peer, for routing media events.
    pub(crate) peers: DashMap<PeerId, RoomName>,
    pub(crate) media: MediaHandle,
    pub(crate) options: ConferenceOptions,
    pub(crate) shutdown: CancellationToken,
    next_peer: AtomicU64,
    sessions: AtomicUsize,
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
            media,
            options,
            shutdown,
            next_peer: AtomicU64::new(1),
            sessions: AtomicUsize::new(0),
            tasks: TaskTracker::new(),
        });
        inner.tasks.spawn(route_media_events(inner.clone(), events));
        Self { inner }
    }

    /// Joins `request.room` (creating it), returning the session the WebSocket drives.
    pub async fn join(&self, request: JoinRequest) -> Result<Session, JoinError> {
        // A room may close between lookup and join; then its channel is closed and we retry.
        for _ in 0..3 {
            if self.inner.shutdown.is_cancelled() {
                return Err(JoinError::ShuttingDown);
            }
            let room_tx = self.room_sender(&request.room);
            let (out_tx, out_rx) = mpsc::channel(512);
            let (reply, answer) = oneshot::channel();
            let cmd = RoomCommand::Join { request: request.clone(), out: out_tx, reply };
            if room_tx.send(cmd).is_err() {
                self.inner.rooms.remove_if(&request.room, |_, tx| tx.is_closed());
                continue;
            }
            match answer.await {
                Ok(Ok((sid, _, _))) => {
                    self.inner.sessions.fetch_add(1, Ordering::Relaxed);
                    return Ok(Session {
                        sid,
                        room: request.room,
                        outbound: out_rx,
                        room_tx,
                        inner: self.inner.clone(),
                    });
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => continue,
            }
        }
        Err(JoinError::ShuttingDown)
    }

    fn room_sender(&self, name: &RoomName) -> mpsc::UnboundedSender<RoomCommand> {
        self.inner
            .rooms
            .entry(name.clone())
            .or_insert_with(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                let room = Room::new(name.clone(), self.inner.clone());
                self.inner.tasks.spawn(room.run(rx));
                tx
            })
            .clone()
    }

    /// Live object counts.
    pub async fn snapshot(&self) -> ConferenceSnapshot {
        let senders: Vec<_> = self.inner.rooms.iter().map(|r| r.value().clone()).collect();
        let mut participants = 0;
        for tx in &senders {
            let (reply, rx) = oneshot::channel();
            if tx.send(RoomCommand::Count { reply }).is_ok() {
                participants += rx.await.unwrap_or(0);
            }
        }
        ConferenceSnapshot {
            rooms: senders.len(),
            participants,
            sessions: self.inner.sessions.load(Ordering::Relaxed),
            media: self.inner.media.snapshot().await.unwrap_or_default(),
        }
    }

    /// Waits until every room task and the media router have ended (after shutdown).
    pub async fn closed(&self) {
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
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

/// One participant's session, driven by its WebSocket. Dropping it without [`Session::close`]
/// tells the room the participant vanished (reason `timeout`).
pub struct Session {
    /// The participant's sid.
    pub sid: ParticipantSid,
    /// Its room.
    pub room: RoomName,
    /// Messages for the client, in order; ends after a [`Outbound::Close`].
    pub outbound: mpsc::Receiver<Outbound>,
    room_tx: mpsc::UnboundedSender<RoomCommand>,
    inner: Arc<Inner>,
}

impl Session {
    /// Hands a client message to the room.
    pub fn handle(&self, msg: ClientMessage) {
        let _ = self.room_tx.send(RoomCommand::Client { sid: self.sid.clone(), msg });
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Idempotent in the room: after `leave` the participant is already gone.
        let _ = self.room_tx.send(RoomCommand::Disconnected { sid: self.sid.clone(), reason: "timeout" });
        self.inner.sessions.fetch_sub(1, Ordering::Relaxed);
    }
}
