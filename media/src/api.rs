//! The command and event vocabulary between signalling and a media shard.

use crate::ids::{PeerId, SourceId};
use crate::stats::ShardSnapshot;
use std::net::SocketAddr;

/// Which way a PeerConnection carries media.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerRole {
    /// The client offers and sends media to us.
    Publisher,
    /// We offer and send media to the client.
    Subscriber,
}

/// How a video source ranks when a subscriber's bandwidth is shared (after audio, which always
/// comes first): a screen share before the active speaker's camera before other cameras, which
/// rank by the size the subscriber shows them at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SourcePriority {
    /// A camera.
    #[default]
    Normal,
    /// The camera of the room's active speaker.
    Speaker,
    /// A screen share.
    Screen,
}

/// Audio or video (`"audio"`/`"video"` when serialised).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// An audio track.
    Audio,
    /// A video track.
    Video,
}

impl MediaKind {
    /// `"audio"` or `"video"`.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }
}

/// The mean level of one audio source over a short interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudioLevel {
    /// The source.
    pub source: SourceId,
    /// Its publisher.
    pub publisher: PeerId,
    /// Mean linear amplitude, 0.0 (silence) to 1.0 (0 dBov).
    pub level: f32,
    /// Share of packets flagged as voice activity.
    pub voice: f32,
}

/// Offer or answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SdpKind {
    /// An SDP offer.
    Offer,
    /// An SDP answer.
    Answer,
}

/// What signalling asks of a shard.
#[derive(Debug)]
#[non_exhaustive]
pub enum MediaCommand {
    /// Create a PeerConnection. Its ICE credentials are chosen by the shard.
    AddPeer {
        /// The id signalling will use for it.
        peer: PeerId,
        /// Publisher (client offers) or subscriber (we offer).
        role: PeerRole,
    },
    /// Apply a client's offer to a publisher peer; answered by [`MediaEvent::LocalDescription`].
    ApplyOffer {
        /// A publisher peer.
        peer: PeerId,
        /// The offer SDP.
        sdp: String,
    },
    /// Apply a client's answer to a subscriber peer's outstanding offer.
    ApplyAnswer {
        /// A subscriber peer.
        peer: PeerId,
        /// The answer SDP.
        sdp: String,
    },
    /// Add a remote ICE candidate (optional for an ICE-lite server).
    AddRemoteCandidate {
        /// Target peer.
        peer: PeerId,
        /// The `candidate:` attribute line.
        candidate: String,
        /// The m-line the candidate belongs to.
        sdp_mid: Option<String>,
    },
    /// Forward `source` to the subscriber peer as a track `track_id` in stream `stream_id`.
    Subscribe {
        /// A subscriber peer.
        subscriber: PeerId,
        /// A source on this shard.
        source: SourceId,
        /// msid stream id shown to the client (the publishing participant).
        stream_id: String,
        /// msid track id shown to the client (the published track).
        track_id: String,
    },
    /// Stop forwarding `source` to the subscriber and remove the track from its PC.
    Unsubscribe {
        /// A subscriber peer.
        subscriber: PeerId,
        /// The source.
        source: SourceId,
    },
    /// Stop (or resume) forwarding a source to every subscriber, whatever the publisher sends
    /// (moderator mute, hold, revoked `can_publish`). Resuming waits for a keyframe.
    SetSourceMuted {
        /// The source.
        source: SourceId,
        /// Withhold its packets.
        muted: bool,
    },
    /// How a source ranks in every subscriber's bandwidth allocation.
    SetSourcePriority {
        /// The source.
        source: SourceId,
        /// Its rank.
        priority: SourcePriority,
    },
    /// Stop (or resume) forwarding anything to a subscriber peer (hold, revoked `can_subscribe`).
    SetSubscriberPaused {
        /// A subscriber peer.
        subscriber: PeerId,
        /// Withhold everything.
        paused: bool,
    },
    /// What a subscriber shows of one source (adaptive stream): nothing while hidden; otherwise
    /// no layer larger than `size` needs and none above `max_layer` (0 = the lowest).
    SetSubscription {
        /// A subscriber peer.
        subscriber: PeerId,
        /// A source it subscribes to.
        source: SourceId,
        /// The video is shown at all.
        visible: bool,
        /// Width × height it is shown at, in pixels, if known.
        size: Option<(u16, u16)>,
        /// The highest spatial layer wanted, if capped.
        max_layer: Option<u8>,
    },
    /// Subscriber: the next offer restarts ICE (e.g. the client's network changed): new
    /// credentials of ours (a browser restarts and gathers on its new network only when the
    /// offer's change), the same candidates; the client's checks from wherever it is now select
    /// a new pair. An offer is made at once unless one is outstanding. Publishers restart with
    /// their own offer.
    RestartIce {
        /// The subscriber peer.
        peer: PeerId,
    },
    /// Close a peer: its sources and routes go with it; nothing is reported back but
    /// [`MediaEvent::SourceClosed`] for its sources.
    ClosePeer {
        /// The peer.
        peer: PeerId,
    },
    /// A statistics sample of every peer.
    GetStats {
        /// Where the answer goes.
        reply: tokio::sync::oneshot::Sender<Vec<crate::stats::PeerStats>>,
    },
    /// Report the shard's object counts.
    Snapshot {
        /// Where the answer goes.
        reply: tokio::sync::oneshot::Sender<ShardSnapshot>,
    },
}

/// What a shard tells signalling.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MediaEvent {
    /// An SDP the client must apply (a publisher's answer, a subscriber's offer).
    LocalDescription {
        /// The peer it belongs to.
        peer: PeerId,
        /// Offer or answer.
        kind: SdpKind,
        /// The SDP text.
        sdp: String,
    },
    /// A publisher offered a media section (`kind`) in no codec we forward: our answer refused
    /// it (its track goes nowhere). `offered`: the codecs it named.
    MediaRefused {
        /// The publisher peer.
        peer: PeerId,
        /// `audio` or `video`.
        kind: String,
        /// The codec names of the refused section (`H264`, …).
        offered: Vec<String>,
    },
    /// A command could not be applied (bad SDP, answer without offer, unknown peer).
    NegotiationFailed {
        /// The peer.
        peer: PeerId,
        /// Why; safe to show to the client.
        reason: String,
    },
    /// ICE and DTLS are up.
    PeerConnected {
        /// The peer.
        peer: PeerId,
        /// The client's address as seen by us.
        remote: Option<SocketAddr>,
    },
    /// No ICE traffic from the client for `ice_disconnected_timeout`: its network may be gone.
    /// Followed by [`MediaEvent::PeerConnected`] if the traffic comes back, or
    /// [`MediaEvent::PeerFailed`] after `ice_failed_timeout`.
    PeerDisconnected {
        /// The peer.
        peer: PeerId,
    },
    /// ICE failed or timed out, or DTLS closed: the peer is unusable and has been closed.
    PeerFailed {
        /// The peer.
        peer: PeerId,
    },
    /// A publisher's track started to deliver media.
    SourceOpened {
        /// New source id.
        source: SourceId,
        /// The publisher peer.
        publisher: PeerId,
        /// The track id from the publisher's SDP (msid), as the client named it.
        remote_track_id: String,
        /// Audio or video.
        kind: MediaKind,
        /// Codec mime type, e.g. `video/VP8`.
        mime_type: String,
    },
    /// Mean audio levels since the last report (RFC 6464), for sources that sent any.
    AudioLevels {
        /// One entry per source.
        levels: Vec<AudioLevel>,
    },
    /// Dynacast: the simulcast layers of `source` that some route takes (by rid; the lowest
    /// always). The publisher may switch the others off until they are wanted again.
    LayersWanted {
        /// The source.
        source: SourceId,
        /// Its publisher peer.
        publisher: PeerId,
        /// Rids of the layers to keep sending, lowest first.
        rids: Vec<String>,
    },
    /// A video to a subscriber paused because its bandwidth estimate has no room even for the
    /// lowest layer, or resumed.
    StreamState {
        /// The subscriber peer.
        subscriber: PeerId,
        /// The source.
        source: SourceId,
        /// Paused (else resumed).
        paused: bool,
    },
    /// A source is gone (its publisher closed, or the transceiver stopped).
    SourceClosed {
        /// The source.
        source: SourceId,
        /// Its publisher peer.
        publisher: PeerId,
    },
}
