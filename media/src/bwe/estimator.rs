//! [`Estimator`]: the rate a subscriber's downlink carries, from its transport-wide feedback, in
//! the manner of Google Congestion Control (draft-ietf-rmcat-gcc-02).
//!
//! The measuring parts are `rtc`'s own (rtc-interceptor 0.21.1's GCC port): packets grouped into
//! 5 ms bursts and their delay gradient Kalman-filtered ([`SlopeEstimator`]), an overuse detector
//! with an adaptive threshold ([`OveruseDetector`]), the received rate over 500 ms
//! ([`RateCalculator`]) and the loss controller (2 %/10 % thresholds, [`LossController`]). The
//! rate control on top is ours: upstream's climbs additively (+12 kbit/s per 200 ms) for ever
//! once it has backed off once, which would take minutes to find a link that got better. Here
//! the rate climbs multiplicatively unless it is within a band around the last rate that
//! overused, and that memory fades, so a link whose shaping is lifted is found again in seconds.
//! The result is the lower of the delay-based and loss-based rates.

use rtc::interceptor::{LossController, OveruseDetector, PacketReport, RateCalculator, SlopeEstimator, Usage};
use std::time::{Duration, Instant};

/// What the estimate starts at, its floor and its ceiling, in bit/s.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Bounds {
    pub(crate) initial: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Default for Bounds {
    /// Starts high (2.5 Mbit/s, two 720p cameras): a subscriber begins on good layers and an
    /// overused link brings the estimate down within a few hundred milliseconds, while without
    /// probing a low start would keep everyone on the lowest layer for many seconds.
    fn default() -> Self {
        Self { initial: 2_500_000.0, min: 50_000.0, max: 50_000_000.0 }
    }
}

/// Backing off: the rate becomes this share of what is received.
const DECREASE_FACTOR: f64 = 0.85;
/// Climbing far from the last overuse: growth per second.
const FAST_GROWTH: f64 = 1.25;
/// Climbing near the last overuse: growth per second.
const SLOW_GROWTH: f64 = 1.04;
/// Near the last overuse means within this factor above or below it.
const NEAR: f64 = 1.25;
/// The last overuse rate is forgotten after this long without another.
const CEILING_MEMORY: Duration = Duration::from_secs(10);
/// Shortest time between two decreases (one round trip's worth of evidence at most once).
const DECREASE_INTERVAL: Duration = Duration::from_millis(300);

/// A bandwidth estimate fed by TWCC reports.
pub(crate) struct Estimator {
    bounds: Bounds,
    slope: SlopeEstimator,
    detector: OveruseDetector,
    received: RateCalculator,
    loss: LossController,
    delay_rate: f64,
    /// The received rate when the delay last overused, and when.
    ceiling: Option<(f64, Instant)>,
    last_increase: Option<Instant>,
    last_decrease: Option<Instant>,
    /// Feedback seen at all.
    fed: bool,
    /// Delay gradients measured so far, up to 60.
    deltas: u32,
}

impl Estimator {
    /// An estimator within `bounds`.
    pub(crate) fn new(bounds: Bounds) -> Self {
        Self {
            bounds,
            slope: SlopeEstimator::new(),
            detector: OveruseDetector::new(),
            received: RateCalculator::default(),
            loss: LossController::new(bounds.initial, bounds.min, bounds.max),
            delay_rate: bounds.initial,
            ceiling: None,
            last_increase: None,
            last_decrease: None,
            fed: false,
            deltas: 0,
        }
    }

    /// The current estimate in bit/s; `None` before any feedback.
    pub(crate) fn estimate(&self) -> Option<f64> {
        self.fed.then(|| self.delay_rate.min(self.loss.target()).clamp(self.bounds.min, self.bounds.max))
    }

    /// Folds in `reports` (in send order) of one feedback packet that arrived at `now`.
    pub(crate) fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        if reports.is_empty() {
            return;
        }
        self.fed = true;
        let mut usage = self.detector.usage();
        for report in reports {
            if report.arrived {
                self.received.add(now, report.size);
            }
            if let Some(trend) = self.slope.accumulate(report) {
                // As libwebrtc's detector does (and rtc's port does not): the filtered
                // per-group gradient times the number of groups it rests on, up to 60, is what
                // the adaptive threshold (12.5 ms at first) is compared with. A queue growing by
                // half a millisecond per group is overuse; the bare gradient would never be.
                self.deltas = (self.deltas + 1).min(60);
                usage = self.detector.update(trend.at, trend.estimate_ms * f64::from(self.deltas));
            }
        }
        let received = self.received.rate_bits_per_second(now);
        self.control(now, usage, received);
        let lost = reports.iter().filter(|r| !r.arrived).count();
        self.loss.update(now, lost, reports.len());
        // The loss half climbs 5 % per 200 ms while nothing is lost: held within reach of the
        // delay half, so that when loss does come it backs off from a rate that was sent.
        let cap = self.delay_rate * 1.5;
        if self.loss.target() > cap {
            self.loss = LossController::new(cap, self.bounds.min, self.bounds.max);
        }
    }

    /// The delay-based rate control: back off on overuse, hold on underuse (queues draining),
    /// climb otherwise.
    fn control(&mut self, now: Instant, usage: Usage, received: Option<f64>) {
        if self.ceiling.is_some_and(|(_, at)| now.saturating_duration_since(at) > CEILING_MEMORY) {
            self.ceiling = None;
        }
        match usage {
            Usage::Over => {
                let Some(received) = received else { return };
                if self.last_decrease.is_some_and(|t| now.saturating_duration_since(t) < DECREASE_INTERVAL) {
                    return;
                }
                self.delay_rate = (received * DECREASE_FACTOR).clamp(self.bounds.min, self.bounds.max);
                self.ceiling = Some((received, now));
                self.last_decrease = Some(now);
                self.last_increase = Some(now);
            }
            Usage::Under => self.last_increase = Some(now),
            Usage::Normal => {
                let elapsed = self.last_increase.map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
                let near = self.ceiling.is_some_and(|(c, _)| self.delay_rate < c * NEAR && self.delay_rate > c / NEAR);
                let growth = if near { SLOW_GROWTH } else { FAST_GROWTH };
                let rate = self.delay_rate * growth.powf(elapsed.as_secs_f64().min(1.0));
                // An estimate far above what is sent has no evidence behind it: at most twice
                // what arrives (and the allocator probes upwards one layer at a time).
                let cap = received.map_or(self.bounds.max, |r| (r * 2.0).max(self.bounds.initial));
                self.delay_rate = rate.min(cap.max(self.delay_rate)).clamp(self.bounds.min, self.bounds.max);
                self.last_increase = Some(now);
            }
        }
    }
}

#[cfg(test)]
#[path = "estimator_tests.rs"]
mod tests;
