//! RFC 6464 audio levels of one audio source, accumulated between two reports.
//!
//! Owns the accumulation (levels in -dBov turned into linear amplitude, voice-activity flags) and
//! its reset; not the report interval or the event sent (the shard's housekeeping), nor speaker
//! detection (signalling smooths the means and picks speakers).

use rtc::rtp::Header;

/// The mean of one report interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MeanLevel {
    /// Mean linear amplitude, 0.0 (silence) to 1.0 (0 dBov).
    pub(crate) level: f32,
    /// Share of packets flagged as voice activity.
    pub(crate) voice: f32,
}

/// Accumulates the audio-level header extension of a source's packets.
#[derive(Debug, Clone)]
pub(crate) struct AudioLevelMeter {
    /// Negotiated id of the audio-level header extension on the publisher's leg.
    ext_id: u8,
    /// Sum of linear levels since the last report.
    sum: f32,
    /// Packets flagged as voice since the last report.
    voice: u32,
    /// Packets that carried a level since the last report.
    count: u32,
}

impl AudioLevelMeter {
    /// A meter reading extension `ext_id`.
    pub(crate) fn new(ext_id: u8) -> Self {
        Self { ext_id, sum: 0.0, voice: 0, count: 0 }
    }

    /// Counts the level `header` carries, if it carries one; returns its RFC 6464 byte.
    pub(crate) fn observe(&mut self, header: &Header) -> Option<u8> {
        let byte = header.get_extension(self.ext_id).and_then(|b| b.first().copied())?;
        self.observe_byte(byte);
        Some(byte)
    }

    /// RFC 6464 §3: the V flag, then the level in -dBov (0 loudest, 127 silence).
    fn observe_byte(&mut self, byte: u8) {
        self.sum += 10f32.powf(-f32::from(byte & 0x7f) / 20.0);
        self.voice += u32::from(byte >> 7);
        self.count += 1;
    }

    /// The mean since the last call, and a fresh start; `None` if no packet carried a level.
    /// A `muted` source reports silence (its voice share stays what was measured).
    pub(crate) fn take(&mut self, muted: bool) -> Option<MeanLevel> {
        if self.count == 0 {
            return None;
        }
        let n = self.count as f32;
        let mean = MeanLevel { level: if muted { 0.0 } else { self.sum / n }, voice: self.voice as f32 / n };
        (self.sum, self.voice, self.count) = (0.0, 0, 0);
        Some(mean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn header_with_level(ext: u8, byte: u8) -> Header {
        let mut h = Header { version: 2, ..Default::default() };
        h.set_extension(ext, Bytes::copy_from_slice(&[byte])).unwrap();
        h
    }

    #[test]
    fn dbov_becomes_a_linear_mean() {
        let mut m = AudioLevelMeter::new(1);
        m.observe(&header_with_level(1, 0)); // 0 dBov: 1.0
        m.observe(&header_with_level(1, 20)); // -20 dBov: 0.1
        let mean = m.take(false).unwrap();
        assert!((mean.level - 0.55).abs() < 1e-4, "{mean:?}");
        let mut quiet = AudioLevelMeter::new(1);
        quiet.observe(&header_with_level(1, 127));
        assert!(quiet.take(false).unwrap().level < 1e-6, "127 is silence");
    }

    #[test]
    fn voice_share_counts_the_v_flag() {
        let mut m = AudioLevelMeter::new(3);
        for byte in [0x80 | 30, 30, 0x80 | 40, 50] {
            m.observe(&header_with_level(3, byte));
        }
        assert_eq!(m.take(false).unwrap().voice, 0.5);
    }

    #[test]
    fn a_report_resets_and_other_extensions_are_ignored() {
        let mut m = AudioLevelMeter::new(2);
        assert_eq!(m.take(false), None, "nothing measured yet");
        m.observe(&header_with_level(5, 0));
        m.observe(&Header::default());
        assert_eq!(m.take(false), None, "no packet carried our extension");
        m.observe(&header_with_level(2, 0x80 | 10));
        let mean = m.take(true).unwrap();
        assert_eq!((mean.level, mean.voice), (0.0, 1.0), "muted: silence, voice share kept");
        assert_eq!(m.take(false), None, "reset after the report");
    }
}
