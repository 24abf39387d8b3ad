//! NAT 1:1 advertising (`--public-ip`): the publish answer's ICE candidates carry the configured
//! public address with the media port, while the media socket stays bound on 127.0.0.1. The
//! public address (203.0.113.7, TEST-NET-3) is never contacted: the client offer comes from a
//! sans-IO `rtc` PeerConnection that owns no socket, and nothing connects to the answer.

use futures_util::{SinkExt, StreamExt};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::peer_connection::RTCPeerConnectionBuilder;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use switchboard::testing::{spawn_test_server_with, test_config};
use switchboard::Config;
use tokio_tungstenite::tungstenite::Message;

const PUBLIC_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));

/// A real client offer with one Opus track whose msid track id is `track_id`.
fn client_offer(track_id: &str) -> String {
    let mut media = MediaEngine::default();
    media.register_default_codecs().expect("the default codecs register");
    let mut pc = RTCPeerConnectionBuilder::new().with_media_engine(media).build(Instant::now()).expect("a client PC");
    let opus = RTCRtpCodec { mime_type: "audio/opus".into(), clock_rate: 48_000, channels: 2, ..Default::default() };
    pc.add_track(MediaStreamTrack::new(
        "stream".into(),
        track_id.into(),
        "microphone".into(),
        RtpCodecKind::Audio,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(4242), ..Default::default() },
            active: true,
            codec: opus,
            ..Default::default()
        }],
    ))
    .expect("the track is added");
    let offer = pc.create_offer(None).expect("an offer");
    pc.set_local_description(Instant::now(), offer).expect("the offer applies locally");
    pc.local_description().expect("a local description").sdp
}

/// `(transport, address, port)` of every `a=candidate` line.
fn candidates(sdp: &str) -> Vec<(String, String, u16)> {
    sdp.lines()
        .filter_map(|line| line.trim().strip_prefix("a=candidate:"))
        .map(|candidate| {
            // foundation component transport priority address port "typ" type …
            let fields: Vec<&str> = candidate.split_whitespace().collect();
            assert!(fields.len() >= 8 && fields[6] == "typ", "malformed candidate: {candidate}");
            (fields[2].to_lowercase(), fields[4].to_owned(), fields[5].parse().expect("a numeric port"))
        })
        .collect()
}

#[tokio::test]
async fn publish_answer_advertises_the_public_ip_while_media_binds_loopback() {
    let server = spawn_test_server_with(Config { public_ip: vec![PUBLIC_IP], ..test_config() }).await.unwrap();
    let media = server.udp_addr();
    assert_eq!(media.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST), "the socket binds udp_bind, not the public address");
    // The media socket really holds that loopback port.
    let taken = std::net::UdpSocket::bind(SocketAddr::new(media.ip(), media.port()));
    assert_eq!(taken.err().map(|e| e.kind()), Some(std::io::ErrorKind::AddrInUse));

    let url = format!("ws://{}/ws?access_token={}", server.http_addr(), server.token("nat", "alice"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("the WebSocket connects");
    assert_eq!(next_of_type(&mut ws, "joined").await["participant"]["identity"], "alice");

    let offer = json!({"type": "publish_offer", "sdp": client_offer("mic-1"), "sources": {"mic-1": "microphone"}});
    ws.send(Message::text(offer.to_string())).await.unwrap();
    let answer = next_of_type(&mut ws, "publish_answer").await;
    let sdp = answer["sdp"].as_str().expect("the answer carries sdp");

    let found = candidates(sdp);
    assert!(!found.is_empty(), "the answer carries a candidate:\n{sdp}");
    let tcp_port = server.tcp_addr().expect("ICE over TCP is on by default").port();
    for (transport, address, port) in &found {
        assert_eq!(address, &PUBLIC_IP.to_string(), "every candidate advertises the public IP:\n{sdp}");
        let want = if transport == "tcp" { tcp_port } else { media.port() };
        assert_eq!(*port, want, "with the {transport} media port:\n{sdp}");
    }
    assert!(found.iter().any(|(t, ..)| t == "udp") && found.iter().any(|(t, ..)| t == "tcp"), "UDP and TCP candidates:\n{sdp}");
    assert!(!sdp.contains("127.0.0.1"), "the bound loopback address is not advertised:\n{sdp}");
}

/// The next message of type `ty`, skipping others; fails on an `error`, a close or a timeout.
async fn next_of_type<S>(ws: &mut S, ty: &str) -> Value
where
    S: StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no `{ty}` within 5 s"));
        let Some(Ok(Message::Text(text))) = frame else {
            match frame {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("waiting for `{ty}`, got {other:?}"),
            }
        };
        let msg: Value = serde_json::from_str(&text).expect("the server sends JSON");
        assert_ne!(msg["type"], "error", "waiting for `{ty}`: {msg}");
        if msg["type"] == ty {
            return msg;
        }
    }
}
