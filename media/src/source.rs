//! A [`Source`]: one publisher track as the shard receives it.
//!
//! Owns what concerns the track itself, whoever subscribes: its codec and media SSRC, the
//! receiver it arrives on, the packet history that answers NACKs, the keyframe-request throttle,
//! the moderator mute, frame counting and size, audio levels, and (next round) its simulcast
//! layers. Not owned here: the legs to subscribers (`route.rs`), the PeerConnection (`peer.rs`),
//! or the decision to forward (the shard's dispatch).

use crate::api::{MediaKind, SourcePriority};
use crate::audio_level::{AudioLevelMeter, MeanLevel};
use crate::bitrate::BitrateMeter;
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
    /// From an SSRC the source has no layer for.
    UnknownLayer,
    /// Withheld by a moderator's mute.
    Muted,
    /// Forward it to the routes (each takes the layers it wants).
    Forward {
        /// The packet starts a video keyframe.
        keyframe: bool,
        /// Audio: the RFC 6464 level byte it carried (forwarded in the subscribers' extension).
        audio_level: Option<u8>,
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

/// How long a layer may send nothing before routes stop counting on it (a publisher whose
/// uplink shrinks stops its top layers; dynacast turns layers off).
pub(crate) const LAYER_IDLE: Duration = Duration::from_millis(1_000);

/// Bytes a forwarded packet carries besides its payload: RTP header, transport-cc stamp, SRTP
/// tag, UDP and IPv4 headers.
const RTP_OVERHEAD: usize = 12 + 8 + 10 + 8 + 20;

/// What a layer whose rate was never measured is taken to cost, bit/s per pixel (about
/// 70 kbit/s at 320×180, 1.1 Mbit/s at 1280×720, near browsers' simulcast defaults).
const COST_PER_PIXEL: f64 = 1.2;

/// What a subscriber leg wants of a source's layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LayerWant {
    /// The highest spatial layer (0 = lowest) it may take.
    pub(crate) max_rank: u8,
    /// Width × height it shows the video at, when known: no layer larger than needed.
    pub(crate) size: Option<(u16, u16)>,
}

impl LayerWant {
    /// The best layer there is.
    pub(crate) const TOP: LayerWant = LayerWant { max_rank: u8::MAX, size: None };
}

/// One layer as the source keeps it.
struct LayerState {
    layer: Layer,
    /// Order of quality by rid (`q` < `h` < `f`, else by name).
    rank_key: (u8, String),
    /// When a keyframe was last requested on this layer.
    last_keyframe_request: Option<Instant>,
    /// When the layer's last packet arrived.
    last_packet: Option<Instant>,
    /// Dynacast: no route has taken it since this instant (None: wanted).
    unwanted_since: Option<Instant>,
    /// Dynacast: the publisher was told it may switch the layer off.
    off: bool,
    frames: FrameCount,
    /// The rate the layer arrives at (what forwarding it costs a subscriber).
    bitrate: BitrateMeter,
    /// Video: recent packets, to answer NACKs.
    history: History,
}

/// A publisher's inbound track.
pub(crate) struct Source {
    pub(crate) publisher: PeerId,
    pub(crate) receiver: RTCRtpReceiverId,
    pub(crate) kind: MediaKind,
    pub(crate) codec: RTCRtpCodec,
    /// Every layer the publisher opened, lowest quality first.
    layers: Vec<LayerState>,
    /// The routes forwarding this source, in subscription order.
    pub(crate) routes: Vec<RouteId>,
    /// Withheld from every route by signalling.
    muted: bool,
    /// Its rank in the subscribers' bandwidth allocation.
    pub(crate) priority: SourcePriority,
    /// Audio with the RFC 6464 extension negotiated.
    audio_level: Option<AudioLevelMeter>,
}

impl Source {
    /// A source with no routes yet.
    pub(crate) fn new(o: SourceOptions) -> Self {
        let mut s = Self {
            publisher: o.publisher,
            receiver: o.receiver,
            kind: o.kind,
            codec: o.codec,
            layers: Vec::new(),
            routes: Vec::new(),
            muted: false,
            priority: SourcePriority::Normal,
            audio_level: o.audio_level_ext.filter(|_| o.kind == MediaKind::Audio).map(AudioLevelMeter::new),
        };
        s.add_layer(o.layer);
        s
    }

    /// Takes in one packet that arrived at `now`: classifies it, counts it and keeps it for
    /// NACKs. Header extensions are stripped here, once for all routes: their ids are negotiated
    /// per leg, so each copy gets its own (transport-wide number, audio level) when it is
    /// serialised (`hdrext.rs`), not the publisher's list.
    pub(crate) fn ingest(&mut self, now: Instant, packet: &mut Packet) -> Ingest {
        let ssrc = packet.header.ssrc;
        let Some(layer) = self.layers.iter_mut().find(|l| l.layer.ssrc == ssrc) else { return Ingest::UnknownLayer };
        if self.muted {
            return Ingest::Muted;
        }
        layer.last_packet = Some(now);
        layer.bitrate.add(now, packet.payload.len() + RTP_OVERHEAD);
        let video = self.kind == MediaKind::Video;
        let keyframe = video && is_keyframe_start(&self.codec.mime_type, &packet.payload);
        let audio_level = self.audio_level.as_mut().and_then(|meter| meter.observe(&packet.header));
        if video {
            layer.frames.frames += u64::from(packet.header.marker);
            if keyframe {
                layer.frames.size = vp8_keyframe_size(&self.codec.mime_type, &packet.payload).or(layer.frames.size);
            }
        }
        packet.header.extension = false;
        packet.header.extensions = Vec::new();
        packet.header.extension_profile = 0;
        if video {
            layer.history.push(packet);
        }
        Ingest::Forward { keyframe, audio_level }
    }

    /// A PLI for the publisher's layer `ssrc`, unless this is audio, there is no such layer, or
    /// one was asked for less than `min_interval` ago (then nothing is recorded).
    pub(crate) fn keyframe_request(&mut self, now: Instant, ssrc: u32, min_interval: Duration) -> Option<PictureLossIndication> {
        if self.kind != MediaKind::Video {
            return None;
        }
        let layer = self.layers.iter_mut().find(|l| l.layer.ssrc == ssrc)?;
        if layer.last_keyframe_request.is_some_and(|t| now.saturating_duration_since(t) < min_interval) {
            return None;
        }
        layer.last_keyframe_request = Some(now);
        Some(PictureLossIndication { sender_ssrc: 0, media_ssrc: ssrc })
    }

    /// Whether a route still waiting for a keyframe of layer `ssrc` should ask again: nothing
    /// asked on that layer in `retry`.
    pub(crate) fn keyframe_retry_due(&self, now: Instant, ssrc: u32, retry: Duration) -> bool {
        self.layer(ssrc)
            .is_some_and(|l| l.last_keyframe_request.is_none_or(|t| now.saturating_duration_since(t) >= retry))
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

    /// SSRC of the source's best layer (its statistics stand for the track's).
    pub(crate) fn media_ssrc(&self) -> u32 {
        self.layers.last().map_or(0, |l| l.layer.ssrc)
    }

    /// Video frames seen and picture size of the best layer sending.
    pub(crate) fn frames(&self) -> FrameCount {
        let sending = self.layers.iter().rev().find(|l| l.last_packet.is_some());
        sending.or(self.layers.last()).map(|l| l.frames).unwrap_or_default()
    }

    /// The packets of layer `ssrc` kept for retransmission.
    pub(crate) fn history(&self, ssrc: u32) -> Option<&History> {
        self.layer(ssrc).map(|l| &l.history)
    }

    /// Records a layer (a simulcast encoding) in its place by quality; known ones are ignored.
    pub(crate) fn add_layer(&mut self, layer: Layer) {
        if self.layers.iter().any(|l| l.layer == layer) {
            return;
        }
        let rank_key = rank_key(layer.rid.as_deref());
        let at = self.layers.iter().position(|l| l.rank_key > rank_key).unwrap_or(self.layers.len());
        let state = LayerState {
            layer,
            rank_key,
            last_keyframe_request: None,
            last_packet: None,
            unwanted_since: None,
            off: false,
            frames: FrameCount::default(),
            bitrate: BitrateMeter::default(),
            history: History::default(),
        };
        self.layers.insert(at, state);
    }

    /// Layers opened so far, lowest quality first.
    pub(crate) fn layers(&self) -> impl Iterator<Item = &Layer> {
        self.layers.iter().map(|l| &l.layer)
    }

    /// The layer a leg wanting `want` should forward at `now`: the best one that `want` allows
    /// (not above `max_rank`; the smallest covering `size` when sizes are known) among
    /// those sending; when none of those is sending, the best allowed one that is.
    /// A layer dynacast switched off counts as sending when `wake` is set: asking for it turns
    /// it back on (a route already forwarding keeps its layer meanwhile).
    pub(crate) fn pick_layer(&self, now: Instant, want: LayerWant, wake: bool) -> Option<u32> {
        let live =
            |l: &LayerState| (wake && l.off) || l.last_packet.is_some_and(|t| now.saturating_duration_since(t) < LAYER_IDLE);
        let covers = |l: &LayerState| match (want.size, l.frames.size) {
            (Some((w, h)), Some((lw, lh))) => lw >= w && lh >= h,
            _ => false,
        };
        let allowed = &self.layers[..self.layers.len().min(usize::from(want.max_rank).saturating_add(1))];
        let picked = allowed
            .iter()
            .find(|l| live(l) && covers(l))
            .or_else(|| allowed.iter().rev().find(|l| live(l)))
            .or_else(|| self.layers.iter().find(|l| live(l)))
            .or(allowed.last());
        picked.map(|l| l.layer.ssrc)
    }

    /// Dynacast: records that routes take the layers `taken` (SSRCs) at `now`. A layer no route
    /// took for `grace` may be switched off, a wanted one must be on; returns the rids to keep
    /// sending when that set changed (the lowest layer is always kept). Only for simulcast
    /// sources whose layers all have rids.
    pub(crate) fn update_wanted(&mut self, now: Instant, taken: &[u32], grace: Duration) -> Option<Vec<String>> {
        if self.layers.len() < 2 || self.layers.iter().any(|l| l.layer.rid.is_none()) {
            return None;
        }
        let mut changed = false;
        for (i, l) in self.layers.iter_mut().enumerate() {
            let wanted = i == 0 || taken.contains(&l.layer.ssrc);
            l.unwanted_since = if wanted { None } else { l.unwanted_since.or(Some(now)) };
            let off = l.unwanted_since.is_some_and(|t| now.saturating_duration_since(t) >= grace);
            changed |= std::mem::replace(&mut l.off, off) != off;
        }
        changed.then(|| self.layers.iter().filter(|l| !l.off).filter_map(|l| l.layer.rid.clone()).collect())
    }

    /// Position of layer `ssrc` by quality (0 = the lowest).
    pub(crate) fn rank_of(&self, ssrc: u32) -> Option<u8> {
        self.layers.iter().position(|l| l.layer.ssrc == ssrc).and_then(|i| u8::try_from(i).ok())
    }

    /// Picture size of layer `ssrc` from its last keyframe.
    pub(crate) fn layer_size(&self, ssrc: u32) -> Option<(u16, u16)> {
        self.layer(ssrc)?.frames.size
    }

    /// The rid of layer `ssrc`, if it has one.
    pub(crate) fn rid_of(&self, ssrc: u32) -> Option<&str> {
        self.layer(ssrc)?.layer.rid.as_deref()
    }

    /// What forwarding the source costs, bit/s: its best sending layer's rate (audio: its only).
    pub(crate) fn bitrate(&self) -> f64 {
        self.layers.iter().rev().find_map(|l| l.bitrate.rate()).unwrap_or(0.0)
    }

    /// The layers a leg may be given up to layer `top` (lowest first, `top` included): those
    /// sending at `now` or switched off by dynacast (asking wakes them), with what each costs
    /// (measured, or from its picture size if it never sent).
    pub(crate) fn candidates(&self, now: Instant, top: u32) -> Vec<(u32, f64)> {
        let Some(end) = self.layers.iter().position(|l| l.layer.ssrc == top) else { return Vec::new() };
        self.layers[..=end]
            .iter()
            .enumerate()
            .filter(|(i, l)| *i == end || l.off || l.last_packet.is_some_and(|t| now.saturating_duration_since(t) < LAYER_IDLE))
            .map(|(i, l)| {
                // A layer dynacast just woke sends little while its encoder ramps up: its cost is
                // never taken below half what its picture size suggests.
                let guess = l.frames.size.map(|(w, h)| f64::from(w) * f64::from(h) * COST_PER_PIXEL);
                let by_rank = 150_000.0 * 3f64.powi(i as i32);
                let cost = match (l.bitrate.rate(), guess) {
                    (Some(measured), Some(guess)) => measured.max(guess / 2.0),
                    (measured, guess) => measured.or(guess).unwrap_or(by_rank),
                };
                (l.layer.ssrc, cost)
            })
            .collect()
    }

    fn layer(&self, ssrc: u32) -> Option<&LayerState> {
        self.layers.iter().find(|l| l.layer.ssrc == ssrc)
    }
}

/// Quality order of a rid: LiveKit's and our client's `q`/`h`/`f`, then any other by name (no
/// rid: the only layer).
fn rank_key(rid: Option<&str>) -> (u8, String) {
    match rid {
        None | Some("q") => (0, String::new()),
        Some("h") => (1, String::new()),
        Some("f") => (2, String::new()),
        Some(other) => (3, other.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn source(kind: MediaKind, audio_level_ext: Option<u8>) -> Source {
        Source::new(options(kind, audio_level_ext))
    }

    fn options(kind: MediaKind, audio_level_ext: Option<u8>) -> SourceOptions {
        let codec = match kind {
            MediaKind::Video => RTCRtpCodec { mime_type: "video/VP8".into(), clock_rate: 90_000, ..Default::default() },
            MediaKind::Audio => RTCRtpCodec { mime_type: "audio/opus".into(), clock_rate: 48_000, ..Default::default() },
        };
        SourceOptions {
            publisher: PeerId(1),
            receiver: RTCRtpReceiverId::default(),
            layer: Layer { rid: None, ssrc: 1000 },
            kind,
            codec,
            audio_level_ext,
        }
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

    fn now() -> Instant {
        Instant::now()
    }

    #[test]
    fn keyframe_requests_are_throttled_per_layer() {
        let mut s = source(MediaKind::Video, None);
        s.add_layer(Layer { rid: Some("f".into()), ssrc: 3000 });
        let t0 = Instant::now();
        let gap = Duration::from_millis(300);
        assert_eq!(s.keyframe_request(t0, 1000, gap).map(|p| p.media_ssrc), Some(1000));
        assert!(s.keyframe_request(t0 + Duration::from_millis(299), 1000, gap).is_none(), "inside the window");
        assert_eq!(s.keyframe_request(t0, 3000, gap).map(|p| p.media_ssrc), Some(3000), "another layer's own window");
        assert!(s.keyframe_request(t0, 4000, gap).is_none(), "no such layer");
        assert!(!s.keyframe_retry_due(t0 + Duration::from_millis(100), 1000, gap));
        assert!(s.keyframe_retry_due(t0 + gap, 1000, gap));
        assert!(s.keyframe_request(t0 + gap, 1000, gap).is_some(), "after the window");
        let mut audio = source(MediaKind::Audio, None);
        assert!(audio.keyframe_request(t0, 1000, gap).is_none(), "audio has no keyframes");
    }

    #[test]
    fn video_packets_are_kept_for_nacks_without_extensions() {
        let mut s = source(MediaKind::Video, None);
        let mut p = vp8(7, false, true);
        p.header.set_extension(3, Bytes::from_static(&[1])).unwrap();
        assert_eq!(s.ingest(now(), &mut p), Ingest::Forward { keyframe: false, audio_level: None });
        assert!(!p.header.extension && p.header.extensions.is_empty(), "stripped for every leg");
        let history = s.history(1000).unwrap();
        assert_eq!(history.get(7).map(|p| p.header.sequence_number), Some(7));
        assert!(history.get(8).is_none());
        assert!(s.history(2000).is_none());
    }

    #[test]
    fn frames_and_size_come_from_markers_and_keyframes() {
        let mut s = source(MediaKind::Video, None);
        assert_eq!(s.ingest(now(), &mut vp8(1, false, true)), Ingest::Forward { keyframe: false, audio_level: None });
        assert_eq!(s.frames(), FrameCount { frames: 1, size: None });
        assert_eq!(s.ingest(now(), &mut vp8(2, true, false)), Ingest::Forward { keyframe: true, audio_level: None });
        s.ingest(now(), &mut vp8(3, false, true));
        assert_eq!(s.frames(), FrameCount { frames: 2, size: Some((640, 360)) });
    }

    #[test]
    fn mute_withholds_and_unknown_layers_are_not_forwarded() {
        let mut s = source(MediaKind::Video, None);
        assert!(s.set_muted(true));
        assert!(!s.set_muted(true), "no change");
        assert_eq!(s.ingest(now(), &mut vp8(1, true, true)), Ingest::Muted);
        assert!(s.history(1000).unwrap().get(1).is_none(), "a withheld packet is not kept");
        assert!(s.set_muted(false));
        let mut other = vp8(2, true, true);
        other.header.ssrc = 2000;
        assert_eq!(s.ingest(now(), &mut other), Ingest::UnknownLayer);
        s.add_layer(Layer { rid: Some("h".into()), ssrc: 2000 });
        s.add_layer(Layer { rid: Some("h".into()), ssrc: 2000 });
        assert_eq!(s.layers().count(), 2, "recorded once");
        assert_eq!(s.ingest(now(), &mut other), Ingest::Forward { keyframe: true, audio_level: None });
        assert!(s.history(2000).unwrap().get(2).is_some(), "each layer keeps its own history");
        assert!(s.history(1000).unwrap().get(2).is_none());
    }

    /// A source with layers q (1000), h (2000), f (3000), opened in the order f, q, h, each
    /// sending a keyframe of its size at `t`.
    fn simulcast(t: Instant) -> Source {
        let mut s = Source::new(SourceOptions { layer: Layer { rid: Some("f".into()), ssrc: 3000 }, ..options(MediaKind::Video, None) });
        s.add_layer(Layer { rid: Some("q".into()), ssrc: 1000 });
        s.add_layer(Layer { rid: Some("h".into()), ssrc: 2000 });
        for (ssrc, w, h) in [(1000, 160u16, 120u16), (2000, 320, 240), (3000, 640, 480)] {
            let mut p = vp8(1, true, true);
            p.header.ssrc = ssrc;
            p.payload = Bytes::from(vec![0x10, 0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a, w as u8, (w >> 8) as u8, h as u8, (h >> 8) as u8]);
            s.ingest(t, &mut p);
        }
        s
    }

    #[test]
    fn layers_are_ordered_by_rid_and_picked_by_rank_and_shown_size() {
        let t = Instant::now();
        let s = simulcast(t);
        assert_eq!(s.layers().map(|l| l.ssrc).collect::<Vec<_>>(), [1000, 2000, 3000], "q, h, f whatever the order opened");
        assert_eq!(s.pick_layer(t, LayerWant::TOP, false), Some(3000));
        assert_eq!(s.pick_layer(t, LayerWant { max_rank: 1, size: None }, false), Some(2000));
        assert_eq!(s.pick_layer(t, LayerWant { max_rank: 0, size: None }, false), Some(1000));
        assert_eq!(s.pick_layer(t, LayerWant { max_rank: u8::MAX, size: Some((0, 200)) }, false), Some(2000), "smallest tall enough");
        assert_eq!(s.pick_layer(t, LayerWant { max_rank: u8::MAX, size: Some((160, 90)) }, false), Some(1000));
        assert_eq!(s.pick_layer(t, LayerWant { max_rank: u8::MAX, size: Some((1920, 1080)) }, false), Some(3000), "none tall enough: the best");
        assert_eq!(s.pick_layer(t, LayerWant { max_rank: 0, size: Some((640, 480)) }, false), Some(1000), "the cap wins");
        assert_eq!(s.rid_of(2000), Some("h"));
        assert_eq!(s.media_ssrc(), 3000);
        assert_eq!(s.frames().size, Some((640, 480)));
    }

    #[test]
    fn an_idle_layer_is_passed_over() {
        let t = Instant::now();
        let mut s = simulcast(t);
        let later = t + LAYER_IDLE + Duration::from_millis(1);
        // only q keeps sending (the publisher's uplink shrank)
        let mut p = vp8(2, false, true);
        p.header.ssrc = 1000;
        s.ingest(later, &mut p);
        assert_eq!(s.pick_layer(later, LayerWant::TOP, false), Some(1000));
        assert_eq!(s.pick_layer(later + LAYER_IDLE * 2, LayerWant::TOP, false), Some(3000), "nothing sends: the best allowed");
    }

    #[test]
    fn dynacast_switches_off_layers_no_route_takes_after_a_grace() {
        let t = Instant::now();
        let mut s = simulcast(t);
        let grace = Duration::from_secs(2);
        assert_eq!(s.update_wanted(t, &[2000], grace), None, "nothing off yet");
        let later = t + grace;
        assert_eq!(s.update_wanted(later, &[2000], grace), Some(vec!["q".into(), "h".into()]), "f off; q always kept");
        assert_eq!(s.update_wanted(later, &[2000], grace), None, "no change, no message");
        // f, off, counts as sending for a route that wants it (asking wakes it up) ...
        let idle = later + LAYER_IDLE * 2;
        assert_eq!(s.pick_layer(idle, LayerWant::TOP, true), Some(3000));
        // ... not for a route starting now, which starts on a layer that sends
        let mut p = vp8(2, false, true);
        p.header.ssrc = 2000;
        s.ingest(idle, &mut p);
        assert_eq!(s.pick_layer(idle, LayerWant::TOP, false), Some(2000));
        assert_eq!(s.update_wanted(idle, &[3000], grace), Some(vec!["q".into(), "h".into(), "f".into()]), "on at once");
        let mut single = source(MediaKind::Video, None);
        assert_eq!(single.update_wanted(t + grace * 2, &[], grace), None, "one layer: nothing to switch off");
    }

    #[test]
    fn audio_levels_accumulate_until_taken() {
        let mut s = source(MediaKind::Audio, Some(1));
        let mut p = Packet::default();
        p.header.ssrc = 1000;
        p.header.set_extension(1, Bytes::from_static(&[0x80 | 20])).unwrap();
        s.ingest(now(), &mut p.clone());
        let mean = s.take_audio_level().unwrap();
        assert!((mean.level - 0.1).abs() < 1e-4 && mean.voice == 1.0, "{mean:?}");
        assert!(s.take_audio_level().is_none(), "reset after the report");
        assert!(source(MediaKind::Audio, None).take_audio_level().is_none(), "no extension, no levels");
    }
}
