//! A small SDP reader: per media section, the mid, msid and declared SSRCs.

/// One `m=` section of a session description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaSection {
    /// `audio`, `video` or `application`.
    pub kind: String,
    /// The port of the `m=` line (0 = rejected section).
    pub port: u16,
    /// Payload types listed on the `m=` line.
    pub payload_types: Vec<u8>,
    /// `a=mid`.
    pub mid: Option<String>,
    /// `a=sendrecv|sendonly|recvonly|inactive`.
    pub direction: Option<String>,
    /// The msid stream id (`a=msid:<stream> <track>` or `a=ssrc:<n> msid:<stream> <track>`).
    pub msid_stream: Option<String>,
    /// The msid track id.
    pub msid_track: Option<String>,
    /// Media SSRCs declared by `a=ssrc`, in order, excluding repair SSRCs (second and later
    /// members of an `a=ssrc-group:FID` / `FEC-FR`).
    pub ssrcs: Vec<u32>,
    /// Repair SSRCs (RTX / FEC) from `a=ssrc-group`.
    pub repair_ssrcs: Vec<u32>,
    /// `a=rtpmap:<pt> <codec>/<rate>…` as (pt, codec name).
    pub rtpmaps: Vec<(u8, String)>,
}

impl MediaSection {
    /// The payload type of a codec by name (case-insensitive), e.g. `"VP8"`, `"opus"`.
    pub fn payload_type_of(&self, codec: &str) -> Option<u8> {
        self.rtpmaps
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(codec))
            .map(|(pt, _)| *pt)
    }
}

/// Splits an SDP into its media sections and reads each one.
pub fn parse_media_sections(sdp: &str) -> Vec<MediaSection> {
    let mut sections: Vec<MediaSection> = Vec::new();
    let mut all_ssrcs: Vec<Vec<u32>> = Vec::new();
    for raw in sdp.lines() {
        let line = raw.trim_end_matches('\r').trim();
        if let Some(m) = line.strip_prefix("m=") {
            let mut parts = m.split_whitespace();
            let kind = parts.next().unwrap_or_default().to_owned();
            let port = parts
                .next()
                .and_then(|p| p.split('/').next())
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            let _proto = parts.next();
            let payload_types = parts.filter_map(|p| p.parse().ok()).collect();
            sections.push(MediaSection {
                kind,
                port,
                payload_types,
                ..Default::default()
            });
            all_ssrcs.push(Vec::new());
            continue;
        }
        let (Some(section), Some(ssrcs)) = (sections.last_mut(), all_ssrcs.last_mut()) else {
            continue;
        };
        let Some(attr) = line.strip_prefix("a=") else {
            continue;
        };
        let (name, value) = match attr.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            None => (attr, None),
        };
        match (name, value) {
            ("mid", Some(v)) => section.mid = Some(v.trim().to_owned()),
            ("sendrecv" | "sendonly" | "recvonly" | "inactive", None) => {
                section.direction = Some(name.to_owned())
            }
            ("msid", Some(v)) => {
                let mut it = v.split_whitespace();
                section.msid_stream = it.next().map(str::to_owned);
                section.msid_track = it.next().map(str::to_owned);
            }
            ("rtpmap", Some(v)) => {
                let mut it = v.split_whitespace();
                if let (Some(pt), Some(codec)) = (it.next(), it.next()) {
                    if let Ok(pt) = pt.parse() {
                        let name = codec.split('/').next().unwrap_or_default().to_owned();
                        section.rtpmaps.push((pt, name));
                    }
                }
            }
            ("ssrc", Some(v)) => {
                let mut it = v.splitn(2, ' ');
                let Some(Ok(ssrc)) = it.next().map(str::parse::<u32>) else {
                    continue;
                };
                if !ssrcs.contains(&ssrc) {
                    ssrcs.push(ssrc);
                }
                if let Some(rest) = it.next() {
                    if let Some(msid) = rest.trim().strip_prefix("msid:") {
                        let mut parts = msid.split_whitespace();
                        if section.msid_stream.is_none() {
                            section.msid_stream = parts.next().map(str::to_owned);
                            section.msid_track = parts.next().map(str::to_owned);
                        }
                    }
                }
            }
            ("ssrc-group", Some(v)) => {
                let mut it = v.split_whitespace();
                let _semantics = it.next();
                let members: Vec<u32> = it.filter_map(|s| s.parse().ok()).collect();
                for repair in members.iter().skip(1) {
                    if !section.repair_ssrcs.contains(repair) {
                        section.repair_ssrcs.push(*repair);
                    }
                }
            }
            _ => {}
        }
    }
    for (section, ssrcs) in sections.iter_mut().zip(all_ssrcs) {
        section.ssrcs = ssrcs
            .into_iter()
            .filter(|s| !section.repair_ssrcs.contains(s))
            .collect();
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=ice-lite\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\na=msid:PA_a TR_1\r\n\
a=rtpmap:111 opus/48000/2\r\na=ssrc:1111 cname:x\r\na=ssrc:1111 msid:PA_a TR_1\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:1\r\na=sendonly\r\n\
a=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=ssrc-group:FID 2222 3333\r\n\
a=ssrc:2222 cname:x\r\na=ssrc:2222 msid:PA_a TR_2\r\na=ssrc:3333 cname:x\r\n";

    #[test]
    fn reads_sections() {
        let s = parse_media_sections(OFFER);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].kind, "audio");
        assert_eq!(s[0].msid_stream.as_deref(), Some("PA_a"));
        assert_eq!(s[0].msid_track.as_deref(), Some("TR_1"));
        assert_eq!(s[0].ssrcs, vec![1111]);
        assert_eq!(s[0].payload_type_of("OPUS"), Some(111));
        assert_eq!(s[1].msid_track.as_deref(), Some("TR_2"));
        assert_eq!(s[1].ssrcs, vec![2222]);
        assert_eq!(s[1].repair_ssrcs, vec![3333]);
        assert_eq!(s[1].direction.as_deref(), Some("sendonly"));
        assert_eq!(s[1].payload_types, vec![96, 97]);
    }
}
