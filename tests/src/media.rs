//! Synthetic media payloads and their parsers.
//!
//! Every payload carries a **stamp**: magic `SBT1`, an origin tag (identifies the publishing
//! track), a per-track packet counter, the send time in microseconds since the UNIX epoch (the
//! shared epoch of processes on one host), the length of the stamped region, then filler bytes
//! derived from (origin, counter, index). A receiver recomputes the filler, so any corrupted,
//! truncated or cross-wired byte makes [`read_stamp`] fail.
//!
//! Video payloads are VP8 RTP payloads (RFC 7741): a 1-byte payload descriptor
//! (`0x10` = S=1, PID=0 on a frame's first packet, `0x00` on continuations), then on a frame's
//! first packet the 3-byte VP8 frame tag (bit 0 = P: 0 for a keyframe, 1 for a delta frame),
//! and for keyframes the start code `9d 01 2a` and 2+2 bytes of width/height. The stamp follows.

use std::time::{SystemTime, UNIX_EPOCH};

/// Magic bytes opening every stamp.
pub const STAMP_MAGIC: [u8; 4] = *b"SBT1";
/// Bytes of the fixed stamp header: magic, origin, counter, micros, region length.
pub const STAMP_HEADER_LEN: usize = 4 + 4 + 4 + 8 + 2;
/// The VP8 keyframe start code.
pub const VP8_START_CODE: [u8; 3] = [0x9d, 0x01, 0x2a];

/// What a stamp says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Tag of the publishing track (see [`origin_tag`]).
    pub origin: u32,
    /// Per-track packet counter at the publisher, starting at 0.
    pub counter: u32,
    /// Send time, microseconds since the UNIX epoch.
    pub sent_micros: u64,
}

/// Why a stamp did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StampError {
    /// Fewer bytes than the stamp header.
    TooShort,
    /// The magic bytes are wrong.
    BadMagic,
    /// The stamped region's length differs from what the stamp declared.
    LengthMismatch { declared: usize, actual: usize },
    /// A filler byte differs from what (origin, counter, index) gives.
    Corrupted { at: usize },
}

/// Microseconds since the UNIX epoch, now.
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// A stable 32-bit tag for a track id (FNV-1a).
pub fn origin_tag(track_id: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in track_id.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn filler(origin: u32, counter: u32, i: usize) -> u8 {
    let x = origin
        .wrapping_add(counter.wrapping_mul(7))
        .wrapping_add((i as u32).wrapping_mul(13));
    (x ^ (x >> 8) ^ (x >> 16)) as u8
}

/// Appends a stamped region of `region_len` bytes (at least [`STAMP_HEADER_LEN`]).
pub fn write_stamp(buf: &mut Vec<u8>, stamp: &Stamp, region_len: usize) {
    let region_len = region_len.clamp(STAMP_HEADER_LEN, u16::MAX as usize);
    buf.extend_from_slice(&STAMP_MAGIC);
    buf.extend_from_slice(&stamp.origin.to_be_bytes());
    buf.extend_from_slice(&stamp.counter.to_be_bytes());
    buf.extend_from_slice(&stamp.sent_micros.to_be_bytes());
    buf.extend_from_slice(&(region_len as u16).to_be_bytes());
    for i in 0..region_len - STAMP_HEADER_LEN {
        buf.push(filler(stamp.origin, stamp.counter, i));
    }
}

/// Reads and verifies a stamped region (which must be exactly the rest of the payload).
pub fn read_stamp(region: &[u8]) -> Result<Stamp, StampError> {
    if region.len() < STAMP_HEADER_LEN {
        return Err(StampError::TooShort);
    }
    if region[0..4] != STAMP_MAGIC {
        return Err(StampError::BadMagic);
    }
    let origin = u32::from_be_bytes(region[4..8].try_into().unwrap());
    let counter = u32::from_be_bytes(region[8..12].try_into().unwrap());
    let sent_micros = u64::from_be_bytes(region[12..20].try_into().unwrap());
    let declared = u16::from_be_bytes(region[20..22].try_into().unwrap()) as usize;
    if declared != region.len() {
        return Err(StampError::LengthMismatch {
            declared,
            actual: region.len(),
        });
    }
    for (i, b) in region[STAMP_HEADER_LEN..].iter().enumerate() {
        if *b != filler(origin, counter, i) {
            return Err(StampError::Corrupted {
                at: STAMP_HEADER_LEN + i,
            });
        }
    }
    Ok(Stamp {
        origin,
        counter,
        sent_micros,
    })
}

/// Builds an audio payload of `len` bytes (at least the stamp header).
pub fn audio_payload(stamp: &Stamp, len: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(len);
    write_stamp(&mut buf, stamp, len);
    buf
}

/// Builds a VP8 RTP payload of about `len` bytes.
///
/// `frame_start` marks the first packet of a frame (descriptor S=1 and the VP8 frame header);
/// `keyframe` (only meaningful with `frame_start`) makes it a keyframe header with `width` x
/// `height`.
pub fn vp8_payload(
    frame_start: bool,
    keyframe: bool,
    (width, height): (u16, u16),
    stamp: &Stamp,
    len: usize,
) -> Vec<u8> {
    let mut buf = Vec::with_capacity(len.max(32));
    buf.push(if frame_start { 0x10 } else { 0x00 });
    if frame_start {
        // Frame tag, little endian: bit0 P (0 = key), bits1-3 version 0, bit4 show_frame,
        // bits5-23 first partition size (any plausible value).
        let first_part_size: u32 = 100;
        let tag: u32 = (if keyframe { 0 } else { 1 }) | (1 << 4) | (first_part_size << 5);
        buf.extend_from_slice(&tag.to_le_bytes()[0..3]);
        if keyframe {
            buf.extend_from_slice(&VP8_START_CODE);
            buf.extend_from_slice(&(width & 0x3fff).to_le_bytes());
            buf.extend_from_slice(&(height & 0x3fff).to_le_bytes());
        }
    }
    let region = len.saturating_sub(buf.len()).max(STAMP_HEADER_LEN);
    write_stamp(&mut buf, stamp, region);
    buf
}

/// What [`parse_vp8`] learnt from a VP8 RTP payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Info {
    /// Descriptor S bit.
    pub start_of_partition: bool,
    /// Descriptor partition index.
    pub partition_id: u8,
    /// PictureID, if the descriptor carries one.
    pub picture_id: Option<u16>,
    /// S=1 and PID=0: the first packet of a frame, with the VP8 frame header.
    pub frame_start: bool,
    /// For a frame start: P bit 0 and a valid start code.
    pub keyframe: bool,
    /// For a keyframe: width and height.
    pub dimensions: Option<(u16, u16)>,
    /// Offset of the bytes after the descriptor and (on a frame start) the frame header.
    pub data_offset: usize,
}

/// Parses the VP8 payload descriptor (all RFC 7741 extensions) and, on a frame start, the
/// frame header. `None` if the payload is too short for what it declares, or if a frame start
/// with P=0 lacks the keyframe start code.
pub fn parse_vp8(payload: &[u8]) -> Option<Vp8Info> {
    let b0 = *payload.first()?;
    let x = b0 & 0x80 != 0;
    let start_of_partition = b0 & 0x10 != 0;
    let partition_id = b0 & 0x07;
    let mut off = 1;
    let mut picture_id = None;
    if x {
        let ext = *payload.get(off)?;
        off += 1;
        if ext & 0x80 != 0 {
            let p0 = *payload.get(off)?;
            if p0 & 0x80 != 0 {
                let p1 = *payload.get(off + 1)?;
                picture_id = Some((((p0 & 0x7f) as u16) << 8) | p1 as u16);
                off += 2;
            } else {
                picture_id = Some(p0 as u16);
                off += 1;
            }
        }
        if ext & 0x40 != 0 {
            off += 1; // TL0PICIDX
        }
        if ext & 0x30 != 0 {
            off += 1; // TID/Y/KEYIDX
        }
    }
    if off > payload.len() {
        return None;
    }
    let frame_start = start_of_partition && partition_id == 0;
    let mut keyframe = false;
    let mut dimensions = None;
    if frame_start {
        let tag = payload.get(off..off + 3)?;
        off += 3;
        if tag[0] & 0x01 == 0 {
            let rest = payload.get(off..off + 7)?;
            if rest[0..3] != VP8_START_CODE {
                return None;
            }
            keyframe = true;
            let w = u16::from_le_bytes([rest[3], rest[4]]) & 0x3fff;
            let h = u16::from_le_bytes([rest[5], rest[6]]) & 0x3fff;
            dimensions = Some((w, h));
            off += 7;
        }
    }
    Some(Vp8Info {
        start_of_partition,
        partition_id,
        picture_id,
        frame_start,
        keyframe,
        dimensions,
        data_offset: off,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(counter: u32) -> Stamp {
        Stamp {
            origin: origin_tag("track"),
            counter,
            sent_micros: 123,
        }
    }

    #[test]
    fn audio_roundtrip_and_corruption() {
        let p = audio_payload(&stamp(5), 60);
        assert_eq!(p.len(), 60);
        assert_eq!(read_stamp(&p), Ok(stamp(5)));
        let mut bad = p.clone();
        bad[40] ^= 1;
        assert!(matches!(read_stamp(&bad), Err(StampError::Corrupted { .. })));
        assert!(matches!(
            read_stamp(&p[..59]),
            Err(StampError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn vp8_keyframe_delta_and_continuation() {
        let k = vp8_payload(true, true, (320, 240), &stamp(1), 900);
        let info = parse_vp8(&k).unwrap();
        assert!(info.frame_start && info.keyframe);
        assert_eq!(info.dimensions, Some((320, 240)));
        assert_eq!(k[0], 0x10);
        assert_eq!(k[1] & 1, 0);
        assert_eq!(&k[4..7], &VP8_START_CODE);
        assert_eq!(read_stamp(&k[info.data_offset..]), Ok(stamp(1)));

        let d = vp8_payload(true, false, (320, 240), &stamp(2), 400);
        let info = parse_vp8(&d).unwrap();
        assert!(info.frame_start && !info.keyframe);
        assert_eq!(d[1] & 1, 1);
        assert_eq!(read_stamp(&d[info.data_offset..]), Ok(stamp(2)));

        let c = vp8_payload(false, false, (320, 240), &stamp(3), 400);
        assert_eq!(c[0], 0x00);
        let info = parse_vp8(&c).unwrap();
        assert!(!info.frame_start);
        assert_eq!(read_stamp(&c[info.data_offset..]), Ok(stamp(3)));
    }

    #[test]
    fn vp8_descriptor_extensions() {
        // X=1, I=1 with a 15-bit PictureID, L=1, T=1, then S=1 PID=0 keyframe header.
        let inner = vp8_payload(true, true, (320, 240), &stamp(9), 100);
        let mut p = vec![0x90, 0xe0, 0x80 | 0x12, 0x34, 0x05, 0x20];
        p.extend_from_slice(&inner[1..]);
        let info = parse_vp8(&p).unwrap();
        assert_eq!(info.picture_id, Some(0x1234));
        assert!(info.keyframe);
        assert_eq!(read_stamp(&p[info.data_offset..]), Ok(stamp(9)));
    }
}
