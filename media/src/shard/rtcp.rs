//! The shard's RTCP from subscribers (reception reports, NACKs answered from the source's
//! history, keyframe requests relayed to the publisher, transport-wide feedback for the
//! subscriber's bandwidth estimate) and the sender reports it writes on every leg.

use super::Shard;
use crate::feedback;
use crate::ids::PeerId;
use crate::peer::Peer;
use crate::stats::MediaCounters;
use rtc::peer_connection::message::RTCMessage;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::transport_feedbacks::transport_layer_cc::TransportLayerCc;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use std::time::Instant;

impl Shard {
    pub(super) fn handle_pc_read(&mut self, now: Instant, id: PeerId, msg: RTCMessage) {
        match msg {
            RTCMessage::RtpPacket(track_id, packet) => {
                if let Some(source) = self.peers.get(&id).and_then(|p| p.sources.get(&track_id)).copied() {
                    self.forward(now, source, packet);
                }
            }
            RTCMessage::RtcpPacket(track_id, packets) => {
                for rr in packets.iter().filter_map(|p| p.as_any().downcast_ref::<ReceiverReport>()) {
                    self.on_receiver_report(now, id, rr);
                }
                for nack in packets.iter().filter_map(|p| p.as_any().downcast_ref::<TransportLayerNack>()) {
                    self.on_nack(now, id, nack);
                }
                for fb in packets.iter().filter_map(|p| p.as_any().downcast_ref::<TransportLayerCc>()) {
                    if let Some(bwe) = self.peers.get_mut(&id).and_then(|p| p.bwe.as_mut()) {
                        bwe.on_feedback(now, fb);
                    }
                }
                let route = self.peers.get(&id).and_then(|p| p.routes.get(&track_id)).and_then(|r| self.routes.get_mut(r));
                if let Some(route) = route.and_then(|r| r.count_keyframe_requests(&packets).then_some(r)) {
                    let (source, layer) = (route.source, route.shown_layer());
                    MediaCounters::add(&self.counters.keyframe_requests_received, 1);
                    self.request_keyframe(now, source, layer);
                }
            }
            _ => {}
        }
    }

    /// Keeps the subscriber's latest reception report on each of its routes.
    fn on_receiver_report(&mut self, now: Instant, id: PeerId, rr: &ReceiverReport) {
        let arrival = self.ntp(now);
        if let Some(peer) = self.peers.get(&id) {
            feedback::keep_reception_reports(arrival, peer, &mut self.routes, rr);
        }
    }

    /// A subscriber lost packets of a leg: sends again those the source's history still has.
    fn on_nack(&mut self, now: Instant, id: PeerId, nack: &TransportLayerNack) {
        let by_ssrc = |peer: &Peer| feedback::route_by_out_ssrc(peer, &self.routes, nack.media_ssrc);
        let Some(rid) = self.peers.get(&id).and_then(by_ssrc) else { return };
        let (Some(peer), Some(route)) = (self.peers.get_mut(&id), self.routes.get_mut(&rid)) else { return };
        route.count_nack();
        let Some(history) = self.sources.get(&route.source).and_then(|s| s.history(route.shown_layer())) else { return };
        self.fanout.retransmit(now, (peer, route), nack, history, &mut self.transmits, &self.counters);
    }

    /// Writes an RTCP sender report on every leg that forwarded media and is due one (about
    /// every second): for the browser's audio/video sync and for the round-trip time its
    /// receiver reports let us compute.
    pub(super) fn send_sender_reports(&mut self, now: Instant) {
        let ntp = self.ntp(now);
        let mut written = Vec::new();
        for route in self.routes.values_mut().filter(|r| r.sender_report_due(now)) {
            let Some(peer) = self.peers.get_mut(&route.subscriber).filter(|p| p.connected) else { continue };
            let Some(report) = route.sender_report(now, ntp, rand::random::<f64>()) else { continue };
            if peer.write_sender_report(now, route.sender, report) {
                written.push(route.subscriber);
            }
        }
        for id in written {
            self.mark_dirty(id);
        }
    }
}
