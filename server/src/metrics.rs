//! Prometheus metrics: every metric name of the server is defined here, and only here.
//!
//! Media counters live in the shard's atomics and conference counts in the rooms; both are read
//! at scrape time. Counters of HTTP requests, WebSocket messages, join latency and webhook
//! deliveries are updated where they happen, through the methods below.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::sync::atomic::AtomicU64;
use std::time::Duration;
use switchboard_media::{MediaCounters, MediaHandle};
use switchboard_signaling::ConferenceSnapshot;

/// Metric names (stable: dashboards and alerts depend on them).
pub mod names {
    /// Gauge: open rooms.
    pub const ROOMS: &str = "switchboard_rooms";
    /// Gauge by `state`: participants.
    pub const PARTICIPANTS: &str = "switchboard_participants";
    /// Gauge: published tracks.
    pub const TRACKS: &str = "switchboard_tracks";
    /// Gauge: live WebSocket sessions.
    pub const SESSIONS: &str = "switchboard_sessions";
    /// Gauge: PeerConnections on the media shard.
    pub const MEDIA_PEERS: &str = "switchboard_media_peers";
    /// Gauge: open ICE/TCP connections.
    pub const ICE_TCP_CONNECTIONS: &str = "switchboard_ice_tcp_connections";
    /// Counter: ICE/TCP connections closed at once because too many were open.
    pub const ICE_TCP_REFUSED: &str = "switchboard_ice_tcp_refused_total";
    /// Counter: RTP packets received from publishers.
    pub const PACKETS_RECEIVED: &str = "switchboard_packets_received_total";
    /// Counter: RTP packets forwarded to subscribers.
    pub const PACKETS_FORWARDED: &str = "switchboard_packets_forwarded_total";
    /// Counter: RTP payload bytes forwarded.
    pub const BYTES_FORWARDED: &str = "switchboard_bytes_forwarded_total";
    /// Counter: RTP packets sent again to subscribers that asked with a NACK.
    pub const PACKETS_RETRANSMITTED: &str = "switchboard_packets_retransmitted_total";
    /// Counter: subscriber legs that switched to another simulcast layer.
    pub const LAYER_SWITCHES: &str = "switchboard_layer_switches_total";
    /// Counter: videos paused because a subscriber's bandwidth estimate had no room for them.
    pub const BANDWIDTH_PAUSES: &str = "switchboard_bandwidth_pauses_total";
    /// Counter by `reason`: packets not forwarded.
    pub const PACKETS_DROPPED: &str = "switchboard_packets_dropped_total";
    /// Counter by `direction` (`sent` to publishers, `received` from subscribers): NACKs.
    pub const NACKS: &str = "switchboard_nacks_total";
    /// Counter by `direction`: PLI/FIR keyframe requests.
    pub const KEYFRAME_REQUESTS: &str = "switchboard_keyframe_requests_total";
    /// Counter: `sendmmsg` system calls of the media shard (forwarded packets ÷ this = batch size).
    pub const MEDIA_SEND_CALLS: &str = "switchboard_media_send_calls_total";
    /// Histogram: seconds from a publisher packet's arrival in the media socket (kernel timestamp)
    /// to the hand-off of its last forwarded copy to the kernel.
    pub const MEDIA_FORWARD_SECONDS: &str = "switchboard_media_forward_seconds";
    /// Histogram: seconds from joining to connected media.
    pub const JOIN_LATENCY: &str = "switchboard_join_latency_seconds";
    /// Counter by `direction` and `type`: WebSocket messages.
    pub const WS_MESSAGES: &str = "switchboard_ws_messages_total";
    /// Counter by `route` and `status`: HTTP API requests.
    pub const API_REQUESTS: &str = "switchboard_api_requests_total";
    /// Counter by `result` (`delivered`, `failed`, `dropped`): webhook deliveries.
    pub const WEBHOOK_DELIVERIES: &str = "switchboard_webhook_deliveries_total";
    /// Counter: conference events dropped because the event queue was full.
    pub const EVENTS_DROPPED: &str = "switchboard_events_dropped_total";
}

/// The server's metrics registry.
pub(crate) struct Metrics {
    registry: Registry,
    media: MediaHandle,
    rooms: IntGauge,
    participants: IntGaugeVec,
    tracks: IntGauge,
    sessions: IntGauge,
    media_peers: IntGauge,
    ice_tcp_connections: IntGauge,
    ice_tcp_refused: IntCounter,
    packets_received: IntCounter,
    packets_forwarded: IntCounter,
    bytes_forwarded: IntCounter,
    packets_retransmitted: IntCounter,
    layer_switches: IntCounter,
    bandwidth_pauses: IntCounter,
    packets_dropped: IntCounterVec,
    nacks: IntCounterVec,
    keyframe_requests: IntCounterVec,
    media_send_calls: IntCounter,
    join_latency: Histogram,
    ws_messages: IntCounterVec,
    api_requests: IntCounterVec,
    webhook_deliveries: IntCounterVec,
    events_dropped: IntCounter,
}

fn register<T: prometheus::core::Collector + Clone + 'static>(r: &Registry, metric: T) -> T {
    r.register(Box::new(metric.clone())).expect("each metric is registered once");
    metric
}

fn counter(r: &Registry, name: &str, help: &str) -> IntCounter {
    register(r, IntCounter::new(name, help).expect("static metric"))
}

fn gauge(r: &Registry, name: &str, help: &str) -> IntGauge {
    register(r, IntGauge::new(name, help).expect("static metric"))
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    register(r, IntCounterVec::new(Opts::new(name, help), labels).expect("static metric"))
}

/// Advances an exported counter to a value kept elsewhere (it never goes back).
fn sync(c: &IntCounter, value: u64) {
    if value > c.get() {
        c.inc_by(value - c.get());
    }
}

fn sync_atomic(c: &IntCounter, value: &AtomicU64) {
    sync(c, MediaCounters::get(value));
}

impl Metrics {
    pub(crate) fn new(media: MediaHandle) -> Self {
        use names::*;
        let r = Registry::new();
        let join_latency = HistogramOpts::new(JOIN_LATENCY, "Seconds from joining to connected media")
            .buckets(vec![0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0]);
        Self {
            rooms: gauge(&r, ROOMS, "Open rooms"),
            participants: register(
                &r,
                IntGaugeVec::new(Opts::new(PARTICIPANTS, "Participants by call state"), &["state"]).expect("static metric"),
            ),
            tracks: gauge(&r, TRACKS, "Published tracks"),
            sessions: gauge(&r, SESSIONS, "Live WebSocket sessions"),
            media_peers: gauge(&r, MEDIA_PEERS, "PeerConnections on the media shard"),
            ice_tcp_connections: gauge(&r, ICE_TCP_CONNECTIONS, "Open ICE/TCP connections (clients whose network blocks UDP)"),
            ice_tcp_refused: counter(&r, ICE_TCP_REFUSED, "ICE/TCP connections closed at once because too many were open"),
            packets_received: counter(&r, PACKETS_RECEIVED, "RTP packets received from publishers"),
            packets_forwarded: counter(&r, PACKETS_FORWARDED, "RTP packets forwarded to subscribers"),
            bytes_forwarded: counter(&r, BYTES_FORWARDED, "RTP payload bytes forwarded to subscribers"),
            packets_retransmitted: counter(&r, PACKETS_RETRANSMITTED, "RTP packets sent again to subscribers that asked with a NACK"),
            layer_switches: counter(&r, LAYER_SWITCHES, "Subscriber legs that switched to another simulcast layer (at its keyframe)"),
            bandwidth_pauses: counter(&r, BANDWIDTH_PAUSES, "Videos paused because the subscriber's estimated bandwidth had no room even for the lowest layer"),
            packets_dropped: counter_vec(&r, PACKETS_DROPPED, "RTP packets not forwarded, by reason", &["reason"]),
            nacks: counter_vec(&r, NACKS, "NACKs sent to publishers and received from subscribers", &["direction"]),
            keyframe_requests: counter_vec(&r, KEYFRAME_REQUESTS, "PLI/FIR keyframe requests", &["direction"]),
            media_send_calls: counter(&r, MEDIA_SEND_CALLS, "sendmmsg system calls of the media shard"),
            join_latency: register(&r, Histogram::with_opts(join_latency).expect("static metric")),
            ws_messages: counter_vec(&r, WS_MESSAGES, "WebSocket messages by direction and type", &["direction", "type"]),
            api_requests: counter_vec(&r, API_REQUESTS, "HTTP API requests by route and status", &["route", "status"]),
            webhook_deliveries: counter_vec(&r, WEBHOOK_DELIVERIES, "Webhook deliveries by result", &["result"]),
            events_dropped: counter(&r, EVENTS_DROPPED, "Conference events dropped on a full queue"),
            registry: r,
            media,
        }
    }

    /// A participant's media connected `latency` after it joined.
    pub(crate) fn observe_join_latency(&self, latency: Duration) {
        self.join_latency.observe(latency.as_secs_f64());
    }

    /// One WebSocket message (`direction` is `in` or `out`).
    pub(crate) fn count_ws_message(&self, direction: &str, kind: &str) {
        self.ws_messages.with_label_values(&[direction, kind]).inc();
    }

    /// One HTTP API request, by matched route template and status code.
    pub(crate) fn count_api_request(&self, route: &str, status: u16) {
        self.api_requests.with_label_values(&[route, &status.to_string()]).inc();
    }

    /// One webhook delivery outcome (`delivered`, `failed`, `dropped`).
    pub(crate) fn count_webhook(&self, result: &str) {
        self.webhook_deliveries.with_label_values(&[result]).inc();
    }

    /// The text exposition of every metric, refreshed from the shard and the conference.
    pub(crate) fn render(&self, snapshot: &ConferenceSnapshot, events_dropped: u64) -> String {
        let m = self.media.counters();
        sync_atomic(&self.packets_received, &m.packets_received);
        sync_atomic(&self.packets_forwarded, &m.packets_forwarded);
        sync_atomic(&self.bytes_forwarded, &m.bytes_forwarded);
        sync_atomic(&self.packets_retransmitted, &m.packets_retransmitted);
        sync_atomic(&self.layer_switches, &m.layer_switches);
        sync_atomic(&self.bandwidth_pauses, &m.bandwidth_pauses);
        sync_atomic(&self.keyframe_requests.with_label_values(&["received"]), &m.keyframe_requests_received);
        sync_atomic(&self.keyframe_requests.with_label_values(&["sent"]), &m.plis_sent);
        sync_atomic(&self.media_send_calls, &m.send_calls);
        sync_atomic(&self.ice_tcp_refused, &m.tcp_refused);
        self.ice_tcp_connections.set(MediaCounters::get(&m.tcp_connections) as i64);
        for (reason, value) in m.dropped_by_reason() {
            sync(&self.packets_dropped.with_label_values(&[reason]), value);
        }
        sync(&self.nacks.with_label_values(&["sent"]), snapshot.nacks_sent);
        sync(&self.nacks.with_label_values(&["received"]), snapshot.nacks_received);
        sync(&self.events_dropped, events_dropped);
        self.rooms.set(snapshot.rooms as i64);
        for state in ["lobby", "joining", "connected", "on_hold", "reconnecting"] {
            let n = snapshot.participants_by_state.get(state).copied().unwrap_or(0);
            self.participants.with_label_values(&[state]).set(n as i64);
        }
        self.tracks.set(snapshot.tracks as i64);
        self.sessions.set(snapshot.sessions as i64);
        self.media_peers.set(snapshot.media.peers as i64);
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        let mut text = String::from_utf8(out).unwrap_or_default();
        forward_latency_text(&mut text, &m.forward_latency);
        text
    }
}

/// Appends the shard's forward-latency histogram in the Prometheus text format. The shard keeps
/// it in atomics of its own (the media crate does not depend on `prometheus`), so it is written
/// here rather than registered.
fn forward_latency_text(out: &mut String, h: &switchboard_media::ForwardLatency) {
    use std::fmt::Write;
    let name = names::MEDIA_FORWARD_SECONDS;
    let counts = h.cumulative();
    let _ = writeln!(out, "# HELP {name} Seconds from a publisher packet's arrival in the media socket to the hand-off of its last forwarded copy to the kernel");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (bound, count) in switchboard_media::FORWARD_LATENCY_BOUNDS.iter().zip(&counts) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {count}");
    }
    let total = counts.last().copied().unwrap_or(0);
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
    let _ = writeln!(out, "{name}_sum {}", h.sum_seconds());
    let _ = writeln!(out, "{name}_count {total}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_a_valid_prometheus_name_with_the_prefix() {
        let all = [
            names::ROOMS,
            names::PARTICIPANTS,
            names::TRACKS,
            names::SESSIONS,
            names::MEDIA_PEERS,
            names::ICE_TCP_CONNECTIONS,
            names::ICE_TCP_REFUSED,
            names::PACKETS_RECEIVED,
            names::PACKETS_FORWARDED,
            names::BYTES_FORWARDED,
            names::PACKETS_RETRANSMITTED,
            names::PACKETS_DROPPED,
            names::NACKS,
            names::KEYFRAME_REQUESTS,
            names::MEDIA_SEND_CALLS,
            names::MEDIA_FORWARD_SECONDS,
            names::JOIN_LATENCY,
            names::WS_MESSAGES,
            names::API_REQUESTS,
            names::WEBHOOK_DELIVERIES,
            names::EVENTS_DROPPED,
        ];
        for n in all {
            assert!(n.starts_with("switchboard_"), "{n}");
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{n}");
        }
    }
}
