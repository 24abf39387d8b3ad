//! One subscriber's view of the event log: the stored events after its `Last-Event-ID`, then live
//! ones, in `seq` order with no gap and no duplicate. A subscriber that falls behind the live
//! buffer is resynchronised from the store instead of slowing anyone down.

use crate::store::{StoreHandle, StoredEvent};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};
use tracing::{debug, warn};

/// Stored events read per query while replaying.
const PAGE: usize = 500;

/// A stream of events for one subscriber (see [`super::EventService::subscribe`]).
pub struct Subscription {
    store: StoreHandle,
    live: broadcast::Receiver<Arc<StoredEvent>>,
    room: Option<String>,
    /// Highest `seq` sent or skipped: everything at or below it is never sent again.
    cursor: u64,
    /// Stored events read but not yet sent.
    backlog: VecDeque<Arc<StoredEvent>>,
    /// The store may hold events after `cursor` that the live receiver will not deliver.
    replaying: bool,
}

impl Subscription {
    /// `live` must have been subscribed before `last_seq` was read.
    pub(super) fn new(
        store: StoreHandle,
        live: broadcast::Receiver<Arc<StoredEvent>>,
        room: Option<String>,
        after: Option<u64>,
        last_seq: u64,
    ) -> Self {
        // An id from the future (the store was replaced) replays nothing and skips nothing new.
        let (cursor, replaying) = match after {
            Some(after) => (after.min(last_seq), after < last_seq),
            None => (last_seq, false),
        };
        Self { store, live, room, cursor, backlog: VecDeque::new(), replaying }
    }

    /// The next event, or `None` when the service has stopped or the store failed during a
    /// replay (the client reconnects with its `Last-Event-ID` and loses nothing).
    pub async fn next(&mut self) -> Option<Arc<StoredEvent>> {
        loop {
            if let Some(event) = self.backlog.pop_front() {
                if let Some(event) = self.admit(event) {
                    return Some(event);
                }
                continue;
            }
            if self.replaying {
                match self.store.events_after(self.cursor, self.room.clone(), PAGE).await {
                    Ok(page) => {
                        self.replaying = page.len() == PAGE;
                        self.backlog.extend(page.into_iter().map(Arc::new));
                    }
                    Err(e) => {
                        warn!(error = %e, after = self.cursor, "event replay failed; closing the stream");
                        return None;
                    }
                }
                continue;
            }
            match self.live.recv().await {
                Ok(event) => {
                    if let Some(event) = self.admit(event) {
                        return Some(event);
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    debug!(missed, after = self.cursor, "event subscriber fell behind; resynchronising from the store");
                    self.replaying = true;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }

    /// Moves the cursor past `event`; returns it if it is new and of the wanted room.
    fn admit(&mut self, event: Arc<StoredEvent>) -> Option<Arc<StoredEvent>> {
        if event.seq <= self.cursor {
            return None;
        }
        self.cursor = event.seq;
        match &self.room {
            Some(room) if *room != event.room => None,
            _ => Some(event),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{SqliteStore, Store};

    fn event(seq: u64, room: &str) -> StoredEvent {
        StoredEvent {
            seq,
            kind: "track_published".into(),
            at: "2024-01-01T00:00:00.000Z".into(),
            at_ms: 0,
            room: room.into(),
            room_sid: "RM_1".into(),
            participant: None,
            data: serde_json::json!({}),
        }
    }

    async fn take(sub: &mut Subscription, n: usize) -> Vec<u64> {
        let mut seqs = Vec::new();
        for _ in 0..n {
            let e = tokio::time::timeout(std::time::Duration::from_secs(5), sub.next()).await.unwrap().unwrap();
            seqs.push(e.seq);
        }
        seqs
    }

    #[tokio::test]
    async fn replay_then_live_without_gap_or_duplicate() {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let stored: Vec<_> = (1..=5).map(|s| event(s, if s % 2 == 0 { "b" } else { "a" })).collect();
        store.append(&stored, &[]).unwrap();
        let (tx, _) = broadcast::channel(16);
        let mut sub = Subscription::new(StoreHandle::new(store.clone()), tx.subscribe(), None, Some(2), 5);
        // Events 4 and 5 were broadcast after the subscription began: received twice, sent once.
        tx.send(Arc::new(event(4, "b"))).unwrap();
        tx.send(Arc::new(event(5, "a"))).unwrap();
        tx.send(Arc::new(event(6, "a"))).unwrap();
        assert_eq!(take(&mut sub, 4).await, [3, 4, 5, 6]);

        let mut only_a = Subscription::new(StoreHandle::new(store), tx.subscribe(), Some("a".into()), Some(0), 5);
        tx.send(Arc::new(event(6, "a"))).unwrap();
        tx.send(Arc::new(event(7, "b"))).unwrap();
        tx.send(Arc::new(event(8, "a"))).unwrap();
        assert_eq!(take(&mut only_a, 5).await, [1, 3, 5, 6, 8]);
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_resynchronised_from_the_store() {
        let store = Arc::new(SqliteStore::open_in_memory().unwrap());
        let (tx, _) = broadcast::channel(4);
        let mut sub = Subscription::new(StoreHandle::new(store.clone()), tx.subscribe(), None, None, 0);
        // Twenty events persisted then broadcast into a buffer of four: the receiver lags.
        for seq in 1..=20 {
            let e = event(seq, "a");
            store.append(std::slice::from_ref(&e), &[]).unwrap();
            let _ = tx.send(Arc::new(e));
        }
        assert_eq!(take(&mut sub, 20).await, (1..=20).collect::<Vec<_>>());
    }
}
