//! What the kit and the load generator share on the client side: the tracks they send (Opus and
//! VP8 with the parameters the server negotiates, a static RTP track with a fixed SSRC, plain RTP
//! packets) and the offer/answer steps of their peer connections.

use std::sync::Arc;

use anyhow::{anyhow, Result};
use bytes::Bytes;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::peer_connection::{PeerConnection, RTCSessionDescription};

/// Opus 48 kHz stereo (FEC on), or VP8 90 kHz: the codecs the server forwards.
pub fn codec(audio: bool) -> (RTCRtpCodec, RtpCodecKind) {
    if audio {
        let opus = RTCRtpCodec {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: 48_000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
            rtcp_feedback: vec![],
        };
        (opus, RtpCodecKind::Audio)
    } else {
        let vp8 = RTCRtpCodec {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90_000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        };
        (vp8, RtpCodecKind::Video)
    }
}

/// A static RTP track (`audio`: Opus, else VP8) of stream `stream_id`, sending on `ssrc`.
pub fn static_track(audio: bool, stream_id: &str, track_id: &str, label: &str, ssrc: u32) -> Arc<TrackLocalStaticRTP> {
    let (codec, kind) = codec(audio);
    Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        stream_id.to_owned(),
        track_id.to_owned(),
        label.to_owned(),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
            codec,
            ..Default::default()
        }],
    )))
}

/// An RTP packet without extensions or CSRCs.
pub fn rtp_packet(pt: u8, seq: u16, ts: u32, ssrc: u32, marker: bool, payload: Vec<u8>) -> rtc::rtp::Packet {
    rtc::rtp::Packet {
        header: rtc::rtp::Header {
            version: 2,
            marker,
            payload_type: pt,
            sequence_number: seq,
            timestamp: ts,
            ssrc,
            ..Default::default()
        },
        payload: Bytes::from(payload),
    }
}

/// Creates an offer on `pc` and sets it as the local description.
pub async fn create_offer(pc: &dyn PeerConnection) -> Result<RTCSessionDescription> {
    let offer = pc.create_offer(None).await.map_err(|e| anyhow!("create_offer: {e}"))?;
    pc.set_local_description(offer.clone()).await.map_err(|e| anyhow!("set_local_description(offer): {e}"))?;
    Ok(offer)
}

/// Applies the remote offer `sdp` to `pc`, answers it, and returns the local answer's SDP (as
/// set, with what the PC added to it).
pub async fn answer_offer(pc: &dyn PeerConnection, sdp: &str) -> Result<String> {
    let offer = RTCSessionDescription::offer(sdp.to_owned()).map_err(|e| anyhow!("{e}"))?;
    pc.set_remote_description(offer).await.map_err(|e| anyhow!("set_remote_description: {e}"))?;
    let answer = pc.create_answer(None).await.map_err(|e| anyhow!("create_answer: {e}"))?;
    pc.set_local_description(answer.clone()).await.map_err(|e| anyhow!("set_local_description: {e}"))?;
    Ok(pc.local_description().await.map_or(answer.sdp, |d| d.sdp))
}

/// Applies the remote answer `sdp` to `pc` (whose offer is outstanding).
pub async fn apply_answer(pc: &dyn PeerConnection, sdp: &str) -> Result<()> {
    let answer = RTCSessionDescription::answer(sdp.to_owned()).map_err(|e| anyhow!("{e}"))?;
    pc.set_remote_description(answer).await.map_err(|e| anyhow!("set_remote_description(answer): {e}"))
}
