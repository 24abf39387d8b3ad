//! The per-packet path: forwarding RTP to routes, and keyframe requests upstream.

use super::*;
use crate::keyframe::vp8_keyframe_size;

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
            let mut out = packet.clone();
            out.header.ssrc = route.out_ssrc;
            out.header.payload_type = pt;
            out.header.sequence_number = seq;
            out.header.timestamp = ts;
            let len = out.payload.len() as u64;
            route.last_forwarded = Some(now);
            let written = peer.pc.rtp_sender(route.sender).map(|mut s| s.write_rtp(now, out));
            match written {
                Some(Ok(())) => {
                    peer.rtp_written += 1;
                    MediaCounters::add(&counters.packets_forwarded, 1);
                    MediaCounters::add(&counters.bytes_forwarded, len);
                }
                Some(Err(e)) => {
                    MediaCounters::add(&counters.dropped_write_error, 1);
                    debug!(error = %e, "write_rtp failed");
                }
                None => MediaCounters::add(&counters.dropped_write_error, 1),
            }
            if !peer.dirty {
                peer.dirty = true;
                self.dirty.push(route.subscriber);
            }
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
