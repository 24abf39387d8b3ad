//! Identifiers of media objects: peers (one PeerConnection each), published sources and the
//! subscriber routes between them. Owns only the id types, not the objects they name.

use std::fmt;

/// One PeerConnection on a shard. Chosen by signalling, unique per shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u64);

/// One published track (a publisher PC's inbound media stream), assigned by the shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u64);

/// One (subscriber × source) forwarding leg, assigned by the shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct RouteId(pub(crate) u64);

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "peer-{}", self.0)
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "source-{}", self.0)
    }
}

/// A shard table keyed by one of these ids. FxHash, not std's SipHash: the ids are small
/// integers the shard mints itself (no one can choose keys to collide), and hashing them with
/// SipHash was ~10 % of the shard's instructions per forwarded packet.
pub(crate) type IdMap<K, V> = std::collections::HashMap<K, V, rustc_hash::FxBuildHasher>;
