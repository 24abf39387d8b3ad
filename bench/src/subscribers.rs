//! The report's `subscribers` list: what each subscriber received in the window (rate, share of
//! what was offered, what its link lost) and whether the server paused a video for it, with the
//! median of each group (shaped, unshaped).

use serde_json::{json, Value};

use crate::participant::LoadPeer;
use crate::sys::{round1, round3};

/// One subscriber of the run.
pub struct Subscriber<'a> {
    pub peer: &'a LoadPeer,
    /// Its sockets bind to the shaped address.
    pub shaped: bool,
    /// Packets its room's publishers sent in the window (every track, every publisher).
    pub offered: u64,
}

/// One subscriber's figures.
struct Row {
    identity: String,
    shaped: bool,
    received_kbps: f64,
    delivered_pct: f64,
    link_loss_pct: f64,
    tracks: usize,
    paused: u64,
    resumed: u64,
}

/// Builds `{ "list": [...], "shaped": {...}, "unshaped": {...} }` over a window of `secs`.
pub fn report<'a>(subscribers: impl Iterator<Item = Subscriber<'a>>, secs: f64) -> Value {
    let rows: Vec<Row> = subscribers.map(|s| row(&s, secs)).collect();
    let list: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "identity": r.identity,
                "shaped": r.shaped,
                "received_kbps": round1(r.received_kbps),
                "delivered_pct": round1(r.delivered_pct),
                "link_loss_pct": round3(r.link_loss_pct),
                "tracks_receiving": r.tracks,
                "stream_state_paused": r.paused,
                "stream_state_active": r.resumed,
            })
        })
        .collect();
    json!({
        "list": list,
        "shaped": group(rows.iter().filter(|r| r.shaped)),
        "unshaped": group(rows.iter().filter(|r| !r.shaped)),
    })
}

fn row(s: &Subscriber<'_>, secs: f64) -> Row {
    let (packets, bytes, gaps, late, tracks) = s.peer.with_measured(|m| {
        (
            m.in_window,
            m.bytes_in_window,
            m.gaps_in_window,
            m.late_in_window,
            m.tracks.len(),
        )
    });
    let lost = gaps.saturating_sub(late);
    let (paused, resumed) = s.peer.stream_states();
    Row {
        identity: s.peer.identity.clone(),
        shaped: s.shaped,
        received_kbps: if secs > 0.0 {
            bytes as f64 * 8.0 / secs / 1000.0
        } else {
            0.0
        },
        delivered_pct: pct(packets, s.offered),
        // Sequence numbers are continuous per forwarded stream (a paused video leaves no gap),
        // so a gap that no retransmission filled is a packet the link dropped.
        link_loss_pct: pct(lost, packets + lost),
        tracks,
        paused,
        resumed,
    }
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// Median received rate, delivered share and link loss of a group, and its size.
fn group<'a>(rows: impl Iterator<Item = &'a Row>) -> Value {
    let rows: Vec<&Row> = rows.collect();
    if rows.is_empty() {
        return Value::Null;
    }
    let median = |f: fn(&Row) -> f64| {
        let mut v: Vec<f64> = rows.iter().map(|r| f(r)).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    json!({
        "subscribers": rows.len(),
        "received_kbps_median": round1(median(|r| r.received_kbps)),
        "delivered_pct_median": round1(median(|r| r.delivered_pct)),
        "link_loss_pct_median": round3(median(|r| r.link_loss_pct)),
        "link_loss_pct_max": round3(rows.iter().map(|r| r.link_loss_pct).fold(0.0, f64::max)),
        "paused_any": rows.iter().any(|r| r.paused > 0),
    })
}
