//! Media pumps (synthetic Opus and VP8 on a timer, video paced by frames or evenly) and the RTCP
//! readers of the published tracks.

use super::*;
use crate::local::rtp_packet;

/// RFC 6464 voice-activity flag is set for levels at or above this loudness (-40 dBov).
pub(super) const VOICE_LEVEL: u8 = 40;

/// Hands one packet stamped at `stamp_micros` to the PC, with the opt-in loss and audio level,
/// and counts it.
pub(super) async fn write(
    state: &LocalTrackState,
    track: &TrackLocalStaticRTP,
    stamp_micros: u64,
    mut pkt: rtc::rtp::Packet,
) {
    // Opt-in simulated loss: the packet has its sequence number already; skip it.
    let numbered = state.packets_numbered.fetch_add(1, Ordering::Relaxed) + 1;
    if let Some(every) = state.drop_every_nth {
        if numbered.is_multiple_of(u64::from(every)) {
            state.packets_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    // Opt-in RFC 6464 audio level (one byte: V flag, then the level in -dBov).
    let ext = state.audio_level_ext.load(Ordering::Relaxed);
    if ext != 0 {
        let level = state.audio_level.load(Ordering::Relaxed) & 0x7f;
        let voice = if level <= VOICE_LEVEL { 0x80 } else { 0 };
        if pkt
            .header
            .set_extension(ext, Bytes::from(vec![voice | level]))
            .is_err()
        {
            state.write_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
    }
    let len = pkt.payload.len() as u64;
    match track.write_rtp(pkt).await {
        Ok(()) => {
            state.packets_sent.fetch_add(1, Ordering::Relaxed);
            state.payload_bytes_sent.fetch_add(len, Ordering::Relaxed);
            if state.window.as_ref().is_some_and(|w| w.contains(stamp_micros)) {
                state.sent_in_window.fetch_add(1, Ordering::Relaxed);
            }
        }
        Err(_) => {
            state.write_errors.fetch_add(1, Ordering::Relaxed);
        }
    };
}

pub(super) async fn audio_pump(
    state: Arc<LocalTrackState>,
    track: Arc<TrackLocalStaticRTP>,
    len: usize,
) {
    let pt = state.payload_type.load(Ordering::Relaxed);
    let mut seq: u16 = rand::random();
    let mut ts: u32 = rand::random();
    let mut counter: u32 = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = media::now_micros();
        let stamp = Stamp {
            origin: state.origin,
            counter,
            sent_micros: now,
        };
        let payload = media::audio_payload(&stamp, len);
        write(
            &state,
            &track,
            now,
            rtp_packet(pt, seq, ts, state.ssrc, counter == 0, payload),
        )
        .await;
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(960);
        counter = counter.wrapping_add(1);
    }
}

/// What the video pump sends and when, from the participant's configuration.
#[derive(Debug, Clone, Copy)]
pub(super) struct VideoPlan {
    /// Time between frames (frame pacing).
    frame_interval: Duration,
    /// RTP timestamp step per frame (90 kHz).
    ts_step: u32,
    /// `Some(pps)`: one packet at a time at `pps` packets per second.
    even_pps: Option<u32>,
    size: (u16, u16),
    keyframe_interval: Option<Duration>,
    fixed: Option<FixedVideoPackets>,
}

impl VideoPlan {
    pub(super) fn new(config: &ParticipantConfig) -> Result<VideoPlan> {
        let base = VideoPlan {
            frame_interval: Duration::ZERO,
            ts_step: 0,
            even_pps: None,
            size: config.video_size,
            keyframe_interval: config.keyframe_interval,
            fixed: config.fixed_video_packets,
        };
        let Some(pacing) = config.video_pacing else {
            let fps = config.video_fps.clamp(1, 120);
            return Ok(VideoPlan {
                frame_interval: Duration::from_secs(1) / fps,
                ts_step: 90_000 / fps,
                ..base
            });
        };
        let fixed = config
            .fixed_video_packets
            .context("video_pacing needs fixed_video_packets (a packet rate needs a frame size)")?;
        let pps = pacing.packets_per_second.max(1);
        let ppf = fixed.packets_per_frame.clamp(1, pps);
        let fps = f64::from(pps) / f64::from(ppf);
        Ok(VideoPlan {
            frame_interval: Duration::from_secs_f64(1.0 / fps),
            ts_step: (90_000.0 / fps).round() as u32,
            even_pps: (pacing.pacing == Pacing::Even).then_some(pps),
            fixed: Some(FixedVideoPackets {
                packets_per_frame: ppf,
                ..fixed
            }),
            ..base
        })
    }
}

/// Video packet numbering and frame structure, shared by both pacings: one packet per call.
struct VideoSource {
    plan: VideoPlan,
    pt: u8,
    seq: u16,
    ts: u32,
    counter: u32,
    frame: u64,
    index_in_frame: usize,
    /// Packets and payload bytes of each packet of the current frame.
    frame_packets: usize,
    len: usize,
    key: bool,
    last_key: Option<Instant>,
}

impl VideoSource {
    fn new(plan: VideoPlan, pt: u8) -> Self {
        VideoSource {
            plan,
            pt,
            seq: rand::random(),
            ts: rand::random(),
            counter: 0,
            frame: 0,
            index_in_frame: 0,
            frame_packets: 0,
            len: 0,
            key: false,
            last_key: None,
        }
    }

    /// The next packet and its stamp time; at a frame start, decides whether the frame is a
    /// keyframe (the first one, one asked for by PLI/FIR, or the periodic one) and its shape.
    fn next(&mut self, state: &LocalTrackState) -> (u64, rtc::rtp::Packet) {
        if self.index_in_frame == 0 {
            let requested = state.keyframe_requested.swap(false, Ordering::AcqRel);
            let periodic = match (self.plan.keyframe_interval, self.last_key) {
                (Some(every), Some(at)) => at.elapsed() >= every,
                _ => false,
            };
            self.key = self.last_key.is_none() || requested || periodic;
            (self.frame_packets, self.len) = match self.plan.fixed {
                Some(f) => (f.packets_per_frame.max(1) as usize, f.payload_len.max(40)),
                None if self.key => (3, 1000),
                None => (1 + (self.frame % 2) as usize, 500),
            };
            if self.key {
                state.keyframes_sent.fetch_add(1, Ordering::Relaxed);
                self.last_key = Some(Instant::now());
            }
        }
        let now = media::now_micros();
        let stamp = Stamp {
            origin: state.origin,
            counter: self.counter,
            sent_micros: now,
        };
        let first = self.index_in_frame == 0;
        let last = self.index_in_frame + 1 == self.frame_packets;
        let payload = media::vp8_payload(first, self.key, self.plan.size, &stamp, self.len);
        let pkt = rtp_packet(self.pt, self.seq, self.ts, state.ssrc, last, payload);
        self.seq = self.seq.wrapping_add(1);
        self.counter = self.counter.wrapping_add(1);
        self.index_in_frame += 1;
        if last {
            self.index_in_frame = 0;
            self.ts = self.ts.wrapping_add(self.plan.ts_step);
            self.frame += 1;
        }
        (now, pkt)
    }

    fn at_frame_start(&self) -> bool {
        self.index_in_frame == 0
    }
}

pub(super) async fn video_pump(
    state: Arc<LocalTrackState>,
    track: Arc<TrackLocalStaticRTP>,
    plan: VideoPlan,
) {
    let mut src = VideoSource::new(plan, state.payload_type.load(Ordering::Relaxed));
    match plan.even_pps {
        None => {
            let mut tick = tokio::time::interval(plan.frame_interval);
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                loop {
                    let (now, pkt) = src.next(&state);
                    write(&state, &track, now, pkt).await;
                    if src.at_frame_start() {
                        break;
                    }
                }
            }
        }
        Some(pps) => {
            // A 1 ms timer; every tick sends what is due at `pps` since the start, so the
            // average rate holds even when ticks come late. A long stall (> 50 packets behind)
            // is forgiven rather than sent as a burst.
            let start = Instant::now();
            let mut sent: u64 = 0;
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let due = (start.elapsed().as_micros() as u64 * u64::from(pps)) / 1_000_000;
                if due > sent + 50 {
                    sent = due - 50;
                }
                while sent < due {
                    let (now, pkt) = src.next(&state);
                    write(&state, &track, now, pkt).await;
                    sent += 1;
                }
            }
        }
    }
}

/// Reads RTCP feedback about a sent track (what the interceptor let through: PLI/FIR).
pub(super) async fn rtcp_reader(state: Arc<LocalTrackState>, track: Arc<TrackLocalStaticRTP>) {
    while let Some(evt) = track.poll().await {
        if let TrackLocalEvent::OnRtcpPacket(packets) = evt {
            let mut asked = false;
            for p in &packets {
                let any = p.as_any();
                if any.is::<PictureLossIndication>() {
                    state.plis.fetch_add(1, Ordering::AcqRel);
                    asked = true;
                } else if any.is::<FullIntraRequest>() {
                    state.firs.fetch_add(1, Ordering::AcqRel);
                    asked = true;
                }
            }
            if asked {
                state.keyframe_requests.fetch_add(1, Ordering::Relaxed);
                state.keyframe_requested.store(true, Ordering::Release);
            }
        }
    }
}

pub(super) fn random_suffix() -> String {
    format!("{:08x}", rand::random::<u32>())
}
