//! From raw stream counters to rates: bitrate, loss %, frame rate per stream between two samples,
//! and a participant's connection quality from loss, jitter and round-trip time.

use crate::admin::TrackStatsView;
use serde::Serialize;
use switchboard_media::TrackStats;
use tokio::time::Instant;

/// Connection quality of a participant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// Nothing arrives.
    Lost,
    /// Loss ≥ 10 %, RTT ≥ 400 ms or jitter ≥ 100 ms.
    Poor,
    /// Loss ≥ 2 %, RTT ≥ 200 ms or jitter ≥ 30 ms.
    Good,
    /// Better than that.
    Excellent,
}

impl Quality {
    /// JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Quality::Lost => "lost",
            Quality::Poor => "poor",
            Quality::Good => "good",
            Quality::Excellent => "excellent",
        }
    }

    /// Quality of one stream's interval.
    pub fn of(loss_percent: f64, jitter_ms: f64, rtt_ms: Option<f64>) -> Quality {
        let rtt = rtt_ms.unwrap_or(0.0);
        if loss_percent >= 10.0 || rtt >= 400.0 || jitter_ms >= 100.0 {
            Quality::Poor
        } else if loss_percent >= 2.0 || rtt >= 200.0 || jitter_ms >= 30.0 {
            Quality::Good
        } else {
            Quality::Excellent
        }
    }
}

/// Rates of one stream, from consecutive samples of its counters.
#[derive(Debug, Default, Clone)]
pub(crate) struct StreamMeter {
    prev: Option<(Instant, TrackStats)>,
    has_interval: bool,
    pub(crate) view: Option<TrackStatsView>,
}

impl StreamMeter {
    /// Takes a new sample; rates cover the time since the previous one. Returns how many NACKs
    /// the stream counted since the previous sample.
    pub(crate) fn update(&mut self, now: Instant, s: &TrackStats) -> u64 {
        let new_nacks = u64::from(s.nack_count.saturating_sub(self.prev.as_ref().map_or(0, |(_, p)| p.nack_count)));
        let (dt, d_bytes, d_packets, d_lost, d_frames) = match &self.prev {
            Some((t, p)) => (
                now.saturating_duration_since(*t).as_secs_f64(),
                s.bytes.saturating_sub(p.bytes),
                s.packets.saturating_sub(p.packets),
                (s.packets_lost - p.packets_lost).max(0) as u64,
                s.frames.saturating_sub(p.frames),
            ),
            None => (0.0, 0, 0, 0, 0),
        };
        let loss_percent = match s.fraction_lost {
            // A subscriber's receiver report states its own loss fraction.
            Some(f) => f * 100.0,
            None if d_packets + d_lost > 0 => d_lost as f64 * 100.0 / (d_packets + d_lost) as f64,
            None => 0.0,
        };
        let rate = |d: u64| if dt > 0.0 { d as f64 / dt } else { 0.0 };
        self.view = Some(TrackStatsView {
            bitrate_bps: (rate(d_bytes) * 8.0).round() as u64,
            packets_per_second: rate(d_packets),
            packets: s.packets,
            bytes: s.bytes,
            packets_lost: s.packets_lost,
            loss_percent,
            jitter_ms: s.jitter_s * 1000.0,
            rtt_ms: s.rtt_s.map(|r| r * 1000.0),
            nack_count: s.nack_count,
            pli_count: s.pli_count,
            fir_count: s.fir_count,
            frame_width: s.frame_size.map(|(w, _)| w),
            frame_height: s.frame_size.map(|(_, h)| h),
            frames_per_second: (s.frames > 0).then(|| rate(d_frames)),
            layer: s.layer,
            target_layer: s.target_layer,
            paused: if s.paused_bandwidth { Some("bandwidth") } else if s.hidden { Some("hidden") } else { None },
        });
        self.has_interval = dt > 0.0;
        self.prev = Some((now, s.clone()));
        new_nacks
    }

    /// Quality of the last interval, and whether anything arrived in it; `None` until two
    /// samples span an interval.
    pub(crate) fn quality(&self) -> Option<(Quality, bool)> {
        if !self.has_interval {
            return None;
        }
        let v = self.view.as_ref()?;
        Some((Quality::of(v.loss_percent, v.jitter_ms, v.rtt_ms), v.packets_per_second > 0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sample(bytes: u64, packets: u64, lost: i64) -> TrackStats {
        TrackStats { bytes, packets, packets_lost: lost, ..TrackStats::default() }
    }

    #[test]
    fn bitrate_and_loss_over_the_interval() {
        let t0 = Instant::now();
        let mut m = StreamMeter::default();
        m.update(t0, &sample(1_000, 10, 0));
        m.update(t0 + Duration::from_secs(2), &sample(251_000, 210, 30));
        let v = m.view.clone().unwrap();
        assert_eq!(v.bitrate_bps, 1_000_000);
        assert!((v.packets_per_second - 100.0).abs() < 1e-9);
        assert!((v.loss_percent - 30.0 * 100.0 / 230.0).abs() < 1e-9);
        assert_eq!(m.quality(), Some((Quality::Poor, true)));
    }

    #[test]
    fn no_quality_before_an_interval() {
        let mut m = StreamMeter::default();
        m.update(Instant::now(), &sample(100, 1, 0));
        assert_eq!(m.quality(), None, "one sample says nothing about rates");
    }

    #[test]
    fn quality_thresholds() {
        assert_eq!(Quality::of(0.5, 5.0, Some(20.0)), Quality::Excellent);
        assert_eq!(Quality::of(3.0, 5.0, None), Quality::Good);
        assert_eq!(Quality::of(0.0, 40.0, None), Quality::Good);
        assert_eq!(Quality::of(0.0, 5.0, Some(250.0)), Quality::Good);
        assert_eq!(Quality::of(12.0, 5.0, None), Quality::Poor);
        assert_eq!(Quality::of(0.0, 5.0, Some(450.0)), Quality::Poor);
        assert!(Quality::Lost < Quality::Poor && Quality::Good < Quality::Excellent);
    }

    #[test]
    fn subscriber_reported_fraction_wins() {
        let t0 = Instant::now();
        let mut m = StreamMeter::default();
        m.update(t0, &TrackStats { fraction_lost: Some(0.05), ..sample(0, 0, 0) });
        assert!((m.view.unwrap().loss_percent - 5.0).abs() < 1e-9);
    }
}
