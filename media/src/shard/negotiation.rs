//! Creating and closing peers, offers and answers, subscriptions and routes.

use super::*;

impl Shard {
    pub(super) fn add_peer(&mut self, now: Instant, id: PeerId, role: PeerRole) {
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

    pub(super) fn apply_offer(&mut self, now: Instant, id: PeerId, sdp: String) {
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

    pub(super) fn apply_answer(&mut self, now: Instant, id: PeerId, sdp: String) {
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
        self.offers_wanted = true;
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

    pub(super) fn subscribe(&mut self, sub: PeerId, source_id: SourceId, stream_id: String, track_id: String) {
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
        self.offers_wanted = true;
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
                last_forwarded: None,
                last_out_ts: 0,
                packets_sent: 0,
                bytes_sent: 0,
                nacks_received: 0,
                plis_received: 0,
                firs_received: 0,
                next_sender_report: None,
                last_report: None,
            },
        );
        if let Some(source) = self.sources.get_mut(&source_id) {
            source.routes.push(rid);
        }
    }

    pub(super) fn unsubscribe(&mut self, sub: PeerId, source_id: SourceId) {
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
    pub(super) fn remove_route(&mut self, rid: RouteId) {
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
            self.offers_wanted = true;
        }
    }

    pub(super) fn close_source(&mut self, source_id: SourceId) {
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
    pub(super) fn close_peer(&mut self, now: Instant, id: PeerId) {
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

    pub(super) fn create_pending_offers(&mut self, now: Instant) {
        self.offers_wanted = false;
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
