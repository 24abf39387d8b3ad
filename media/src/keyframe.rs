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
    let (x, s, pid) = (b0 & 0x80 != 0, b0 & 0x10 != 0, b0 & 0x07);
    if !s || pid != 0 {
        return false;
    }
    let mut i = 1;
    if x {
        let Some(&b1) = p.get(i) else { return false };
        i += 1;
        if b1 & 0x80 != 0 {
            // PictureID: 7 or 15 bits (M flag)
            let Some(&pic) = p.get(i) else { return false };
            i += if pic & 0x80 != 0 { 2 } else { 1 };
        }
        if b1 & 0x40 != 0 {
            i += 1; // TL0PICIDX
        }
        if b1 & 0x30 != 0 {
            i += 1; // TID/Y/KEYIDX
        }
    }
    p.get(i).is_some_and(|h| h & 0x01 == 0)
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
