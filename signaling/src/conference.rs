//! The conference: the entry point of joins, room creation and moderation, drain and snapshots,
//! over the shared registry of rooms (`registry.rs`). It owns no room state itself: each room's
//! task does, and the conference talks to it through the room's command channel.

use crate::admin::{AdminError, RoomSettings, RoomView};
use crate::ids::{Identity, RoomName};
use crate::join::{JoinError, JoinRequest};
use crate::options::ConferenceOptions;
use crate::registry::Registry;
use crate::room::{self, AdminOp, RoomCommand, Shared};
use crate::session::Session;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use switchboard_media::{MediaEvent, MediaHandle, ShardSnapshot};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

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

/// Messages that may wait for one client's connection.
const OUTBOUND_QUEUE: usize = 512;

/// The conference. Cheap to clone.
#[derive(Clone)]
pub struct Conference {
    shared: Shared,
}

impl Conference {
    /// Starts the conference over a running media shard and its event stream.
    pub fn start(
        media: MediaHandle,
        events: mpsc::UnboundedReceiver<MediaEvent>,
        options: ConferenceOptions,
        shutdown: CancellationToken,
    ) -> Self {
        let shared: Shared = Arc::new(Registry::new(media, options, shutdown));
        shared.tasks.spawn(crate::media_router::route_media_events(shared.clone(), events));
        shared.tasks.spawn(crate::media_router::sample_stats(shared.clone()));
        Self { shared }
    }

    /// Joins `request.room` (creating it), returning the session the WebSocket drives.
    pub async fn join(&self, request: JoinRequest) -> Result<Session, JoinError> {
        // A room may close between lookup and join; then its channel is closed and we retry.
        for _ in 0..3 {
            if self.shared.shutdown.is_cancelled() {
                return Err(JoinError::ShuttingDown);
            }
            if self.is_draining() {
                return Err(JoinError::Draining);
            }
            let room_tx = room::open(&self.shared, &request.room, None);
            let (out_tx, out_rx) = mpsc::channel(OUTBOUND_QUEUE);
            let (reply, answer) = oneshot::channel();
            let connection = self.shared.next_connection();
            let cmd = RoomCommand::Join { request: request.clone(), connection, out: out_tx, reply };
            if room_tx.send(cmd).is_err() {
                self.shared.forget_closed(&request.room);
                continue;
            }
            match answer.await {
                Ok(Ok(sid)) => return Ok(Session::new(sid, connection, out_rx, self.shared.clone())),
                Ok(Err(e)) => return Err(e),
                Err(_) => continue,
            }
        }
        Err(JoinError::ShuttingDown)
    }

    /// Resumes the participant whose `joined` carried `resume_token`, if it is still in a room
    /// and `request` is for the same identity; otherwise joins `request.room` as new. The client
    /// tells the two apart by `joined.resumed`.
    pub async fn resume_or_join(&self, request: JoinRequest, resume_token: &str) -> Result<Session, JoinError> {
        if let Some(session) = self.resume(&request, resume_token).await {
            return Ok(session);
        }
        self.join(request).await
    }

    async fn resume(&self, request: &JoinRequest, token: &str) -> Option<Session> {
        if self.shared.shutdown.is_cancelled() {
            return None;
        }
        let sid = self.shared.resume_tokens.get(token).map(|s| s.value().clone())?;
        let room = self.shared.locations.get(&sid).map(|r| r.value().clone())?;
        let room_tx = self.shared.room(&room)?;
        let (out_tx, out_rx) = mpsc::channel(OUTBOUND_QUEUE);
        let (reply, answer) = oneshot::channel();
        let connection = self.shared.next_connection();
        let cmd = RoomCommand::Resume {
            sid: sid.clone(),
            token: token.to_owned(),
            identity: request.identity.clone(),
            connection,
            out: out_tx,
            reply,
        };
        room_tx.send(cmd).ok()?;
        answer.await.ok()?.then(|| Session::new(sid, connection, out_rx, self.shared.clone()))
    }

    /// Settings of a room created without explicit values.
    pub fn default_room_settings(&self) -> RoomSettings {
        self.shared.options.default_room.clone()
    }

    /// Creates a room with `settings`; `RoomExists` if it is open already.
    pub async fn create_room(&self, name: &RoomName, settings: RoomSettings) -> Result<RoomView, AdminError> {
        let mut created = false;
        let tx = self
            .shared
            .rooms
            .entry(name.clone())
            .or_insert_with(|| {
                created = true;
                room::spawn(&self.shared, name, settings)
            })
            .clone();
        if !created {
            return Err(AdminError::RoomExists(name.to_string()));
        }
        room_view(&tx).await.ok_or_else(|| AdminError::RoomNotFound(name.to_string()))
    }

    /// Every open room, by name.
    pub async fn list_rooms(&self) -> Vec<RoomView> {
        let mut rooms = Vec::new();
        for tx in self.shared.all_rooms() {
            if let Some(v) = room_view(&tx).await {
                rooms.push(v);
            }
        }
        rooms.sort_by(|a, b| a.name.cmp(&b.name));
        rooms
    }

    /// Runs a moderation operation on `room`; `by` names the moderator in events. The reply is
    /// the operation's own type.
    pub async fn admin<Op: AdminOp>(&self, room: &RoomName, op: Op, by: &Identity) -> Result<Op::Reply, AdminError> {
        if self.shared.shutdown.is_cancelled() {
            return Err(AdminError::ShuttingDown);
        }
        let not_found = || AdminError::RoomNotFound(room.to_string());
        let tx = self.shared.room(room).ok_or_else(not_found)?;
        let (reply, answer) = oneshot::channel();
        tx.send(RoomCommand::Admin(room::task(op, by.clone(), reply))).map_err(|_| not_found())?;
        answer.await.map_err(|_| not_found())?
    }

    /// Starts a drain: new joins are refused and every participant is told `going_away` with
    /// the deadline; existing calls continue. Idempotent.
    pub fn start_drain(&self, deadline: Duration) {
        if self.shared.draining.swap(true, Ordering::SeqCst) {
            return;
        }
        for tx in self.shared.all_rooms() {
            let _ = tx.send(RoomCommand::GoingAway { deadline_s: deadline.as_secs() });
        }
    }

    /// A drain has started.
    pub fn is_draining(&self) -> bool {
        self.shared.draining.load(Ordering::SeqCst)
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
        let senders = self.shared.all_rooms();
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
            nacks_sent: self.shared.nacks_to_publishers.load(Ordering::Relaxed),
            nacks_received: self.shared.nacks_from_subscribers.load(Ordering::Relaxed),
            sessions: self.shared.sessions.load(Ordering::Relaxed),
            media: self.shared.media.snapshot().await.unwrap_or_default(),
            ..snapshot
        }
    }

    /// Waits until every room task and the media router have ended (after shutdown).
    pub async fn closed(&self) {
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
    }
}

async fn room_view(tx: &mpsc::UnboundedSender<RoomCommand>) -> Option<RoomView> {
    let (reply, rx) = oneshot::channel();
    tx.send(RoomCommand::View { reply }).ok()?;
    rx.await.ok()
}
