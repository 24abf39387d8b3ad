//! A participant inside a room task: identity, permissions, call state, its two media peers,
//! its tracks, and its outbound message queue. Also who a lobby member is ([`Member`]).

use super::mute_locks::TrackMute;
use crate::admin::{ParticipantView, SubscriptionView, TrackView};
use crate::quality::{Quality, StreamMeter};
use crate::call_state::CallState;
use crate::ids::{Identity, ParticipantSid, RoomName, TrackSid};
use crate::permissions::Permissions;
use crate::protocol::{Outbound, ParticipantInfo, ServerMessage, TrackInfo};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use switchboard_media::{MediaKind, PeerId, SourceId};
use tokio::sync::mpsc;

/// A published track.
#[derive(Debug, Clone)]
pub(crate) struct Track {
    pub(crate) sid: TrackSid,
    pub(crate) source_id: SourceId,
    pub(crate) kind: MediaKind,
    pub(crate) source: String,
    pub(crate) mime_type: String,
    /// Muted, by whom, and whether the participant was asked to unmute.
    pub(crate) mute: TrackMute,
    /// As received from the publisher.
    pub(crate) meter: StreamMeter,
}

impl Track {
    pub(crate) fn info(&self) -> TrackInfo {
        TrackInfo {
            sid: self.sid.clone(),
            kind: self.kind.as_str(),
            source: self.source.clone(),
            mime_type: self.mime_type.clone(),
            muted: self.mute.muted,
            muted_by: self.mute.muted_by.as_ref().map(|i| i.as_str().to_owned()),
        }
    }

    pub(crate) fn view(&self) -> TrackView {
        TrackView {
            sid: self.sid.0.clone(),
            kind: self.kind.as_str(),
            source: self.source.clone(),
            codec: self.mime_type.clone(),
            muted: self.mute.muted,
            muted_by: self.mute.muted_by.as_ref().map(|i| i.as_str().to_owned()),
            stats: self.meter.view.clone(),
        }
    }
}

/// A track a participant receives, metered on its leg.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub(crate) track: TrackSid,
    pub(crate) publisher: Identity,
    pub(crate) meter: StreamMeter,
}

/// Who a session is, as far as every room state needs to know.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) sid: ParticipantSid,
    pub(crate) identity: Identity,
    pub(crate) name: String,
    pub(crate) permissions: Permissions,
    pub(crate) metadata: serde_json::Value,
    pub(crate) token_id: String,
    /// The room its token names: `room_admin` applies there only, even after a move.
    pub(crate) token_room: RoomName,
    pub(crate) joined_at: String,
    /// When it joined, for durations.
    pub(crate) since: tokio::time::Instant,
    pub(crate) out: mpsc::Sender<Outbound>,
    /// Which connection `out` belongs to (a resume replaces both).
    pub(crate) connection: u64,
}

/// Why the writer's queue refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unreachable {
    /// The queue is full: the client does not keep up.
    Full,
    /// The queue is closed: its session ended and the room has not heard yet.
    Closed,
}

impl Member {
    /// Queues a message for the client without waiting.
    pub(crate) fn send(&self, msg: ServerMessage) -> Result<(), Unreachable> {
        self.out.try_send(Outbound::Message(msg)).map_err(|e| match e {
            tokio::sync::mpsc::error::TrySendError::Full(_) => Unreachable::Full,
            tokio::sync::mpsc::error::TrySendError::Closed(_) => Unreachable::Closed,
        })
    }

    /// Queues a close frame; the writer stops after it.
    pub(crate) fn close(&self, code: u16, reason: &str) {
        let _ = self.out.try_send(Outbound::Close { code, reason: reason.to_owned() });
    }

    pub(crate) fn view(
        &self,
        state: CallState,
        remote: Option<SocketAddr>,
        tracks: Vec<TrackView>,
        subscriptions: Vec<SubscriptionView>,
        quality: Option<Quality>,
    ) -> ParticipantView {
        ParticipantView {
            sid: self.sid.0.clone(),
            identity: self.identity.to_string(),
            name: self.name.clone(),
            state: state.as_str(),
            disconnect_reason: match state {
                CallState::Disconnected(r) => Some(r.as_str().to_owned()),
                _ => None,
            },
            joined_at: Some(self.joined_at.clone()),
            permissions: self.permissions.clone(),
            metadata: self.metadata.clone(),
            remote_address: remote.map(|a| a.to_string()),
            tracks,
            subscriptions,
            connection_quality: quality.map_or("unknown", Quality::as_str),
            hand_raised: false,
            hand_raised_at: None,
            estimated_bitrate_bps: None,
        }
    }
}

/// A participant admitted to the room, with media.
pub(crate) struct Participant {
    pub(crate) member: Member,
    pub(crate) state: CallState,
    pub(crate) publisher: PeerId,
    pub(crate) subscriber: PeerId,
    pub(crate) remote: Option<SocketAddr>,
    /// Tracks in publication order.
    pub(crate) tracks: BTreeMap<TrackSid, Track>,
    /// Tracks withdrawn because `can_publish` was revoked; republished when it is granted again.
    pub(crate) withheld: Vec<Track>,
    /// Sources the client declared in its last publish offer (msid track id → source).
    pub(crate) declared_sources: HashMap<String, String>,
    /// Tracks it receives, by media source.
    pub(crate) subscriptions: HashMap<SourceId, Subscription>,
    /// Last computed connection quality.
    pub(crate) quality: Option<Quality>,
    /// Traffic of subscriptions that ended (their meters are gone).
    pub(crate) retired: Traffic,
    /// Traffic when this room's leg began (non-zero after a move).
    pub(crate) leg_base: Traffic,
    /// When its hand went up (RFC 3339); `None` while lowered.
    pub(crate) hand_raised_at: Option<String>,
    /// Its downlink's estimated bandwidth (bit/s), from the media shard's last sample.
    pub(crate) estimated_bitrate: Option<f64>,
    /// The secret of its `joined`, with which a new connection resumes it.
    pub(crate) resume_token: String,
    /// Set while it is `reconnecting`: what was lost and the state to go back to.
    pub(crate) lost: Option<super::resume::Lost>,
    /// The subscriber offer that awaits this participant's answer; sent again after a resume
    /// (the client may never have seen it).
    pub(crate) unanswered_offer: Option<String>,
}

/// Bytes and packets in (published) and out (received), as cumulative counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Traffic {
    pub(crate) bytes_in: u64,
    pub(crate) packets_in: u64,
    pub(crate) bytes_out: u64,
    pub(crate) packets_out: u64,
}

impl Traffic {
    fn totals(m: &StreamMeter) -> (u64, u64) {
        m.view.as_ref().map_or((0, 0), |v| (v.bytes, v.packets))
    }

    fn add_in(&mut self, m: &StreamMeter) {
        let (b, p) = Self::totals(m);
        self.bytes_in += b;
        self.packets_in += p;
    }

    /// Adds a subscription's totals (also used when it ends, to keep them).
    pub(crate) fn add_out(&mut self, m: &StreamMeter) {
        let (b, p) = Self::totals(m);
        self.bytes_out += b;
        self.packets_out += p;
    }

    fn since(&self, base: &Traffic) -> Traffic {
        Traffic {
            bytes_in: self.bytes_in.saturating_sub(base.bytes_in),
            packets_in: self.packets_in.saturating_sub(base.packets_in),
            bytes_out: self.bytes_out.saturating_sub(base.bytes_out),
            packets_out: self.packets_out.saturating_sub(base.packets_out),
        }
    }
}

impl Participant {
    /// A participant with its media peers and nothing published or received yet.
    pub(crate) fn new(member: Member, state: CallState, publisher: PeerId, subscriber: PeerId) -> Self {
        Self {
            member,
            state,
            publisher,
            subscriber,
            remote: None,
            tracks: BTreeMap::new(),
            withheld: Vec::new(),
            declared_sources: HashMap::new(),
            subscriptions: HashMap::new(),
            quality: None,
            retired: Traffic::default(),
            leg_base: Traffic::default(),
            hand_raised_at: None,
            estimated_bitrate: None,
            resume_token: crate::ids::random_secret(),
            lost: None,
            unanswered_offer: None,
        }
    }

    pub(crate) fn info(&self) -> ParticipantInfo {
        ParticipantInfo {
            sid: self.member.sid.clone(),
            identity: self.member.identity.to_string(),
            name: self.member.name.clone(),
            state: self.state.as_str(),
            joined_at: self.member.joined_at.clone(),
            permissions: self.member.permissions.clone(),
            metadata: self.member.metadata.clone(),
            hand_raised: self.hand_raised_at.is_some(),
            hand_raised_at: self.hand_raised_at.clone(),
            tracks: self.tracks.values().map(Track::info).collect(),
        }
    }

    pub(crate) fn view(&self) -> ParticipantView {
        let subscriptions = self
            .subscriptions
            .values()
            .map(|s| SubscriptionView { track: s.track.0.clone(), publisher: s.publisher.to_string(), stats: s.meter.view.clone() })
            .collect();
        let tracks = self.tracks.values().map(Track::view).collect();
        ParticipantView {
            hand_raised: self.hand_raised_at.is_some(),
            hand_raised_at: self.hand_raised_at.clone(),
            estimated_bitrate_bps: self.estimated_bitrate.map(|b| b.round() as u64),
            ..self.member.view(self.state, self.remote, tracks, subscriptions, self.quality)
        }
    }

    /// What a session record keeps of a leg: duration, address, codecs, traffic both ways.
    /// Media moved since the participant's media peers were created, both ways.
    pub(crate) fn traffic(&self) -> Traffic {
        let mut t = self.retired;
        for m in self.tracks.values().chain(&self.withheld).map(|t| &t.meter) {
            t.add_in(m);
        }
        for s in self.subscriptions.values() {
            t.add_out(&s.meter);
        }
        t
    }

    pub(crate) fn summary(&self) -> serde_json::Value {
        let t = self.traffic().since(&self.leg_base);
        let mut codecs: Vec<&str> = self.tracks.values().chain(&self.withheld).map(|t| t.mime_type.as_str()).collect();
        codecs.sort_unstable();
        codecs.dedup();
        serde_json::json!({
            "sid": self.member.sid,
            "name": self.member.name,
            "duration_s": self.member.since.elapsed().as_secs_f64(),
            "remote_address": self.remote.map(|a| a.to_string()),
            "codecs": codecs,
            "bytes_in": t.bytes_in,
            "packets_in": t.packets_in,
            "bytes_out": t.bytes_out,
            "packets_out": t.packets_out,
        })
    }

    /// Worst quality over its streams; `lost` when its unmuted tracks delivered nothing.
    pub(crate) fn compute_quality(&self) -> Option<Quality> {
        let published = self.tracks.values().filter(|t| !t.mute.muted).filter_map(|t| t.meter.quality());
        let received = self.subscriptions.values().filter_map(|s| s.meter.quality());
        let mut worst: Option<Quality> = None;
        let mut any_published = false;
        let mut any_arriving = false;
        for (q, arriving) in published {
            any_published = true;
            any_arriving |= arriving;
            worst = Some(worst.map_or(q, |w| w.min(q)));
        }
        if any_published && !any_arriving && self.state == CallState::Connected {
            return Some(Quality::Lost);
        }
        for (q, _) in received {
            worst = Some(worst.map_or(q, |w| w.min(q)));
        }
        worst
    }

    /// Queues a message for the client. While its connection is lost, messages are dropped
    /// (a resume sends the whole state again in `joined`).
    pub(crate) fn send(&self, msg: ServerMessage) -> Result<(), Unreachable> {
        match self.member.send(msg) {
            Err(Unreachable::Closed) if self.lost.as_ref().is_some_and(|l| l.connection) => Ok(()),
            other => other,
        }
    }
}
