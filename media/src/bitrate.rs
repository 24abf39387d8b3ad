//! [`BitrateMeter`]: the rate a stream arrives at, measured over half-second windows, counting
//! only additions on the packet path (no allocation, no clock of its own).

use std::time::{Duration, Instant};

/// Window over which a rate is measured.
const WINDOW: Duration = Duration::from_millis(500);

/// Bytes in the current window and the rate of the last complete one.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BitrateMeter {
    window_start: Option<Instant>,
    bytes: u64,
    /// Bit/s of the last window that had traffic; kept while the stream is quiet (a layer
    /// dynacast switched off costs what it cost when it sent).
    last: Option<f64>,
}

impl BitrateMeter {
    /// `bytes` arrived at `now`.
    pub(crate) fn add(&mut self, now: Instant, bytes: usize) {
        let start = *self.window_start.get_or_insert(now);
        let elapsed = now.saturating_duration_since(start);
        if elapsed >= WINDOW {
            if self.bytes > 0 && elapsed < WINDOW * 4 {
                let rate = self.bytes as f64 * 8.0 / elapsed.as_secs_f64();
                // Smoothed: a keyframe window must not make a layer look twice its cost.
                self.last = Some(self.last.map_or(rate, |l| 0.7 * l + 0.3 * rate));
            }
            self.window_start = Some(now);
            self.bytes = 0;
        }
        self.bytes += bytes as u64;
    }

    /// The measured rate in bit/s, if a window completed.
    pub(crate) fn rate(&self) -> Option<f64> {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_stream_measures_its_rate_and_keeps_it_while_quiet() {
        let t0 = Instant::now();
        let mut m = BitrateMeter::default();
        assert_eq!(m.rate(), None);
        // 100 packets/s of 1,000 bytes: 800 kbit/s
        for i in 0..300u64 {
            m.add(t0 + Duration::from_millis(i * 10), 1000);
        }
        let r = m.rate().unwrap();
        assert!((r - 800_000.0).abs() < 40_000.0, "{r}");
        m.add(t0 + Duration::from_secs(60), 10);
        assert_eq!(m.rate(), Some(r), "a long silence is not a measurement");
    }
}
