//! Draining a touched PeerConnection and handling its events and reads.

use super::*;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;

impl Shard {
    /// Drains one PC and handles what it produced.
    pub(super) fn drain_peer(&mut self, now: Instant, id: PeerId) {
        let mut events = std::mem::take(&mut self.scratch_events);
        let mut reads = std::mem::take(&mut self.scratch_reads);
        {
            let Some(peer) = self.peers.get_mut(&id) else { return };
            peer.dirty = false;
            while let Some(ev) = peer.pc.poll_event() {
                events.push(ev);
            }
            while let Some(msg) = peer.pc.poll_read() {
                reads.push(msg.message);
            }
            while let Some(w) = peer.pc.poll_write() {
                self.transmits.push_back(Transmit { to: w.transport.peer_addr, payload: w.message });
            }
            peer.next_timeout = peer.pc.poll_timeout();
            peer.send_to = peer.pc.selected_remote_addr();
        }
        for ev in events.drain(..) {
            self.handle_pc_event(now, id, ev);
        }
        for msg in reads.drain(..) {
            self.handle_pc_read(now, id, msg);
        }
        self.scratch_events = events;
        self.scratch_reads = reads;
    }

    pub(super) fn handle_pc_event(&mut self, now: Instant, id: PeerId, ev: RTCPeerConnectionEvent) {
        match ev {
            RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                debug!(peer = %id, %state, "connection state");
                match state {
                    RTCPeerConnectionState::Connected => self.on_connected(now, id),
                    RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                        if self.peers.contains_key(&id) {
                            info!(peer = %id, %state, "peer failed");
                            self.close_peer(now, id);
                            self.events.push_back(MediaEvent::PeerFailed { peer: id });
                        }
                    }
                    _ => {}
                }
            }
            RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => self.on_track_open(id, init),
            RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnClose(track_id)) => {
                let source = self.peers.get(&id).and_then(|p| p.sources.get(&track_id)).copied();
                if let Some(source) = source {
                    self.close_source(source);
                }
            }
            _ => {}
        }
    }

    pub(super) fn on_connected(&mut self, now: Instant, id: PeerId) {
        let Some(peer) = self.peers.get_mut(&id) else { return };
        peer.connected = true;
        let remote = peer.remote;
        let answered: Vec<SourceId> = peer
            .routes
            .values()
            .filter_map(|rid| self.routes.get(rid))
            .filter(|r| r.answered)
            .map(|r| r.source)
            .collect();
        self.events.push_back(MediaEvent::PeerConnected { peer: id, remote });
        for source in answered {
            self.request_keyframe(now, source);
        }
    }

    pub(super) fn on_track_open(&mut self, id: PeerId, init: RTCTrackEventInit) {
        let Some(peer) = self.peers.get_mut(&id).filter(|p| p.role == PeerRole::Publisher) else { return };
        if peer.sources.contains_key(&init.track_id) {
            // Another simulcast layer of a track we already forward: one layer for now.
            debug!(peer = %id, track = %init.track_id, rid = ?init.rid, "ignoring extra layer");
            return;
        }
        let Some(mut receiver) = peer.pc.rtp_receiver(init.receiver_id) else { return };
        let audio_level_ext = receiver
            .get_parameters()
            .rtp_parameters
            .header_extensions
            .iter()
            .find(|e| e.uri == crate::peer::AUDIO_LEVEL_URI)
            .and_then(|e| u8::try_from(e.id).ok());
        let track = receiver.track();
        let kind = match track.kind() {
            RtpCodecKind::Audio => MediaKind::Audio,
            _ => MediaKind::Video,
        };
        let Some(codec) = track.codec(init.ssrc).cloned() else {
            warn!(peer = %id, ssrc = init.ssrc, "track without codec");
            return;
        };
        let source_id = SourceId(self.next_id);
        self.next_id += 1;
        peer.sources.insert(init.track_id.clone(), source_id);
        info!(peer = %id, source = %source_id, track = %init.track_id, mime = %codec.mime_type, "source opened");
        self.events.push_back(MediaEvent::SourceOpened {
            source: source_id,
            publisher: id,
            remote_track_id: init.track_id,
            kind,
            mime_type: codec.mime_type.clone(),
        });
        self.sources.insert(
            source_id,
            Source {
                publisher: id,
                receiver: init.receiver_id,
                media_ssrc: init.ssrc,
                kind,
                codec,
                routes: Vec::new(),
                last_keyframe_request: None,
                muted: false,
                frames: 0,
                frame_size: None,
                audio_level_ext,
                level_sum: 0.0,
                voice_count: 0,
                level_count: 0,
                history: Default::default(),
            },
        );
    }

    pub(super) fn handle_pc_read(&mut self, now: Instant, id: PeerId, msg: RTCMessage) {
        match msg {
            RTCMessage::RtpPacket(track_id, packet) => {
                let source = self.peers.get(&id).and_then(|p| p.sources.get(&track_id)).copied();
                if let Some(source) = source {
                    self.forward(now, source, packet);
                }
            }
            RTCMessage::RtcpPacket(track_id, packets) => {
                for rr in packets.iter().filter_map(|p| p.as_any().downcast_ref::<ReceiverReport>()) {
                    self.on_receiver_report(now, id, rr);
                }
                for nack in packets.iter().filter_map(|p| p.as_any().downcast_ref::<TransportLayerNack>()) {
                    self.on_nack(id, nack);
                }
                if !packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                    return;
                }
                let route = self.peers.get(&id).and_then(|p| p.routes.get(&track_id)).copied();
                if let Some(route) = route.and_then(|r| self.routes.get_mut(&r)) {
                    for p in &packets {
                        let any = p.as_any();
                        route.plis_received += u32::from(any.is::<PictureLossIndication>());
                        route.firs_received += u32::from(any.is::<FullIntraRequest>());
                    }
                    let source = route.source;
                    MediaCounters::add(&self.counters.keyframe_requests_received, 1);
                    self.request_keyframe(now, source);
                }
            }
            _ => {}
        }
    }

    /// Keeps the subscriber's latest reception report on each of its routes.
    fn on_receiver_report(&mut self, now: Instant, id: PeerId, rr: &ReceiverReport) {
        // rtc's sender reports carry wall-clock NTP time (SystemInstant); read ours the same way.
        // The only wall-clock read of the shard, once.
        let wall = *self.wall_clock.get_or_insert_with(|| rtc::shared::time::SystemInstant::now(now));
        let arrival = ntp_middle_32(wall.ntp(now));
        let Some(peer) = self.peers.get(&id) else { return };
        for block in &rr.reports {
            let rid = peer.routes.values().copied().find(|r| self.routes.get(r).is_some_and(|r| r.out_ssrc == block.ssrc));
            if let Some(route) = rid.and_then(|r| self.routes.get_mut(&r)) {
                route.last_report = Some(ReceptionSummary {
                    fraction_lost: f64::from(block.fraction_lost) / 256.0,
                    total_lost: i64::from(block.total_lost),
                    jitter: f64::from(block.jitter),
                    rtt: round_trip(arrival, block.last_sender_report, block.delay),
                });
            }
        }
    }
}

/// The middle 32 bits of a 64-bit NTP timestamp (RFC 3550 §4), the unit of LSR and DLSR.
fn ntp_middle_32(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// RFC 3550 §6.4.1: RTT = arrival − LSR − DLSR, all in 1/65536 s; `None` without a sender report.
fn round_trip(arrival: u32, lsr: u32, dlsr: u32) -> Option<Duration> {
    if lsr == 0 {
        return None;
    }
    let rtt = arrival.wrapping_sub(lsr).wrapping_sub(dlsr);
    // A negative value (clock skew, a report about an SR we did not send) wraps to a huge one.
    (rtt < 0x8000_0000).then(|| Duration::from_secs_f64(f64::from(rtt) / 65536.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_from_lsr_and_dlsr() {
        // SR sent at 1000.0 s, held 0.25 s by the receiver, report back at 1000.30 s: 50 ms.
        let at = |secs: f64| (secs * 65536.0) as u32;
        let rtt = round_trip(at(1000.30), at(1000.0), at(0.25)).unwrap();
        assert!((rtt.as_secs_f64() - 0.05).abs() < 0.001, "{rtt:?}");
        assert_eq!(round_trip(at(5.0), 0, 0), None, "no sender report yet");
        assert_eq!(round_trip(at(1.0), at(2.0), 0), None, "negative: skewed or foreign");
    }
}
