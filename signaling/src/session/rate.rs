//! The per-connection message rate limit: a token bucket (governor's GCRA) with a sustained rate
//! and a burst, plus a count of refused messages after which the connection counts as abusive.

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;

/// A session's message budget.
pub(crate) struct MessageRate<C: Clock = DefaultClock> {
    limiter: RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<C::Instant>>,
    /// Messages refused so far.
    pub(crate) refused: u32,
}

impl MessageRate {
    /// `per_second` sustained, `burst` at once.
    pub(crate) fn new(per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        Self::with_clock(per_second, burst, &DefaultClock::default())
    }
}

impl<C: Clock + Clone> MessageRate<C> {
    pub(crate) fn with_clock(per_second: NonZeroU32, burst: NonZeroU32, clock: &C) -> Self {
        let quota = Quota::per_second(per_second).allow_burst(burst);
        Self { limiter: RateLimiter::direct_with_clock(quota, clock.clone()), refused: 0 }
    }

    /// Whether one more message is allowed now (a refusal is counted).
    pub(crate) fn allow(&mut self) -> bool {
        let ok = self.limiter.check().is_ok();
        if !ok {
            self.refused = self.refused.saturating_add(1);
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let clock = FakeRelativeClock::default();
        let n = |v| NonZeroU32::new(v).unwrap();
        let mut rate = MessageRate::with_clock(n(50), n(100), &clock);
        assert_eq!((0..150).filter(|_| rate.allow()).count(), 100);
        assert_eq!(rate.refused, 50);
        clock.advance(Duration::from_secs(1));
        assert_eq!((0..80).filter(|_| rate.allow()).count(), 50, "one second later, 50 more");
    }
}
