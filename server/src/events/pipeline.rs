//! The one task that owns event numbering: takes batches off the conference's queue, gives each
//! event the next `seq`, persists events and derived records in one transaction, and only then
//! publishes them (live subscribers, webhooks), so that anything a subscriber has seen can be
//! replayed from the store. Also prunes events past their retention.

use super::records;
use super::webhooks::Webhooks;
use super::Shared;
use crate::store::{now_ms, parse_rfc3339_ms, StoredEvent};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use switchboard_signaling::{ConferenceEvent, EventKind};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, warn};

/// Events persisted in one transaction at most.
const BATCH: usize = 256;

pub(super) struct Pipeline {
    rx: mpsc::Receiver<ConferenceEvent>,
    shared: Arc<Shared>,
    retention: Duration,
    webhooks: Webhooks,
    stop: CancellationToken,
    /// The last number given out.
    seq: u64,
}

/// `room_started`, … as on the wire.
fn kind_name(kind: EventKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{kind:?}"),
    }
}

impl Pipeline {
    pub(super) fn new(
        rx: mpsc::Receiver<ConferenceEvent>,
        shared: Arc<Shared>,
        retention: Duration,
        webhooks: Webhooks,
        stop: CancellationToken,
    ) -> Self {
        let seq = shared.last_seq.load(Ordering::Acquire);
        Self { rx, shared, retention, webhooks, stop, seq }
    }

    pub(super) async fn run(mut self) {
        // Pruning often enough that the table holds little more than the retention, at least
        // every 10 minutes; the first tick (at once) prunes what aged while the server was down.
        let every = (self.retention / 10).clamp(Duration::from_secs(1), Duration::from_secs(600));
        let mut prune = tokio::time::interval(every);
        prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            tokio::select! {
                n = self.rx.recv_many(&mut batch, BATCH) => {
                    if n == 0 {
                        break;
                    }
                    self.process(&mut batch).await;
                }
                _ = prune.tick() => self.prune().await,
                () = self.stop.cancelled() => {
                    // The conference has closed: what is queued now is all there will be.
                    while let Ok(event) = self.rx.try_recv() {
                        batch.push(event);
                        if batch.len() == BATCH {
                            self.process(&mut batch).await;
                        }
                    }
                    self.process(&mut batch).await;
                    break;
                }
            }
        }
        debug!(last_seq = self.seq, "event pipeline stopped");
    }

    async fn process(&mut self, batch: &mut Vec<ConferenceEvent>) {
        if batch.is_empty() {
            return;
        }
        let mut events = Vec::with_capacity(batch.len());
        let mut changes = Vec::new();
        for e in batch.drain(..) {
            self.seq += 1;
            let event = StoredEvent {
                seq: self.seq,
                kind: kind_name(e.kind),
                at_ms: parse_rfc3339_ms(&e.at).unwrap_or_else(now_ms),
                at: e.at,
                room: e.room,
                room_sid: e.room_sid,
                participant: e.participant,
                data: e.data,
            };
            changes.extend(records::derive(e.kind, &event));
            events.push(event);
        }
        let (first, last) = (events[0].seq, self.seq);
        if let Err(e) = self.shared.store.append(events.clone(), changes).await {
            // Live subscribers and webhooks still get them; only replay and records miss them.
            error!(error = %e, first, last, "events could not be persisted");
        }
        self.shared.last_seq.store(last, Ordering::Release);
        for event in events {
            let event = Arc::new(event);
            self.webhooks.enqueue(&event);
            // No subscriber is not an error.
            let _ = self.shared.live.send(event);
        }
    }

    async fn prune(&self) {
        let before = now_ms() - i64::try_from(self.retention.as_millis()).unwrap_or(i64::MAX);
        match self.shared.store.prune_events(before).await {
            Ok(0) => {}
            Ok(n) => debug!(pruned = n, "events past their retention deleted"),
            Err(e) => warn!(error = %e, "events could not be pruned"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::kind_name;
    use switchboard_signaling::EventKind;

    #[test]
    fn kinds_are_named_as_on_the_wire() {
        assert_eq!(kind_name(EventKind::ParticipantJoined), "participant_joined");
        assert_eq!(kind_name(EventKind::ModeratorAction), "moderator_action");
    }
}
