//! How the shard builds one PeerConnection: ICE-lite with a ufrag we choose, one UDP host
//! candidate per advertised address and, with ICE over TCP on, one passive TCP host candidate
//! per advertised address (RFC 6544; lower priority, so UDP wins where it works), the codecs we forward (Opus, VP8), and the interceptors of
//! its direction. Owns construction only; what the shard keeps beside a PC is `peer.rs`.

use crate::api::PeerRole;
use crate::config::MediaConfig;
use crate::interceptor::RtcpTap;
use crate::candidates::Candidates;
use rand::distributions::Alphanumeric;
use rand::Rng;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::ice::tcp_type::TcpType;
use rtc::interceptor::{NackGeneratorBuilder, ReceiverReportBuilder, Registry, Slot, TwccReceiverBuilder};
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{MediaEngine, MIME_TYPE_OPUS, MIME_TYPE_VP8};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCDtlsRole, RTCIceCandidate, RTCIceCandidateInit,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::shared::error::Error as RtcError;
use std::net::SocketAddr;
use std::time::Instant;

/// Random ICE credentials: a ufrag (our demultiplexing key) and a password.
pub(crate) fn ice_credentials() -> (String, String) {
    let mut rng = rand::thread_rng();
    let mut text = |n| (&mut rng).sample_iter(&Alphanumeric).take(n).map(char::from).collect::<String>();
    (text(16), text(32))
}

fn video_feedback() -> Vec<RTCPFeedback> {
    [("nack", ""), ("nack", "pli"), ("ccm", "fir")]
        .into_iter()
        .map(|(typ, parameter)| RTCPFeedback { typ: typ.into(), parameter: parameter.into() })
        .collect()
}

/// The codecs we forward: Opus and VP8, the pair every browser speaks. No RTX: retransmissions
/// then arrive on the media SSRC and pass through the same per-route rewriting.
fn media_engine() -> Result<MediaEngine, RtcError> {
    let mut me = MediaEngine::default();
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.into(),
                clock_rate: 48_000,
                channels: 2,
                sdp_fmtp_line: "minptime=10;useinbandfec=1".into(),
                rtcp_feedback: vec![],
            },
            payload_type: 111,
        },
        RtpCodecKind::Audio,
    )?;
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_VP8.into(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line: String::new(),
                rtcp_feedback: video_feedback(),
            },
            payload_type: 96,
        },
        RtpCodecKind::Video,
    )?;
    // RFC 6464 audio levels from publishers drive active-speaker detection.
    me.register_header_extension(
        RTCRtpHeaderExtensionCapability { uri: AUDIO_LEVEL_URI.into() },
        RtpCodecKind::Audio,
        None,
    )?;
    Ok(me)
}

/// RFC 6464 client-to-mixer audio level header extension.
pub(crate) const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// The interceptors a peer of `role` needs, in rtc's slots. Every forwarded packet is moved
/// through each one's queue, so a peer gets only what its direction uses:
/// - publisher (we receive): NACK generator (ask for lost packets), receiver reports, and
///   transport-wide CC feedback (the browser's send-side bandwidth estimate needs it);
/// - subscriber (we send): only our tap that hands PLI/FIR/NACK/RR to the shard. Forwarded RTP
///   does not go through `rtc`'s write pipeline (see `Peer::send_rtp`), so the shard answers
///   NACKs from its per-source history and writes the sender reports itself.
fn interceptors(role: PeerRole) -> Registry {
    match role {
        PeerRole::Publisher => Registry::new()
            .with(Slot::NackGenerator, NackGeneratorBuilder::new().build())
            .with(Slot::ReceiverReport, ReceiverReportBuilder::new().build())
            .with(Slot::TwccReceiver, TwccReceiverBuilder::new().build()),
        PeerRole::Subscriber => Registry::new().with(Slot::from(14_000), RtcpTap::for_forwarding()),
    }
}

/// Builds an ICE-lite PeerConnection for `role` with credentials `ufrag`/`pwd`, a UDP host
/// candidate for each of `candidates.udp` and a passive TCP one for each of `candidates.tcp`
/// (the shard's sockets as advertised), followed by the end-of-gathering marker.
pub(crate) fn build_pc(
    config: &MediaConfig,
    role: PeerRole,
    ufrag: String,
    pwd: String,
    candidates: &Candidates,
    now: Instant,
) -> Result<RTCPeerConnection, RtcError> {
    let setting_engine = SettingEngineBuilder::new()
        .with_lite(true)
        .with_ice_credentials(ufrag, pwd)
        // a=setup:passive in our answers: an ICE-lite server acting as DTLS client can deadlock
        .with_answering_dtls_role(RTCDtlsRole::Server)
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_ice_timeouts(
            Some(config.ice_disconnected_timeout),
            Some(config.ice_failed_timeout),
            Some(config.ice_keepalive_interval),
        )
        .build();
    let mut me = media_engine()?;
    // rtc's defaults, for what they negotiate (NACK/PLI feedback, transport-cc, simulcast header
    // extensions); the chain itself is the role's own.
    let _ = register_default_interceptors(Registry::new(), &mut me)?;
    let registry = interceptors(role);
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_setting_engine(setting_engine)
        .with_media_engine(me)
        .with_interceptor_registry(registry)
        .build(now)?;
    for candidate in &candidates.udp {
        add_host_candidate(&mut pc, *candidate, TcpType::Unspecified)?;
    }
    for candidate in &candidates.tcp {
        add_host_candidate(&mut pc, *candidate, TcpType::Passive)?;
    }
    pc.add_local_candidate(RTCIceCandidateInit::default())?;
    Ok(pc)
}

/// A host candidate at `addr`: UDP if `tcp_type` is unspecified, else TCP of that type.
fn add_host_candidate(pc: &mut RTCPeerConnection, addr: SocketAddr, tcp_type: TcpType) -> Result<(), RtcError> {
    let network = if tcp_type == TcpType::Unspecified { "udp" } else { "tcp" };
    let host = CandidateHostConfig {
        base_config: CandidateConfig {
            network: network.into(),
            address: addr.ip().to_string(),
            port: addr.port(),
            component: 1,
            ..Default::default()
        },
        tcp_type,
    }
    .new_candidate_host()?;
    pc.add_local_candidate(RTCIceCandidate::from(&host).to_json()?)
}
