//! A [`Source`]: one publisher track as the shard receives it.
//!
//! Owns what concerns the track itself, whoever subscribes: its codec and media SSRC, the
//! receiver it arrives on, the packet history that answers NACKs, the keyframe-request throttle,
//! the moderator mute, frame counting and size, audio levels, and (next round) its simulcast
//! layers. Not owned here: the legs to subscribers (`route.rs`), the PeerConnection (`peer.rs`),
//! or the decision to forward (the shard's dispatch).

use crate::api::MediaKind;
use crate::audio_level::{AudioLevelMeter, MeanLevel};
use crate::history::History;
use crate::ids::{PeerId, RouteId};
use crate::keyframe::{is_keyframe_start, vp8_keyframe_size};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp::Packet;
use rtc::rtp_transceiver::rtp_sender::RTCRtpCodec;
use rtc::rtp_transceiver::RTCRtpReceiverId;
use std::time::{Duration, Instant};

/// What a new [`Source`] is made of (from the publisher PC's `OnTrack`).
pub(crate) struct SourceOptions {
    /// The publishing peer.
    pub(crate) publisher: PeerId,
    /// The receiver the track arrives on (keyframe requests go back through it).
    pub(crate) receiver: RTCRtpReceiverId,
    /// The first layer: its rid (simulcast) and SSRC.
    pub(crate) layer: Layer,
    /// Audio or video.
    pub(crate) kind: MediaKind,
    /// The negotiated codec.
    pub(crate) codec: RTCRtpCodec,
    /// Negotiated id of the RFC 6464 audio-level extension, if any.
    pub(crate) audio_level_ext: Option<u8>,
}

/// One encoding of a track (a simulcast layer, or the only one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layer {
    /// RTP stream id (`a=rid`), for simulcast.
    pub(crate) rid: Option<String>,
    /// Media SSRC.
    pub(crate) ssrc: u32,
}

/// What the shard does with a packet that arrived for a source ([`Source::ingest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ingest {
    /// Another layer than the one forwarded.
    OtherLayer,
    /// Withheld by a moderator's mute.
    Muted,
    /// Forward it to the routes; `keyframe`: it starts a video keyframe.
    Forward {
        /// The packet starts a video keyframe.
        keyframe: bool,
    },
}

/// Video frames seen and the last known picture size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FrameCount {
    /// Packets with the marker bit.
    pub(crate) frames: u64,
    /// Width × height from the last VP8 keyframe.
    pub(crate) size: Option<(u16, u16)>,
}

/// A publisher's inbound track.
pub(crate) struct Source {
    pub(crate) publisher: PeerId,
    pub(crate) receiver: RTCRtpReceiverId,
    pub(crate) kind: MediaKind,
    pub(crate) codec: RTCRtpCodec,
    /// SSRC of the layer forwarded (the first one): checked on every packet.
    media_ssrc: u32,
    /// Every layer the publisher opened, the forwarded one first. Simulcast layer choice comes
    /// next round; until then only `layers[0]` is forwarded.
    layers: Vec<Layer>,
    /// The routes forwarding this source, in subscription order.
    pub(crate) routes: Vec<RouteId>,
    /// When a keyframe was last requested from the publisher.
    last_keyframe_request: Option<Instant>,
    /// Withheld from every route by signalling.
    muted: bool,
    frames: FrameCount,
    /// Audio with the RFC 6464 extension negotiated.
    audio_level: Option<AudioLevelMeter>,
    /// Video: recent packets, to answer NACKs.
    history: History,
}

impl Source {
    /// A source with no routes yet.
    pub(crate) fn new(o: SourceOptions) -> Self {
        Self {
            publisher: o.publisher,
            receiver: o.receiver,
            kind: o.kind,
            codec: o.codec,
            media_ssrc: o.layer.ssrc,
            layers: vec![o.layer],
            routes: Vec::new(),
            last_keyframe_request: None,
            muted: false,
            frames: FrameCount::default(),
            audio_level: o.audio_level_ext.filter(|_| o.kind == MediaKind::Audio).map(AudioLevelMeter::new),
            history: History::default(),
        }
    }

    /// Takes in one packet: classifies it, counts it and keeps it for NACKs. Header extensions
    /// are stripped here, once for all routes: their ids are negotiated per leg and we negotiate
    /// none downstream, so the per-route copies carry no extension list.
    pub(crate) fn ingest(&mut self, packet: &mut Packet) -> Ingest {
        if packet.header.ssrc != self.media_ssrc {
            return Ingest::OtherLayer;
        }
        if self.muted {
            return Ingest::Muted;
        }
        let video = self.kind == MediaKind::Video;
        let keyframe = video && is_keyframe_start(&self.codec.mime_type, &packet.payload);
        if let Some(meter) = &mut self.audio_level {
            meter.observe(&packet.header);
        }
        if video {
            self.frames.frames += u64::from(packet.header.marker);
            if keyframe {
                self.frames.size = vp8_keyframe_size(&self.codec.mime_type, &packet.payload).or(self.frames.size);
            }
        }
        packet.header.extension = false;
        packet.header.extensions = Vec::new();
        packet.header.extension_profile = 0;
        if video {
            self.history.push(packet);
        }
        Ingest::Forward { keyframe }
    }

    /// A PLI for the publisher, unless this is audio or one was asked for less than
    /// `min_interval` ago (then nothing is recorded).
    pub(crate) fn keyframe_request(&mut self, now: Instant, min_interval: Duration) -> Option<PictureLossIndication> {
        if self.kind != MediaKind::Video
            || self.last_keyframe_request.is_some_and(|t| now.saturating_duration_since(t) < min_interval)
        {
            return None;
        }
        self.last_keyframe_request = Some(now);
        Some(PictureLossIndication { sender_ssrc: 0, media_ssrc: self.media_ssrc })
    }

    /// Whether a route still waiting for a keyframe should ask again: nothing asked in `retry`.
    pub(crate) fn keyframe_retry_due(&self, now: Instant, retry: Duration) -> bool {
        self.last_keyframe_request.is_none_or(|t| now.saturating_duration_since(t) >= retry)
    }

    /// Mutes or unmutes; whether that changed anything.
    pub(crate) fn set_muted(&mut self, muted: bool) -> bool {
        std::mem::replace(&mut self.muted, muted) != muted
    }

    /// The mean audio level since the last call, if the source carries levels and sent any.
    pub(crate) fn take_audio_level(&mut self) -> Option<MeanLevel> {
        let muted = self.muted;
        self.audio_level.as_mut()?.take(muted)
    }

    /// SSRC of the layer forwarded.
    pub(crate) fn media_ssrc(&self) -> u32 {
        self.media_ssrc
    }

    /// Video frames seen and picture size.
    pub(crate) fn frames(&self) -> FrameCount {
        self.frames
    }

    /// The packets kept for retransmission.
    pub(crate) fn history(&self) -> &History {
        &self.history
    }

    /// Records another layer of the same track (a simulcast encoding); it is not forwarded yet.
    pub(crate) fn add_layer(&mut self, layer: Layer) {
        if !self.layers.contains(&layer) {
            self.layers.push(layer);
        }
    }

    /// Layers opened so far, the forwarded one first.
    pub(crate) fn layers(&self) -> &[Layer] {
        &self.layers
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn source(kind: MediaKind, audio_level_ext: Option<u8>) -> Source {
        let codec = match kind {
            MediaKind::Video => RTCRtpCodec { mime_type: "video/VP8".into(), clock_rate: 90_000, ..Default::default() },
            MediaKind::Audio => RTCRtpCodec { mime_type: "audio/opus".into(), clock_rate: 48_000, ..Default::default() },
        };
        Source::new(SourceOptions {
            publisher: PeerId(1),
            receiver: RTCRtpReceiverId::default(),
            layer: Layer { rid: None, ssrc: 1000 },
            kind,
            codec,
            audio_level_ext,
        })
    }

    /// A VP8 packet: a 640×360 keyframe start, or a delta frame.
    fn vp8(seq: u16, key: bool, marker: bool) -> Packet {
        let payload: &[u8] = if key {
            &[0x10, 0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01]
        } else {
            &[0x10, 0x01, 7, 7]
        };
        let mut p = Packet { payload: Bytes::copy_from_slice(payload), ..Default::default() };
        p.header.ssrc = 1000;
        p.header.sequence_number = seq;
        p.header.marker = marker;
        p
    }

    #[test]
    fn keyframe_requests_are_throttled_per_track() {
        let mut s = source(MediaKind::Video, None);
        let t0 = Instant::now();
        let gap = Duration::from_millis(300);
        assert_eq!(s.keyframe_request(t0, gap).map(|p| p.media_ssrc), Some(1000));
        assert!(s.keyframe_request(t0 + Duration::from_millis(299), gap).is_none(), "inside the window");
        assert!(!s.keyframe_retry_due(t0 + Duration::from_millis(100), gap));
        assert!(s.keyframe_retry_due(t0 + gap, gap));
        assert!(s.keyframe_request(t0 + gap, gap).is_some(), "after the window");
        let mut audio = source(MediaKind::Audio, None);
        assert!(audio.keyframe_request(t0, gap).is_none(), "audio has no keyframes");
    }

    #[test]
    fn video_packets_are_kept_for_nacks_without_extensions() {
        let mut s = source(MediaKind::Video, None);
        let mut p = vp8(7, false, true);
        p.header.set_extension(3, Bytes::from_static(&[1])).unwrap();
        assert_eq!(s.ingest(&mut p), Ingest::Forward { keyframe: false });
        assert!(!p.header.extension && p.header.extensions.is_empty(), "stripped for every leg");
        assert_eq!(s.history().get(7).map(|p| p.header.sequence_number), Some(7));
        assert!(s.history().get(8).is_none());
    }

    #[test]
    fn frames_and_size_come_from_markers_and_keyframes() {
        let mut s = source(MediaKind::Video, None);
        assert_eq!(s.ingest(&mut vp8(1, false, true)), Ingest::Forward { keyframe: false });
        assert_eq!(s.frames(), FrameCount { frames: 1, size: None });
        assert_eq!(s.ingest(&mut vp8(2, true, false)), Ingest::Forward { keyframe: true });
        s.ingest(&mut vp8(3, false, true));
        assert_eq!(s.frames(), FrameCount { frames: 2, size: Some((640, 360)) });
    }

    #[test]
    fn mute_withholds_and_other_layers_are_not_forwarded() {
        let mut s = source(MediaKind::Video, None);
        assert!(s.set_muted(true));
        assert!(!s.set_muted(true), "no change");
        assert_eq!(s.ingest(&mut vp8(1, true, true)), Ingest::Muted);
        assert!(s.history().get(1).is_none(), "a withheld packet is not kept");
        assert!(s.set_muted(false));
        let mut other = vp8(2, true, true);
        other.header.ssrc = 2000;
        assert_eq!(s.ingest(&mut other), Ingest::OtherLayer);
        s.add_layer(Layer { rid: Some("h".into()), ssrc: 2000 });
        s.add_layer(Layer { rid: Some("h".into()), ssrc: 2000 });
        assert_eq!(s.layers().len(), 2, "recorded once");
        assert_eq!(s.ingest(&mut other), Ingest::OtherLayer, "still only the first layer is forwarded");
    }

    #[test]
    fn audio_levels_accumulate_until_taken() {
        let mut s = source(MediaKind::Audio, Some(1));
        let mut p = Packet::default();
        p.header.ssrc = 1000;
        p.header.set_extension(1, Bytes::from_static(&[0x80 | 20])).unwrap();
        s.ingest(&mut p.clone());
        let mean = s.take_audio_level().unwrap();
        assert!((mean.level - 0.1).abs() < 1e-4 && mean.voice == 1.0, "{mean:?}");
        assert!(s.take_audio_level().is_none(), "reset after the report");
        assert!(source(MediaKind::Audio, None).take_audio_level().is_none(), "no extension, no levels");
    }
}
