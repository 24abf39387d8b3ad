//! Keyframe detection in RTP payloads (VP8, VP9, H.264), used to start a video route cleanly.
//!
//! A route only starts forwarding at a keyframe: a decoder that gets delta frames first shows
//! nothing (or garbage) until the next one. Unknown codecs are treated as always decodable so
//! that a route never stalls on a format we cannot parse.

/// Does this RTP payload start a keyframe of `mime_type` (case-insensitive `video/VP8` etc.)?
pub fn is_keyframe_start(mime_type: &str, payload: &[u8]) -> bool {
    let codec = mime_type.rsplit('/').next().unwrap_or("");
    if codec.eq_ignore_ascii_case("vp8") {
        vp8_keyframe_start(payload)
    } else if codec.eq_ignore_ascii_case("vp9") {
        vp9_keyframe_start(payload)
    } else if codec.eq_ignore_ascii_case("h264") {
        h264_keyframe_start(payload)
    } else {
        true
    }
}

/// RFC 7741 §4.2/§4.3: start of partition 0 (S=1, PID=0) and the VP8 header's P bit clear.
fn vp8_keyframe_start(p: &[u8]) -> bool {
    let Some(&b0) = p.first() else { return false };
    if b0 & 0x10 == 0 || b0 & 0x07 != 0 {
        return false;
    }
    vp8_payload_offset(p).and_then(|i| p.get(i)).is_some_and(|h| h & 0x01 == 0)
}

/// Where the VP8 payload header starts, after the RFC 7741 payload descriptor.
fn vp8_payload_offset(p: &[u8]) -> Option<usize> {
    let b0 = *p.first()?;
    let mut i = 1;
    if b0 & 0x80 != 0 {
        let b1 = *p.get(i)?;
        i += 1;
        if b1 & 0x80 != 0 {
            // PictureID: 7 or 15 bits (M flag)
            i += if *p.get(i)? & 0x80 != 0 { 2 } else { 1 };
        }
        if b1 & 0x40 != 0 {
            i += 1; // TL0PICIDX
        }
        if b1 & 0x30 != 0 {
            i += 1; // TID/Y/KEYIDX
        }
    }
    Some(i)
}

/// Width and height of a VP8 keyframe (RFC 6386 §9.1: 3-byte frame tag, start code 9d 01 2a,
/// then 14-bit width and height), when this packet starts one.
pub fn vp8_keyframe_size(mime_type: &str, p: &[u8]) -> Option<(u16, u16)> {
    if !mime_type.rsplit('/').next().is_some_and(|c| c.eq_ignore_ascii_case("vp8")) || !vp8_keyframe_start(p) {
        return None;
    }
    let header = vp8_payload_offset(p)?;
    let frame = p.get(header..header + 10)?;
    if frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let h = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((w, h))
}

/// draft-ietf-payload-vp9 §4.2: B (start of frame) set and P (inter-picture predicted) clear.
fn vp9_keyframe_start(p: &[u8]) -> bool {
    p.first().is_some_and(|b| b & 0x40 == 0 && b & 0x08 != 0)
}

/// RFC 6184: an IDR slice or SPS, alone, aggregated (STAP-A) or as the first FU-A fragment.
fn h264_keyframe_start(p: &[u8]) -> bool {
    let Some(&b0) = p.first() else { return false };
    match b0 & 0x1f {
        5 | 7 => true,
        24 => {
            let mut i = 1;
            while i + 2 < p.len() {
                let len = usize::from(u16::from_be_bytes([p[i], p[i + 1]]));
                if matches!(p[i + 2] & 0x1f, 5 | 7) {
                    return true;
                }
                i += 2 + len;
            }
            false
        }
        28 => p.get(1).is_some_and(|fu| fu & 0x80 != 0 && matches!(fu & 0x1f, 5 | 7)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_plain_and_extended_descriptors() {
        assert!(is_keyframe_start("video/VP8", &[0x10, 0x00, 0x9d, 0x01, 0x2a]));
        assert!(!is_keyframe_start("video/VP8", &[0x10, 0x01]), "P=1 is a delta frame");
        assert!(!is_keyframe_start("video/VP8", &[0x00, 0x00]), "not a partition start");
        // X=1, I=1 with 15-bit picture id, L=1, T=1: header at index 6
        assert!(is_keyframe_start("video/vp8", &[0x90, 0xe0, 0x80, 0x01, 0x05, 0x20, 0x00]));
        assert!(!is_keyframe_start("video/VP8", &[0x90, 0xe0, 0x80, 0x01, 0x05, 0x20, 0x01]));
        assert!(!is_keyframe_start("video/VP8", &[0x90, 0xe0]), "truncated");
        assert!(!is_keyframe_start("video/VP8", &[]));
    }

    #[test]
    fn vp8_keyframe_dimensions() {
        let key = [0x10, 0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01];
        assert_eq!(vp8_keyframe_size("video/VP8", &key), Some((640, 360)));
        assert_eq!(vp8_keyframe_size("video/VP8", &key[..8]), None, "truncated");
        assert_eq!(vp8_keyframe_size("video/H264", &key), None);
    }

    #[test]
    fn h264_idr_stap_and_fu() {
        assert!(is_keyframe_start("video/H264", &[0x65]));
        assert!(!is_keyframe_start("video/H264", &[0x41]));
        assert!(is_keyframe_start("video/H264", &[0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68]));
        assert!(is_keyframe_start("video/H264", &[0x7c, 0x85]));
        assert!(!is_keyframe_start("video/H264", &[0x7c, 0x05]), "not the first fragment");
    }

    #[test]
    fn vp9_and_unknown() {
        assert!(is_keyframe_start("video/VP9", &[0x08]));
        assert!(!is_keyframe_start("video/VP9", &[0x48]));
        assert!(is_keyframe_start("video/AV1", &[0x00]));
    }
}
