//! The media shard: every PeerConnection of the shard, owned by `&mut`, driven sans-IO.
//!
//! Inputs are datagrams, commands and time; outputs are [`Transmit`]s and [`MediaEvent`]s. The
//! shard never reads a clock or touches a socket, so the same code runs on the real UDP socket
//! (see `runtime.rs`) and on a virtual clock in tests. After every input the PCs that were touched
//! are drained (`poll_event`, `poll_read`, `poll_write`) until nothing is left: `rtc` sends nothing
//! by itself. Forwarding is synchronous here: no locks, channels or tasks per packet.

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
struct Source {
    publisher: PeerId,
    receiver: RTCRtpReceiverId,
    media_ssrc: u32,
    kind: MediaKind,
    codec: RTCRtpCodec,
    routes: Vec<RouteId>,
    last_keyframe_request: Option<Instant>,
}

/// One subscriber leg of a source.
struct Route {
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
    events: VecDeque<MediaEvent>,
    transmits: VecDeque<Transmit>,
    counters: Arc<MediaCounters>,
    next_housekeeping: Option<Instant>,
    /// Reused buffers for what a drained PC produced.
    scratch_events: Vec<RTCPeerConnectionEvent>,
    scratch_reads: Vec<RTCMessage>,
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
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            counters,
            next_housekeeping: None,
            scratch_events: Vec::new(),
            scratch_reads: Vec::new(),
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
            MediaCommand::ClosePeer { peer } => self.close_peer(now, peer),
            MediaCommand::Snapshot { reply } => {
                let _ = reply.send(self.snapshot());
            }
        }
    }

    /// Creates pending subscriber offers and drains every touched PC until all output is queued.
    pub fn flush(&mut self, now: Instant) {
        loop {
            self.create_pending_offers(now);
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

    fn add_peer(&mut self, now: Instant, id: PeerId, role: PeerRole) {
        if self.peers.contains_key(&id) {
            return self.fail_negotiation(id, "peer exists".into());
        }
        let (ufrag, pwd) = ice_credentials();
        // The client's address family is not known yet: advertise every candidate.
        match build_pc(&self.config, ufrag.clone(), pwd, &self.candidates, now) {
            Ok(pc) => {
                self.demux.register_ufrag(ufrag, id);
                self.peers.insert(id, Peer::new(role, pc));
                self.mark_dirty(id);
            }
            Err(e) => self.fail_negotiation(id, format!("cannot create peer: {e}")),
        }
    }

    fn apply_offer(&mut self, now: Instant, id: PeerId, sdp: String) {
        let Some(peer) = self.peers.get_mut(&id).filter(|p| p.role == PeerRole::Publisher) else {
            return self.fail_negotiation(id, "no publisher transport for this offer".into());
        };
        let answer = RTCSessionDescription::offer(sdp)
            .and_then(|offer| peer.pc.set_remote_description(now, offer))
            .and_then(|()| peer.pc.create_answer(None))
            .and_then(|answer| peer.pc.set_local_description(now, answer))
            .map(|()| peer.pc.local_description().map(|d| d.sdp));
        match answer {
            Ok(Some(sdp)) => {
                self.events.push_back(MediaEvent::LocalDescription { peer: id, kind: SdpKind::Answer, sdp });
                self.mark_dirty(id);
            }
            Ok(None) => self.fail_negotiation(id, "no local description after answering".into()),
            Err(e) => self.fail_negotiation(id, format!("invalid offer: {e}")),
        }
    }

    fn apply_answer(&mut self, now: Instant, id: PeerId, sdp: String) {
        let Some(peer) = self.peers.get_mut(&id).filter(|p| p.role == PeerRole::Subscriber) else {
            return self.fail_negotiation(id, "no subscriber transport for this answer".into());
        };
        if !peer.offer_in_flight {
            return self.fail_negotiation(id, "answer without an outstanding offer".into());
        }
        let applied = RTCSessionDescription::answer(sdp)
            .and_then(|answer| peer.pc.set_remote_description(now, answer));
        if let Err(e) = applied {
            return self.fail_negotiation(id, format!("invalid answer: {e}"));
        }
        peer.offer_in_flight = false;
        let connected = peer.connected;
        let route_ids: Vec<RouteId> = peer.routes.values().copied().collect();
        for rid in route_ids {
            let Some(route) = self.routes.get_mut(&rid) else { continue };
            if route.offered && !route.answered {
                route.answered = true;
                route.out_pt = negotiated_pt(peer_pc(&mut self.peers, id), route, &self.sources);
                if connected {
                    let source = route.source;
                    self.request_keyframe(now, source);
                }
            }
        }
        self.mark_dirty(id);
    }

    fn subscribe(&mut self, sub: PeerId, source_id: SourceId, stream_id: String, track_id: String) {
        let Some(source) = self.sources.get(&source_id) else {
            return self.fail_negotiation(sub, format!("unknown {source_id}"));
        };
        let Some(peer) = self.peers.get_mut(&sub).filter(|p| p.role == PeerRole::Subscriber) else {
            return self.fail_negotiation(sub, "no subscriber transport".into());
        };
        if peer.routes.contains_key(&track_id) {
            return;
        }
        let out_ssrc = rand::random::<u32>();
        let kind = match source.kind {
            MediaKind::Audio => RtpCodecKind::Audio,
            MediaKind::Video => RtpCodecKind::Video,
        };
        let track = MediaStreamTrack::new(
            stream_id,
            track_id.clone(),
            track_id.clone(),
            kind,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(out_ssrc), ..Default::default() },
                active: true,
                codec: source.codec.clone(),
                ..Default::default()
            }],
        );
        let sender = match peer.pc.add_track(track) {
            Ok(s) => s,
            Err(e) => return self.fail_negotiation(sub, format!("cannot add track: {e}")),
        };
        let rid = RouteId(self.next_id);
        self.next_id += 1;
        peer.routes.insert(track_id.clone(), rid);
        peer.needs_offer = true;
        let waiting_keyframe = source.kind == MediaKind::Video;
        self.routes.insert(
            rid,
            Route {
                source: source_id,
                subscriber: sub,
                sender,
                local_track_id: track_id,
                out_ssrc,
                out_pt: None,
                offered: false,
                answered: false,
                waiting_keyframe,
                munger: RtpMunger::new(),
            },
        );
        if let Some(source) = self.sources.get_mut(&source_id) {
            source.routes.push(rid);
        }
    }

    fn unsubscribe(&mut self, sub: PeerId, source_id: SourceId) {
        let found = self
            .routes
            .iter()
            .find(|(_, r)| r.subscriber == sub && r.source == source_id)
            .map(|(id, _)| *id);
        if let Some(rid) = found {
            self.remove_route(rid);
        }
    }

    /// Removes a route, its sender from the subscriber PC, and schedules a new offer.
    fn remove_route(&mut self, rid: RouteId) {
        let Some(route) = self.routes.remove(&rid) else { return };
        if let Some(source) = self.sources.get_mut(&route.source) {
            source.routes.retain(|r| *r != rid);
        }
        if let Some(peer) = self.peers.get_mut(&route.subscriber) {
            peer.routes.remove(&route.local_track_id);
            if let Err(e) = peer.pc.remove_track(route.sender) {
                debug!(error = %e, "remove_track failed");
            }
            peer.needs_offer = true;
        }
    }

    fn close_source(&mut self, source_id: SourceId) {
        let Some(source) = self.sources.remove(&source_id) else { return };
        for rid in source.routes {
            self.remove_route(rid);
        }
        if let Some(peer) = self.peers.get_mut(&source.publisher) {
            peer.sources.retain(|_, s| *s != source_id);
        }
        self.events.push_back(MediaEvent::SourceClosed { source: source_id, publisher: source.publisher });
    }

    /// Closes a peer and everything hanging off it. Idempotent.
    fn close_peer(&mut self, now: Instant, id: PeerId) {
        let Some(peer) = self.peers.get(&id) else { return };
        let sources: Vec<SourceId> = peer.sources.values().copied().collect();
        let routes: Vec<RouteId> = peer.routes.values().copied().collect();
        for s in sources {
            self.close_source(s);
        }
        for r in routes {
            self.remove_route(r);
        }
        self.demux.evict(id);
        if let Some(mut peer) = self.peers.remove(&id) {
            // DTLS close_notify and the like: send what the close produced, then forget the PC.
            let _ = peer.pc.close();
            while let Some(w) = peer.pc.poll_write() {
                self.transmits.push_back(Transmit { to: w.transport.peer_addr, payload: w.message });
            }
        }
        self.dirty.retain(|p| *p != id);
        debug!(peer = %id, ?now, "peer closed");
    }

    fn create_pending_offers(&mut self, now: Instant) {
        let ready: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.needs_offer && !p.offer_in_flight)
            .map(|(id, _)| *id)
            .collect();
        for id in ready {
            let Some(peer) = self.peers.get_mut(&id) else { continue };
            peer.needs_offer = false;
            let offer = peer
                .pc
                .create_offer(None)
                .and_then(|offer| peer.pc.set_local_description(now, offer))
                .map(|()| peer.pc.local_description().map(|d| d.sdp));
            match offer {
                Ok(Some(sdp)) => {
                    peer.offer_in_flight = true;
                    for rid in peer.routes.values() {
                        if let Some(route) = self.routes.get_mut(rid) {
                            route.offered = true;
                        }
                    }
                    self.events.push_back(MediaEvent::LocalDescription { peer: id, kind: SdpKind::Offer, sdp });
                    self.mark_dirty(id);
                }
                Ok(None) => self.fail_negotiation(id, "no local description after offering".into()),
                Err(e) => self.fail_negotiation(id, format!("cannot create offer: {e}")),
            }
        }
    }

    /// Drains one PC and handles what it produced.
    fn drain_peer(&mut self, now: Instant, id: PeerId) {
        let mut events = std::mem::take(&mut self.scratch_events);
        let mut reads = std::mem::take(&mut self.scratch_reads);
        {
            let Some(peer) = self.peers.get_mut(&id) else { return };
            peer.dirty = false;
            while let Some(ev) = peer.pc.poll_event() {
                events.push(ev);
            }
            while let Some(msg) = peer.pc.poll_read() {
                reads.push(msg.message);
            }
            while let Some(w) = peer.pc.poll_write() {
                self.transmits.push_back(Transmit { to: w.transport.peer_addr, payload: w.message });
            }
            peer.next_timeout = peer.pc.poll_timeout();
        }
        for ev in events.drain(..) {
            self.handle_pc_event(now, id, ev);
        }
        for msg in reads.drain(..) {
            self.handle_pc_read(now, id, msg);
        }
        self.scratch_events = events;
        self.scratch_reads = reads;
    }

    fn handle_pc_event(&mut self, now: Instant, id: PeerId, ev: RTCPeerConnectionEvent) {
        match ev {
            RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) => {
                debug!(peer = %id, %state, "connection state");
                match state {
                    RTCPeerConnectionState::Connected => self.on_connected(now, id),
                    RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed => {
                        if self.peers.contains_key(&id) {
                            info!(peer = %id, %state, "peer failed");
                            self.close_peer(now, id);
                            self.events.push_back(MediaEvent::PeerFailed { peer: id });
                        }
                    }
                    _ => {}
                }
            }
            RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => self.on_track_open(id, init),
            RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnClose(track_id)) => {
                let source = self.peers.get(&id).and_then(|p| p.sources.get(&track_id)).copied();
                if let Some(source) = source {
                    self.close_source(source);
                }
            }
            _ => {}
        }
    }

    fn on_connected(&mut self, now: Instant, id: PeerId) {
        let Some(peer) = self.peers.get_mut(&id) else { return };
        peer.connected = true;
        let remote = peer.remote;
        let answered: Vec<SourceId> = peer
            .routes
            .values()
            .filter_map(|rid| self.routes.get(rid))
            .filter(|r| r.answered)
            .map(|r| r.source)
            .collect();
        self.events.push_back(MediaEvent::PeerConnected { peer: id, remote });
        for source in answered {
            self.request_keyframe(now, source);
        }
    }

    fn on_track_open(&mut self, id: PeerId, init: RTCTrackEventInit) {
        let Some(peer) = self.peers.get_mut(&id).filter(|p| p.role == PeerRole::Publisher) else { return };
        if peer.sources.contains_key(&init.track_id) {
            // Another simulcast layer of a track we already forward: one layer for now.
            debug!(peer = %id, track = %init.track_id, rid = ?init.rid, "ignoring extra layer");
            return;
        }
        let Some(receiver) = peer.pc.rtp_receiver(init.receiver_id) else { return };
        let track = receiver.track();
        let kind = match track.kind() {
            RtpCodecKind::Audio => MediaKind::Audio,
            _ => MediaKind::Video,
        };
        let Some(codec) = track.codec(init.ssrc).cloned() else {
            warn!(peer = %id, ssrc = init.ssrc, "track without codec");
            return;
        };
        let source_id = SourceId(self.next_id);
        self.next_id += 1;
        peer.sources.insert(init.track_id.clone(), source_id);
        info!(peer = %id, source = %source_id, track = %init.track_id, mime = %codec.mime_type, "source opened");
        self.events.push_back(MediaEvent::SourceOpened {
            source: source_id,
            publisher: id,
            remote_track_id: init.track_id,
            kind,
            mime_type: codec.mime_type.clone(),
        });
        self.sources.insert(
            source_id,
            Source {
                publisher: id,
                receiver: init.receiver_id,
                media_ssrc: init.ssrc,
                kind,
                codec,
                routes: Vec::new(),
                last_keyframe_request: None,
            },
        );
    }

    fn handle_pc_read(&mut self, now: Instant, id: PeerId, msg: RTCMessage) {
        match msg {
            RTCMessage::RtpPacket(track_id, packet) => {
                let source = self.peers.get(&id).and_then(|p| p.sources.get(&track_id)).copied();
                if let Some(source) = source {
                    self.forward(now, source, packet);
                }
            }
            RTCMessage::RtcpPacket(track_id, packets) => {
                if !packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                    return;
                }
                let route = self.peers.get(&id).and_then(|p| p.routes.get(&track_id)).copied();
                if let Some(source) = route.and_then(|r| self.routes.get(&r)).map(|r| r.source) {
                    MediaCounters::add(&self.counters.keyframe_requests_received, 1);
                    self.request_keyframe(now, source);
                }
            }
            _ => {}
        }
    }

    /// Sends one RTP packet of `source_id` to every ready route.
    fn forward(&mut self, now: Instant, source_id: SourceId, packet: rtc::rtp::Packet) {
        let counters = &self.counters;
        MediaCounters::add(&counters.packets_received, 1);
        let Some(source) = self.sources.get(&source_id) else { return };
        if packet.header.ssrc != source.media_ssrc {
            return; // another simulcast layer
        }
        let keyframe = source.kind == MediaKind::Video && is_keyframe_start(&source.codec.mime_type, &packet.payload);
        for rid in &source.routes {
            let Some(route) = self.routes.get_mut(rid) else { continue };
            let Some(peer) = self.peers.get_mut(&route.subscriber) else { continue };
            let Some(pt) = route.out_pt.filter(|_| route.answered && peer.connected) else {
                MediaCounters::add(&counters.dropped_not_ready, 1);
                continue;
            };
            if route.waiting_keyframe {
                if !keyframe {
                    MediaCounters::add(&counters.dropped_keyframe_wait, 1);
                    continue;
                }
                route.waiting_keyframe = false;
            }
            let Some((seq, ts)) = route.munger.rewrite(packet.header.sequence_number, packet.header.timestamp) else {
                MediaCounters::add(&counters.dropped_stale, 1);
                continue;
            };
            let mut out = packet.clone();
            out.header.ssrc = route.out_ssrc;
            out.header.payload_type = pt;
            out.header.sequence_number = seq;
            out.header.timestamp = ts;
            // Extension ids are negotiated per leg; we negotiate none, so none may go out.
            out.header.extension = false;
            out.header.extensions.clear();
            out.header.extension_profile = 0;
            let len = out.payload.len() as u64;
            let written = peer.pc.rtp_sender(route.sender).map(|mut s| s.write_rtp(now, out));
            match written {
                Some(Ok(())) => {
                    MediaCounters::add(&counters.packets_forwarded, 1);
                    MediaCounters::add(&counters.bytes_forwarded, len);
                }
                Some(Err(e)) => {
                    MediaCounters::add(&counters.dropped_write_error, 1);
                    debug!(error = %e, "write_rtp failed");
                }
                None => MediaCounters::add(&counters.dropped_write_error, 1),
            }
            if !peer.dirty {
                peer.dirty = true;
                self.dirty.push(route.subscriber);
            }
        }
    }

    /// Asks the publisher of `source_id` for a keyframe, at most once per throttle interval.
    fn request_keyframe(&mut self, now: Instant, source_id: SourceId) {
        let Some(source) = self.sources.get_mut(&source_id) else { return };
        if source.kind != MediaKind::Video {
            return;
        }
        if source
            .last_keyframe_request
            .is_some_and(|t| now.saturating_duration_since(t) < self.config.keyframe_request_interval)
        {
            return;
        }
        source.last_keyframe_request = Some(now);
        let pli = PictureLossIndication { sender_ssrc: 0, media_ssrc: source.media_ssrc };
        let publisher = source.publisher;
        let receiver = source.receiver;
        let Some(peer) = self.peers.get_mut(&publisher) else { return };
        if let Some(mut r) = peer.pc.rtp_receiver(receiver) {
            match r.write_rtcp(now, vec![Box::new(pli)]) {
                Ok(()) => MediaCounters::add(&self.counters.plis_sent, 1),
                Err(e) => debug!(error = %e, "PLI write failed"),
            }
        }
        self.mark_dirty(publisher);
    }

    /// Routes still waiting for a keyframe ask again, so a lost PLI or keyframe does not leave a
    /// subscriber black.
    fn retry_keyframes(&mut self, now: Instant) {
        let waiting: Vec<SourceId> = self
            .routes
            .values()
            .filter(|r| r.waiting_keyframe && r.answered)
            .filter(|r| self.peers.get(&r.subscriber).is_some_and(|p| p.connected))
            .map(|r| r.source)
            .collect();
        for source in waiting {
            let due = self.sources.get(&source).is_some_and(|s| {
                s.last_keyframe_request
                    .is_none_or(|t| now.saturating_duration_since(t) >= self.config.keyframe_retry_interval)
            });
            if due {
                self.request_keyframe(now, source);
            }
        }
    }
}

fn peer_pc(peers: &mut HashMap<PeerId, Peer>, id: PeerId) -> Option<&mut rtc::peer_connection::RTCPeerConnection> {
    peers.get_mut(&id).map(|p| &mut p.pc)
}

/// The payload type negotiated for the route's codec on its leg.
fn negotiated_pt(
    pc: Option<&mut rtc::peer_connection::RTCPeerConnection>,
    route: &Route,
    sources: &HashMap<SourceId, Source>,
) -> Option<u8> {
    let mime = &sources.get(&route.source)?.codec.mime_type;
    let mut sender = pc?.rtp_sender(route.sender)?;
    sender
        .get_parameters()
        .rtp_parameters
        .codecs
        .iter()
        .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime))
        .map(|c| c.payload_type)
}
