//! VP8 payload descriptor continuity (RFC 7741 §4.2) for a route that switches simulcast layers.
//!
//! Each simulcast layer is its own VP8 encoding with its own PictureID and TL0PICIDX counters
//! (Chromium's quarter layer counts in another space than the others). A receiver that sees the
//! PictureID jump when a route switches layers takes frames for lost or reordered, so the route
//! rewrites both as fixed offsets, re-based at each switch to continue at last + 1. The rewrite
//! happens in place, in the serialised copy just before encryption, and only when an offset is
//! non-zero: a route that never switched costs one branch.

/// PictureID and TL0PICIDX of one VP8 payload, with where they sit in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Descriptor {
    /// PictureID and whether it is 15 bits wide (M bit), and its byte offset.
    picture_id: Option<(u16, bool, usize)>,
    /// TL0PICIDX and its byte offset.
    tl0: Option<(u8, usize)>,
}

impl Descriptor {
    /// The descriptor of `payload`, or `None` when it is too short for what its flags announce.
    pub(crate) fn parse(payload: &[u8]) -> Option<Self> {
        let b0 = *payload.first()?;
        let mut d = Descriptor { picture_id: None, tl0: None };
        if b0 & 0x80 == 0 {
            return Some(d);
        }
        let x = *payload.get(1)?;
        let mut i = 2;
        if x & 0x80 != 0 {
            let first = *payload.get(i)?;
            if first & 0x80 != 0 {
                let second = *payload.get(i + 1)?;
                d.picture_id = Some(((u16::from(first & 0x7f) << 8) | u16::from(second), true, i));
                i += 2;
            } else {
                d.picture_id = Some((u16::from(first), false, i));
                i += 1;
            }
        }
        if x & 0x40 != 0 {
            d.tl0 = Some((*payload.get(i)?, i));
        }
        Some(d)
    }
}

/// The offsets one route adds to PictureID and TL0PICIDX.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Vp8Rewrite {
    picture_id: u16,
    tl0: u8,
}

impl Vp8Rewrite {
    /// Nothing to rewrite.
    pub(crate) fn is_identity(&self) -> bool {
        self.picture_id == 0 && self.tl0 == 0
    }

    /// Writes the rewritten PictureID and TL0PICIDX into `payload` (a VP8 payload whose
    /// descriptor parses; anything else is left alone).
    pub(crate) fn apply(&self, payload: &mut [u8]) {
        if self.is_identity() {
            return;
        }
        let Some(d) = Descriptor::parse(payload) else { return };
        if let Some((pid, long, at)) = d.picture_id {
            let out = pid.wrapping_add(self.picture_id);
            if long {
                payload[at] = 0x80 | ((out >> 8) as u8 & 0x7f);
                payload[at + 1] = out as u8;
            } else {
                payload[at] = out as u8 & 0x7f;
            }
        }
        if let Some((tl0, at)) = d.tl0 {
            payload[at] = tl0.wrapping_add(self.tl0);
        }
    }
}

/// Keeps one route's VP8 PictureID/TL0PICIDX continuous across the layers it forwards.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Vp8Continuity {
    rewrite: Vp8Rewrite,
    /// Last PictureID and TL0PICIDX sent (after rewriting).
    last_out: Option<(Option<u16>, Option<u8>)>,
    /// The next packet starts another layer's stream.
    rebase: bool,
}

impl Vp8Continuity {
    /// The next packet (a keyframe of the layer switched to) continues the counters.
    pub(crate) fn rebase(&mut self) {
        self.rebase = true;
    }

    /// The rewrite for `payload`, a VP8 packet about to be forwarded; records what it becomes.
    pub(crate) fn rewrite(&mut self, payload: &[u8]) -> Vp8Rewrite {
        let Some(d) = Descriptor::parse(payload) else { return self.rewrite };
        let (pid, tl0) = (d.picture_id.map(|p| (p.0, p.1)), d.tl0.map(|t| t.0));
        if std::mem::take(&mut self.rebase) {
            if let Some((last_pid, last_tl0)) = self.last_out {
                if let (Some((pid, long)), Some(last)) = (pid, last_pid) {
                    let next = last.wrapping_add(1) & mask(long);
                    self.rewrite.picture_id = next.wrapping_sub(pid) & mask(long);
                }
                if let (Some(tl0), Some(last)) = (tl0, last_tl0) {
                    self.rewrite.tl0 = last.wrapping_add(1).wrapping_sub(tl0);
                }
            }
        }
        let out_pid = pid.map(|(p, long)| p.wrapping_add(self.rewrite.picture_id) & mask(long));
        let out_tl0 = tl0.map(|t| t.wrapping_add(self.rewrite.tl0));
        self.last_out = Some((out_pid.or(self.last_out.and_then(|l| l.0)), out_tl0.or(self.last_out.and_then(|l| l.1))));
        self.rewrite
    }

    /// The rewrite in force (for retransmissions under the current mapping).
    pub(crate) fn current(&self) -> Vp8Rewrite {
        self.rewrite
    }
}

/// The PictureID's value range.
fn mask(long: bool) -> u16 {
    if long {
        0x7fff
    } else {
        0x7f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VP8 descriptor with a 15-bit PictureID and a TL0PICIDX, then one payload byte.
    fn payload(pid: u16, tl0: u8) -> Vec<u8> {
        vec![0x90, 0xc0, 0x80 | (pid >> 8) as u8, pid as u8, tl0, 0x00]
    }

    fn sent(c: &mut Vp8Continuity, pid: u16, tl0: u8) -> (u16, u8) {
        let mut p = payload(pid, tl0);
        c.rewrite(&p).apply(&mut p);
        let d = Descriptor::parse(&p).unwrap();
        (d.picture_id.unwrap().0, d.tl0.unwrap().0)
    }

    #[test]
    fn parses_short_long_and_absent_fields() {
        assert_eq!(Descriptor::parse(&[0x10, 0]).unwrap(), Descriptor { picture_id: None, tl0: None });
        let d = Descriptor::parse(&[0x90, 0x80, 0x05, 0]).unwrap();
        assert_eq!(d.picture_id, Some((5, false, 2)));
        let d = Descriptor::parse(&payload(300, 9)).unwrap();
        assert_eq!((d.picture_id, d.tl0), (Some((300, true, 2)), Some((9, 4))));
        assert!(Descriptor::parse(&[0x90, 0xc0, 0x81]).is_none(), "truncated");
        assert!(Descriptor::parse(&[]).is_none());
    }

    #[test]
    fn a_route_that_never_switches_is_left_alone() {
        let mut c = Vp8Continuity::default();
        for pid in 10..20 {
            assert!(c.rewrite(&payload(pid, 3)).is_identity());
        }
    }

    #[test]
    fn switching_layers_continues_both_counters() {
        let mut c = Vp8Continuity::default();
        assert_eq!(sent(&mut c, 100, 7), (100, 7));
        assert_eq!(sent(&mut c, 101, 8), (101, 8));
        // switch to a layer counting elsewhere: it continues at 102 / 9
        c.rebase();
        assert_eq!(sent(&mut c, 5000, 200), (102, 9));
        assert_eq!(sent(&mut c, 5000, 200), (102, 9), "same frame, same id");
        assert_eq!(sent(&mut c, 5001, 201), (103, 10));
        // and back, across the 15-bit and 8-bit wraps
        c.rebase();
        assert_eq!(sent(&mut c, 0x7fff, 255), (104, 11));
        assert_eq!(sent(&mut c, 0, 0), (105, 12));
    }

    #[test]
    fn picture_ids_wrap_within_their_width() {
        let mut c = Vp8Continuity::default();
        assert_eq!(sent(&mut c, 0x7ffe, 1), (0x7ffe, 1));
        c.rebase();
        assert_eq!(sent(&mut c, 40, 1), (0x7fff, 2));
        assert_eq!(sent(&mut c, 41, 1), (0, 2));
        let mut short = Vp8Continuity::default();
        let mut p = vec![0x90, 0x80, 0x7f, 0];
        short.rewrite(&p).apply(&mut p);
        short.rebase();
        let mut p = vec![0x90, 0x80, 0x10, 0];
        short.rewrite(&p).apply(&mut p);
        assert_eq!(p[2], 0x00, "7-bit ids wrap at 128");
    }
}
