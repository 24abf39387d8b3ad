//! [`SendLog`]: what each transport-wide sequence number was (when it left, how big), kept in a
//! fixed ring so that recording a packet on the hot path allocates nothing.

use std::time::Instant;

/// Packets remembered: at 1,000 packets/s, four seconds, far beyond any feedback delay.
const SLOTS: usize = 4096;

/// One packet sent.
#[derive(Debug, Clone, Copy)]
struct Sent {
    /// Extended (unwrapped) transport-wide sequence number; identifies the occupant of a slot.
    ext: u64,
    departure: Instant,
    /// Bytes on the wire (the encrypted datagram).
    size: u16,
    /// Already reported to the estimator (TWCC feedback may repeat a packet).
    reported: bool,
}

/// Departure time and size of recent packets, by transport-wide sequence number.
pub(crate) struct SendLog {
    slots: Box<[Option<Sent>]>,
    /// Extended sequence number of the last packet recorded.
    last_ext: Option<u64>,
}

/// A sent packet the receiver has now reported on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Departure {
    /// Extended sequence number: orders reports however the 16-bit numbers wrap.
    pub(crate) ext: u64,
    pub(crate) departure: Instant,
    pub(crate) size: u16,
}

impl SendLog {
    /// An empty log.
    pub(crate) fn new() -> Self {
        Self { slots: vec![None; SLOTS].into_boxed_slice(), last_ext: None }
    }

    /// Records packet `seq` (the next one sent, so the log extends it past the last) leaving at
    /// `departure` with `size` bytes.
    pub(crate) fn record(&mut self, seq: u16, departure: Instant, size: usize) {
        let ext = self.extend(seq);
        self.last_ext = Some(self.last_ext.map_or(ext, |l| l.max(ext)));
        self.slots[ext as usize % SLOTS] =
            Some(Sent { ext, departure, size: size.min(usize::from(u16::MAX)) as u16, reported: false });
    }

    /// The departure of `seq` if it is still in the log and was not reported before (it is now).
    pub(crate) fn take(&mut self, seq: u16) -> Option<Departure> {
        let ext = self.extend(seq);
        let slot = self.slots[ext as usize % SLOTS].as_mut().filter(|s| s.ext == ext && !s.reported)?;
        slot.reported = true;
        Some(Departure { ext, departure: slot.departure, size: slot.size })
    }

    /// `seq` extended to the 64-bit number nearest to the last one recorded.
    fn extend(&self, seq: u16) -> u64 {
        let Some(last) = self.last_ext else { return u64::from(seq) + (1 << 16) };
        let delta = i64::from(seq.wrapping_sub(last as u16) as i16);
        (last as i64 + delta).max(0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn packets_are_found_once_across_the_wrap_and_forgotten_when_overwritten() {
        let t0 = Instant::now();
        let mut log = SendLog::new();
        for i in 0..10u16 {
            log.record(65530u16.wrapping_add(i), t0 + Duration::from_millis(u64::from(i)), 1000 + usize::from(i));
        }
        let a = log.take(65531).unwrap();
        let b = log.take(2).unwrap();
        assert!(b.ext > a.ext, "ordered across the wrap");
        assert_eq!((b.size, b.departure), (1008, t0 + Duration::from_millis(8)));
        assert_eq!(log.take(2), None, "reported once");
        assert_eq!(log.take(100), None, "never sent");
        for i in 10..(SLOTS as u16 + 20) {
            log.record(65530u16.wrapping_add(i), t0, 1);
        }
        assert_eq!(log.take(65533), None, "overwritten");
    }
}
