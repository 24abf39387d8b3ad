//! Events from the media shard about this room's peers: SDP to relay, connections, failures,
//! and published sources opening and closing.

use super::*;
use crate::call_state::CallState;
use crate::participant::Track;
use crate::protocol::ErrorCode;
use switchboard_media::{MediaCommand, MediaKind, SdpKind};

/// Most early media events a room keeps for participants moving in.
const MAX_ARRIVING: usize = 64;

/// The peer a media event is about (`None`: not about one peer).
fn peer_of(ev: &MediaEvent) -> Option<PeerId> {
    match ev {
        MediaEvent::LocalDescription { peer, .. }
        | MediaEvent::NegotiationFailed { peer, .. }
        | MediaEvent::PeerConnected { peer, .. }
        | MediaEvent::PeerFailed { peer } => Some(*peer),
        MediaEvent::SourceOpened { publisher, .. } | MediaEvent::SourceClosed { publisher, .. } => Some(*publisher),
        _ => None,
    }
}

impl Room {
    /// A media event the conference routed here by the peer's current room. During a move the
    /// shard's events race the participant between rooms: an event may reach the old room after
    /// the participant left (forwarded to the room that owns the peer now) or the new room before
    /// the participant arrived (kept until `move_in` replays it). Dropping either would lose, for
    /// example, a subscriber offer, and with it every later renegotiation of that peer.
    pub(super) fn on_media_routed(&mut self, ev: MediaEvent) {
        let Some(peer) = peer_of(&ev).filter(|p| !self.peers.contains_key(p)) else {
            return self.on_media(ev);
        };
        let owner = self.inner.peers.get(&peer).map(|r| r.value().clone());
        match owner {
            Some(room) if room == self.name => {
                if self.arriving.len() >= MAX_ARRIVING {
                    warn!(room = %self.name, %peer, "too many media events for arriving participants; dropping the oldest");
                    self.arriving.remove(0);
                }
                self.arriving.push((peer, ev));
            }
            Some(room) => {
                if let Some(tx) = self.inner.rooms.get(&room).map(|t| t.value().clone()) {
                    let _ = tx.send(RoomCommand::Media(ev));
                }
            }
            None => {}
        }
    }

    /// Replays what arrived for `peers` before their participant did.
    pub(super) fn replay_arriving(&mut self, peers: [PeerId; 2]) {
        let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.arriving).into_iter().partition(|(p, _)| peers.contains(p));
        self.arriving = later;
        for (_, ev) in now {
            self.on_media(ev);
        }
    }

    pub(super) fn on_media(&mut self, ev: MediaEvent) {
        match ev {
            MediaEvent::LocalDescription { peer, kind, sdp } => {
                let Some(sid) = self.peers.get(&peer).cloned() else { return };
                let msg = match kind {
                    SdpKind::Answer => ServerMessage::PublishAnswer { sdp },
                    SdpKind::Offer => {
                        if let Some(p) = self.participants.get_mut(&sid) {
                            p.offer_outstanding = true;
                        }
                        ServerMessage::SubscribeOffer { sdp }
                    }
                };
                self.send_to(&sid, msg);
            }
            MediaEvent::NegotiationFailed { peer, reason } => {
                if let Some(sid) = self.peers.get(&peer).cloned() {
                    self.send_to(&sid, ServerMessage::error(ErrorCode::InvalidSdp, reason));
                }
            }
            MediaEvent::PeerConnected { peer, remote } => {
                let Some(sid) = self.peers.get(&peer).cloned() else { return };
                let Some(p) = self.participants.get_mut(&sid) else { return };
                if p.publisher == peer || p.remote.is_none() {
                    p.remote = remote;
                }
                if p.state == CallState::Joining && p.state.transition(CallState::Connected).is_ok() {
                    let identity = p.member.identity.0.clone();
                    let latency = p.member.since.elapsed();
                    if let Some(observe) = &self.inner.options.on_join_latency {
                        observe(latency);
                    }
                    let data = serde_json::json!({
                        "sid": sid, "state": "connected", "remote_address": remote.map(|a| a.to_string()),
                        "join_latency_ms": latency.as_secs_f64() * 1000.0,
                    });
                    self.emit(crate::events::EventKind::ParticipantStateChanged, Some(&identity), data);
                    self.announce_update(&sid);
                }
            }
            MediaEvent::PeerFailed { peer } => {
                if let Some(sid) = self.peers.get(&peer).cloned() {
                    self.remove(&sid, DisconnectReason::Timeout, None, 1000);
                }
            }
            MediaEvent::SourceOpened { source, publisher, remote_track_id, kind, mime_type } => {
                self.on_source_opened(source, publisher, remote_track_id, kind, mime_type)
            }
            MediaEvent::AudioLevels { levels } => self.on_audio_levels(levels),
            MediaEvent::SourceClosed { source, .. } => {
                let Some((sid, track)) = self.sources.remove(&source) else { return };
                if let Some(p) = self.participants.get_mut(&sid) {
                    p.tracks.remove(&track);
                }
                self.broadcast(None, ServerMessage::TrackUnpublished { participant: sid, track });
            }
            _ => {}
        }
    }

    fn on_source_opened(&mut self, source: SourceId, publisher: PeerId, remote_track_id: String, kind: MediaKind, mime_type: String) {
        let Some(sid) = self.peers.get(&publisher).cloned() else { return };
        let Some(p) = self.participants.get_mut(&sid) else { return };
        // The client names its sources, within the protocol's vocabulary and the track's kind:
        // audio is the microphone, video the camera unless declared the screen. Anything else
        // would let a track pass `can_publish_sources` under another kind's name.
        let declared = p.declared_sources.get(&remote_track_id).map(String::as_str);
        let source_name = match (kind, declared) {
            (MediaKind::Video, Some("screen")) => "screen",
            (MediaKind::Video, _) => "camera",
            (MediaKind::Audio, _) => "microphone",
        }
        .to_owned();
        // A moderator's mute of this kind outlives the track it was applied to.
        let locked_by = self.mute_locks.get(&(p.member.identity.0.clone(), kind)).cloned();
        let track = Track {
            sid: TrackSid(random_sid("TR")),
            source_id: source,
            kind,
            source: source_name,
            mime_type,
            muted: locked_by.is_some(),
            muted_by: locked_by.clone(),
            unmute_requested: false,
            meter: Default::default(),
        };
        let allowed = p.member.permissions.may_publish(&track.source);
        if !allowed || p.state == CallState::OnHold || locked_by.is_some() {
            // Held back at the source: nothing flows until permission or resume.
            self.inner.media.send(MediaCommand::SetSourceMuted { source, muted: true });
        }
        if !allowed {
            let msg = format!("this token may not publish a {} track; it is not forwarded", track.source);
            p.withheld.push(track);
            return self.send_to(&sid, ServerMessage::error(ErrorCode::PermissionDenied, msg));
        }
        p.tracks.insert(track.sid.clone(), track.clone());
        self.sources.insert(source, (sid.clone(), track.sid.clone()));
        info!(room = %self.name, participant = %sid, track = %track.sid, kind = kind.as_str(), "track published");
        self.offer_track(&sid, &track);
        if let Some(by) = locked_by {
            info!(room = %self.name, participant = %sid, track = %track.sid, by, "track starts muted: a moderator muted this source");
            let msg = ServerMessage::TrackMuted { participant: sid.clone(), track: track.sid.clone(), muted: true, by: Some(by.clone()) };
            self.send_to(&sid, msg);
            let identity = self.participants.get(&sid).map(|p| p.member.identity.0.clone());
            self.emit(EventKind::TrackMuted, identity.as_deref(), serde_json::json!({ "track": track.sid, "by": by }));
        }
    }
}
