//! Subscribers' RTCP about their legs: which route a report block or NACK is about, and the
//! reception reports kept on the routes.

use crate::ids::{IdMap, RouteId};
use crate::peer::Peer;
use crate::reception::ReceptionSummary;
use crate::route::Route;
use rtc::rtcp::receiver_report::ReceiverReport;

/// The route of subscriber `peer` whose leg has SSRC `ssrc`.
pub(crate) fn route_by_out_ssrc(peer: &Peer, routes: &IdMap<RouteId, Route>, ssrc: u32) -> Option<RouteId> {
    peer.routes.values().copied().find(|r| routes.get(r).is_some_and(|r| r.out_ssrc == ssrc))
}

/// Keeps each block of `rr` (from subscriber `peer`, arrived at NTP time `arrival`) on the
/// route it reports on.
pub(crate) fn keep_reception_reports(arrival: u64, peer: &Peer, routes: &mut IdMap<RouteId, Route>, rr: &ReceiverReport) {
    for block in &rr.reports {
        if let Some(route) = route_by_out_ssrc(peer, routes, block.ssrc).and_then(|r| routes.get_mut(&r)) {
            route.on_reception_report(ReceptionSummary::from_block(block, arrival));
        }
    }
}
