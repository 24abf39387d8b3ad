//! Prometheus metrics: every metric name of the server is defined here.

use prometheus::{Encoder, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use std::sync::atomic::AtomicU64;
use switchboard_media::{MediaCounters, MediaHandle};
use switchboard_signaling::ConferenceSnapshot;

/// The server's metrics registry.
pub(crate) struct Metrics {
    registry: Registry,
    media: MediaHandle,
    packets_received: IntCounter,
    packets_forwarded: IntCounter,
    bytes_forwarded: IntCounter,
    packets_dropped: IntCounterVec,
    keyframe_requests: IntCounter,
    plis_sent: IntCounter,
    rooms: IntGauge,
    participants: IntGauge,
    sessions: IntGauge,
    media_peers: IntGauge,
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("metric names are static and valid");
    registry.register(Box::new(c.clone())).expect("each metric is registered once");
    c
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("metric names are static and valid");
    registry.register(Box::new(g.clone())).expect("each metric is registered once");
    g
}

/// Counters are kept by the media shard in atomics; at scrape time the exported counter is
/// advanced to the shard's value (it never goes back).
fn sync(c: &IntCounter, value: &AtomicU64) {
    let v = MediaCounters::get(value);
    if v > c.get() {
        c.inc_by(v - c.get());
    }
}

impl Metrics {
    pub(crate) fn new(media: MediaHandle) -> Self {
        let r = Registry::new();
        let packets_dropped = IntCounterVec::new(
            Opts::new("switchboard_packets_dropped_total", "RTP packets not forwarded, by reason"),
            &["reason"],
        )
        .expect("static metric");
        r.register(Box::new(packets_dropped.clone())).expect("registered once");
        Self {
            packets_received: counter(&r, "switchboard_packets_received_total", "RTP packets received from publishers"),
            packets_forwarded: counter(&r, "switchboard_packets_forwarded_total", "RTP packets forwarded to subscribers"),
            bytes_forwarded: counter(&r, "switchboard_bytes_forwarded_total", "RTP payload bytes forwarded to subscribers"),
            keyframe_requests: counter(&r, "switchboard_keyframe_requests_received_total", "PLI/FIR received from subscribers"),
            plis_sent: counter(&r, "switchboard_plis_sent_total", "PLIs sent to publishers"),
            rooms: gauge(&r, "switchboard_rooms", "Open rooms"),
            participants: gauge(&r, "switchboard_participants", "Participants in all rooms"),
            sessions: gauge(&r, "switchboard_sessions", "Live WebSocket sessions"),
            media_peers: gauge(&r, "switchboard_media_peers", "PeerConnections on the media shard"),
            packets_dropped,
            registry: r,
            media,
        }
    }

    /// The text exposition of every metric, refreshed from the shard and the conference.
    pub(crate) fn render(&self, snapshot: &ConferenceSnapshot) -> String {
        let m = self.media.counters();
        sync(&self.packets_received, &m.packets_received);
        sync(&self.packets_forwarded, &m.packets_forwarded);
        sync(&self.bytes_forwarded, &m.bytes_forwarded);
        sync(&self.keyframe_requests, &m.keyframe_requests_received);
        sync(&self.plis_sent, &m.plis_sent);
        for (reason, value) in m.dropped_by_reason() {
            let c = self.packets_dropped.with_label_values(&[reason]);
            if value > c.get() {
                c.inc_by(value - c.get());
            }
        }
        self.rooms.set(snapshot.rooms as i64);
        self.participants.set(snapshot.participants as i64);
        self.sessions.set(snapshot.sessions as i64);
        self.media_peers.set(snapshot.media.peers as i64);
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}
