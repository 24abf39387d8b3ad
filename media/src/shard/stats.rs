//! Per-peer, per-track statistics: a publisher's inbound streams from its PeerConnection's
//! RTCP-derived stats, each subscriber leg from the forwarder's own counters and the
//! subscriber's receiver reports, plus the forwarder's frame counters.

use super::*;
use crate::stats::{PeerStats, TrackStats};
use rtc::statistics::report::RTCStatsReportEntry;
use rtc::statistics::StatsSelector;

impl Shard {
    /// A statistics sample of every peer.
    pub fn stats(&mut self, now: Instant) -> Vec<PeerStats> {
        let mut out = Vec::with_capacity(self.peers.len());
        let ids: Vec<PeerId> = self.peers.keys().copied().collect();
        for id in ids {
            if let Some(s) = self.peer_stats(now, id) {
                out.push(s);
            }
        }
        out
    }

    fn peer_stats(&mut self, now: Instant, id: PeerId) -> Option<PeerStats> {
        let peer = self.peers.get_mut(&id)?;
        // rtc 0.21.1 stores RTCP interarrival jitter in timestamp units (RFC 3550 §6.4.1), not
        // the seconds its docs promise: convert with the stream's clock rate.
        let seconds = |jitter: f64, clock: f64| if clock > 0.0 { jitter / clock } else { 0.0 };
        let mut inbound: HashMap<SourceId, TrackStats> = HashMap::new();
        let mut rtt = None;
        // Only a publisher's inbound streams need `rtc`'s statistics (building its report costs
        // tens of µs per PC on the shard thread, every sample): what a subscriber leg sent is
        // counted by the forwarder, and what it received comes from its receiver reports.
        if peer.role == PeerRole::Publisher && !peer.sources.is_empty() {
            let by_in_ssrc: HashMap<u32, (SourceId, f64)> = peer
                .sources
                .values()
                .filter_map(|s| self.sources.get(s).map(|src| (src.media_ssrc, (*s, f64::from(src.codec.clock_rate)))))
                .collect();
            for entry in peer.pc.get_stats(now, StatsSelector::None).iter() {
                match entry {
                    RTCStatsReportEntry::InboundRtp(s) => {
                        let r = &s.received_rtp_stream_stats;
                        let Some((source, clock)) = by_in_ssrc.get(&r.rtp_stream_stats.ssrc) else { continue };
                        let t = inbound.entry(*source).or_default();
                        t.packets = r.packets_received;
                        t.bytes = s.bytes_received;
                        t.packets_lost = r.packets_lost;
                        t.jitter_s = seconds(r.jitter, *clock);
                        t.nack_count = s.nack_count;
                        t.pli_count = s.pli_count;
                        t.fir_count = s.fir_count;
                    }
                    RTCStatsReportEntry::IceCandidatePair(p) if p.nominated && p.current_round_trip_time > 0.0 => {
                        rtt = rtt.or(Some(p.current_round_trip_time));
                    }
                    _ => {}
                }
            }
        }
        let mut outbound: HashMap<SourceId, TrackStats> = HashMap::new();
        for rid in peer.routes.values() {
            let Some(route) = self.routes.get(rid).filter(|r| r.answered) else { continue };
            let clock = self.sources.get(&route.source).map_or(90_000.0, |s| f64::from(s.codec.clock_rate));
            let t = outbound.entry(route.source).or_default();
            t.packets = route.packets_sent;
            t.bytes = route.bytes_sent;
            t.nack_count = route.nacks_received;
            t.pli_count = route.plis_received;
            t.fir_count = route.firs_received;
            // Per-leg loss, jitter and RTT from the subscriber's own receiver reports (kept by
            // `on_receiver_report`).
            if let Some(report) = route.last_report {
                t.packets_lost = report.total_lost;
                t.fraction_lost = Some(report.fraction_lost);
                t.jitter_s = seconds(report.jitter, clock);
                if let Some(r) = report.rtt {
                    t.rtt_s = Some(r.as_secs_f64());
                    rtt = Some(r.as_secs_f64());
                }
            }
        }
        for (source_id, t) in inbound.iter_mut() {
            if let Some(src) = self.sources.get(source_id) {
                t.frames = src.frames;
                t.frame_size = src.frame_size;
            }
        }
        Some(PeerStats {
            peer: id,
            remote: peer.remote,
            rtt_s: rtt,
            inbound: inbound.into_iter().collect(),
            outbound: outbound.into_iter().collect(),
        })
    }
}
