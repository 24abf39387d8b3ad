//! Events from the media shard about this room's peers: SDP to relay, connections, failures,
//! and published sources opening and closing; plus [`Arriving`], the events that race a moving
//! participant to its new room.

use super::mute_locks::TrackMute;
use super::participant::Track;
use super::{Room, RoomCommand};
use crate::call_state::{CallState, DisconnectReason};
use crate::events::EventKind;
use crate::ids::{random_sid, TrackSid};
use crate::protocol::{ErrorCode, ServerMessage, StreamStateKind};
use switchboard_media::{MediaCommand, MediaEvent, MediaKind, PeerId, SdpKind, SourceId, SourcePriority};
use tracing::{info, warn};

/// Most early media events a room keeps for participants moving in.
const MAX_ARRIVING: usize = 64;

/// The peer a media event is about (`None`: not about one peer).
fn peer_of(ev: &MediaEvent) -> Option<PeerId> {
    match ev {
        MediaEvent::LocalDescription { peer, .. }
        | MediaEvent::NegotiationFailed { peer, .. }
        | MediaEvent::MediaRefused { peer, .. }
        | MediaEvent::PeerConnected { peer, .. }
        | MediaEvent::PeerDisconnected { peer }
        | MediaEvent::PeerFailed { peer }
        | MediaEvent::StreamState { subscriber: peer, .. } => Some(*peer),
        MediaEvent::SourceOpened { publisher, .. }
        | MediaEvent::SourceClosed { publisher, .. }
        | MediaEvent::LayersWanted { publisher, .. } => Some(*publisher),
        _ => None,
    }
}

/// Media events of peers whose participant is moving into this room and has not arrived yet,
/// oldest first, at most [`MAX_ARRIVING`] (the oldest give way).
#[derive(Default)]
pub(crate) struct Arriving {
    events: Vec<(PeerId, MediaEvent)>,
}

impl Arriving {
    /// Keeps `ev`; `false` when the oldest had to give way.
    fn keep(&mut self, peer: PeerId, ev: MediaEvent) -> bool {
        let room = self.events.len() < MAX_ARRIVING;
        if !room {
            self.events.remove(0);
        }
        self.events.push((peer, ev));
        room
    }

    /// Takes the events of `peers`, in order; the others stay.
    fn take(&mut self, peers: [PeerId; 2]) -> Vec<MediaEvent> {
        let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.events).into_iter().partition(|(p, _)| peers.contains(p));
        self.events = later;
        now.into_iter().map(|(_, ev)| ev).collect()
    }
}

impl Room {
    /// A media event the conference routed here by the peer's current room. During a move the
    /// shard's events race the participant between rooms: an event may reach the old room after
    /// the participant left (forwarded to the room that owns the peer now) or the new room before
    /// the participant arrived (kept until `move_in` replays it). Dropping either would lose, for
    /// example, a subscriber offer, and with it every later renegotiation of that peer.
    pub(super) fn on_media_routed(&mut self, ev: MediaEvent) {
        let Some(peer) = peer_of(&ev).filter(|p| self.participants.owner_of(*p).is_none()) else {
            return self.on_media(ev);
        };
        let owner = self.shared.peers.get(&peer).map(|r| r.value().clone());
        let Some(room) = owner else { return };
        if room != self.name {
            if let Some(tx) = self.shared.room(&room) {
                let _ = tx.send(RoomCommand::Media(ev));
            }
        } else if !self.arriving.keep(peer, ev) {
            warn!(room = %self.name, %peer, "too many media events for arriving participants; dropped the oldest");
        }
    }

    /// Replays what arrived for `peers` before their participant did.
    pub(super) fn replay_arriving(&mut self, peers: [PeerId; 2]) {
        for ev in self.arriving.take(peers) {
            self.on_media(ev);
        }
    }

    fn on_media(&mut self, ev: MediaEvent) {
        match ev {
            MediaEvent::LocalDescription { peer, kind, sdp } => {
                let Some(sid) = self.participants.owner_of(peer).cloned() else { return };
                let msg = match kind {
                    SdpKind::Answer => ServerMessage::PublishAnswer { sdp },
                    SdpKind::Offer => {
                        if let Some(p) = self.participants.get_mut(&sid) {
                            p.unanswered_offer = Some(sdp.clone());
                        }
                        ServerMessage::SubscribeOffer { sdp }
                    }
                };
                self.send_to(&sid, msg);
            }
            MediaEvent::MediaRefused { peer, kind, offered } => {
                let Some(sid) = self.participants.owner_of(peer).cloned() else { return };
                warn!(room = %self.name, participant = %sid, %kind, ?offered, "publisher offered no codec we forward");
                let offered = if offered.is_empty() { "none".to_owned() } else { offered.join(", ") };
                let message = format!(
                    "your {kind} offer ({offered}) has no codec this server forwards; it accepts {}",
                    if kind == "audio" { "Opus audio" } else { "VP8 video" }
                );
                self.send_to(&sid, ServerMessage::error(ErrorCode::UnsupportedCodec, message));
            }
            MediaEvent::NegotiationFailed { peer, reason } => {
                if let Some(sid) = self.participants.owner_of(peer).cloned() {
                    self.send_to(&sid, ServerMessage::error(ErrorCode::InvalidSdp, reason));
                }
            }
            MediaEvent::PeerConnected { peer, remote } => {
                let Some(sid) = self.participants.owner_of(peer).cloned() else { return };
                let Some(p) = self.participants.get_mut(&sid) else { return };
                if p.publisher == peer || p.remote.is_none() {
                    p.remote = remote;
                }
                if let Some(lost) = p.lost.as_mut().filter(|l| l.was == CallState::Joining) {
                    // Connected while its WebSocket is away: it returns connected.
                    lost.was = CallState::Connected;
                }
                self.on_media_back(&sid, peer);
                let Some(p) = self.participants.get_mut(&sid) else { return };
                if p.state == CallState::Joining && p.state.transition(CallState::Connected).is_ok() {
                    let identity = p.member.identity.clone();
                    let latency = p.member.since.elapsed();
                    if let Some(observe) = &self.shared.options.on_join_latency {
                        observe(latency);
                    }
                    let data = serde_json::json!({
                        "sid": sid, "state": "connected", "remote_address": remote.map(|a| a.to_string()),
                        "join_latency_ms": latency.as_secs_f64() * 1000.0,
                    });
                    self.emit(EventKind::ParticipantStateChanged, Some(&identity), data);
                    self.announce_update(&sid);
                }
            }
            MediaEvent::PeerDisconnected { peer } => {
                if let Some(sid) = self.participants.owner_of(peer).cloned() {
                    self.on_media_lost(&sid, peer);
                }
            }
            MediaEvent::PeerFailed { peer } => {
                if let Some(sid) = self.participants.owner_of(peer).cloned() {
                    self.remove(&sid, DisconnectReason::Timeout, None, super::resume::CLOSE_LOST);
                }
            }
            MediaEvent::SourceOpened { source, publisher, remote_track_id, kind, mime_type } => {
                self.on_source_opened(source, publisher, remote_track_id, kind, mime_type)
            }
            MediaEvent::AudioLevels { levels } => self.on_audio_levels(levels),
            MediaEvent::LayersWanted { source, rids, .. } => {
                let Some((sid, track)) = self.participants.source(source).cloned() else { return };
                self.send_to(&sid, ServerMessage::LayersWanted { track, rids });
            }
            MediaEvent::StreamState { subscriber, source, paused } => {
                let (Some(sid), Some((_, track))) = (self.participants.owner_of(subscriber), self.participants.source(source)) else { return };
                let (sid, track) = (sid.clone(), track.clone());
                let state = if paused { StreamStateKind::Paused } else { StreamStateKind::Active };
                info!(participant = %sid, %track, ?state, "stream state");
                let identity = self.participants.get(&sid).map(|p| p.member.identity.clone());
                let publisher = self.participants.source(source).and_then(|(p, _)| self.participants.get(p)).map(|p| p.member.identity.to_string());
                let data = serde_json::json!({ "track": track, "publisher": publisher, "state": state, "reason": "bandwidth" });
                self.emit(EventKind::StreamStateChanged, identity.as_ref(), data);
                self.send_to(&sid, ServerMessage::StreamState { track, state, reason: "bandwidth" });
            }
            MediaEvent::SourceClosed { source, .. } => {
                let Some((sid, track)) = self.participants.forget_source(source) else { return };
                if let Some(p) = self.participants.get_mut(&sid) {
                    p.tracks.remove(&track);
                }
                self.broadcast(None, ServerMessage::TrackUnpublished { participant: sid, track });
            }
            _ => {}
        }
    }

    fn on_source_opened(&mut self, source: SourceId, publisher: PeerId, remote_track_id: String, kind: MediaKind, mime_type: String) {
        let Some(sid) = self.participants.owner_of(publisher).cloned() else { return };
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
        let locked_by = self.mute_locks.holder(&p.member.identity, kind).cloned();
        let track = Track {
            sid: TrackSid(random_sid("TR")),
            source_id: source,
            kind,
            source: source_name,
            mime_type,
            mute: TrackMute::starting(locked_by.as_ref()),
            meter: Default::default(),
        };
        let allowed = p.member.permissions.may_publish(&track.source);
        if !allowed || p.state == CallState::OnHold || locked_by.is_some() {
            // Held back at the source: nothing flows until permission or resume.
            self.shared.media.send(MediaCommand::SetSourceMuted { source, muted: true });
        }
        if !allowed {
            let msg = format!("this token may not publish a {} track; it is not forwarded", track.source);
            p.withheld.push(track);
            return self.send_to(&sid, ServerMessage::error(ErrorCode::PermissionDenied, msg));
        }
        let identity = p.member.identity.clone();
        p.tracks.insert(track.sid.clone(), track.clone());
        self.participants.index_source(source, &sid, &track.sid);
        info!(room = %self.name, participant = %sid, track = %track.sid, kind = kind.as_str(), "track published");
        // Screen shares, and the active speaker's camera, go first in bandwidth allocation.
        let priority = match track.source.as_str() {
            "screen" => Some(SourcePriority::Screen),
            "camera" if self.speakers.dominant.as_ref() == Some(&sid) => Some(SourcePriority::Speaker),
            _ => None,
        };
        if let Some(priority) = priority {
            self.shared.media.send(MediaCommand::SetSourcePriority { source, priority });
        }
        self.offer_track(&sid, &track);
        if let Some(by) = locked_by {
            info!(room = %self.name, participant = %sid, track = %track.sid, %by, "track starts muted: a moderator muted this source");
            let msg = ServerMessage::TrackMuted { participant: sid.clone(), track: track.sid.clone(), muted: true, by: Some(by.to_string()) };
            self.send_to(&sid, msg);
            self.emit(EventKind::TrackMuted, Some(&identity), serde_json::json!({ "track": track.sid, "by": by }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(peer: u64) -> MediaEvent {
        MediaEvent::PeerFailed { peer: PeerId(peer) }
    }

    #[test]
    fn arriving_events_are_kept_per_peer_in_order_and_bounded() {
        let mut a = Arriving::default();
        assert!(a.keep(PeerId(1), failed(1)));
        assert!(a.keep(PeerId(3), failed(3)));
        assert!(a.keep(PeerId(2), failed(2)));
        assert_eq!(a.take([PeerId(1), PeerId(2)]), vec![failed(1), failed(2)]);
        assert_eq!(a.take([PeerId(1), PeerId(2)]), vec![], "taken once");
        for i in 0..MAX_ARRIVING as u64 {
            a.keep(PeerId(100 + i), failed(100 + i));
        }
        assert_eq!(a.take([PeerId(3), PeerId(3)]), vec![], "the oldest gave way");
    }
}
