//! The media shard: every PeerConnection of the shard, owned by `&mut`, driven sans-IO.
//!
//! Inputs are datagrams, commands and time; outputs are [`Transmit`]s and [`MediaEvent`]s. The
//! shard never reads a clock or touches a socket, so the same code runs on the real UDP socket
//! (`runtime.rs`) and on a virtual clock in tests. After every input the PCs that were touched
//! are drained until nothing is left: `rtc` sends nothing by itself. Forwarding is synchronous
//! here: no locks, channels or tasks per packet.
//!
//! The shard owns the tables (peers, sources, routes), the demultiplexer, the output queues and
//! the dispatch between them: it looks objects up and calls them. What needs one object's state
//! only is that object's: a publisher track is a [`Source`], a subscriber leg a [`Route`], a PC
//! and its steps a [`Peer`]; the per-packet loop is `fanout.rs`, statistics and audio-level
//! samples are assembled in `sample.rs`.

use crate::api::{MediaCommand, MediaEvent, MediaKind, PeerRole, SdpKind};
use crate::config::{Bound, MediaConfig};
use crate::demux::Demux;
use crate::ids::{IdMap, PeerId, RouteId, SourceId};
use crate::candidates::Candidates;
use crate::pc_builder::{build_pc, ice_credentials, AUDIO_LEVEL_URI};
use crate::fanout::{Arrival, Fanout, Legs};
use crate::peer::{LegTrack, Peer};
use crate::route::{Route, RouteOptions};
use crate::source::{Ingest, Layer, LayerWant, Source};
use crate::stats::{MediaCounters, PeerStats, ShardSnapshot};
use crate::transmit::{Transmit, Via};
use rtc::peer_connection::event::{RTCPeerConnectionEvent, RTCTrackEvent, RTCTrackEventInit};
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::shared::time::SystemInstant;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{debug, info, warn};

mod rtcp;

/// The sans-IO media shard.
pub struct Shard {
    config: MediaConfig,
    /// Addresses in our candidates; the transport context's local address must match one.
    candidates: Candidates,
    peers: IdMap<PeerId, Peer>,
    sources: IdMap<SourceId, Source>,
    routes: IdMap<RouteId, Route>,
    demux: Demux,
    next_id: u64,
    dirty: Vec<PeerId>,
    /// The per-packet path and its buffer.
    fanout: Fanout,
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
    wall_clock: Option<SystemInstant>,
}

const HOUSEKEEPING: Duration = Duration::from_millis(250);

impl Shard {
    /// A shard whose sockets are bound at `bound` (a UDP address alone: no ICE over TCP),
    /// advertised as `config.public_ips`, if any.
    pub fn new(config: MediaConfig, bound: impl Into<Bound>, counters: Arc<MediaCounters>) -> Self {
        Self {
            candidates: config.candidates(bound.into()),
            config,
            peers: IdMap::default(),
            sources: IdMap::default(),
            routes: IdMap::default(),
            demux: Demux::default(),
            next_id: 1,
            dirty: Vec::new(),
            fanout: Fanout::new(),
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

    /// A statistics sample of every peer.
    pub fn stats(&mut self, now: Instant) -> Vec<PeerStats> {
        crate::sample::sample(now, &mut self.peers, &self.sources, &self.routes)
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

    /// A datagram arrived on the UDP socket from `from`.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.handle_input(now, Via::Udp, from, datagram);
    }

    /// One RFC 4571 frame (a STUN, DTLS, SRTP or SRTCP packet) arrived on the ICE/TCP
    /// connection from `from`.
    pub fn handle_tcp_frame(&mut self, now: Instant, from: SocketAddr, frame: &[u8]) {
        self.handle_input(now, Via::Tcp, from, frame);
    }

    fn handle_input(&mut self, now: Instant, via: Via, from: SocketAddr, datagram: &[u8]) {
        let peer_id = match self.demux.route(via, from, datagram) {
            Ok(p) => p,
            Err(why) => {
                MediaCounters::add(&self.counters.dropped_unrouted, 1);
                debug!(%from, ?via, ?why, len = datagram.len(), "dropped unroutable datagram");
                return;
            }
        };
        let local = self.candidates.local_for(via, from);
        let Some(peer) = self.peers.get_mut(&peer_id) else { return };
        peer.handle_read(now, via, local, from, datagram);
        self.mark_dirty(peer_id);
        self.flush(now);
    }

    /// Time passed: run the timers of every PC that asked for it, and the shard's housekeeping.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<PeerId> = self.peers.iter_mut().filter_map(|(id, p)| p.handle_timeout(now).then_some(*id)).collect();
        for id in due {
            self.mark_dirty(id);
        }
        if self.next_housekeeping.is_some_and(|t| t <= now) {
            self.retarget_layers(now);
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
                if let Some(Err(e)) = self.peers.get_mut(&peer).map(|p| p.add_remote_candidate(candidate, sdp_mid)) {
                    self.fail_negotiation(peer, e);
                }
            }
            MediaCommand::Subscribe { subscriber, source, stream_id, track_id } => {
                self.subscribe(now, subscriber, source, stream_id, track_id)
            }
            MediaCommand::Unsubscribe { subscriber, source } => self.unsubscribe(subscriber, source),
            MediaCommand::SetSourceMuted { source, muted } => self.set_source_muted(now, source, muted),
            MediaCommand::SetSourcePriority { source, priority } => {
                if let Some(source) = self.sources.get_mut(&source) {
                    source.priority = priority;
                }
            }
            MediaCommand::SetSubscriberPaused { subscriber, paused } => {
                self.set_subscriber_paused(now, subscriber, paused)
            }
            MediaCommand::SetSubscription { subscriber, source, visible, size, max_layer } => {
                let want = LayerWant { max_rank: max_layer.unwrap_or(u8::MAX), size };
                self.set_subscription(now, subscriber, source, visible, want)
            }
            MediaCommand::ClosePeer { peer } => self.close_peer(now, peer),
            MediaCommand::RestartIce { peer } => match self.peers.get_mut(&peer) {
                Some(p) if p.role == PeerRole::Subscriber => {
                    // New credentials, and the new ufrag routes to this peer as the old one still
                    // does until the client's answer arrives.
                    let (ufrag, pwd) = ice_credentials();
                    p.want_ice_restart(ufrag.clone(), pwd);
                    self.demux.register_ufrag(ufrag, peer);
                    self.offers_wanted = true;
                }
                Some(_) => self.fail_negotiation(peer, "a publisher restarts ICE with its own offer (createOffer after restartIce)".into()),
                None => {}
            },
            // A requester that went away needs no answer.
            MediaCommand::GetStats { reply } => drop(reply.send(self.stats(now))),
            MediaCommand::Snapshot { reply } => drop(reply.send(self.snapshot())),
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

    /// NTP time now, as `rtc`'s sender reports write it (wall clock captured once, the shard's
    /// only wall-clock read).
    fn ntp(&mut self, now: Instant) -> u64 {
        self.wall_clock.get_or_insert_with(|| SystemInstant::now(now)).ntp(now)
    }

    fn add_peer(&mut self, now: Instant, id: PeerId, role: PeerRole) {
        if self.peers.contains_key(&id) {
            return self.fail_negotiation(id, "peer exists".into());
        }
        let (ufrag, pwd) = ice_credentials();
        // The client's address family is not known yet: advertise every candidate.
        match build_pc(&self.config, role, ufrag.clone(), pwd, &self.candidates, now) {
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
        match peer.answer_offer(now, sdp.clone()) {
            Ok(answer) => {
                for refused in crate::codec_check::refused_media(&sdp, &answer) {
                    warn!(peer = %id, kind = %refused.kind, offered = ?refused.offered, "offer has no codec we forward");
                    self.events.push_back(MediaEvent::MediaRefused { peer: id, kind: refused.kind, offered: refused.offered });
                }
                self.events.push_back(MediaEvent::LocalDescription { peer: id, kind: SdpKind::Answer, sdp: answer });
                self.mark_dirty(id);
            }
            Err(e) => self.fail_negotiation(id, e),
        }
    }

    fn apply_answer(&mut self, now: Instant, id: PeerId, sdp: String) {
        let Some(peer) = self.peers.get_mut(&id).filter(|p| p.role == PeerRole::Subscriber) else {
            return self.fail_negotiation(id, "no subscriber transport for this answer".into());
        };
        if let Err(e) = peer.apply_answer(now, sdp) {
            return self.fail_negotiation(id, e);
        }
        self.offers_wanted = true;
        let connected = peer.connected;
        let route_ids: Vec<RouteId> = peer.routes.values().copied().collect();
        let audio = |r: &&&Route| self.sources.get(&r.source).is_some_and(|s| s.kind == MediaKind::Audio);
        let legs: Vec<&Route> = route_ids.iter().filter_map(|r| self.routes.get(r)).collect();
        if let Some(any) = legs.first() {
            peer.learn_extensions(any.sender, legs.iter().find(audio).map(|r| r.sender));
        }
        let mut newly_answered = Vec::new();
        for rid in route_ids {
            let Some(route) = self.routes.get_mut(&rid) else { continue };
            let mime = self.sources.get(&route.source).map(|s| s.codec.mime_type.as_str());
            let sender = route.sender;
            if route.on_answer(|| mime.and_then(|m| peer.negotiated_pt(sender, m))) && connected {
                newly_answered.push((route.source, route.shown_layer()));
            }
        }
        self.request_keyframes(now, newly_answered);
        self.mark_dirty(id);
    }

    fn subscribe(&mut self, now: Instant, sub: PeerId, source_id: SourceId, stream_id: String, track_id: String) {
        let Some(source) = self.sources.get(&source_id) else {
            return self.fail_negotiation(sub, format!("unknown {source_id}"));
        };
        let Some(peer) = self.peers.get_mut(&sub).filter(|p| p.role == PeerRole::Subscriber) else {
            return self.fail_negotiation(sub, "no subscriber transport".into());
        };
        if peer.routes.contains_key(&track_id) {
            return;
        }
        let (kind, codec, out_ssrc) = (source.kind, source.codec.clone(), rand::random::<u32>());
        let (clock_rate, vp8) = (codec.clock_rate, codec.mime_type.eq_ignore_ascii_case("video/vp8"));
        let layer = source.pick_layer(now, LayerWant::TOP, false).unwrap_or_else(|| source.media_ssrc());
        let rid = RouteId(self.next_id);
        let leg = LegTrack { stream_id, track_id: track_id.clone(), kind, codec, ssrc: out_ssrc };
        let sender = match peer.add_route(rid, leg) {
            Ok(s) => s,
            Err(e) => return self.fail_negotiation(sub, e),
        };
        self.next_id += 1;
        self.offers_wanted = true;
        let options =
            RouteOptions { source: source_id, subscriber: sub, sender, local_track_id: track_id, out_ssrc, kind, clock_rate, layer, vp8 };
        self.routes.insert(rid, Route::new(options));
        if let Some(source) = self.sources.get_mut(&source_id) {
            source.routes.push(rid);
        }
    }

    fn unsubscribe(&mut self, sub: PeerId, source_id: SourceId) {
        let found = self.routes.iter().find(|(_, r)| r.subscriber == sub && r.source == source_id).map(|(id, _)| *id);
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
            peer.remove_route(&route.local_track_id, route.sender);
            self.offers_wanted = true;
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
            peer.close(&mut self.transmits);
        }
        self.dirty.retain(|p| *p != id);
        debug!(peer = %id, ?now, "peer closed");
    }

    fn create_pending_offers(&mut self, now: Instant) {
        self.offers_wanted = false;
        let ready: Vec<PeerId> = self.peers.iter().filter(|(_, p)| p.wants_offer()).map(|(id, _)| *id).collect();
        for id in ready {
            let Some(peer) = self.peers.get_mut(&id) else { continue };
            match peer.make_offer(now) {
                Ok(sdp) => {
                    for rid in peer.routes.values() {
                        if let Some(route) = self.routes.get_mut(rid) {
                            route.mark_offered();
                        }
                    }
                    self.events.push_back(MediaEvent::LocalDescription { peer: id, kind: SdpKind::Offer, sdp });
                    self.mark_dirty(id);
                }
                Err(e) => self.fail_negotiation(id, e),
            }
        }
    }

    /// Drains one PC and handles what it produced.
    fn drain_peer(&mut self, now: Instant, id: PeerId) {
        let mut events = std::mem::take(&mut self.scratch_events);
        let mut reads = std::mem::take(&mut self.scratch_reads);
        let Some(peer) = self.peers.get_mut(&id) else { return };
        peer.drain(&mut events, &mut reads, &mut self.transmits);
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
                    RTCPeerConnectionState::Disconnected if self.peers.contains_key(&id) => {
                        info!(peer = %id, "peer disconnected");
                        self.events.push_back(MediaEvent::PeerDisconnected { peer: id });
                    }
                    RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed if self.peers.contains_key(&id) => {
                        info!(peer = %id, %state, "peer failed");
                        self.close_peer(now, id);
                        self.events.push_back(MediaEvent::PeerFailed { peer: id });
                    }
                    _ => {}
                }
            }
            RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnOpen(init)) => self.on_track_open(id, init),
            RTCPeerConnectionEvent::OnTrack(RTCTrackEvent::OnClose(track_id)) => {
                if let Some(source) = self.peers.get(&id).and_then(|p| p.sources.get(&track_id)).copied() {
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
        let answered = peer.routes.values().filter_map(|rid| self.routes.get(rid)).filter(|r| r.is_answered());
        let answered: Vec<(SourceId, u32)> = answered.map(|r| (r.source, r.shown_layer())).collect();
        self.events.push_back(MediaEvent::PeerConnected { peer: id, remote });
        self.request_keyframes(now, answered);
    }

    fn on_track_open(&mut self, id: PeerId, init: RTCTrackEventInit) {
        let Some(peer) = self.peers.get_mut(&id).filter(|p| p.role == PeerRole::Publisher) else { return };
        if let Some(source) = peer.sources.get(&init.track_id).and_then(|s| self.sources.get_mut(s)) {
            // Another simulcast layer of a track we already forward: routes take it up at the next
            // housekeeping, once it sends.
            source.add_layer(Layer { rid: init.rid.clone(), ssrc: init.ssrc });
            debug!(peer = %id, track = %init.track_id, rid = ?init.rid, layers = source.layers().count(), "layer opened");
            return;
        }
        let Some(options) = peer.opened_source(id, &init, AUDIO_LEVEL_URI) else {
            warn!(peer = %id, ssrc = init.ssrc, "track without codec");
            return;
        };
        let source_id = SourceId(self.next_id);
        self.next_id += 1;
        peer.sources.insert(init.track_id.clone(), source_id);
        let mime_type = options.codec.mime_type.clone();
        info!(peer = %id, source = %source_id, track = %init.track_id, mime = %mime_type, "source opened");
        let (remote_track_id, kind) = (init.track_id, options.kind);
        self.events.push_back(MediaEvent::SourceOpened { source: source_id, publisher: id, remote_track_id, kind, mime_type });
        self.sources.insert(source_id, Source::new(options));
    }

    /// Sends one RTP packet of `source_id` to every ready route: the per-packet path.
    fn forward(&mut self, now: Instant, source_id: SourceId, mut packet: rtc::rtp::Packet) {
        MediaCounters::add(&self.counters.packets_received, 1);
        let Some(source) = self.sources.get_mut(&source_id) else { return };
        let arrival = match source.ingest(now, &mut packet) {
            Ingest::UnknownLayer => return,
            Ingest::Muted => return MediaCounters::add(&self.counters.dropped_muted, 1),
            Ingest::Forward { keyframe, audio_level } => Arrival { keyframe, audio_level },
        };
        let legs = Legs { routes: &mut self.routes, peers: &mut self.peers, transmits: &mut self.transmits };
        self.fanout.forward(now, &source.routes, &packet, arrival, legs, &self.counters);
    }

    /// Asks the publisher of `source_id` for a keyframe of layer `ssrc`, at most once per
    /// throttle interval and layer.
    fn request_keyframe(&mut self, now: Instant, source_id: SourceId, ssrc: u32) {
        let Some(source) = self.sources.get_mut(&source_id) else { return };
        let Some(pli) = source.keyframe_request(now, ssrc, self.config.keyframe_request_interval) else { return };
        let (publisher, receiver) = (source.publisher, source.receiver);
        let Some(peer) = self.peers.get_mut(&publisher) else { return };
        if peer.send_pli(now, receiver, pli) {
            MediaCounters::add(&self.counters.plis_sent, 1);
        }
        self.mark_dirty(publisher);
    }

    /// Routes still waiting for a keyframe (to start or to switch layer) ask again, so a lost
    /// PLI or keyframe does not leave a subscriber black or on the wrong layer.
    fn retry_keyframes(&mut self, now: Instant) {
        let retry = self.config.keyframe_retry_interval;
        let due = crate::adapt::keyframes_due(now, retry, &self.routes, &self.peers, &self.sources);
        self.request_keyframes(now, due);
    }

    /// Points every route of a simulcast source at the layer it should forward now; a new
    /// target is asked for a keyframe.
    fn retarget_layers(&mut self, now: Instant) {
        let r = crate::adapt::retarget(now, &mut self.routes, &self.sources, &self.peers);
        MediaCounters::add(&self.counters.bandwidth_pauses, r.pauses);
        self.request_keyframes(now, r.keyframes);
        self.events.extend(r.events);
        self.events.extend(crate::adapt::dynacast(now, &self.routes, &mut self.sources));
    }

    fn request_keyframes(&mut self, now: Instant, wanted: Vec<crate::adapt::KeyframeWanted>) {
        for (source, layer) in wanted {
            self.request_keyframe(now, source, layer);
        }
    }

    /// What subscriber `sub` shows of `source_id` (adaptive stream): hidden, or the size it
    /// renders at and the highest layer it takes.
    fn set_subscription(&mut self, now: Instant, sub: PeerId, source_id: SourceId, visible: bool, want: LayerWant) {
        let Some(route) = self.routes.values_mut().find(|r| r.subscriber == sub && r.source == source_id) else { return };
        debug!(subscriber = %sub, source = %source_id, visible, size = ?want.size, "subscription");
        route.want = want;
        let shown_again = (route.set_hidden(now, !visible) && visible).then(|| (source_id, route.shown_layer()));
        self.retarget_layers(now);
        self.request_keyframes(now, shown_again.into_iter().collect());
    }

    fn set_source_muted(&mut self, now: Instant, source_id: SourceId, muted: bool) {
        let Some(source) = self.sources.get_mut(&source_id) else { return };
        if !source.set_muted(muted) || muted {
            return;
        }
        let route_ids = std::mem::take(&mut source.routes);
        let wanted = crate::adapt::restart(now, &route_ids, &mut self.routes, &self.sources);
        if let Some(source) = self.sources.get_mut(&source_id) {
            source.routes = route_ids;
        }
        self.request_keyframes(now, wanted);
    }

    fn set_subscriber_paused(&mut self, now: Instant, subscriber: PeerId, paused: bool) {
        let Some(peer) = self.peers.get_mut(&subscriber).filter(|p| p.role == PeerRole::Subscriber) else { return };
        if !peer.set_paused(paused) || paused {
            return;
        }
        let wanted = crate::adapt::restart(now, peer.routes.values(), &mut self.routes, &self.sources);
        self.request_keyframes(now, wanted);
    }

    /// Queues the mean audio level of every source that sent some since the last report.
    fn report_audio_levels(&mut self) {
        let levels = crate::sample::audio_levels(&mut self.sources);
        if !levels.is_empty() {
            self.events.push_back(MediaEvent::AudioLevels { levels });
        }
    }
}
