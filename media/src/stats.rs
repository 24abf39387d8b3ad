//! Media counters (shared with the metrics exporter) and the shard's object-count snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

/// Monotonic counters of a shard, readable from any thread (Relaxed: they are statistics).
#[derive(Debug, Default)]
pub struct MediaCounters {
    /// RTP packets received from publishers.
    pub packets_received: AtomicU64,
    /// RTP packets written to subscriber legs.
    pub packets_forwarded: AtomicU64,
    /// Payload bytes written to subscriber legs.
    pub bytes_forwarded: AtomicU64,
    /// Packets sent again because a subscriber's NACK asked for them.
    pub packets_retransmitted: AtomicU64,
    /// Route not ready: subscriber not connected or its answer not yet applied.
    pub dropped_not_ready: AtomicU64,
    /// Video route waiting for a keyframe.
    pub dropped_keyframe_wait: AtomicU64,
    /// Source muted or subscriber paused by signalling.
    pub dropped_muted: AtomicU64,
    /// Video the subscriber does not show (adaptive stream).
    pub dropped_hidden: AtomicU64,
    /// Video paused for lack of the subscriber's bandwidth.
    pub dropped_bandwidth: AtomicU64,
    /// Routes that switched to another simulcast layer.
    pub layer_switches: AtomicU64,
    /// Videos paused because a subscriber's bandwidth estimate had no room for them.
    pub bandwidth_pauses: AtomicU64,
    /// Packet older than the route's current mapping.
    pub dropped_stale: AtomicU64,
    /// Serialising or encrypting the packet failed.
    pub dropped_write_error: AtomicU64,
    /// Datagram from an unknown address or with an unknown ufrag.
    pub dropped_unrouted: AtomicU64,
    /// The datagram could not be sent: send buffer full, or an error for its destination.
    pub dropped_send_buffer: AtomicU64,
    /// A packet for an ICE/TCP client whose connection is gone or whose send queue is full.
    pub dropped_tcp_queue: AtomicU64,
    /// ICE/TCP connections open now (a gauge).
    pub tcp_connections: AtomicU64,
    /// ICE/TCP connections closed at once because too many were open.
    pub tcp_refused: AtomicU64,
    /// Keyframe requests received from subscribers.
    pub keyframe_requests_received: AtomicU64,
    /// `sendmmsg` calls made (datagrams sent ÷ this = the average batch).
    pub send_calls: AtomicU64,
    /// PLIs sent to publishers.
    pub plis_sent: AtomicU64,
    /// Time publisher packets spend in the server.
    pub forward_latency: ForwardLatency,
}

/// Upper bounds (seconds) of [`ForwardLatency`]'s buckets.
pub const FORWARD_LATENCY_BOUNDS: [f64; 13] =
    [0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];

/// A histogram of the time from a datagram's arrival in the media socket's queue (the kernel's
/// receive timestamp) to the hand-off of the last copy it produced to the kernel: what the server
/// adds to a forwarded packet's latency, short of the kernel's own send path. Buckets are
/// cumulative as in Prometheus (`le`); the last one is `+Inf`.
#[derive(Debug, Default)]
pub struct ForwardLatency {
    buckets: [AtomicU64; FORWARD_LATENCY_BOUNDS.len() + 1],
    sum_ns: AtomicU64,
}

impl ForwardLatency {
    /// Counts one packet that spent `d` in the server.
    pub fn observe(&self, d: std::time::Duration) {
        let secs = d.as_secs_f64();
        let first = FORWARD_LATENCY_BOUNDS.iter().position(|b| secs <= *b).unwrap_or(FORWARD_LATENCY_BOUNDS.len());
        for bucket in &self.buckets[first..] {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_ns.fetch_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Cumulative counts per bound of [`FORWARD_LATENCY_BOUNDS`], then `+Inf` (= the count).
    pub fn cumulative(&self) -> Vec<u64> {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect()
    }

    /// Sum of the observed times, seconds.
    pub fn sum_seconds(&self) -> f64 {
        self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9
    }
}

impl MediaCounters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Dropped packets by reason, for `packets_dropped_total{reason}`.
    pub fn dropped_by_reason(&self) -> [(&'static str, u64); 10] {
        [
            ("bandwidth", Self::get(&self.dropped_bandwidth)),
            ("muted", Self::get(&self.dropped_muted)),
            ("hidden", Self::get(&self.dropped_hidden)),
            ("not_ready", Self::get(&self.dropped_not_ready)),
            ("keyframe_wait", Self::get(&self.dropped_keyframe_wait)),
            ("stale", Self::get(&self.dropped_stale)),
            ("write_error", Self::get(&self.dropped_write_error)),
            ("unrouted", Self::get(&self.dropped_unrouted)),
            ("send_buffer", Self::get(&self.dropped_send_buffer)),
            ("tcp_queue", Self::get(&self.dropped_tcp_queue)),
        ]
    }
}

/// Object counts of a shard, for leak checks and the admin API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShardSnapshot {
    /// PeerConnections.
    pub peers: usize,
    /// Published sources.
    pub sources: usize,
    /// Subscriber routes.
    pub routes: usize,
    /// Demultiplexer entries (ufrags and learnt addresses).
    pub demux_entries: usize,
}

/// Statistics of one stream: a publisher's inbound track, or one subscriber leg of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrackStats {
    /// Packets received (inbound) or sent (outbound).
    pub packets: u64,
    /// Payload bytes received or sent.
    pub bytes: u64,
    /// Packets lost: counted by us (inbound) or reported by the subscriber (outbound).
    pub packets_lost: i64,
    /// Loss fraction of the last receiver report (outbound only).
    pub fraction_lost: Option<f64>,
    /// Interarrival jitter in seconds (inbound: ours; outbound: the subscriber's report).
    pub jitter_s: f64,
    /// Round-trip time from receiver reports, in seconds (outbound only).
    pub rtt_s: Option<f64>,
    /// NACKs sent (inbound) or received (outbound).
    pub nack_count: u32,
    /// PLIs sent (inbound) or received (outbound).
    pub pli_count: u32,
    /// FIRs sent (inbound) or received (outbound).
    pub fir_count: u32,
    /// Video frames seen (marker bits), inbound only.
    pub frames: u64,
    /// Width × height from the last VP8 keyframe: of the track (inbound), of the layer
    /// forwarded (outbound).
    pub frame_size: Option<(u16, u16)>,
    /// Outbound, simulcast sources: the layer forwarded (0 = the lowest), if one is.
    pub layer: Option<u8>,
    /// Outbound, simulcast sources: the layer the leg is switching to or stays on.
    pub target_layer: Option<u8>,
    /// Outbound video: paused because the subscriber's bandwidth has no room for it.
    pub paused_bandwidth: bool,
    /// Outbound video: hidden by the subscriber (adaptive stream).
    pub hidden: bool,
}

/// A statistics sample of one peer.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerStats {
    /// The peer.
    pub peer: crate::ids::PeerId,
    /// The client's address.
    pub remote: Option<std::net::SocketAddr>,
    /// Round-trip time, in seconds, when measured.
    pub rtt_s: Option<f64>,
    /// Subscriber peers: the estimated bandwidth of their downlink, bit/s (from their
    /// transport-wide congestion feedback; none before any arrived).
    pub estimated_bitrate: Option<f64>,
    /// Publisher peers: their tracks as received.
    pub inbound: Vec<(crate::ids::SourceId, TrackStats)>,
    /// Subscriber peers: each forwarded track as sent, with the client's reports.
    pub outbound: Vec<(crate::ids::SourceId, TrackStats)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn latency_buckets_are_cumulative() {
        let h = ForwardLatency::default();
        h.observe(Duration::from_micros(30));
        h.observe(Duration::from_micros(700));
        h.observe(Duration::from_secs(3));
        let c = h.cumulative();
        assert_eq!(c.len(), FORWARD_LATENCY_BOUNDS.len() + 1);
        assert_eq!(&c[..5], &[1, 1, 1, 1, 2], "≤50 µs, ≤100, ≤250, ≤500, ≤1 ms");
        assert_eq!(c[FORWARD_LATENCY_BOUNDS.len() - 1], 2, "≤1 s");
        assert_eq!(*c.last().unwrap(), 3, "+Inf counts everything");
        assert!((h.sum_seconds() - 3.00073).abs() < 1e-6);
    }
}
