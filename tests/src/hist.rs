//! A small log-linear histogram of non-negative integers (the measure mode's delays, in µs):
//! exact below 16, then 16 sub-buckets per power of two (relative error under 1/16 ≈ 6 %).
//! Mergeable, no allocation per sample.

const SUB: usize = 16;
const SUB_BITS: u32 = 4;
const BUCKETS: usize = SUB + (64 - SUB_BITS as usize) * SUB;

/// Counts of recorded values by bucket, with their number, maximum and sum.
#[derive(Clone, Debug)]
pub struct Hist {
    counts: Vec<u64>,
    n: u64,
    max: u64,
    sum: u128,
}

impl Default for Hist {
    fn default() -> Self {
        Hist {
            counts: vec![0; BUCKETS],
            n: 0,
            max: 0,
            sum: 0,
        }
    }
}

fn index(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let b = 63 - v.leading_zeros(); // >= SUB_BITS
    let sub = ((v >> (b - SUB_BITS)) as usize) & (SUB - 1);
    SUB + (b - SUB_BITS) as usize * SUB + sub
}

/// Middle of bucket `i`.
fn value_of(i: usize) -> u64 {
    if i < SUB {
        return i as u64;
    }
    let b = ((i - SUB) / SUB) as u32 + SUB_BITS;
    let sub = ((i - SUB) % SUB) as u64;
    let lo = (SUB as u64 + sub) << (b - SUB_BITS);
    let width = 1u64 << (b - SUB_BITS);
    lo + width / 2
}

impl Hist {
    /// Adds one value (no allocation).
    pub fn record(&mut self, v: u64) {
        self.counts[index(v)] += 1;
        self.n += 1;
        self.max = self.max.max(v);
        self.sum += v as u128;
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Hist) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.n += other.n;
        self.max = self.max.max(other.max);
        self.sum += other.sum;
    }

    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// The largest value recorded (0 when empty).
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The exact mean (0 when empty).
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum as f64 / self.n as f64
        }
    }

    /// The `q`-quantile (0..=1), `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.n == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.n as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(value_of(i).min(self.max));
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_close() {
        let mut last = 0;
        for v in (0..1_000_000u64).step_by(7) {
            let i = index(v);
            assert!(i >= last);
            last = i;
            let mid = value_of(i);
            let err = (mid as f64 - v as f64).abs();
            assert!(err <= (v as f64 / 16.0).max(0.5) + 1.0, "{v} -> {mid}");
        }
        assert!(index(u64::MAX) < BUCKETS);
    }

    #[test]
    fn quantiles() {
        let mut h = Hist::default();
        for v in 1..=1000u64 {
            h.record(v);
        }
        let p50 = h.quantile(0.5).unwrap();
        let p99 = h.quantile(0.99).unwrap();
        assert!((470..=530).contains(&p50), "{p50}");
        assert!((930..=1000).contains(&p99), "{p99}");
        assert_eq!(h.max(), 1000);
        let mut g = Hist::default();
        g.record(5000);
        h.merge(&g);
        assert_eq!(h.count(), 1001);
        assert_eq!(h.max(), 5000);
        assert_eq!(Hist::default().quantile(0.5), None);
    }
}
