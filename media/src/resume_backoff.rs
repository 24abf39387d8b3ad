//! Back-off of resume attempts: a video paused for bandwidth is resumed when the estimate says it
//! fits, which without probing is a trial with media. One paused again within
//! [`TRIAL_WINDOW`] of its resume was a trial the link could not carry; the next one waits, twice
//! as long each time ([`FIRST_WAIT`] … [`MAX_WAIT`]), so that a tile does not flicker on and off
//! every few seconds on a link that cannot carry it. A resume that holds resets the wait.

use std::time::{Duration, Instant};

/// A pause this soon after a resume marks the resume as failed (an overuse shows within a few
/// hundred milliseconds; longer, and a video resumed just before another one was tried would
/// be blamed for the other's failure).
pub(crate) const TRIAL_WINDOW: Duration = Duration::from_millis(1500);
/// The wait after the first failed resume.
pub(crate) const FIRST_WAIT: Duration = Duration::from_secs(8);
/// The longest wait.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(64);

/// One route's resume attempts.
#[derive(Debug, Default)]
pub(crate) struct ResumeBackoff {
    resumed_at: Option<Instant>,
    /// The wait the last failure imposed (zero: none failed since the last one that held).
    wait: Duration,
    blocked_until: Option<Instant>,
}

impl ResumeBackoff {
    /// The video resumed at `now`.
    pub(crate) fn on_resume(&mut self, now: Instant) {
        self.resumed_at = Some(now);
    }

    /// The video paused for bandwidth at `now`.
    pub(crate) fn on_pause(&mut self, now: Instant) {
        let failed = self.resumed_at.take().is_some_and(|at| now.saturating_duration_since(at) < TRIAL_WINDOW);
        if failed {
            self.wait = if self.wait.is_zero() { FIRST_WAIT } else { (self.wait * 2).min(MAX_WAIT) };
            self.blocked_until = Some(now + self.wait);
        } else {
            self.wait = Duration::ZERO;
            self.blocked_until = None;
        }
    }

    /// Whether a resume may be tried at `now`.
    pub(crate) fn may_resume(&self, now: Instant) -> bool {
        self.blocked_until.is_none_or(|t| now >= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_resumes_wait_longer_each_time_and_one_that_holds_resets() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut b = ResumeBackoff::default();
        // the first pause (nothing was resumed) blocks nothing
        b.on_pause(t0);
        assert!(b.may_resume(t0));
        // resumed, paused again 1 s later: wait 8 s
        b.on_resume(t0 + s(1));
        b.on_pause(t0 + s(2));
        assert!(!b.may_resume(t0 + s(9)));
        assert!(b.may_resume(t0 + s(10)));
        // again: 16 s, then 32, 64, and 64 at most
        let mut at = t0 + s(10);
        for wait in [16, 32, 64, 64] {
            b.on_resume(at);
            b.on_pause(at + s(1));
            assert!(!b.may_resume(at + s(1) + s(wait) - Duration::from_millis(1)), "wait {wait}");
            assert!(b.may_resume(at + s(1) + s(wait)));
            at += s(1 + wait);
        }
        // a resume that holds past the trial window: the next pause blocks nothing
        b.on_resume(at);
        b.on_pause(at + TRIAL_WINDOW);
        assert!(b.may_resume(at + TRIAL_WINDOW));
        // and the next failure starts from 8 s again
        b.on_resume(at + s(10));
        b.on_pause(at + s(11));
        assert!(!b.may_resume(at + s(18)) && b.may_resume(at + s(19)));
    }
}
