//! The send path: stamped Opus and VP8 pumps, paced by frames or evenly, and RTCP readers.

use super::*;
use switchboard_tests::local::rtp_packet as rtp;

// ---------------------------------------------------------------------------------------------
// Send path
// ---------------------------------------------------------------------------------------------

pub(super) async fn send(t: &SendTrack, window: &Window, stamp_micros: u64, pkt: rtc::rtp::Packet) {
    match t.track.write_rtp(pkt).await {
        Ok(()) => {
            t.sent.fetch_add(1, Ordering::Relaxed);
            if window.contains(stamp_micros) {
                t.sent_in_window.fetch_add(1, Ordering::Relaxed);
            }
        }
        Err(_) => {
            t.write_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

pub(super) async fn audio_pump(t: Arc<SendTrack>, window: Arc<Window>, len: usize) {
    let pt = t.pt.load(Ordering::Relaxed);
    let (mut seq, mut ts): (u16, u32) = (rand::random(), rand::random());
    let mut counter = 0u32;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = media::now_micros();
        let stamp = Stamp {
            origin: t.origin,
            counter,
            sent_micros: now,
        };
        let payload = media::audio_payload(&stamp, len);
        send(
            &t,
            &window,
            now,
            rtp(pt, seq, ts, t.ssrc, counter == 0, payload),
        )
        .await;
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(960);
        counter = counter.wrapping_add(1);
    }
}

/// Video packet numbering and frame structure shared by both pacings.
pub(super) struct VideoSource {
    pub(super) pt: u8,
    pub(super) seq: u16,
    pub(super) ts: u32,
    pub(super) ts_step: u32,
    pub(super) counter: u32,
    pub(super) index_in_frame: u32,
    pub(super) packets_per_frame: u32,
    pub(super) len: usize,
    pub(super) key: bool,
    pub(super) last_key: Option<Instant>,
    pub(super) keyframe_interval: Duration,
}

impl VideoSource {
    pub(super) fn next(&mut self, t: &SendTrack) -> (u64, rtc::rtp::Packet) {
        if self.index_in_frame == 0 {
            let requested = t.keyframe_requested.swap(false, Ordering::AcqRel);
            let periodic = self
                .last_key
                .is_none_or(|at| at.elapsed() >= self.keyframe_interval);
            self.key = requested || periodic;
            if self.key {
                self.last_key = Some(Instant::now());
            }
        }
        let now = media::now_micros();
        let stamp = Stamp {
            origin: t.origin,
            counter: self.counter,
            sent_micros: now,
        };
        let first = self.index_in_frame == 0;
        let last = self.index_in_frame + 1 == self.packets_per_frame;
        let payload = media::vp8_payload(first, self.key, (320, 240), &stamp, self.len);
        let pkt = rtp(self.pt, self.seq, self.ts, t.ssrc, last, payload);
        self.seq = self.seq.wrapping_add(1);
        self.counter = self.counter.wrapping_add(1);
        self.index_in_frame += 1;
        if last {
            self.index_in_frame = 0;
            self.ts = self.ts.wrapping_add(self.ts_step);
        }
        (now, pkt)
    }
}

pub(super) async fn video_pump(t: Arc<SendTrack>, window: Arc<Window>, traffic: Traffic) {
    let pps = traffic.video_pps.max(1);
    let ppf = traffic.video_packets_per_frame.clamp(1, pps);
    let fps = pps as f64 / ppf as f64;
    let mut src = VideoSource {
        pt: t.pt.load(Ordering::Relaxed),
        seq: rand::random(),
        ts: rand::random(),
        ts_step: (90_000.0 / fps).round() as u32,
        counter: 0,
        index_in_frame: 0,
        packets_per_frame: ppf,
        len: traffic.video_payload_bytes.max(40),
        key: false,
        last_key: None,
        keyframe_interval: Duration::from_millis(traffic.keyframe_interval_ms.max(1)),
    };
    match traffic.pacing {
        Pacing::Frames => {
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / fps));
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                for _ in 0..ppf {
                    let (now, pkt) = src.next(&t);
                    send(&t, &window, now, pkt).await;
                }
            }
        }
        Pacing::Even => {
            // A 1 ms timer; every tick sends what is due at `pps` since the start, so the
            // average rate holds even when ticks come late. A long stall (> 50 packets behind)
            // is forgiven rather than sent as a burst.
            let start = Instant::now();
            let mut sent: u64 = 0;
            let mut tick = tokio::time::interval(Duration::from_millis(1));
            tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let due = (start.elapsed().as_micros() as u64 * pps as u64) / 1_000_000;
                if due > sent + 50 {
                    sent = due - 50;
                }
                while sent < due {
                    let (now, pkt) = src.next(&t);
                    send(&t, &window, now, pkt).await;
                    sent += 1;
                }
            }
        }
    }
}

pub(super) async fn rtcp_reader(t: Arc<SendTrack>) {
    while let Some(evt) = t.track.poll().await {
        if let TrackLocalEvent::OnRtcpPacket(packets) = evt {
            if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                t.keyframe_requests.fetch_add(1, Ordering::Relaxed);
                t.keyframe_requested.store(true, Ordering::Release);
            }
        }
    }
}
