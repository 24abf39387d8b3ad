//! A simulated network on a virtual clock: one [`Shard`] and sans-IO client PeerConnections
//! exchanging datagrams in memory. No sockets, no sleeps: `run_for` advances time in small steps.

#![allow(dead_code)]

use bytes::Bytes;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::ice::tcp_type::TcpType;
use rtc::interceptor::{Registry, Slot};
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::MediaEngine;
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::configuration::{RTCConfiguration, RTCConfigurationBuilder};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{
    CandidateConfig, CandidateHostConfig, RTCDtlsRole, RTCIceCandidate, RTCIceCandidateInit,
};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpReceiverId, RTCRtpSenderId};
use rtc::sansio::Protocol;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard_media::interceptor::KeyframeRequestTap;
use switchboard_media::{MediaCommand, MediaConfig, MediaCounters, MediaEvent, PeerId, SdpKind, Shard, SourceId, Via};

pub const SERVER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)), 7882);
/// The shard's ICE/TCP port in [`Net::with_tcp`].
pub const SERVER_TCP: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)), 7881);

/// One packet a client received on a track.
#[derive(Clone, Debug)]
pub struct Received {
    pub track_id: String,
    pub ssrc: u32,
    pub seq: u16,
    pub payload: Bytes,
}

/// A client PeerConnection (full ICE agent, controlling) at a virtual address.
pub struct Client {
    pub addr: SocketAddr,
    /// Its only candidate is an active TCP one (a network that blocks UDP).
    pub tcp: bool,
    /// Datagrams it received, by transport.
    pub received_udp: u64,
    pub received_tcp: u64,
    pub pc: RTCPeerConnection,
    pub state: RTCPeerConnectionState,
    pub received: Vec<Received>,
    pub keyframe_requests: u64,
    /// Transport-wide congestion control feedback reports that arrived.
    pub twcc_feedback: u64,
    /// Sender SSRC of every RTCP sender report that arrived (read from the SRTCP header, which
    /// is not encrypted).
    pub sender_reports: Vec<u32>,
    /// Remote tracks: receiver id and first ssrc, by msid track id.
    pub remote_tracks: HashMap<String, (RTCRtpReceiverId, u32)>,
    pub sender: Option<RTCRtpSenderId>,
    pub ssrc: u32,
    seq: u16,
    /// Simulcast publishers: the next sequence number of each layer.
    layer_seq: [u16; 3],
}

pub struct Net {
    pub now: Instant,
    pub shard: Shard,
    pub clients: Vec<Client>,
    /// Addresses whose traffic is dropped both ways.
    pub cut: HashSet<SocketAddr>,
    /// Drop the first RTP datagram to this address with this sequence number (read from the
    /// SRTP header, which is not encrypted), once.
    pub drop_once: Vec<(SocketAddr, u16)>,
    pub events: Vec<MediaEvent>,
    pub counters: Arc<MediaCounters>,
    /// Publisher clients added from now on stamp transport-wide sequence numbers.
    pub publisher_twcc: bool,
    /// Clients added from now on send ICE consent checks this often (rtc's default if `None`).
    pub client_keepalive: Option<Duration>,
    /// Clients added from now on reach the shard over ICE/TCP only (needs [`Net::with_tcp`]).
    pub clients_tcp: bool,
}

mod client;
mod simulcast;

pub const AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

pub fn opus() -> RTCRtpCodec {
    RTCRtpCodec { mime_type: "audio/opus".into(), clock_rate: 48_000, channels: 2, ..Default::default() }
}

pub fn vp8() -> RTCRtpCodec {
    RTCRtpCodec { mime_type: "video/VP8".into(), clock_rate: 90_000, ..Default::default() }
}

fn client_pc(now: Instant, addr: SocketAddr) -> RTCPeerConnection {
    client_pc_with(now, addr, RTCConfigurationBuilder::new().build(), None)
}

/// A client PeerConnection like [`client_pc`], with the given configuration (e.g. DTLS
/// certificates via `RTCConfigurationBuilder::with_certificates`) and, if set, the DTLS role the
/// client takes when it answers (`Server` makes it answer `a=setup:passive`).
pub fn client_pc_with(
    now: Instant,
    addr: SocketAddr,
    config: RTCConfiguration,
    answering_dtls_role: Option<RTCDtlsRole>,
) -> RTCPeerConnection {
    build_client_pc(now, addr, config, ClientOptions { answering_dtls_role, ..ClientOptions::default() })
}

/// How a client PeerConnection differs from rtc's defaults.
#[derive(Default, Clone, Copy)]
pub struct ClientOptions {
    /// The DTLS role it takes when it answers.
    pub answering_dtls_role: Option<RTCDtlsRole>,
    /// Stamp outgoing RTP with transport-wide sequence numbers, as a browser publisher does
    /// (rtc's default chain only receives them).
    pub twcc_sender: bool,
    /// Its ICE keepalive (consent check) interval, if not rtc's default.
    pub keepalive: Option<Duration>,
    /// Its one candidate is an active TCP host candidate instead of a UDP one.
    pub tcp: bool,
}

fn build_client_pc(now: Instant, addr: SocketAddr, config: RTCConfiguration, o: ClientOptions) -> RTCPeerConnection {
    let mut se = SettingEngineBuilder::new().with_multicast_dns_mode(MulticastDnsMode::Disabled);
    if let Some(role) = o.answering_dtls_role {
        se = se.with_answering_dtls_role(role);
    }
    if let Some(keepalive) = o.keepalive {
        // its own timeouts long: what is tested is the server noticing (or not) that it is alive
        se = se.with_ice_timeouts(Some(Duration::from_secs(30)), Some(Duration::from_secs(60)), Some(keepalive));
    }
    let se = se.build();
    let mut me = MediaEngine::default();
    me.register_default_codecs().unwrap();
    me.register_header_extension(
        rtc::rtp_transceiver::rtp_sender::RTCRtpHeaderExtensionCapability { uri: AUDIO_LEVEL.into() },
        RtpCodecKind::Audio,
        None,
    )
    .unwrap();
    let mut registry = register_default_interceptors(Registry::new(), &mut me)
        .unwrap()
        .with(Slot::from(14_000), KeyframeRequestTap::default());
    if o.twcc_sender {
        registry = registry.with(Slot::TwccSender, rtc::interceptor::TwccSenderBuilder::new().build());
    }
    let mut pc = RTCPeerConnectionBuilder::new()
        .with_configuration(config)
        .with_setting_engine(se)
        .with_media_engine(me)
        .with_interceptor_registry(registry)
        .build(now)
        .unwrap();
    add_host_candidate(&mut pc, addr, o.tcp);
    pc.add_local_candidate(RTCIceCandidateInit::default()).unwrap();
    pc
}

/// A host candidate of the client at `addr`: UDP, or active TCP (no port: RFC 6544 §4.5 puts 9,
/// the discard port, in the SDP).
fn add_host_candidate(pc: &mut RTCPeerConnection, addr: SocketAddr, tcp: bool) {
    let (network, port, tcp_type) = if tcp { ("tcp", 9, TcpType::Active) } else { ("udp", addr.port(), TcpType::Unspecified) };
    let host = CandidateHostConfig {
        base_config: CandidateConfig {
            network: network.into(),
            address: addr.ip().to_string(),
            port,
            component: 1,
            ..Default::default()
        },
        tcp_type,
    }
    .new_candidate_host()
    .unwrap();
    pc.add_local_candidate(RTCIceCandidate::from(&host).to_json().unwrap()).unwrap();
}

impl Net {
    pub fn new() -> Self {
        Self::bound(SERVER.into())
    }

    /// A network whose shard also listens for ICE over TCP at [`SERVER_TCP`].
    pub fn with_tcp() -> Self {
        Self::bound(switchboard_media::Bound { udp: SERVER, tcp: Some(SERVER_TCP) })
    }

    fn bound(bound: switchboard_media::Bound) -> Self {
        let now = Instant::now();
        let counters = Arc::new(MediaCounters::default());
        let config = MediaConfig {
            udp_bind: SERVER,
            ice_disconnected_timeout: Duration::from_secs(2),
            ice_failed_timeout: Duration::from_secs(4),
            ice_keepalive_interval: Duration::from_secs(1),
            ..MediaConfig::default()
        };
        Self {
            now,
            shard: Shard::new(config, bound, counters.clone()),
            clients: Vec::new(),
            cut: HashSet::new(),
            drop_once: Vec::new(),
            events: Vec::new(),
            counters,
            publisher_twcc: false,
            client_keepalive: None,
            clients_tcp: false,
        }
    }

    fn client_addr(i: usize) -> SocketAddr {
        SocketAddr::from(([10, 0, 1, (i + 1) as u8], 40000 + i as u16))
    }

    pub fn command(&mut self, cmd: MediaCommand) {
        self.shard.handle_command(self.now, cmd);
        self.shard.flush(self.now);
        self.pump();
    }

    /// Adds a publisher client with one VP8 track and negotiates it with shard peer `peer`.
    pub fn add_publisher(&mut self, peer: PeerId) -> usize {
        self.add_publisher_with(peer, RTCConfigurationBuilder::new().build())
    }

    /// [`Net::add_publisher`] with a client built from `config` (see [`client_pc_with`]).
    pub fn add_publisher_with(&mut self, peer: PeerId, config: RTCConfiguration) -> usize {
        let ssrc = 1000 + self.clients.len() as u32;
        self.add_publisher_of(peer, config, RtpCodecKind::Video, vp8(), ssrc)
    }

    /// Adds a publisher client with one Opus track carrying RFC 6464 audio levels.
    pub fn add_audio_publisher(&mut self, peer: PeerId) -> usize {
        let ssrc = 5000 + self.clients.len() as u32;
        self.add_publisher_of(peer, RTCConfigurationBuilder::new().build(), RtpCodecKind::Audio, opus(), ssrc)
    }

    /// A publisher client with one track of `kind`/`codec`, negotiated with shard peer `peer`.
    fn add_publisher_of(&mut self, peer: PeerId, config: RTCConfiguration, kind: RtpCodecKind, codec: RTCRtpCodec, ssrc: u32) -> usize {
        let track = MediaStreamTrack::new(
            format!("stream-{ssrc}"),
            format!("track-{ssrc}"),
            "source".into(),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
                active: true,
                codec,
                ..Default::default()
            }],
        );
        self.publish_track(peer, config, track, ssrc)
    }

    /// A publisher client sending `track` (first SSRC `ssrc`), negotiated with shard peer `peer`.
    fn publish_track(&mut self, peer: PeerId, config: RTCConfiguration, track: MediaStreamTrack, ssrc: u32) -> usize {
        let addr = Self::client_addr(self.clients.len());
        let options = ClientOptions {
            twcc_sender: self.publisher_twcc,
            keepalive: self.client_keepalive,
            tcp: self.clients_tcp,
            ..ClientOptions::default()
        };
        let mut pc = build_client_pc(self.now, addr, config, options);
        let sender = pc.add_track(track).unwrap();
        let offer = pc.create_offer(None).unwrap();
        pc.set_local_description(self.now, offer).unwrap();
        let sdp = pc.local_description().unwrap().sdp;
        self.clients.push(Client::new(addr, self.clients_tcp, pc, Some(sender), ssrc));
        let idx = self.clients.len() - 1;
        self.command(MediaCommand::AddPeer { peer, role: switchboard_media::PeerRole::Publisher });
        self.command(MediaCommand::ApplyOffer { peer, sdp });
        let answer = self.take_description(peer, SdpKind::Answer);
        let desc = RTCSessionDescription::answer(answer).unwrap();
        self.clients[idx].pc.set_remote_description(self.now, desc).unwrap();
        idx
    }

    /// A connected publisher client for shard peer `peer` with one VP8 track whose first
    /// keyframe opened a source: returns (publisher, source).
    pub fn publish_video(&mut self, peer: PeerId) -> (usize, SourceId) {
        let publisher = self.add_publisher(peer);
        self.run_for(Duration::from_millis(500));
        self.send_video(publisher, true);
        self.run_for(Duration::from_millis(20));
        let source = self.opened_source(peer).expect("first RTP opens a source");
        (publisher, source)
    }

    /// A connected publisher (peer 1, one VP8 track, first keyframe sent) and a connected
    /// subscriber (peer 2) receiving it as `TR_v`: returns (publisher, subscriber, source).
    pub fn publish_and_subscribe(&mut self) -> (usize, usize, SourceId) {
        let (publisher, source) = self.publish_video(PeerId(1));
        let subscriber = self.add_subscriber(PeerId(2));
        self.subscribe(subscriber, PeerId(2), source, "TR_v");
        self.run_for(Duration::from_millis(500));
        (publisher, subscriber, source)
    }

    /// Audio publisher `client` sends one Opus packet with audio level `dbov` (0 loud … 127 silent).
    pub fn send_audio(&mut self, client: usize, dbov: u8) {
        let now = self.now;
        let c = &mut self.clients[client];
        c.seq = c.seq.wrapping_add(1);
        let sender_id = c.sender.expect("a publisher client");
        let mut sender = c.pc.rtp_sender(sender_id).unwrap();
        let ext = sender
            .get_parameters()
            .rtp_parameters
            .header_extensions
            .iter()
            .find(|e| e.uri == AUDIO_LEVEL)
            .map(|e| e.id as u8)
            .expect("audio level negotiated");
        let mut header = rtp::header::Header {
            version: 2,
            payload_type: 111,
            sequence_number: c.seq,
            timestamp: u32::from(c.seq) * 960,
            ssrc: c.ssrc,
            ..Default::default()
        };
        header.set_extension(ext, Bytes::copy_from_slice(&[0x80 | dbov])).unwrap();
        sender.write_rtp(now, rtp::Packet { header, payload: Bytes::from_static(&[0xfc, 1, 2, 3]) }).unwrap();
    }

    /// Adds a subscriber client for shard peer `peer` (no tracks yet).
    pub fn add_subscriber(&mut self, peer: PeerId) -> usize {
        self.add_subscriber_with(peer, RTCConfigurationBuilder::new().build(), None)
    }

    /// [`Net::add_subscriber`] with a client built from `config` and `answering_dtls_role`
    /// (see [`client_pc_with`]).
    pub fn add_subscriber_with(
        &mut self,
        peer: PeerId,
        config: RTCConfiguration,
        answering_dtls_role: Option<RTCDtlsRole>,
    ) -> usize {
        let addr = Self::client_addr(self.clients.len());
        let options = ClientOptions { answering_dtls_role, keepalive: self.client_keepalive, tcp: self.clients_tcp, ..ClientOptions::default() };
        let pc = build_client_pc(self.now, addr, config, options);
        self.clients.push(Client::new(addr, self.clients_tcp, pc, None, 0));
        self.command(MediaCommand::AddPeer { peer, role: switchboard_media::PeerRole::Subscriber });
        self.clients.len() - 1
    }

    /// Subscribes and completes the offer/answer round with the client.
    pub fn subscribe(&mut self, client: usize, peer: PeerId, source: SourceId, track_id: &str) {
        self.command(MediaCommand::Subscribe {
            subscriber: peer,
            source,
            stream_id: "publisher".into(),
            track_id: track_id.into(),
        });
        let sdp = self.client_answers(client, peer);
        self.command(MediaCommand::ApplyAnswer { peer, sdp });
    }

    /// Client `client` applies the shard's pending offer for `peer` and answers it; returns the
    /// answer (not yet given to the shard).
    pub fn client_answers(&mut self, client: usize, peer: PeerId) -> String {
        let offer = self.take_description(peer, SdpKind::Offer);
        let now = self.now;
        let pc = &mut self.clients[client].pc;
        pc.set_remote_description(now, RTCSessionDescription::offer(offer).unwrap()).unwrap();
        let answer = pc.create_answer(None).unwrap();
        pc.set_local_description(now, answer).unwrap();
        pc.local_description().unwrap().sdp.clone()
    }

    pub fn take_description(&mut self, peer: PeerId, kind: SdpKind) -> String {
        let pos = self
            .events
            .iter()
            .position(|e| matches!(e, MediaEvent::LocalDescription { peer: p, kind: k, .. } if *p == peer && *k == kind))
            .unwrap_or_else(|| panic!("no {kind:?} for {peer}; events: {:?}", self.events));
        match self.events.remove(pos) {
            MediaEvent::LocalDescription { sdp, .. } => sdp,
            _ => unreachable!(),
        }
    }

    pub fn opened_source(&self, publisher: PeerId) -> Option<SourceId> {
        self.events.iter().find_map(|e| match e {
            MediaEvent::SourceOpened { source, publisher: p, .. } if *p == publisher => Some(*source),
            _ => None,
        })
    }

    /// Publisher `client` sends one VP8 packet; keyframe if `key`.
    pub fn send_video(&mut self, client: usize, key: bool) {
        let now = self.now;
        let c = &mut self.clients[client];
        c.seq = c.seq.wrapping_add(1);
        let payload: &[u8] = if key { &[0x10, 0x00, 0x9d, 0x01, 0x2a, 1, 2] } else { &[0x10, 0x01, 7, 7] };
        let pkt = rtp::Packet {
            header: rtp::header::Header {
                version: 2,
                payload_type: 96,
                sequence_number: c.seq,
                timestamp: u32::from(c.seq) * 3000,
                ssrc: c.ssrc,
                marker: true,
                ..Default::default()
            },
            payload: Bytes::copy_from_slice(payload),
        };
        let sender = c.sender.expect("a publisher client");
        c.pc.rtp_sender(sender).unwrap().write_rtp(now, pkt).unwrap();
    }

    /// Publisher `client` skips `n` sequence numbers, as if `n` packets were lost on the way.
    pub fn skip_sequence(&mut self, client: usize, n: u16) {
        let c = &mut self.clients[client];
        c.seq = c.seq.wrapping_add(n);
    }

    /// Subscriber `client` asks for a keyframe on the track it receives as `track_id`.
    pub fn send_pli(&mut self, client: usize, track_id: &str) {
        let now = self.now;
        let c = &mut self.clients[client];
        let (receiver, ssrc) = c.remote_tracks[track_id];
        let pli = PictureLossIndication { sender_ssrc: 0, media_ssrc: ssrc };
        c.pc.rtp_receiver(receiver).unwrap().write_rtcp(now, vec![Box::new(pli)]).unwrap();
    }

    /// Moves every queued datagram to its destination until the network is quiet.
    pub fn pump(&mut self) {
        for _ in 0..100 {
            let mut moved = false;
            while let Some(t) = self.shard.poll_transmit() {
                moved = true;
                if self.cut.contains(&t.to) {
                    continue;
                }
                let rtp_seq = (t.payload.len() >= 12 && t.payload[0] >> 6 == 2 && !(192..=223).contains(&t.payload[1]))
                    .then(|| u16::from_be_bytes([t.payload[2], t.payload[3]]));
                if let Some(i) = self.drop_once.iter().position(|(to, seq)| *to == t.to && Some(*seq) == rtp_seq) {
                    self.drop_once.remove(i);
                    continue;
                }
                if let Some(c) = self.clients.iter_mut().find(|c| c.addr == t.to) {
                    match t.via {
                        Via::Udp if !c.tcp => c.deliver(self.now, Via::Udp, t.payload),
                        Via::Tcp if c.tcp => c.deliver(self.now, Via::Tcp, t.payload),
                        // nothing listens on that transport at the client's address
                        _ => {}
                    }
                }
            }
            while let Some(e) = self.shard.poll_event() {
                self.events.push(e);
            }
            for i in 0..self.clients.len() {
                let out = self.clients[i].drain(self.now);
                for (to, via, payload) in out {
                    moved = true;
                    // A TCP client's packets arrive from its connection's address, which the
                    // simulation takes to be the client's address.
                    let from = self.clients[i].addr;
                    if self.cut.contains(&from) {
                        continue;
                    }
                    match via {
                        Via::Udp if to == SERVER => self.shard.handle_datagram(self.now, from, &payload),
                        Via::Tcp if to == SERVER_TCP => self.shard.handle_tcp_frame(self.now, from, &payload),
                        _ => {}
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Advances the virtual clock by `d` in 5 ms steps, running every timer on the way.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            self.now += Duration::from_millis(5);
            let now = self.now;
            if self.shard.poll_timeout().is_some_and(|t| t <= now) {
                self.shard.handle_timeout(now);
            }
            for c in &mut self.clients {
                if c.pc.poll_timeout().is_some_and(|t| t <= now) {
                    let _ = c.pc.handle_timeout(now);
                }
            }
            self.pump();
        }
    }

    /// Client `client`'s network changes: from now on its datagrams come from `addr` (a new host
    /// candidate there), and what is sent to its old address is lost.
    pub fn move_client(&mut self, client: usize, addr: SocketAddr) {
        let c = &mut self.clients[client];
        c.addr = addr;
        add_host_candidate(&mut c.pc, addr, false);
    }

    pub fn connected(&self, client: usize) -> bool {
        self.clients[client].state == RTCPeerConnectionState::Connected
    }
}
