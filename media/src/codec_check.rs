//! Which media sections of a publisher's offer our answer refused for want of a codec in common
//! (the answer's `m=` line has port 0), and which codecs the offer named there: so a publisher
//! whose camera offers only H.264 is told why its video goes nowhere, instead of silence.

/// One refused media section of an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    /// `audio` or `video`.
    pub(crate) kind: String,
    /// The codec names the offer listed for it (`H264`, `VP9`, …), deduplicated, in order.
    pub(crate) offered: Vec<String>,
}

/// The media sections (`m=` line and its attribute lines) of an SDP, in order.
fn sections(sdp: &str) -> Vec<Vec<&str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    for line in sdp.lines().map(str::trim_end) {
        if line.starts_with("m=") {
            out.push(vec![line]);
        } else if let Some(section) = out.last_mut() {
            section.push(line);
        }
    }
    out
}

/// `(kind, port)` of a section's `m=` line.
fn media_line<'a>(section: &[&'a str]) -> Option<(&'a str, &'a str)> {
    let mut fields = section.first()?.strip_prefix("m=")?.split(' ');
    Some((fields.next()?, fields.next()?))
}

/// The sections `answer` refused (port 0) that `offer` had opened (port not 0), matched by
/// position as RFC 3264 requires; only audio and video.
pub(crate) fn refused_media(offer: &str, answer: &str) -> Vec<Refused> {
    let offered = sections(offer);
    let answered = sections(answer);
    let mut out = Vec::new();
    for (o, a) in offered.iter().zip(&answered) {
        let (Some((kind, offer_port)), Some((_, answer_port))) = (media_line(o), media_line(a)) else { continue };
        if !matches!(kind, "audio" | "video") || offer_port == "0" || answer_port != "0" {
            continue;
        }
        let mut codecs: Vec<String> = Vec::new();
        for line in o.iter().filter_map(|l| l.strip_prefix("a=rtpmap:")) {
            let name = line.split_once(' ').and_then(|(_, c)| c.split('/').next()).unwrap_or_default();
            let useful = !name.is_empty() && !matches!(name.to_ascii_lowercase().as_str(), "rtx" | "red" | "ulpfec" | "flexfec-03");
            if useful && !codecs.iter().any(|c| c.eq_ignore_ascii_case(name)) {
                codecs.push(name.to_owned());
            }
        }
        out.push(Refused { kind: kind.to_owned(), offered: codecs });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 102 103 104\r\na=mid:1\r\na=rtpmap:102 H264/90000\r\na=rtpmap:103 rtx/90000\r\na=rtpmap:104 h264/90000\r\n\
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n";

    #[test]
    fn a_refused_video_section_names_what_was_offered() {
        let answer = "v=0\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\nm=video 0 UDP/TLS/RTP/SAVPF 0\r\na=mid:1\r\nm=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n";
        assert_eq!(refused_media(OFFER, answer), vec![Refused { kind: "video".into(), offered: vec!["H264".into()] }]);
    }

    #[test]
    fn accepted_sections_and_garbage_refuse_nothing() {
        let answer = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n";
        assert!(refused_media(OFFER, answer).is_empty());
        assert!(refused_media("", "").is_empty());
        assert!(refused_media("m=", "m=video 0").is_empty());
        assert!(refused_media("m=video 9 x\r\na=rtpmap:", "m=video 0 x").len() == 1);
    }
}
