//! The media shard: every PeerConnection of the shard, owned by `&mut`, driven sans-IO.
//!
//! Inputs are datagrams, commands and time; outputs are [`Transmit`]s and [`MediaEvent`]s. The
//! shard never reads a clock or touches a socket, so the same code runs on the real UDP socket
//! (see `runtime.rs`) and on a virtual clock in tests. After every input the PCs that were touched
//! are drained (`poll_event`, `poll_read`, `poll_write`) until nothing is left: `rtc` sends nothing
//! by itself. Forwarding is synchronous here: no locks, channels or tasks per packet.
//! Negotiation lives in `negotiation.rs`, draining PCs in `drain.rs`, forwarding in `forward.rs`.

mod drain;
mod forward;
mod negotiation;
mod stats;

use crate::api::{MediaCommand, MediaEvent, MediaKind, PeerRole, SdpKind};
use crate::config::MediaConfig;
use crate::demux::Demux;
use crate::ids::{PeerId, SourceId};
use crate::interceptor::is_keyframe_request;
use crate::keyframe::is_keyframe_start;
use crate::peer::{build_pc, ice_credentials, Peer};
use crate::rewrite::RtpMunger;
use crate::stats::{MediaCounters, ShardSnapshot};
use bytes::BytesMut;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent, RTCTrackEventInit};
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpReceiverId, RTCRtpSenderId};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

/// A datagram to send from the shard's socket.
#[derive(Debug)]
pub struct Transmit {
    /// Destination.
    pub to: SocketAddr,
    /// Bytes.
    pub payload: BytesMut,
}

/// One (subscriber × source) forwarding leg.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RouteId(u64);

/// A publisher's inbound track.
pub(crate) struct Source {
    publisher: PeerId,
    receiver: RTCRtpReceiverId,
    media_ssrc: u32,
    kind: MediaKind,
    codec: RTCRtpCodec,
    routes: Vec<RouteId>,
    last_keyframe_request: Option<Instant>,
    /// Withheld from every route by signalling.
    muted: bool,
    /// Video frames seen (packets with the marker bit).
    frames: u64,
    /// From the last VP8 keyframe.
    frame_size: Option<(u16, u16)>,
    /// Negotiated id of the audio-level header extension, if any.
    audio_level_ext: Option<u8>,
    /// Audio levels since the last report: sum of linear levels, voice flags, packets.
    level_sum: f32,
    voice_count: u32,
    level_count: u32,
    /// Video: recent packets, to answer NACKs.
    history: crate::history::History,
}

/// One subscriber leg of a source.
pub(crate) struct Route {
    source: SourceId,
    subscriber: PeerId,
    sender: RTCRtpSenderId,
    local_track_id: String,
    out_ssrc: u32,
    /// Negotiated payload type on this leg; known once the answer is applied.
    out_pt: Option<u8>,
    /// Included in the offer now outstanding.
    offered: bool,
    /// The answer covering this route has been applied.
    answered: bool,
    /// Video: nothing is forwarded until a keyframe starts the stream.
    waiting_keyframe: bool,
    munger: RtpMunger,
    /// When the last packet went out, to continue timestamps after a pause.
    last_forwarded: Option<Instant>,
    /// RTP timestamp of the last packet sent, for sender reports.
    last_out_ts: u32,
    /// Packets and payload bytes sent on this leg (retransmissions not counted).
    packets_sent: u64,
    bytes_sent: u64,
    /// RTCP NACK, PLI and FIR packets the subscriber sent about this leg.
    nacks_received: u32,
    plis_received: u32,
    firs_received: u32,
    /// When the leg reports next (none yet: at the first housekeeping after media).
    next_sender_report: Option<Instant>,
    /// The subscriber's latest RTCP reception report for this leg.
    last_report: Option<ReceptionSummary>,
}

/// One RTCP reception report block (RFC 3550 §6.4.2), as numbers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReceptionSummary {
    fraction_lost: f64,
    total_lost: i64,
    /// Interarrival jitter in RTP timestamp units.
    jitter: f64,
    /// Round-trip time from LSR/DLSR, when the report refers to a sender report of ours.
    rtt: Option<Duration>,
}

/// The sans-IO media shard.
pub struct Shard {
    config: MediaConfig,
    /// Address(es) in our candidates; the transport context's local address must match one.
    candidates: Vec<SocketAddr>,
    peers: HashMap<PeerId, Peer>,
    sources: HashMap<SourceId, Source>,
    routes: HashMap<RouteId, Route>,
    demux: Demux,
    next_id: u64,
    dirty: Vec<PeerId>,
    /// Serialised RTP of the packet being forwarded, before encryption (reused).
    scratch: Vec<u8>,
    /// Some subscriber may need a new offer (`create_pending_offers` scans all peers only then).
    offers_wanted: bool,
    events: VecDeque<MediaEvent>,
    transmits: VecDeque<Transmit>,
    counters: Arc<MediaCounters>,
    next_housekeeping: Option<Instant>,
    /// Reused buffers for what a drained PC produced.
    scratch_events: Vec<RTCPeerConnectionEvent>,
    scratch_reads: Vec<RTCMessage>,
    /// Wall clock at a known instant, to read NTP time as rtc's sender reports write it.
    wall_clock: Option<rtc::shared::time::SystemInstant>,
}

const HOUSEKEEPING: Duration = Duration::from_millis(250);

impl Shard {
    /// A shard whose socket is bound at `local` (advertised as `config.public_ips`, if any).
    pub fn new(config: MediaConfig, local: SocketAddr, counters: Arc<MediaCounters>) -> Self {
        let candidates = if config.public_ips.is_empty() {
            vec![local]
        } else {
            config.public_ips.iter().map(|ip| SocketAddr::new(*ip, local.port())).collect()
        };
        Self {
            config,
            candidates,
            peers: HashMap::new(),
            sources: HashMap::new(),
            routes: HashMap::new(),
            demux: Demux::default(),
            next_id: 1,
            dirty: Vec::new(),
            scratch: Vec::with_capacity(1500),
            offers_wanted: false,
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            counters,
            next_housekeeping: None,
            scratch_events: Vec::new(),
            scratch_reads: Vec::new(),
            wall_clock: None,
        }
    }

    /// The counters this shard updates.
    pub fn counters(&self) -> &Arc<MediaCounters> {
        &self.counters
    }

    /// Object counts.
    pub fn snapshot(&self) -> ShardSnapshot {
        ShardSnapshot {
            peers: self.peers.len(),
            sources: self.sources.len(),
            routes: self.routes.len(),
            demux_entries: self.demux.len(),
        }
    }

    /// Next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Next event for signalling.
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// When [`Shard::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.peers.values().filter_map(|p| p.next_timeout).chain(self.next_housekeeping).min()
    }

    /// A datagram arrived on the socket from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        let peer_id = match self.demux.route(from, datagram) {
            Ok(p) => p,
            Err(why) => {
                MediaCounters::add(&self.counters.dropped_unrouted, 1);
                debug!(%from, ?why, len = datagram.len(), "dropped unroutable datagram");
                return;
            }
        };
        let local = self.candidate_for(from);
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        peer.remote = Some(from);
        let msg = TaggedBytesMut {
            now,
            transport: TransportContext {
                local_addr: local,
                peer_addr: from,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: BytesMut::from(datagram),
        };
        if let Err(e) = peer.pc.handle_read(msg) {
            debug!(peer = %peer_id, error = %e, "handle_read failed");
        }
        self.mark_dirty(peer_id);
        self.flush(now);
    }

    /// Time passed: run the timers of every PC that asked for it, and the shard's housekeeping.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.next_timeout.is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(peer) = self.peers.get_mut(&id) {
                if let Err(e) = peer.pc.handle_timeout(now) {
                    debug!(peer = %id, error = %e, "handle_timeout failed");
                }
                self.mark_dirty(id);
            }
        }
        if self.next_housekeeping.is_some_and(|t| t <= now) {
            self.retry_keyframes(now);
            self.report_audio_levels();
            self.send_sender_reports(now);
            self.next_housekeeping = None;
        }
        self.flush(now);
    }

    /// A command from signalling. Call [`Shard::flush`] after a batch of commands, so that
    /// several subscriptions are negotiated in one offer.
    pub fn handle_command(&mut self, now: Instant, cmd: MediaCommand) {
        match cmd {
            MediaCommand::AddPeer { peer, role } => self.add_peer(now, peer, role),
            MediaCommand::ApplyOffer { peer, sdp } => self.apply_offer(now, peer, sdp),
            MediaCommand::ApplyAnswer { peer, sdp } => self.apply_answer(now, peer, sdp),
            MediaCommand::AddRemoteCandidate { peer, candidate, sdp_mid } => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    let init = RTCIceCandidateInit { candidate, sdp_mid, ..Default::default() };
                    if let Err(e) = p.pc.add_remote_candidate(init) {
                        self.fail_negotiation(peer, format!("invalid ICE candidate: {e}"));
                    }
                }
            }
            MediaCommand::Subscribe { subscriber, source, stream_id, track_id } => {
                self.subscribe(subscriber, source, stream_id, track_id)
            }
            MediaCommand::Unsubscribe { subscriber, source } => self.unsubscribe(subscriber, source),
            MediaCommand::SetSourceMuted { source, muted } => self.set_source_muted(now, source, muted),
            MediaCommand::SetSubscriberPaused { subscriber, paused } => {
                self.set_subscriber_paused(now, subscriber, paused)
            }
            MediaCommand::ClosePeer { peer } => self.close_peer(now, peer),
            MediaCommand::GetStats { reply } => {
                let _ = reply.send(self.stats(now));
            }
            MediaCommand::Snapshot { reply } => {
                let _ = reply.send(self.snapshot());
            }
        }
    }

    /// Creates pending subscriber offers and drains every touched PC until all output is queued.
    pub fn flush(&mut self, now: Instant) {
        loop {
            if self.offers_wanted {
                self.create_pending_offers(now);
            }
            let Some(id) = self.dirty.pop() else { break };
            self.drain_peer(now, id);
        }
        if self.next_housekeeping.is_none() && !self.peers.is_empty() {
            self.next_housekeeping = Some(now + HOUSEKEEPING);
        }
    }

    fn candidate_for(&self, from: SocketAddr) -> SocketAddr {
        self.candidates
            .iter()
            .copied()
            .find(|c| c.is_ipv4() == from.is_ipv4())
            .unwrap_or(self.candidates[0])
    }

    fn mark_dirty(&mut self, id: PeerId) {
        if let Some(p) = self.peers.get_mut(&id) {
            if !p.dirty {
                p.dirty = true;
                self.dirty.push(id);
            }
        }
    }

    fn fail_negotiation(&mut self, peer: PeerId, reason: String) {
        warn!(%peer, %reason, "negotiation failed");
        self.events.push_back(MediaEvent::NegotiationFailed { peer, reason });
    }

}
