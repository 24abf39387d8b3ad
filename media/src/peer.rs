//! A [`Peer`]: one PeerConnection of the shard and what the shard knows about it.
//!
//! Owns the PC and everything that needs only it: taking in datagrams and timers, draining what
//! `rtc` produced, offer/answer steps, adding and removing a leg's track, the direct send path for
//! forwarded RTP (serialise, encrypt with the leg's SRTP context, address to the selected pair),
//! RTCP written through `rtc` (sender reports, PLIs), and the publisher's inbound statistics. Its
//! maps name sources and routes by id only; the objects are the shard's. How a PC is built is
//! `pc_builder.rs`.

use crate::api::{MediaKind, PeerRole};
use crate::ids::{PeerId, RouteId, SourceId};
use crate::early_checks::{is_stun, EarlyChecks};
use crate::source::{Layer, SourceOptions};
use crate::stats::TrackStats;
use crate::transmit::{Transmit, Via};
use crate::vp8::Vp8Rewrite;
use bytes::BytesMut;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCOfferOptions;
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEventInit};
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::peer_connection::RTCPeerConnection;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::sender_report::SenderReport;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind};
use rtc::rtp_transceiver::{RTCRtpReceiverId, RTCRtpSenderId};
use rtc::sansio::Protocol;
use rtc::shared::marshal::{Marshal, MarshalSize};
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use rtc::statistics::report::RTCStatsReportEntry;
use rtc::statistics::StatsSelector;
use crate::bwe::{Bounds, Bwe, TRANSPORT_CC_URI};
use crate::hdrext::Extensions;
use crate::pc_builder::AUDIO_LEVEL_URI;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;
use tracing::debug;

/// Why a packet could not go out on a leg.
pub(crate) enum SendError {
    /// DTLS has not completed or no candidate pair is selected yet.
    NotReady,
    /// Serialising or encrypting failed.
    Failed(rtc::shared::error::Error),
}

/// The track a subscriber PC sends one leg on.
pub(crate) struct LegTrack {
    /// msid stream id shown to the client.
    pub(crate) stream_id: String,
    /// msid track id shown to the client.
    pub(crate) track_id: String,
    /// Audio or video.
    pub(crate) kind: MediaKind,
    /// The source's codec.
    pub(crate) codec: RTCRtpCodec,
    /// The leg's SSRC.
    pub(crate) ssrc: u32,
}

/// A PeerConnection and what the shard knows about it.
pub(crate) struct Peer {
    pub(crate) role: PeerRole,
    pub(crate) pc: RTCPeerConnection,
    /// The address the client's last datagram came from.
    pub(crate) remote: Option<SocketAddr>,
    /// The transport of that datagram.
    remote_via: Via,
    /// The remote address and transport of the selected ICE candidate pair, read after every
    /// drain (the selection only changes while `rtc` handles the client's datagrams): where
    /// media goes.
    send_to: Option<(SocketAddr, Via)>,
    pub(crate) connected: bool,
    /// Earliest time the PC wants `handle_timeout`, cached after every drain.
    pub(crate) next_timeout: Option<Instant>,
    /// Queued in the shard's dirty list.
    pub(crate) dirty: bool,
    /// Publisher: msid track id → source.
    pub(crate) sources: HashMap<String, SourceId>,
    /// Subscriber: local track id → route.
    pub(crate) routes: HashMap<String, RouteId>,
    /// Subscriber: nothing is forwarded to it.
    pub(crate) paused: bool,
    /// Subscriber: our offer awaits the client's answer.
    offer_in_flight: bool,
    /// Subscriber: tracks changed since the last offer.
    needs_offer: bool,
    /// Subscriber: the next offer restarts ICE.
    ice_restart: bool,
    /// Subscriber: its downlink's bandwidth estimate, fed by the transport-cc stamps
    /// [`Peer::send_rtp`] writes.
    pub(crate) bwe: Option<Bwe>,
    /// Subscriber: the audio-level extension id its answer accepted.
    audio_level_ext: Option<u8>,
    /// Subscriber: ICE checks that came before its first answer.
    early: EarlyChecks,
}

impl Peer {
    /// A peer around a freshly built `pc`.
    pub(crate) fn new(role: PeerRole, pc: RTCPeerConnection) -> Self {
        Self {
            role,
            pc,
            remote: None,
            remote_via: Via::Udp,
            send_to: None,
            connected: false,
            next_timeout: None,
            dirty: false,
            sources: HashMap::new(),
            routes: HashMap::new(),
            paused: false,
            offer_in_flight: false,
            needs_offer: false,
            ice_restart: false,
            bwe: (role == PeerRole::Subscriber).then(|| Bwe::new(Bounds::default())),
            audio_level_ext: None,
            early: EarlyChecks::default(),
        }
    }

    /// A datagram from `from` to our candidate `local`, by `via`.
    pub(crate) fn handle_read(&mut self, now: Instant, via: Via, local: SocketAddr, from: SocketAddr, datagram: &[u8]) {
        if self.role == PeerRole::Subscriber && is_stun(datagram) && self.pc.remote_description().is_none() {
            return self.early.hold(via, local, from, datagram);
        }
        self.remote = Some(from);
        self.remote_via = via;
        let msg = TaggedBytesMut {
            now,
            transport: TransportContext {
                local_addr: local,
                peer_addr: from,
                ecn: None,
                transport_protocol: protocol_of(via),
            },
            message: BytesMut::from(datagram),
        };
        if let Err(e) = self.pc.handle_read(msg) {
            debug!(error = %e, "handle_read failed");
        }
    }

    /// Runs the PC's timers if they are due; whether they were.
    pub(crate) fn handle_timeout(&mut self, now: Instant) -> bool {
        if self.next_timeout.is_none_or(|t| t > now) {
            return false;
        }
        if let Err(e) = self.pc.handle_timeout(now) {
            debug!(error = %e, "handle_timeout failed");
        }
        true
    }

    /// Moves everything the PC produced out: events and reads for the shard to handle,
    /// datagrams into `transmits`; then caches its next timer and the selected address.
    pub(crate) fn drain(
        &mut self,
        events: &mut Vec<RTCPeerConnectionEvent>,
        reads: &mut Vec<RTCMessage>,
        transmits: &mut VecDeque<Transmit>,
    ) {
        self.dirty = false;
        while let Some(ev) = self.pc.poll_event() {
            events.push(ev);
        }
        while let Some(msg) = self.pc.poll_read() {
            reads.push(msg.message);
        }
        while let Some(w) = self.pc.poll_write() {
            transmits.push_back(transmit_of(w));
        }
        self.next_timeout = self.pc.poll_timeout();
        self.send_to = self.pc.selected_remote().map(|(addr, protocol)| (addr, via_of(protocol)));
    }

    /// Closes the PC and queues what the close produced (DTLS close_notify and the like).
    pub(crate) fn close(&mut self, transmits: &mut VecDeque<Transmit>) {
        let _ = self.pc.close();
        while let Some(w) = self.pc.poll_write() {
            transmits.push_back(transmit_of(w));
        }
    }

    /// Publisher: applies the client's offer and returns our answer.
    pub(crate) fn answer_offer(&mut self, now: Instant, sdp: String) -> Result<String, String> {
        let pc = &mut self.pc;
        let answer = RTCSessionDescription::offer(sdp)
            .and_then(|offer| pc.set_remote_description(now, offer))
            .and_then(|()| pc.create_answer(None))
            .and_then(|answer| pc.set_local_description(now, answer))
            .map(|()| pc.local_description().map(|d| d.sdp));
        match answer {
            Ok(Some(sdp)) => Ok(sdp),
            Ok(None) => Err("no local description after answering".into()),
            Err(e) => Err(format!("invalid offer: {e}")),
        }
    }

    /// Subscriber: applies the client's answer to our outstanding offer.
    pub(crate) fn apply_answer(&mut self, now: Instant, sdp: String) -> Result<(), String> {
        if !self.offer_in_flight {
            return Err("answer without an outstanding offer".into());
        }
        RTCSessionDescription::answer(sdp)
            .and_then(|answer| self.pc.set_remote_description(now, answer))
            .map_err(|e| format!("invalid answer: {e}"))?;
        self.offer_in_flight = false;
        for (via, local, from, datagram) in self.early.take() {
            self.handle_read(now, via, local, from, &datagram);
        }
        Ok(())
    }

    /// Subscriber: its tracks changed since the last offer and no offer is outstanding.
    pub(crate) fn wants_offer(&self) -> bool {
        self.needs_offer && !self.offer_in_flight
    }

    /// Subscriber: the next offer restarts ICE with credentials `ufrag`/`pwd` (new ones: the
    /// client restarts only when ours change).
    pub(crate) fn want_ice_restart(&mut self, ufrag: String, pwd: String) {
        self.pc.set_next_ice_credentials(ufrag, pwd);
        self.ice_restart = true;
        self.needs_offer = true;
    }

    /// Subscriber: creates and sets a new offer, now outstanding; returns its SDP.
    pub(crate) fn make_offer(&mut self, now: Instant) -> Result<String, String> {
        self.needs_offer = false;
        let options = std::mem::take(&mut self.ice_restart).then(|| RTCOfferOptions { ice_restart: true, ..Default::default() });
        let pc = &mut self.pc;
        let offer = pc
            .create_offer(options)
            .and_then(|offer| pc.set_local_description(now, offer))
            .map(|()| pc.local_description().map(|d| d.sdp));
        match offer {
            Ok(Some(sdp)) => {
                self.offer_in_flight = true;
                Ok(sdp)
            }
            Ok(None) => Err("no local description after offering".into()),
            Err(e) => Err(format!("cannot create offer: {e}")),
        }
    }

    /// Adds a leg's track (route `rid`); the next offer carries it.
    pub(crate) fn add_route(&mut self, rid: RouteId, leg: LegTrack) -> Result<RTCRtpSenderId, String> {
        let kind = match leg.kind {
            MediaKind::Audio => RtpCodecKind::Audio,
            MediaKind::Video => RtpCodecKind::Video,
        };
        let track = MediaStreamTrack::new(
            leg.stream_id,
            leg.track_id.clone(),
            leg.track_id.clone(),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(leg.ssrc), ..Default::default() },
                active: true,
                codec: leg.codec,
                ..Default::default()
            }],
        );
        let sender = self.pc.add_track(track).map_err(|e| format!("cannot add track: {e}"))?;
        self.routes.insert(leg.track_id, rid);
        self.needs_offer = true;
        Ok(sender)
    }

    /// Removes a leg's track; the next offer goes without it.
    pub(crate) fn remove_route(&mut self, track_id: &str, sender: RTCRtpSenderId) {
        self.routes.remove(track_id);
        if let Err(e) = self.pc.remove_track(sender) {
            debug!(error = %e, "remove_track failed");
        }
        self.needs_offer = true;
    }

    /// The payload type negotiated for `mime` on `sender`'s leg.
    pub(crate) fn negotiated_pt(&mut self, sender: RTCRtpSenderId, mime: &str) -> Option<u8> {
        let mut sender = self.pc.rtp_sender(sender)?;
        sender
            .get_parameters()
            .rtp_parameters
            .codecs
            .iter()
            .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime))
            .map(|c| c.payload_type)
    }

    /// Stops (or resumes) everything to this subscriber; whether that changed anything.
    pub(crate) fn set_paused(&mut self, paused: bool) -> bool {
        std::mem::replace(&mut self.paused, paused) != paused
    }

    /// Adds the client's ICE candidate.
    pub(crate) fn add_remote_candidate(&mut self, candidate: String, sdp_mid: Option<String>) -> Result<(), String> {
        let init = RTCIceCandidateInit { candidate, sdp_mid, ..Default::default() };
        self.pc.add_remote_candidate(init).map_err(|e| format!("invalid ICE candidate: {e}"))
    }

    /// The direct send path: serialises `packet` into `scratch`, applies the leg's VP8
    /// picture-id rewrite to the serialised payload, writes the header extensions the
    /// subscriber accepted (transport-wide sequence number; audio: the publisher's level byte),
    /// encrypts it with this PC's outbound SRTP context and queues the datagram for the selected
    /// candidate pair. Forwarded RTP skips `rtc`'s write pipeline (vendor/rtc/PATCHES.md), so
    /// nothing needs draining.
    pub(crate) fn send_rtp(
        &mut self,
        now: Instant,
        transmits: &mut VecDeque<Transmit>,
        scratch: &mut Vec<u8>,
        packet: &rtc::rtp::Packet,
        (vp8, audio_level): (Vp8Rewrite, Option<u8>),
    ) -> Result<(), SendError> {
        let (to, via) = self.send_to.or(self.remote.map(|r| (r, self.remote_via))).ok_or(SendError::NotReady)?;
        scratch.resize(packet.marshal_size(), 0);
        let mut n = packet.marshal_to(scratch).map_err(SendError::Failed)?;
        let header_len = packet.header.marshal_size();
        if !vp8.is_identity() {
            if let Some(payload) = scratch.get_mut(header_len..n) {
                vp8.apply(payload);
            }
        }
        let ext = if packet.header.extensions.is_empty() {
            Extensions { twcc: self.bwe.as_ref().and_then(Bwe::next_stamp), audio_level: self.audio_level_ext.zip(audio_level) }
        } else {
            Extensions::default()
        };
        let stamped;
        let header = match ext.len() {
            0 => &packet.header,
            len => {
                n = ext.write(scratch, n, header_len);
                // What SRTP needs of the header: its SSRC, sequence number and length. An empty
                // extension list padded to the block's words has the written header's length.
                let mut h = packet.header.clone();
                h.extension = true;
                h.extension_profile = 0xBEDE;
                h.extensions_padding = len - 4;
                stamped = h;
                &stamped
            }
        };
        let payload = self
            .pc
            .encrypt_rtp_for_forwarding(&scratch[..n], header)
            .ok_or(SendError::NotReady)?
            .map_err(SendError::Failed)?;
        if let (Some(bwe), Some(_)) = (self.bwe.as_mut(), ext.twcc) {
            bwe.on_sent(now, payload.len());
        }
        transmits.push_back(Transmit { to, via, payload });
        Ok(())
    }

    /// Subscriber: reads the header extension ids its answer accepted (transport-cc on any
    /// leg: bundled legs share it; the audio level on an audio leg) and starts writing them.
    pub(crate) fn learn_extensions(&mut self, any: RTCRtpSenderId, audio: Option<RTCRtpSenderId>) {
        let twcc = self.negotiated_ext(any, TRANSPORT_CC_URI);
        if let Some(bwe) = self.bwe.as_mut() {
            bwe.set_ext_id(twcc);
        }
        if let Some(audio) = audio {
            self.audio_level_ext = self.negotiated_ext(audio, AUDIO_LEVEL_URI).filter(|id| (1..=14).contains(id));
        }
        debug!(?twcc, audio_level = ?self.audio_level_ext, "subscriber header extensions");
    }

    /// The id negotiated for header extension `uri` on `sender`'s leg.
    fn negotiated_ext(&mut self, sender: RTCRtpSenderId, uri: &str) -> Option<u8> {
        let mut sender = self.pc.rtp_sender(sender)?;
        let params = sender.get_parameters();
        params.rtp_parameters.header_extensions.iter().find(|e| e.uri == uri).and_then(|e| u8::try_from(e.id).ok())
    }

    /// Writes `report` on `sender`'s leg through `rtc` (which encrypts RTCP); whether it was
    /// written (the PC then needs draining).
    pub(crate) fn write_sender_report(&mut self, now: Instant, sender: RTCRtpSenderId, report: SenderReport) -> bool {
        let Some(mut sender) = self.pc.rtp_sender(sender) else { return false };
        match sender.write_rtcp(now, vec![Box::new(report)]) {
            Ok(()) => true,
            Err(e) => {
                debug!(error = %e, "sender report write failed");
                false
            }
        }
    }

    /// Publisher: sends `pli` for the track on `receiver`; whether it was written.
    pub(crate) fn send_pli(&mut self, now: Instant, receiver: RTCRtpReceiverId, pli: PictureLossIndication) -> bool {
        let Some(mut r) = self.pc.rtp_receiver(receiver) else { return false };
        match r.write_rtcp(now, vec![Box::new(pli)]) {
            Ok(()) => true,
            Err(e) => {
                debug!(error = %e, "PLI write failed");
                false
            }
        }
    }

    /// Publisher (`me`): what the track `init` opened is, read from its receiver (kind, codec,
    /// audio-level extension id); `None` if the receiver or its codec is unknown.
    pub(crate) fn opened_source(&mut self, me: PeerId, init: &RTCTrackEventInit, audio_level_uri: &str) -> Option<SourceOptions> {
        let mut receiver = self.pc.rtp_receiver(init.receiver_id)?;
        let audio_level_ext = receiver
            .get_parameters()
            .rtp_parameters
            .header_extensions
            .iter()
            .find(|e| e.uri == audio_level_uri)
            .and_then(|e| u8::try_from(e.id).ok());
        let track = receiver.track();
        let kind = match track.kind() {
            RtpCodecKind::Audio => MediaKind::Audio,
            _ => MediaKind::Video,
        };
        let codec = track.codec(init.ssrc).cloned()?;
        let layer = Layer { rid: init.rid.clone(), ssrc: init.ssrc };
        Some(SourceOptions { publisher: me, receiver: init.receiver_id, layer, kind, codec, audio_level_ext })
    }

    /// Publisher: its inbound streams as `rtc` measured them, by source (`by_ssrc`: media SSRC
    /// → source and clock rate), and the ICE round-trip time if known. Only a publisher with
    /// sources builds `rtc`'s report: it costs tens of µs per PC on the shard thread.
    pub(crate) fn inbound_stats(
        &mut self,
        now: Instant,
        by_ssrc: &HashMap<u32, (SourceId, u32)>,
    ) -> (HashMap<SourceId, TrackStats>, Option<f64>) {
        let mut inbound: HashMap<SourceId, TrackStats> = HashMap::new();
        let mut rtt = None;
        if self.role != PeerRole::Publisher || self.sources.is_empty() {
            return (inbound, rtt);
        }
        for entry in self.pc.get_stats(now, StatsSelector::None).iter() {
            match entry {
                RTCStatsReportEntry::InboundRtp(s) => {
                    let r = &s.received_rtp_stream_stats;
                    let Some((source, clock)) = by_ssrc.get(&r.rtp_stream_stats.ssrc) else { continue };
                    // A simulcast source has one inbound stream per layer: the track's figures
                    // are their sums (a layer dynacast switched off adds nothing; taking the
                    // last stream alone showed such a track at 0 b/s).
                    let t = inbound.entry(*source).or_default();
                    t.packets += r.packets_received;
                    t.bytes += s.bytes_received;
                    t.packets_lost += r.packets_lost;
                    // rtc 0.21.1 stores RTCP interarrival jitter in timestamp units (RFC 3550
                    // §6.4.1), not the seconds its docs promise: convert with the clock rate.
                    let jitter = if *clock > 0 { r.jitter / f64::from(*clock) } else { 0.0 };
                    t.jitter_s = t.jitter_s.max(jitter);
                    t.nack_count += s.nack_count;
                    t.pli_count += s.pli_count;
                    t.fir_count += s.fir_count;
                }
                RTCStatsReportEntry::IceCandidatePair(p) if p.nominated && p.current_round_trip_time > 0.0 => {
                    rtt = rtt.or(Some(p.current_round_trip_time));
                }
                _ => {}
            }
        }
        (inbound, rtt)
    }
}

fn protocol_of(via: Via) -> TransportProtocol {
    match via {
        Via::Udp => TransportProtocol::UDP,
        Via::Tcp => TransportProtocol::TCP,
    }
}

fn via_of(protocol: TransportProtocol) -> Via {
    match protocol {
        TransportProtocol::TCP => Via::Tcp,
        _ => Via::Udp,
    }
}

/// A datagram `rtc` wrote, addressed by its transport context.
fn transmit_of(w: TaggedBytesMut) -> Transmit {
    Transmit { to: w.transport.peer_addr, via: via_of(w.transport.transport_protocol), payload: w.message }
}
