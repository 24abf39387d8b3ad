//! Switchboard media: WebRTC transports and RTP forwarding on one UDP socket per shard.
//!
//! This crate knows nothing of rooms, JSON or HTTP. Signalling talks to a media shard only through
//! [`MediaCommand`]s and receives [`MediaEvent`]s. The [`Shard`] is sans-IO (time is an input, no
//! sockets), so tests drive it on a virtual clock; [`MediaRuntime`] runs it on a thread that owns
//! the UDP socket.
#![warn(missing_docs)]

mod adapt;
mod allocate;
mod api;
mod audio_level;
mod bitrate;
mod bwe;
mod candidates;
mod codec_check;
mod config;
mod demux;
mod early_checks;
mod fanout;
mod hdrext;
mod feedback;
mod history;
mod ids;
pub mod interceptor;
pub mod keyframe;
mod layer_select;
mod pc_builder;
mod peer;
mod reception;
mod resume_backoff;
pub mod rewrite;
mod route;
mod runtime;
mod rx_time;
mod sample;
mod shard;
mod source;
mod stats;
mod tcp;
mod transmit;
mod udp_batch;
mod vp8;

pub use api::{AudioLevel, MediaCommand, MediaEvent, MediaKind, PeerRole, SdpKind, SourcePriority};
pub use config::{Bound, MediaConfig};
pub use ids::{PeerId, SourceId};
pub use runtime::{MediaHandle, MediaRuntime};
pub use shard::Shard;
pub use stats::{ForwardLatency, MediaCounters, PeerStats, ShardSnapshot, TrackStats, FORWARD_LATENCY_BOUNDS};
pub use transmit::{Transmit, Via};
