//! The per-packet path: forwarding RTP to routes, retransmissions, sender reports, and keyframe
//! requests upstream.
//!
//! Forwarded RTP does not go through `rtc`'s write pipeline: each leg's copy is rewritten,
//! serialised into one scratch buffer, encrypted with the leg's outbound SRTP context and queued
//! for the socket here (`RTCPeerConnection::encrypt_rtp_for_forwarding`, vendor/rtc/PATCHES.md).
//! What the pipeline's interceptors did for those packets is done here instead: NACKs are answered
//! from the source's [`History`](crate::history::History), and sender reports are written every
//! second per leg (through `rtc`, which encrypts RTCP with the same context).

use super::*;
use crate::keyframe::vp8_keyframe_size;
use crate::peer::Peer;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::shared::marshal::{Marshal, MarshalSize};

/// How often each leg sends an RTCP sender report on average (`rtc`'s interceptor default).
const SENDER_REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// Why a packet could not go out on a leg.
enum SendError {
    /// DTLS has not completed or no candidate pair is selected yet.
    NotReady,
    Failed(rtc::shared::error::Error),
}

/// Serialises `packet` into `scratch`, encrypts it for `peer` and queues the datagram.
fn send_rtp(
    peer: &mut Peer,
    transmits: &mut VecDeque<Transmit>,
    scratch: &mut Vec<u8>,
    packet: &rtc::rtp::Packet,
) -> Result<(), SendError> {
    let to = peer.send_to.or(peer.remote).ok_or(SendError::NotReady)?;
    scratch.resize(packet.marshal_size(), 0);
    let n = packet.marshal_to(scratch).map_err(SendError::Failed)?;
    let payload = peer
        .pc
        .encrypt_rtp_for_forwarding(&scratch[..n], &packet.header)
        .ok_or(SendError::NotReady)?
        .map_err(SendError::Failed)?;
    transmits.push_back(Transmit { to, payload });
    Ok(())
}

/// `packet` as one leg sends it: the leg's SSRC, payload type and rewritten numbers.
fn leg_copy(packet: &rtc::rtp::Packet, ssrc: u32, pt: u8, (seq, ts): (u16, u32)) -> rtc::rtp::Packet {
    let mut out = packet.clone();
    out.header.ssrc = ssrc;
    out.header.payload_type = pt;
    out.header.sequence_number = seq;
    out.header.timestamp = ts;
    out
}

impl Shard {
    /// Sends one RTP packet of `source_id` to every ready route.
    pub(super) fn forward(&mut self, now: Instant, source_id: SourceId, mut packet: rtc::rtp::Packet) {
        let counters = &self.counters;
        MediaCounters::add(&counters.packets_received, 1);
        let Some(source) = self.sources.get_mut(&source_id) else { return };
        if packet.header.ssrc != source.media_ssrc {
            return; // another simulcast layer
        }
        if source.muted {
            MediaCounters::add(&counters.dropped_muted, 1);
            return;
        }
        let keyframe = source.kind == MediaKind::Video && is_keyframe_start(&source.codec.mime_type, &packet.payload);
        if let Some(byte) = source.audio_level_ext.and_then(|id| packet.header.get_extension(id)).and_then(|b| b.first().copied()) {
            // RFC 6464: V flag, then the level in -dBov (0 loudest, 127 silence).
            source.level_sum += 10f32.powf(-f32::from(byte & 0x7f) / 20.0);
            source.voice_count += u32::from(byte >> 7);
            source.level_count += 1;
        }
        if source.kind == MediaKind::Video {
            source.frames += u64::from(packet.header.marker);
            if keyframe {
                source.frame_size = vp8_keyframe_size(&source.codec.mime_type, &packet.payload).or(source.frame_size);
            }
        }
        // Extension ids are negotiated per leg; we negotiate none, so none may go out. Stripped
        // once here, so the per-route clone below copies no extension list.
        packet.header.extension = false;
        packet.header.extensions = Vec::new();
        packet.header.extension_profile = 0;
        if source.kind == MediaKind::Video {
            source.history.push(&packet);
        }
        for rid in &source.routes {
            let Some(route) = self.routes.get_mut(rid) else { continue };
            let Some(peer) = self.peers.get_mut(&route.subscriber) else { continue };
            if peer.paused {
                MediaCounters::add(&counters.dropped_muted, 1);
                continue;
            }
            let Some(pt) = route.out_pt.filter(|_| route.answered && peer.connected) else {
                MediaCounters::add(&counters.dropped_not_ready, 1);
                continue;
            };
            if route.waiting_keyframe {
                if !keyframe {
                    MediaCounters::add(&counters.dropped_keyframe_wait, 1);
                    continue;
                }
                route.waiting_keyframe = false;
            }
            let Some((seq, ts)) = route.munger.rewrite(packet.header.sequence_number, packet.header.timestamp) else {
                MediaCounters::add(&counters.dropped_stale, 1);
                continue;
            };
            let out = leg_copy(&packet, route.out_ssrc, pt, (seq, ts));
            match send_rtp(peer, &mut self.transmits, &mut self.scratch, &out) {
                Ok(()) => {
                    let len = out.payload.len() as u64;
                    MediaCounters::add(&counters.packets_forwarded, 1);
                    MediaCounters::add(&counters.bytes_forwarded, len);
                    route.last_forwarded = Some(now);
                    route.last_out_ts = ts;
                    route.packets_sent += 1;
                    route.bytes_sent += len;
                }
                Err(SendError::NotReady) => MediaCounters::add(&counters.dropped_not_ready, 1),
                Err(SendError::Failed(e)) => {
                    MediaCounters::add(&counters.dropped_write_error, 1);
                    debug!(error = %e, "forwarding a packet failed");
                }
            }
        }
    }

    /// A subscriber lost packets of a leg: sends again those the source's history still has.
    pub(super) fn on_nack(&mut self, id: PeerId, nack: &TransportLayerNack) {
        let Some(peer) = self.peers.get_mut(&id) else { return };
        let Some(rid) = peer.routes.values().copied().find(|r| self.routes.get(r).is_some_and(|r| r.out_ssrc == nack.media_ssrc))
        else {
            return;
        };
        let Some(route) = self.routes.get_mut(&rid) else { return };
        route.nacks_received = route.nacks_received.saturating_add(1);
        let Some(source) = self.sources.get(&route.source) else { return };
        let Some(pt) = route.out_pt else { return };
        for out_seq in nack.nacks.iter().flat_map(|pair| pair.packet_list()) {
            let in_seq = route.munger.incoming_seq(out_seq);
            let Some(original) = source.history.get(in_seq) else { continue };
            let Some((seq, ts)) = route.munger.forwarded_as(in_seq, original.header.timestamp) else { continue };
            let out = leg_copy(original, route.out_ssrc, pt, (seq, ts));
            if send_rtp(peer, &mut self.transmits, &mut self.scratch, &out).is_ok() {
                MediaCounters::add(&self.counters.packets_retransmitted, 1);
            }
        }
    }

    /// Writes an RTCP sender report on every leg that forwarded media and is due one (about every
    /// [`SENDER_REPORT_INTERVAL`]): the NTP time now and the RTP time it corresponds to on the leg
    /// (the last timestamp sent, advanced by the time since), for the browser's audio/video sync
    /// and for the round-trip time its receiver reports let us compute.
    pub(super) fn send_sender_reports(&mut self, now: Instant) {
        let wall = *self.wall_clock.get_or_insert_with(|| rtc::shared::time::SystemInstant::now(now));
        let mut written = Vec::new();
        for route in self.routes.values_mut() {
            let Some(last) = route.last_forwarded else { continue };
            if route.next_sender_report.is_some_and(|t| now < t) {
                continue;
            }
            let Some(peer) = self.peers.get_mut(&route.subscriber).filter(|p| p.connected) else { continue };
            let clock_rate = self.sources.get(&route.source).map_or(90_000, |s| s.codec.clock_rate);
            let elapsed = now.saturating_duration_since(last).as_secs_f64();
            let report = SenderReport {
                ssrc: route.out_ssrc,
                ntp_time: wall.ntp(now),
                rtp_time: route.last_out_ts.wrapping_add((elapsed * f64::from(clock_rate)) as u32),
                // RFC 3550: both counts wrap modulo 2^32.
                packet_count: route.packets_sent as u32,
                octet_count: route.bytes_sent as u32,
                ..Default::default()
            };
            // RFC 3550 §6.2: a randomised interval (0.5–1.5 × the nominal one), which also keeps
            // the legs of one fan-out, all started by the same keyframe, from reporting in the
            // same tick (each report still goes through `rtc`'s write pipeline).
            route.next_sender_report = Some(now + SENDER_REPORT_INTERVAL.mul_f64(rand::random::<f64>() + 0.5));
            if let Some(mut sender) = peer.pc.rtp_sender(route.sender) {
                match sender.write_rtcp(now, vec![Box::new(report)]) {
                    Ok(()) => written.push(route.subscriber),
                    Err(e) => debug!(error = %e, "sender report write failed"),
                }
            }
        }
        for id in written {
            self.mark_dirty(id);
        }
    }

    /// Asks the publisher of `source_id` for a keyframe, at most once per throttle interval.
    pub(super) fn request_keyframe(&mut self, now: Instant, source_id: SourceId) {
        let Some(source) = self.sources.get_mut(&source_id) else { return };
        if source.kind != MediaKind::Video {
            return;
        }
        if source
            .last_keyframe_request
            .is_some_and(|t| now.saturating_duration_since(t) < self.config.keyframe_request_interval)
        {
            return;
        }
        source.last_keyframe_request = Some(now);
        let pli = PictureLossIndication { sender_ssrc: 0, media_ssrc: source.media_ssrc };
        let publisher = source.publisher;
        let receiver = source.receiver;
        let Some(peer) = self.peers.get_mut(&publisher) else { return };
        if let Some(mut r) = peer.pc.rtp_receiver(receiver) {
            match r.write_rtcp(now, vec![Box::new(pli)]) {
                Ok(()) => MediaCounters::add(&self.counters.plis_sent, 1),
                Err(e) => debug!(error = %e, "PLI write failed"),
            }
        }
        self.mark_dirty(publisher);
    }

    /// Routes still waiting for a keyframe ask again, so a lost PLI or keyframe does not leave a
    /// subscriber black.
    pub(super) fn retry_keyframes(&mut self, now: Instant) {
        let waiting: Vec<SourceId> = self
            .routes
            .values()
            .filter(|r| r.waiting_keyframe && r.answered)
            .filter(|r| self.peers.get(&r.subscriber).is_some_and(|p| p.connected))
            .map(|r| r.source)
            .collect();
        for source in waiting {
            let due = self.sources.get(&source).is_some_and(|s| {
                s.last_keyframe_request
                    .is_none_or(|t| now.saturating_duration_since(t) >= self.config.keyframe_retry_interval)
            });
            if due {
                self.request_keyframe(now, source);
            }
        }
    }

    pub(super) fn set_source_muted(&mut self, now: Instant, source_id: SourceId, muted: bool) {
        let Some(source) = self.sources.get_mut(&source_id) else { return };
        if source.muted == muted {
            return;
        }
        source.muted = muted;
        if !muted {
            let (routes, clock_rate) = (source.routes.clone(), source.codec.clock_rate);
            for rid in routes {
                if let Some(route) = self.routes.get_mut(&rid) {
                    route.restart(now, clock_rate, self.sources.get(&source_id).map(|s| s.kind));
                }
            }
            self.request_keyframe(now, source_id);
        }
    }

    pub(super) fn set_subscriber_paused(&mut self, now: Instant, subscriber: PeerId, paused: bool) {
        let Some(peer) = self.peers.get_mut(&subscriber).filter(|p| p.role == PeerRole::Subscriber) else { return };
        if peer.paused == paused {
            return;
        }
        peer.paused = paused;
        if paused {
            return;
        }
        let routes: Vec<RouteId> = peer.routes.values().copied().collect();
        for rid in routes {
            let Some(route) = self.routes.get_mut(&rid) else { continue };
            let Some(source) = self.sources.get(&route.source) else { continue };
            route.restart(now, source.codec.clock_rate, Some(source.kind));
            let source_id = route.source;
            self.request_keyframe(now, source_id);
        }
    }

    /// Queues the mean audio level of every source that sent some since the last report.
    pub(super) fn report_audio_levels(&mut self) {
        let mut levels = Vec::new();
        for (id, s) in self.sources.iter_mut().filter(|(_, s)| s.level_count > 0) {
            let n = s.level_count as f32;
            levels.push(crate::api::AudioLevel {
                source: *id,
                publisher: s.publisher,
                level: if s.muted { 0.0 } else { s.level_sum / n },
                voice: s.voice_count as f32 / n,
            });
            (s.level_sum, s.voice_count, s.level_count) = (0.0, 0, 0);
        }
        if !levels.is_empty() {
            self.events.push_back(MediaEvent::AudioLevels { levels });
        }
    }
}

impl Route {
    /// After a pause: continue numbering where it stopped, timestamps advanced by the pause, and
    /// (video) wait for a keyframe.
    fn restart(&mut self, now: Instant, clock_rate: u32, kind: Option<MediaKind>) {
        let paused_for = self.last_forwarded.map(|t| now.saturating_duration_since(t)).unwrap_or_default();
        let ticks = (paused_for.as_secs_f64() * f64::from(clock_rate)) as u32;
        self.munger.resync(ticks);
        self.waiting_keyframe = kind == Some(MediaKind::Video);
    }
}
