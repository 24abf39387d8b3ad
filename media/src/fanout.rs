//! The per-packet path: one publisher packet copied to every route of its source, and NACKed
//! packets sent again on one leg.
//!
//! Forwarded RTP does not go through `rtc`'s write pipeline: each leg's copy is made by its
//! [`Route`] (SSRC, payload type, rewritten numbers), serialised into [`Fanout`]'s one scratch
//! buffer, encrypted with the leg's outbound SRTP context and queued for the socket by the
//! subscriber's [`Peer`] (`encrypt_rtp_for_forwarding`, vendor/rtc/PATCHES.md). Every packet
//! that is not sent is counted by reason. Owns the loop and the scratch buffer only: which source
//! a packet belongs to and what it is (`Source::ingest`) is decided before, by the shard.

use crate::ids::{IdMap, PeerId, RouteId};
use crate::history::History;
use crate::peer::{Peer, SendError};
use crate::route::{Route, Withheld};
use crate::stats::MediaCounters;
use crate::transmit::Transmit;
use rtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use rtc::rtp::Packet;
use std::collections::VecDeque;
use std::time::Instant;
use tracing::debug;

/// The shard's tables a fan-out writes to, borrowed for one packet.
pub(crate) struct Legs<'a> {
    /// Every route of the shard.
    pub(crate) routes: &'a mut IdMap<RouteId, Route>,
    /// Every peer of the shard.
    pub(crate) peers: &'a mut IdMap<PeerId, Peer>,
    /// Where datagrams go.
    pub(crate) transmits: &'a mut VecDeque<Transmit>,
}

/// What the source learnt of a packet that every leg's copy needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arrival {
    /// It starts a video keyframe.
    pub(crate) keyframe: bool,
    /// Audio: its RFC 6464 level byte, written again in each leg's extension.
    pub(crate) audio_level: Option<u8>,
}

/// Copies packets to legs; keeps the serialisation buffer between packets.
pub(crate) struct Fanout {
    /// Serialised RTP of the copy being sent, before encryption (reused).
    scratch: Vec<u8>,
}

impl Fanout {
    /// A fan-out with a buffer for one MTU-sized packet.
    pub(crate) fn new() -> Self {
        Self { scratch: Vec::with_capacity(1500) }
    }

    /// Sends `packet` (extensions stripped; `arrival`: what the source learnt of it) to each of `route_ids`
    /// that is ready and takes its layer: its subscriber not paused and connected, its answer
    /// applied, (video) started at a keyframe and showing it.
    pub(crate) fn forward(
        &mut self,
        now: Instant,
        route_ids: &[RouteId],
        packet: &Packet,
        arrival: Arrival,
        legs: Legs<'_>,
        counters: &MediaCounters,
    ) {
        for rid in route_ids {
            let Some(route) = legs.routes.get_mut(rid) else { continue };
            let Some(peer) = legs.peers.get_mut(&route.subscriber) else { continue };
            if peer.paused {
                MediaCounters::add(&counters.dropped_muted, 1);
                continue;
            }
            let numbers = match route.numbers(now, packet, peer.connected, arrival.keyframe) {
                Ok(n) => n,
                Err(why) => {
                    if let Some(counter) = withheld_counter(counters, why) {
                        MediaCounters::add(counter, 1);
                    }
                    continue;
                }
            };
            let out = route.copy(packet, numbers);
            match peer.send_rtp(now, legs.transmits, &mut self.scratch, &out, (numbers.vp8, arrival.audio_level)) {
                Ok(()) => {
                    MediaCounters::add(&counters.packets_forwarded, 1);
                    MediaCounters::add(&counters.bytes_forwarded, out.payload.len() as u64);
                    route.on_sent(now, &out);
                    if numbers.switched {
                        MediaCounters::add(&counters.layer_switches, 1);
                    }
                }
                Err(SendError::NotReady) => MediaCounters::add(&counters.dropped_not_ready, 1),
                Err(SendError::Failed(e)) => {
                    MediaCounters::add(&counters.dropped_write_error, 1);
                    debug!(error = %e, "forwarding a packet failed");
                }
            }
        }
    }

    /// The subscriber of `route` lost the packets `nack` lists: sends again those `history`
    /// still has, with the leg's numbers of their first send.
    pub(crate) fn retransmit(
        &mut self,
        now: Instant,
        (peer, route): (&mut Peer, &mut Route),
        nack: &TransportLayerNack,
        history: &History,
        transmits: &mut VecDeque<Transmit>,
        counters: &MediaCounters,
    ) {
        for out_seq in nack.nacks.iter().flat_map(|pair| pair.packet_list()) {
            let Some((out, vp8)) = route.retransmission(out_seq, history) else { continue };
            if peer.send_rtp(now, transmits, &mut self.scratch, &out, (vp8, None)).is_ok() {
                MediaCounters::add(&counters.packets_retransmitted, 1);
            }
        }
    }
}

/// The drop counter of a reason (none for a layer the route does not take).
fn withheld_counter(counters: &MediaCounters, why: Withheld) -> Option<&std::sync::atomic::AtomicU64> {
    match why {
        Withheld::NotReady => Some(&counters.dropped_not_ready),
        Withheld::KeyframeWait => Some(&counters.dropped_keyframe_wait),
        Withheld::Stale => Some(&counters.dropped_stale),
        Withheld::Hidden => Some(&counters.dropped_hidden),
        Withheld::Bandwidth => Some(&counters.dropped_bandwidth),
        Withheld::OtherLayer => None,
    }
}
