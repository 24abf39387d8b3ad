//! A publisher whose video offers only H.264 (OBS, GStreamer, some phones) is told why its video
//! goes nowhere: `error{code:"unsupported_codec"}` naming the offered codec and what the server
//! accepts, beside an answer that refuses that section (before: the answer alone, in silence).

use futures_util::{SinkExt, StreamExt};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::peer_connection::RTCPeerConnectionBuilder;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use switchboard::testing::spawn_test_server;
use tokio_tungstenite::tungstenite::Message;

/// A real client offer with one H.264 (constrained baseline) video track `camera-1`.
fn h264_only_offer() -> String {
    let h264 = RTCRtpCodec {
        mime_type: "video/H264".into(),
        clock_rate: 90_000,
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".into(),
        ..Default::default()
    };
    let mut media = MediaEngine::default();
    media
        .register_codec(RTCRtpCodecParameters { rtp_codec: h264.clone(), payload_type: 102 }, RtpCodecKind::Video)
        .expect("H.264 registers");
    let mut pc = RTCPeerConnectionBuilder::new().with_media_engine(media).build(Instant::now()).expect("a client PC");
    pc.add_track(MediaStreamTrack::new(
        "stream".into(),
        "camera-1".into(),
        "camera".into(),
        RtpCodecKind::Video,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(777), ..Default::default() },
            active: true,
            codec: h264,
            ..Default::default()
        }],
    ))
    .expect("the track is added");
    let offer = pc.create_offer(None).expect("an offer");
    pc.set_local_description(Instant::now(), offer).expect("the offer applies locally");
    pc.local_description().expect("a local description").sdp
}

#[tokio::test]
async fn an_h264_only_publisher_is_told_which_codecs_the_server_accepts() {
    let server = spawn_test_server().await.unwrap();
    let url = format!("ws://{}/ws?access_token={}", server.http_addr(), server.token("codecs", "obs"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("the WebSocket connects");
    let offer = json!({"type": "publish_offer", "sdp": h264_only_offer(), "sources": {"camera-1": "camera"}});
    ws.send(Message::text(offer.to_string())).await.unwrap();
    let (mut error, mut answer) = (None::<Value>, None::<Value>);
    while error.is_none() || answer.is_none() {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("the server answers in time");
        let Some(Ok(Message::Text(text))) = frame else { continue };
        let msg: Value = serde_json::from_str(&text).unwrap();
        match msg["type"].as_str() {
            Some("error") => error = Some(msg),
            Some("publish_answer") => answer = Some(msg),
            _ => {}
        }
    }
    let error = error.unwrap();
    assert_eq!(error["code"], "unsupported_codec", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("video") && message.contains("H264") && message.contains("VP8"), "{message}");
    let sdp = answer.unwrap()["sdp"].as_str().unwrap().to_owned();
    assert!(sdp.lines().any(|l| l.starts_with("m=video 0 ")), "the answer refuses the video section:\n{sdp}");
}
