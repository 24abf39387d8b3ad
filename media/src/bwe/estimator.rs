//! [`Estimator`]: the rate a subscriber's downlink carries, from its transport-wide feedback, in
//! the manner of Google Congestion Control (draft-ietf-rmcat-gcc-02).
//!
//! The measuring parts are `rtc`'s own (rtc-interceptor 0.21.1's GCC port): packets grouped into
//! 5 ms bursts and their delay gradient Kalman-filtered ([`SlopeEstimator`]), an overuse detector
//! with an adaptive threshold ([`OveruseDetector`]), and the received rate over 500 ms
//! (here measured on the receiver's arrival times: rtc's `RateCalculator` stamps a whole
//! feedback batch with the time it was read, which overstates the rate by a batch). The rate controls on top are ours. Loss: below 2 % (smoothed) the
//! loss rate climbs 5 % per 200 ms, above 10 % it falls to the *received* rate × (1 − loss/2)
//! at most every 500 ms; rtc's `LossController` multiplies its own target by that factor every
//! 200 ms, which a second of congestion loss compounds into a collapse (measured: 1.1 Mbit/s
//! to 150 kbit/s on a 500 kbit/s link). Delay: upstream's climbs additively (+12 kbit/s per 200 ms) for ever
//! once it has backed off once, which would take minutes to find a link that got better. Here
//! the rate climbs multiplicatively unless it is within a band around the last rate that
//! overused, and that memory fades, so a link whose shaping is lifted is found again in seconds.
//! The result is the lower of the delay-based and loss-based rates.

use rtc::interceptor::{OveruseDetector, PacketReport, SlopeEstimator, Usage};
use std::collections::VecDeque;
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
pub(crate) const DECREASE_FACTOR: f64 = 0.85;
/// Climbing far from the last overuse: growth per second.
const FAST_GROWTH: f64 = 1.25;
/// Climbing near the last overuse: growth per second.
const SLOW_GROWTH: f64 = 1.08;
/// Added to the climb per second, so that a low rate (a paused subscriber's) recovers in
/// seconds, not tens of seconds.
const ADDITIVE_GROWTH: f64 = 20_000.0;
/// Near the last overuse means within this factor above or below it (on a link that overused
/// at 500 kbit/s, the climb from 425 to 750 kbit/s takes ~5 s: the next layer is tried no more
/// often than that).
const NEAR: f64 = 1.5;
/// The last overuse rate is forgotten after this long without another.
const CEILING_MEMORY: Duration = Duration::from_secs(8);
/// Loss below this (smoothed and last report) lets the loss rate climb.
const LOW_LOSS: f64 = 0.02;
/// Loss above this (smoothed and last report) brings it down.
const HIGH_LOSS: f64 = 0.10;
/// Shortest time between two loss-based decreases.
const LOSS_DECREASE_INTERVAL: Duration = Duration::from_millis(500);
/// Shortest time between two loss-based increases.
const LOSS_INCREASE_INTERVAL: Duration = Duration::from_millis(200);
/// Shortest time between two decreases (one round trip's worth of evidence at most once).
const DECREASE_INTERVAL: Duration = Duration::from_millis(300);

/// A bandwidth estimate fed by TWCC reports.
pub(crate) struct Estimator {
    bounds: Bounds,
    slope: SlopeEstimator,
    detector: OveruseDetector,
    received: AckedRate,
    loss: LossRate,
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
            received: AckedRate::default(),
            loss: LossRate { rate: bounds.initial, smoothed: None, last_change: None, last_decrease: None },
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
        self.fed.then(|| self.delay_rate.min(self.loss.rate).clamp(self.bounds.min, self.bounds.max))
    }

    /// Folds in `reports` (in send order) of one feedback packet that arrived at `now`.
    pub(crate) fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        if reports.is_empty() {
            return;
        }
        self.fed = true;
        let mut usage = self.detector.usage();
        for report in reports {
            if let (true, Some(arrival)) = (report.arrived, report.arrival) {
                self.received.add(arrival, report.size);
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
        let received = self.received.rate();
        self.control(now, usage, received);
        // Losses of packets sent before the last loss-based back-off were paid for by it.
        let since = self.loss.last_decrease;
        let counted = || reports.iter().filter(|r| since.is_none_or(|t| r.departure > t));
        let (lost, total) = (counted().filter(|r| !r.arrived).count(), counted().count());
        // The loss half is held within reach of the delay half, so that when loss does come it
        // backs off from a rate that was sent.
        self.loss.update(now, (lost, total), received, self.delay_rate * 1.5);
        self.loss.rate = self.loss.rate.clamp(self.bounds.min, self.bounds.max);
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
                let dt = elapsed.as_secs_f64().min(1.0);
                let rate = self.delay_rate * growth.powf(dt) + ADDITIVE_GROWTH * dt;
                // An estimate far above what is sent has no evidence behind it: at most twice
                // what arrives (and the allocator probes upwards one layer at a time).
                let cap = received.map_or(self.bounds.max, |r| (r * 2.0).max(self.bounds.initial));
                self.delay_rate = rate.min(cap.max(self.delay_rate)).clamp(self.bounds.min, self.bounds.max);
                self.last_increase = Some(now);
            }
        }
    }
}

/// The rate packets arrived at over the last [`ACKED_WINDOW`] of the receiver's clock.
#[derive(Default)]
struct AckedRate {
    /// Arrival (receiver clock) and size of the packets in the window, oldest first.
    window: VecDeque<(Duration, usize)>,
    bytes: usize,
    /// The latest arrival seen (a late packet may sit behind a newer one).
    newest: Duration,
}

/// Window of the received rate.
const ACKED_WINDOW: Duration = Duration::from_millis(500);

impl AckedRate {
    fn add(&mut self, arrival: Duration, size: usize) {
        // Arrivals come in send order, nearly sorted; a late one only lengthens the window.
        self.window.push_back((arrival, size));
        self.bytes += size;
        self.newest = self.newest.max(arrival);
        let newest = self.newest;
        while let Some(&(a, n)) = self.window.front() {
            if newest.saturating_sub(a) <= ACKED_WINDOW {
                break;
            }
            self.window.pop_front();
            self.bytes -= n;
        }
    }

    /// Bit/s, once the window spans 100 ms.
    fn rate(&self) -> Option<f64> {
        let (first, last) = (self.window.front()?.0, self.window.back()?.0);
        let span = last.saturating_sub(first);
        (span >= Duration::from_millis(100)).then(|| self.bytes as f64 * 8.0 / span.as_secs_f64())
    }
}

/// The loss-based rate.
struct LossRate {
    rate: f64,
    /// Exponentially smoothed loss fraction.
    smoothed: Option<f64>,
    last_change: Option<Instant>,
    /// When it last backed off.
    last_decrease: Option<Instant>,
}

impl LossRate {
    /// One feedback's `(lost, total)` packets; `received`: the rate arriving; `cap`: where the
    /// climb stops.
    fn update(&mut self, now: Instant, (lost, total): (usize, usize), _received: Option<f64>, cap: f64) {
        if total == 0 {
            return;
        }
        let sample = lost as f64 / total as f64;
        let smoothed = self.smoothed.map_or(sample, |s| 0.8 * s + 0.2 * sample);
        self.smoothed = Some(smoothed);
        let since = self.last_change.map(|t| now.saturating_duration_since(t));
        if smoothed.max(sample) < LOW_LOSS && since.is_none_or(|d| d >= LOSS_INCREASE_INTERVAL) {
            self.rate = (self.rate * 1.05).min(cap.max(self.rate.min(cap)));
            self.last_change = Some(now);
        } else if smoothed.min(sample) > HIGH_LOSS && since.is_none_or(|d| d >= LOSS_DECREASE_INTERVAL) {
            // From its own rate, which stays within 1.5× the delay-based one: congestion loss
            // is the delay half's to answer (0.85 × received); this half answers loss that
            // comes without a queue.
            self.rate *= 1.0 - 0.5 * smoothed;
            self.last_change = Some(now);
            self.last_decrease = Some(now);
            // What follows is measured afresh: the old average was the old rate's.
            self.smoothed = None;
        }
        self.rate = self.rate.min(cap.max(1.0));
    }
}

#[cfg(test)]
#[path = "estimator_tests.rs"]
mod tests;
