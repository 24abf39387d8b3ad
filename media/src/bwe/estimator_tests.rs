//! The estimator on a simulated link (virtual clock): a sender that sends at the estimate, a
//! bottleneck with a rate, a drop-tail queue, a one-way delay and random loss, and TWCC-like
//! feedback every 50 ms.

use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rtc::rtcp::transport_feedbacks::cc_feedback_report::Ecn;
use std::collections::VecDeque;

const TICK: Duration = Duration::from_millis(5);
const FEEDBACK: Duration = Duration::from_millis(50);
const ONE_WAY: Duration = Duration::from_millis(20);
const MTU: usize = 1200;

struct Link {
    rate: f64,
    queue: Duration,
    loss: f64,
    /// When the bottleneck finishes sending what it holds.
    busy_until: Instant,
}

struct Sim {
    t0: Instant,
    now: Instant,
    link: Link,
    estimator: Estimator,
    /// Sent and not yet fed back: departure, size, arrival (None: lost).
    in_flight: VecDeque<(Instant, usize, Option<Instant>)>,
    next_feedback: Instant,
    credit: f64,
    rng: StdRng,
    id: u64,
}

impl Sim {
    fn new(rate: f64) -> Self {
        let t0 = Instant::now();
        Sim {
            t0,
            now: t0,
            link: Link { rate, queue: Duration::from_millis(200), loss: 0.0, busy_until: t0 },
            estimator: Estimator::new(Bounds::default()),
            in_flight: VecDeque::new(),
            next_feedback: t0 + FEEDBACK,
            credit: 0.0,
            rng: StdRng::seed_from_u64(7),
            id: 0,
        }
    }

    fn estimate(&self) -> f64 {
        self.estimator.estimate().unwrap_or(Bounds::default().initial)
    }

    /// Runs for `d`; returns the lowest and highest estimate seen in its last `tail`.
    fn run(&mut self, d: Duration, tail: Duration) -> (f64, f64) {
        let end = self.now + d;
        let (mut lo, mut hi) = (f64::MAX, 0.0f64);
        while self.now < end {
            self.now += TICK;
            self.send();
            if self.now >= self.next_feedback {
                self.next_feedback += FEEDBACK;
                self.feedback();
            }
            if self.now + tail >= end {
                lo = lo.min(self.estimate());
                hi = hi.max(self.estimate());
            }
        }
        (lo, hi)
    }

    fn send(&mut self) {
        self.credit += self.estimate() * TICK.as_secs_f64() / 8.0;
        while self.credit >= MTU as f64 {
            self.credit -= MTU as f64;
            let start = self.link.busy_until.max(self.now);
            let queued = start.saturating_duration_since(self.now);
            let arrival = if queued > self.link.queue || self.rng.gen_bool(self.link.loss) {
                None
            } else {
                let done = start + Duration::from_secs_f64(MTU as f64 * 8.0 / self.link.rate);
                self.link.busy_until = done;
                Some(done + ONE_WAY)
            };
            self.in_flight.push_back((self.now, MTU, arrival));
        }
    }

    /// Reports every packet the receiver had an opinion on by one one-way delay ago.
    fn feedback(&mut self) {
        let seen_by = self.now - ONE_WAY;
        let mut reports = Vec::new();
        while let Some(&(departure, size, arrival)) = self.in_flight.front() {
            if departure + ONE_WAY * 2 > seen_by && arrival.is_none_or(|a| a > seen_by) {
                break;
            }
            self.in_flight.pop_front();
            self.id += 1;
            reports.push(PacketReport {
                ssrc: 1,
                id: self.id,
                rtp_sequence_number: 0,
                is_twcc: true,
                twcc_sequence_number: self.id as u16,
                size,
                arrived: arrival.is_some(),
                departure,
                arrival: arrival.map(|a| a - self.t0),
                ecn: Ecn::default(),
            });
        }
        self.estimator.on_reports(self.now, &reports);
    }
}

const S: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn a_steady_link_is_found_and_a_step_down_and_up_followed() {
    let mut sim = Sim::new(2_000_000.0);
    let (lo, hi) = sim.run(S(30), S(10));
    assert!(lo > 1_000_000.0 && hi < 2_600_000.0, "2 Mbit/s link: estimate within {lo:.0}..{hi:.0}");
    // The capacity drops to 500 kbit/s: within 2 s the estimate is below it, and it stays near.
    sim.link.rate = 500_000.0;
    let (lo, _) = sim.run(Duration::from_millis(1800), Duration::from_millis(1500));
    let (_, hi) = sim.run(Duration::from_millis(200), Duration::from_millis(200));
    assert!(hi < 600_000.0, "2 s after a step down to 500 kbit/s: {hi:.0}");
    assert!(lo > 200_000.0, "the overshoot's losses do not collapse the estimate: {lo:.0}");
    let (lo, hi) = sim.run(S(28), S(20));
    assert!(lo > 250_000.0 && hi < 800_000.0, "500 kbit/s link: {lo:.0}..{hi:.0}");
    // It rises to 3 Mbit/s: within 15 s the estimate has more than doubled.
    sim.link.rate = 3_000_000.0;
    let (_, hi) = sim.run(S(15), Duration::from_millis(200));
    assert!(hi > 1_500_000.0, "15 s after a step up to 3 Mbit/s: {hi:.0}");
}

#[test]
fn random_loss_without_a_queue_is_tolerated_and_heavy_loss_is_not() {
    let mut sim = Sim::new(100_000_000.0);
    sim.link.loss = 0.03;
    let (lo, _) = sim.run(S(20), S(10));
    assert!(lo >= 2_000_000.0, "3 % random loss on a fat link keeps the estimate: {lo:.0}");
    sim.link.loss = 0.25;
    let before = sim.estimate();
    let (_, hi) = sim.run(S(5), Duration::from_millis(200));
    assert!(hi < before * 0.5, "25 % loss for 5 s more than halves the estimate: {before:.0} -> {hi:.0}");
}

#[test]
fn a_queue_building_slowly_is_seen_before_loss() {
    // Capacity slightly below the start: the queue grows ~ 10 % of the rate per second; the
    // delay half backs off before the 200 ms queue overflows.
    let mut sim = Sim::new(2_200_000.0);
    sim.link.queue = Duration::from_secs(5);
    let mut worst = Duration::ZERO;
    for _ in 0..40 {
        sim.run(Duration::from_millis(500), Duration::ZERO);
        let queue = sim.link.busy_until.saturating_duration_since(sim.now);
        worst = worst.max(queue);
    }
    assert!(worst < Duration::from_millis(200), "worst standing queue over 20 s: {worst:?}");
    assert!(sim.estimate() < 2_300_000.0, "estimate {:.0}", sim.estimate());
}
