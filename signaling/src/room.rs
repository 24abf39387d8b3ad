//! One room's task: the single owner of the room's participants and tracks.
//!
//! Everything that changes a room arrives as a [`RoomCommand`] (joins, client messages,
//! disconnects, media events), so the room needs no locks. The task ends when the room has been
//! empty for the configured timeout, after removing itself from the conference registry.

use crate::conference::{Inner, JoinError, JoinRequest};
use crate::ids::{random_sid, ParticipantSid, RoomName, TrackSid};
use crate::participant::{Participant, Track};
use crate::protocol::{ClientMessage, ErrorCode, IceTarget, Outbound, RoomInfo, ServerMessage, PROTOCOL_VERSION};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use switchboard_media::{MediaCommand, MediaEvent, MediaKind, PeerId, PeerRole, SdpKind, SourceId};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{debug, info, warn};

/// What a room task is asked to do.
pub(crate) enum RoomCommand {
    Join {
        request: JoinRequest,
        out: mpsc::Sender<Outbound>,
        reply: oneshot::Sender<Result<(ParticipantSid, PeerId, PeerId), JoinError>>,
    },
    Client {
        sid: ParticipantSid,
        msg: ClientMessage,
    },
    Disconnected {
        sid: ParticipantSid,
        reason: &'static str,
    },
    Media(MediaEvent),
    Count {
        reply: oneshot::Sender<usize>,
    },
}

pub(crate) struct Room {
    name: RoomName,
    sid: String,
    inner: Arc<Inner>,
    participants: HashMap<ParticipantSid, Participant>,
    /// Source → (publisher, track), for media events.
    sources: HashMap<SourceId, (ParticipantSid, TrackSid)>,
    /// Media peer → owner, for media events.
    peers: HashMap<PeerId, ParticipantSid>,
    empty_since: Option<Instant>,
}

impl Room {
    pub(crate) fn new(name: RoomName, inner: Arc<Inner>) -> Self {
        Self {
            name,
            sid: random_sid("RM"),
            inner,
            participants: HashMap::new(),
            sources: HashMap::new(),
            peers: HashMap::new(),
            empty_since: Some(Instant::now()),
        }
    }

    pub(crate) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<RoomCommand>) {
        info!(room = %self.name, "room opened");
        loop {
            let deadline = self.empty_since.map(|t| t + self.inner.options.empty_timeout);
            let expired = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(cmd) => self.handle(cmd),
                    None => break,
                },
                () = expired => {
                    // Close the channel first, so a join racing with us fails and retries on a
                    // new room, then drop our registry entry (only ours: it is closed).
                    commands.close();
                    self.inner.rooms.remove_if(&self.name, |_, tx| tx.is_closed());
                    while let Some(cmd) = commands.recv().await {
                        self.handle(cmd);
                    }
                    if self.participants.is_empty() {
                        break;
                    }
                }
                () = self.inner.shutdown.cancelled() => {
                    for sid in self.participants.keys().cloned().collect::<Vec<_>>() {
                        self.remove(&sid, "server_shutdown", 1001);
                    }
                    commands.close();
                    self.inner.rooms.remove_if(&self.name, |_, tx| tx.is_closed());
                    break;
                }
            }
        }
        info!(room = %self.name, "room closed");
    }

    fn handle(&mut self, cmd: RoomCommand) {
        match cmd {
            RoomCommand::Join { request, out, reply } => {
                let _ = reply.send(self.join(request, out));
            }
            RoomCommand::Client { sid, msg } => self.on_client(&sid, msg),
            RoomCommand::Disconnected { sid, reason } => self.remove(&sid, reason, 1000),
            RoomCommand::Media(ev) => self.on_media(ev),
            RoomCommand::Count { reply } => {
                let _ = reply.send(self.participants.len());
            }
        }
    }

    fn join(
        &mut self,
        req: JoinRequest,
        out: mpsc::Sender<Outbound>,
    ) -> Result<(ParticipantSid, PeerId, PeerId), JoinError> {
        let replaced = self.participants.values().find(|p| p.identity == req.identity).map(|p| p.sid.clone());
        if let Some(old) = replaced {
            self.remove(&old, "replaced", 4009);
        }
        let max = self.inner.options.max_participants;
        if max > 0 && self.participants.len() >= max {
            return Err(JoinError::RoomFull);
        }
        let sid = ParticipantSid(random_sid("PA"));
        let (publisher, subscriber) = (self.inner.next_peer(), self.inner.next_peer());
        let participant = Participant {
            sid: sid.clone(),
            identity: req.identity,
            name: req.name,
            permissions: req.permissions,
            joined_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            publisher,
            subscriber,
            remote: None,
            tracks: Default::default(),
            declared_sources: HashMap::new(),
            offer_outstanding: false,
            out,
        };
        for (peer, role) in [(publisher, PeerRole::Publisher), (subscriber, PeerRole::Subscriber)] {
            self.inner.peers.insert(peer, self.name.clone());
            self.peers.insert(peer, sid.clone());
            self.inner.media.send(MediaCommand::AddPeer { peer, role });
        }
        let others: Vec<_> = self.participants.values().filter(|p| !p.permissions.hidden).map(|p| p.info()).collect();
        let joined = ServerMessage::Joined {
            protocol: PROTOCOL_VERSION,
            room: RoomInfo { name: self.name.0.clone(), sid: self.sid.clone() },
            participant: participant.info(),
            participants: others,
            ice_servers: Vec::new(),
        };
        let _ = participant.send(joined);
        if !participant.permissions.hidden {
            self.broadcast(Some(&sid), ServerMessage::ParticipantJoined { participant: participant.info() });
        }
        if participant.permissions.can_subscribe {
            for other in self.participants.values() {
                for track in other.tracks.values() {
                    self.inner.media.send(MediaCommand::Subscribe {
                        subscriber,
                        source: track.source_id,
                        stream_id: other.sid.0.clone(),
                        track_id: track.sid.0.clone(),
                    });
                }
            }
        }
        info!(room = %self.name, participant = %sid, identity = %participant.identity, "participant joined");
        self.participants.insert(sid.clone(), participant);
        self.empty_since = None;
        Ok((sid, publisher, subscriber))
    }

    /// Removes a participant: media closed, tracks unpublished, others told. Idempotent.
    fn remove(&mut self, sid: &ParticipantSid, reason: &'static str, close_code: u16) {
        let Some(p) = self.participants.remove(sid) else { return };
        for peer in [p.publisher, p.subscriber] {
            self.inner.media.send(MediaCommand::ClosePeer { peer });
            self.inner.peers.remove(&peer);
            self.peers.remove(&peer);
        }
        for track in p.tracks.values() {
            self.sources.remove(&track.source_id);
            self.broadcast(None, ServerMessage::TrackUnpublished { participant: p.sid.clone(), track: track.sid.clone() });
        }
        if !p.permissions.hidden {
            self.broadcast(
                None,
                ServerMessage::ParticipantLeft { participant: p.sid.clone(), identity: p.identity.0.clone(), reason: reason.into() },
            );
        }
        p.close(close_code, reason);
        info!(room = %self.name, participant = %sid, identity = %p.identity, reason, "participant left");
        if self.participants.is_empty() {
            self.empty_since = Some(Instant::now());
        }
    }

    /// Sends to everyone but `except`; participants that cannot keep up are removed.
    fn broadcast(&mut self, except: Option<&ParticipantSid>, msg: ServerMessage) {
        let stuck: Vec<ParticipantSid> = self
            .participants
            .values()
            .filter(|p| Some(&p.sid) != except)
            .filter(|p| p.send(msg.clone()).is_err())
            .map(|p| p.sid.clone())
            .collect();
        for sid in stuck {
            warn!(room = %self.name, participant = %sid, "signalling queue full; disconnecting");
            self.remove(&sid, "error", 1011);
        }
    }

    fn send_to(&mut self, sid: &ParticipantSid, msg: ServerMessage) {
        let failed = self.participants.get(sid).is_some_and(|p| p.send(msg).is_err());
        if failed {
            self.remove(sid, "error", 1011);
        }
    }

    fn on_client(&mut self, sid: &ParticipantSid, msg: ClientMessage) {
        let Some(p) = self.participants.get_mut(sid) else { return };
        match msg {
            ClientMessage::PublishOffer { sdp, sources } => {
                if !p.permissions.can_publish {
                    return self.send_to(sid, ServerMessage::error(ErrorCode::PermissionDenied, "this token may not publish (can_publish is false)"));
                }
                p.declared_sources = sources;
                self.inner.media.send(MediaCommand::ApplyOffer { peer: p.publisher, sdp });
            }
            ClientMessage::SubscribeAnswer { sdp } => {
                if !p.offer_outstanding {
                    return self.send_to(sid, ServerMessage::error(ErrorCode::OutOfOrder, "subscribe_answer without an outstanding subscribe_offer"));
                }
                p.offer_outstanding = false;
                self.inner.media.send(MediaCommand::ApplyAnswer { peer: p.subscriber, sdp });
            }
            ClientMessage::IceCandidate { target, candidate } => {
                let peer = match target {
                    IceTarget::Publisher => p.publisher,
                    IceTarget::Subscriber => p.subscriber,
                };
                if !candidate.candidate.is_empty() {
                    self.inner.media.send(MediaCommand::AddRemoteCandidate { peer, candidate: candidate.candidate, sdp_mid: candidate.sdp_mid });
                }
            }
            ClientMessage::Leave => self.remove(sid, "left", 1000),
            ClientMessage::Ping { ts } => self.send_to(sid, ServerMessage::Pong { ts }),
        }
    }

    fn on_media(&mut self, ev: MediaEvent) {
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
                if let Some(p) = self.participants.get_mut(&sid) {
                    if p.publisher == peer || p.remote.is_none() {
                        p.remote = remote;
                    }
                }
                debug!(room = %self.name, participant = %sid, ?remote, "transport connected");
            }
            MediaEvent::PeerFailed { peer } => {
                if let Some(sid) = self.peers.get(&peer).cloned() {
                    self.remove(&sid, "timeout", 1000);
                }
            }
            MediaEvent::SourceOpened { source, publisher, remote_track_id, kind, mime_type } => {
                self.on_source_opened(source, publisher, remote_track_id, kind, mime_type)
            }
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
        let declared = p.declared_sources.get(&remote_track_id).cloned();
        let source_name = declared.unwrap_or_else(|| match kind {
            MediaKind::Audio => "microphone".into(),
            MediaKind::Video => "camera".into(),
        });
        if !p.permissions.may_publish(&source_name) {
            let msg = format!("this token may not publish a {source_name} track");
            return self.send_to(&sid, ServerMessage::error(ErrorCode::PermissionDenied, msg));
        }
        let track = Track { sid: TrackSid(random_sid("TR")), source_id: source, kind, source: source_name, mime_type };
        let info = track.info();
        p.tracks.insert(track.sid.clone(), track.clone());
        self.sources.insert(source, (sid.clone(), track.sid.clone()));
        info!(room = %self.name, participant = %sid, track = %track.sid, kind = kind.as_str(), "track published");
        let subscribers: Vec<PeerId> = self
            .participants
            .values()
            .filter(|o| o.sid != sid && o.permissions.can_subscribe)
            .map(|o| o.subscriber)
            .collect();
        for subscriber in subscribers {
            self.inner.media.send(MediaCommand::Subscribe {
                subscriber,
                source,
                stream_id: sid.0.clone(),
                track_id: track.sid.0.clone(),
            });
        }
        self.broadcast(None, ServerMessage::TrackPublished { participant: sid, track: info });
    }
}

pub(crate) const DEFAULT_EMPTY_TIMEOUT: Duration = Duration::from_secs(20);
