//! The registry every room task, session and the conference share: which rooms are open (their
//! command channels), which room owns each media peer and each participant session, the media
//! shard's handle, the options, and a few conference-wide counters. Read by many tasks
//! (`DashMap`), written by the owners: a room registers its own peers and participants.
//!
//! Generic over the room command type so that this module knows nothing of rooms (a room's
//! task defines its commands and uses `Registry<RoomCommand>`).

use crate::ids::{ParticipantSid, RoomName};
use crate::options::ConferenceOptions;
use dashmap::DashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use switchboard_media::{MediaHandle, PeerId};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Shared state of a conference whose rooms take commands of type `Cmd`.
pub(crate) struct Registry<Cmd> {
    /// Open rooms by name.
    pub(crate) rooms: DashMap<RoomName, mpsc::UnboundedSender<Cmd>>,
    /// Which room owns a media peer, for routing media events.
    pub(crate) peers: DashMap<PeerId, RoomName>,
    /// Which room a participant session is in (it changes on a move).
    pub(crate) locations: DashMap<ParticipantSid, RoomName>,
    /// Whose resume token is this (from `joined`); removed with the participant.
    pub(crate) resume_tokens: DashMap<String, ParticipantSid>,
    pub(crate) media: MediaHandle,
    pub(crate) options: ConferenceOptions,
    pub(crate) shutdown: CancellationToken,
    /// Room tasks and the conference's background tasks.
    pub(crate) tasks: TaskTracker,
    next_peer: AtomicU64,
    next_connection: AtomicU64,
    /// Live sessions (WebSocket handlers holding a `Session`).
    pub(crate) sessions: AtomicUsize,
    /// Set once a drain started: joins are refused.
    pub(crate) draining: AtomicBool,
    /// NACKs we sent to publishers, summed from stream statistics.
    pub(crate) nacks_to_publishers: AtomicU64,
    /// NACKs subscribers sent us, summed from stream statistics.
    pub(crate) nacks_from_subscribers: AtomicU64,
}

impl<Cmd> Registry<Cmd> {
    pub(crate) fn new(media: MediaHandle, options: ConferenceOptions, shutdown: CancellationToken) -> Self {
        Self {
            rooms: DashMap::new(),
            peers: DashMap::new(),
            locations: DashMap::new(),
            resume_tokens: DashMap::new(),
            media,
            options,
            shutdown,
            tasks: TaskTracker::new(),
            next_peer: AtomicU64::new(1),
            next_connection: AtomicU64::new(1),
            sessions: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            nacks_to_publishers: AtomicU64::new(0),
            nacks_from_subscribers: AtomicU64::new(0),
        }
    }

    /// A media peer id not used before.
    pub(crate) fn next_peer(&self) -> PeerId {
        PeerId(self.next_peer.fetch_add(1, Ordering::Relaxed))
    }

    /// A connection id not used before (which of a participant's connections a disconnect is
    /// about: after a resume, the old one's end must not count).
    pub(crate) fn next_connection(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    /// The channel of an open room.
    pub(crate) fn room(&self, name: &RoomName) -> Option<mpsc::UnboundedSender<Cmd>> {
        self.rooms.get(name).map(|r| r.value().clone())
    }

    /// The channel of the room that owns `peer`.
    pub(crate) fn room_of_peer(&self, peer: PeerId) -> Option<mpsc::UnboundedSender<Cmd>> {
        let name = self.peers.get(&peer).map(|r| r.value().clone())?;
        self.room(&name)
    }

    /// The channels of every open room (a snapshot).
    pub(crate) fn all_rooms(&self) -> Vec<mpsc::UnboundedSender<Cmd>> {
        self.rooms.iter().map(|r| r.value().clone()).collect()
    }

    /// Forgets `name`'s entry if its channel is closed (the room ended; a newer room of the same
    /// name keeps its own entry).
    pub(crate) fn forget_closed(&self, name: &RoomName) {
        self.rooms.remove_if(name, |_, tx| tx.is_closed());
    }
}
