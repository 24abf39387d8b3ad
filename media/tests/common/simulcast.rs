//! A simulcast publisher for the virtual-clock tests: one VP8 track in three layers (rids `q`,
//! `h`, `f`), each packet tagged with the mid and rid header extensions as browsers tag theirs.

use super::*;

/// SSRCs of the layers, lowest first.
pub const LAYER_SSRCS: [u32; 3] = [2000, 2001, 2002];
const RIDS: [&str; 3] = ["q", "h", "f"];

impl Net {
    /// Adds a publisher client with one VP8 track in three simulcast layers and negotiates it with
    /// shard peer `peer`.
    pub fn add_simulcast_publisher(&mut self, peer: PeerId) -> usize {
        let encodings = RIDS
            .iter()
            .zip(LAYER_SSRCS)
            .map(|(rid, ssrc)| RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters { rid: (*rid).into(), ssrc: Some(ssrc), ..Default::default() },
                active: true,
                codec: vp8(),
                ..Default::default()
            })
            .collect();
        let track = MediaStreamTrack::new("stream-sim".into(), "track-sim".into(), "source".into(), RtpCodecKind::Video, encodings);
        self.publish_track(peer, RTCConfigurationBuilder::new().build(), track, LAYER_SSRCS[0])
    }

    /// A connected simulcast publisher for shard peer `peer` whose first keyframe on every
    /// layer opened a source: returns (publisher, source).
    pub fn publish_simulcast(&mut self, peer: PeerId) -> (usize, SourceId) {
        let publisher = self.add_simulcast_publisher(peer);
        self.run_for(Duration::from_millis(500));
        for layer in 0..LAYER_SSRCS.len() {
            self.send_video_layer(publisher, layer, true);
        }
        self.run_for(Duration::from_millis(20));
        let source = self.opened_source(peer).expect("first RTP opens a source");
        (publisher, source)
    }

    /// Simulcast publisher `client` sends one VP8 packet of layer `layer` (0 = q); keyframe if
    /// `key`.
    pub fn send_video_layer(&mut self, client: usize, layer: usize, key: bool) {
        let now = self.now;
        let c = &mut self.clients[client];
        c.layer_seq[layer] = c.layer_seq[layer].wrapping_add(1);
        let seq = c.layer_seq[layer];
        let payload: &[u8] = if key { &[0x10, 0x00, 0x9d, 0x01, 0x2a, 1, 2] } else { &[0x10, 0x01, 7, 7] };
        let mut pkt = rtp::Packet {
            header: rtp::header::Header {
                version: 2,
                payload_type: 96,
                sequence_number: seq,
                timestamp: u32::from(seq) * 3000,
                ssrc: LAYER_SSRCS[layer],
                marker: true,
                ..Default::default()
            },
            payload: Bytes::copy_from_slice(payload),
        };
        let sender_id = c.sender.expect("a publisher client");
        let mut sender = c.pc.rtp_sender(sender_id).unwrap();
        let mut ext = |uri: &str| {
            sender.get_parameters().rtp_parameters.header_extensions.iter().find(|e| e.uri == uri).map(|e| e.id as u8)
        };
        let (mid, rid) = (ext(rtc::sdp::extmap::SDES_MID_URI), ext(rtc::sdp::extmap::SDES_RTP_STREAM_ID_URI));
        if let (Some(mid), Some(rid)) = (mid, rid) {
            pkt.header.set_extension(mid, Bytes::from_static(b"0")).unwrap();
            pkt.header.set_extension(rid, Bytes::from(RIDS[layer])).unwrap();
        }
        sender.write_rtp(now, pkt).unwrap();
    }
}
