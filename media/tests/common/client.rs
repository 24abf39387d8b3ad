//! The client side of the simulated network: what a [`Client`] does with the datagrams it gets
//! and what it hands back to send.

use super::{Client, Received, SERVER, SERVER_TCP};
use bytes::BytesMut;
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent};
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::RTCPeerConnection;
use rtc::rtcp::transport_feedbacks::transport_layer_cc::TransportLayerCc;
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;
use switchboard_media::interceptor::is_keyframe_request;
use switchboard_media::Via;

impl Client {
    pub(super) fn new(addr: SocketAddr, tcp: bool, pc: RTCPeerConnection, sender: Option<RTCRtpSenderId>, ssrc: u32) -> Self {
        Self {
            addr,
            tcp,
            received_udp: 0,
            received_tcp: 0,
            pc,
            state: RTCPeerConnectionState::New,
            received: Vec::new(),
            keyframe_requests: 0,
            twcc_feedback: 0,
            sender_reports: Vec::new(),
            remote_tracks: HashMap::new(),
            sender,
            ssrc,
            seq: 0,
            layer_seq: [0; 3],
        }
    }

    pub(super) fn deliver(&mut self, now: Instant, via: Via, payload: BytesMut) {
        let (from, protocol) = match via {
            Via::Udp => (SERVER, TransportProtocol::UDP),
            Via::Tcp => (SERVER_TCP, TransportProtocol::TCP),
        };
        *if via == Via::Tcp { &mut self.received_tcp } else { &mut self.received_udp } += 1;
        // RTCP (RFC 5761 demultiplexing: version 2, packet type 192..=223); 200 = sender report.
        if payload.len() >= 8 && payload[0] >> 6 == 2 && payload[1] == 200 {
            self.sender_reports.push(u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]));
        }
        let _ = self.pc.handle_read(TaggedBytesMut {
            now,
            transport: TransportContext {
                local_addr: self.addr,
                peer_addr: from,
                ecn: None,
                transport_protocol: protocol,
            },
            message: payload,
        });
    }

    /// Handles events and reads; returns datagrams to send.
    pub(super) fn drain(&mut self, _now: Instant) -> Vec<(SocketAddr, Via, BytesMut)> {
        while let Some(ev) = self.pc.poll_event() {
            match ev {
                RTCPeerConnectionEvent::OnConnectionStateChangeEvent(s) => self.state = s,
                RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => {
                    self.remote_tracks.insert(init.track_id.clone(), (init.receiver_id, init.ssrc));
                }
                _ => {}
            }
        }
        while let Some(msg) = self.pc.poll_read() {
            match msg.message {
                RTCMessage::RtpPacket(track_id, p) => self.received.push(Received {
                    track_id,
                    ssrc: p.header.ssrc,
                    seq: p.header.sequence_number,
                    payload: p.payload,
                }),
                RTCMessage::RtcpPacket(_, packets) => {
                    self.keyframe_requests += packets.iter().filter(|p| is_keyframe_request(p.as_ref())).count() as u64;
                    self.twcc_feedback += packets.iter().filter(|p| p.as_any().is::<TransportLayerCc>()).count() as u64;
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        while let Some(w) = self.pc.poll_write() {
            let via = if w.transport.transport_protocol == TransportProtocol::TCP { Via::Tcp } else { Via::Udp };
            out.push((w.transport.peer_addr, via, w.message));
        }
        out
    }
}
