//! Shared helpers of the integration tests (each test file includes this with `mod common;`).
#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;
use switchboard::testing::Snapshot;
use switchboard_tests::{msg_type, ArrivalGap, MediaKind, ReceivedTrack, TestParticipant};

mod admin;
mod fixture;

pub use admin::*;
#[allow(unused_imports)]
pub use fixture::{ModerationRoom, MODERATOR};

/// Upper bound of one whole test.
pub const TEST_LIMIT: Duration = Duration::from_secs(90);
/// How long to wait for media to show up at a subscriber.
pub const MEDIA_TIMEOUT: Duration = Duration::from_secs(20);
/// Audio packets (50/s) a subscriber must have received from each publisher.
pub const MIN_AUDIO_PACKETS: u64 = 100;
/// Video packets (~45/s) a subscriber must have received from each publisher.
pub const MIN_VIDEO_PACKETS: u64 = 60;

/// Logs to the test output; `RUST_LOG` overrides the default filter.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// Runs a test body with a hard time limit; an error or the limit fails the test.
pub async fn bounded<F>(limit: Duration, body: F)
where
    F: Future<Output = Result<()>>,
{
    match tokio::time::timeout(limit, body).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("{e:?}"),
        Err(_) => panic!("test did not finish within {limit:?}"),
    }
}

/// `http://<addr>` for [`TestParticipant::join`].
pub fn http_base(addr: std::net::SocketAddr) -> String {
    format!("http://{addr}")
}

/// Polls `pred` every 50 ms until it returns true or `timeout` passes; returns whether it held.
pub async fn wait_until<F, Fut>(timeout: Duration, mut pred: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if pred().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One line describing a server snapshot.
pub fn describe(s: &Snapshot) -> String {
    format!(
        "rooms={} participants={} media_peers={} media_routes={} demux_entries={} session_tasks={}",
        s.rooms, s.participants, s.media_peers, s.media_routes, s.demux_entries, s.session_tasks
    )
}

/// Whether every counter of the snapshot is zero.
pub fn is_empty(s: &Snapshot) -> bool {
    s.rooms == 0
        && s.participants == 0
        && s.media_peers == 0
        && s.media_routes == 0
        && s.demux_entries == 0
        && s.session_tasks == 0
}

/// The track of `kind` that `tracks` holds from publisher `sid`, if exactly one.
pub fn track_from<'a>(
    tracks: &'a [ReceivedTrack],
    sid: &str,
    kind: MediaKind,
) -> Option<&'a ReceivedTrack> {
    let mut it = tracks
        .iter()
        .filter(|t| t.stream_id == sid && t.kind == kind);
    let first = it.next()?;
    if it.next().is_some() {
        return None;
    }
    Some(first)
}

/// Whether `tracks` holds an audio and a video track from every sid in `from`, each with at
/// least the minimum packet count (and a keyframe for video).
pub fn has_media_from(tracks: &[ReceivedTrack], from: &[&str]) -> bool {
    from.iter().all(|sid| {
        let audio = track_from(tracks, sid, MediaKind::Audio)
            .is_some_and(|t| t.packets >= MIN_AUDIO_PACKETS);
        let video = track_from(tracks, sid, MediaKind::Video)
            .is_some_and(|t| t.packets >= MIN_VIDEO_PACKETS && t.keyframes >= 1);
        audio && video
    })
}

/// Checks everything a subscriber should see of `publisher`'s two tracks: one audio and one
/// video track with the publisher's sid as msid stream id; the SSRC in every RTP header is the
/// one the subscriber offer declared, and so is the payload type; sequence numbers are
/// continuous (audio from the first packet, video from the first keyframe); RTP timestamps never
/// go backwards; every payload verifies byte for byte and carries the stamp of the publisher's
/// track of that kind (no cross-wiring).
pub fn check_media_from(
    subscriber: &TestParticipant,
    tracks: &[ReceivedTrack],
    publisher: &TestParticipant,
) -> Result<()> {
    let who = format!("{} <- {}", subscriber.identity(), publisher.identity());
    for kind in [MediaKind::Audio, MediaKind::Video] {
        let n = tracks
            .iter()
            .filter(|t| t.stream_id == publisher.sid() && t.kind == kind)
            .count();
        ensure!(
            n == 1,
            "{who}: expected 1 {kind} track, found {n}: {tracks:#?}"
        );
        let t = track_from(tracks, publisher.sid(), kind).unwrap();
        let published = match publisher.published_track(kind) {
            Some(p) => p,
            None => bail!("{who}: publisher has no {kind} track"),
        };
        let min = match kind {
            MediaKind::Audio => MIN_AUDIO_PACKETS,
            MediaKind::Video => MIN_VIDEO_PACKETS,
        };
        ensure!(
            t.packets >= min,
            "{who}: {kind}: only {} packets: {t:#?}",
            t.packets
        );
        ensure!(
            t.ssrcs_seen.len() == 1,
            "{who}: {kind}: several SSRCs in one track: {t:#?}"
        );
        ensure!(
            t.ssrc_matches_declared(),
            "{who}: {kind}: SSRC seen {:?} is not the SSRC the subscriber SDP declared {:?}",
            t.ssrcs_seen,
            t.declared_ssrcs
        );
        ensure!(
            t.payload_type_matches_declared(),
            "{who}: {kind}: payload types seen {:?}, SDP declared {:?}",
            t.payload_types_seen,
            t.declared_payload_type
        );
        ensure!(
            t.seq_discontinuities_after_keyframe == 0,
            "{who}: {kind}: {} sequence discontinuities after the first keyframe \
             ({} gap packets, {} backwards): {t:#?}",
            t.seq_discontinuities_after_keyframe,
            t.seq_gap_packets,
            t.seq_backwards
        );
        ensure!(
            t.timestamp_regressions == 0,
            "{who}: {kind}: RTP timestamp went backwards {} times",
            t.timestamp_regressions
        );
        ensure!(
            t.payloads_intact() && t.stamps_ok == t.packets,
            "{who}: {kind}: payloads not intact: ok={} bad={} vp8_invalid={} packets={}",
            t.stamps_ok,
            t.stamps_bad,
            t.vp8_invalid,
            t.packets
        );
        ensure!(
            t.stamp_origins == [published.origin_tag],
            "{who}: {kind}: payloads came from {:?}, expected the publisher's {kind} track {:#x}",
            t.stamp_origins,
            published.origin_tag
        );
        if kind == MediaKind::Video {
            ensure!(t.keyframes >= 1, "{who}: no keyframe received");
            ensure!(
                t.first_keyframe_at.is_some(),
                "{who}: no keyframe arrival time"
            );
        }
    }
    Ok(())
}

/// A subscriber must never receive its own tracks back.
pub fn check_no_echo(p: &TestParticipant, tracks: &[ReceivedTrack]) -> Result<()> {
    let own: Vec<_> = tracks.iter().filter(|t| t.stream_id == p.sid()).collect();
    ensure!(
        own.is_empty(),
        "{} received its own tracks back: {own:#?}",
        p.identity()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Moderation helpers
// ---------------------------------------------------------------------------------------------

/// How long a test waits for a signalling message caused by its last action.
pub const MESSAGE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long forwarding may take to stop after a moderation command took effect.
pub const STOP_WINDOW: Duration = Duration::from_secs(1);
/// Two samples of a counter this far apart must be equal for it to count as stopped.
pub const STALL_SAMPLE: Duration = Duration::from_millis(500);

/// A join token for `room`, with `edit` applied to its claims before signing.
pub fn token_with(
    server: &switchboard::RunningServer,
    room: &str,
    identity: &str,
    edit: impl FnOnce(&mut switchboard::auth::Claims),
) -> String {
    let mut claims = switchboard::auth::Claims::join(
        server.api_key(),
        room,
        identity,
        None,
        Duration::from_secs(3600),
    );
    edit(&mut claims);
    server.sign(&claims)
}

/// A moderator's join token: `room_admin`; it receives no media (`can_subscribe: false`), to
/// keep the CPU for the participants under test.
pub fn moderator_token(server: &switchboard::RunningServer, room: &str, identity: &str) -> String {
    token_with(server, room, identity, |c| {
        c.permissions.room_admin = true;
        c.permissions.can_subscribe = false;
    })
}

/// Whether `m` is of type `ty` and has every `(field, value)` of `fields` (top level).
pub fn is_msg(m: &Value, ty: &str, fields: &[(&str, Value)]) -> bool {
    msg_type(m) == Some(ty) && fields.iter().all(|(k, v)| m.get(*k) == Some(v))
}

/// Sends `msg` (a `moderate` message) from `moderator` and returns the reply that follows it:
/// `Ok(result)` for `moderate_result` (checking its `action`), `Err` for an `error`.
pub async fn moderate(moderator: &TestParticipant, msg: Value) -> Result<Value> {
    let action = msg.get("action").cloned().unwrap_or(Value::Null);
    let from = moderator.message_count();
    moderator.send(msg.clone()).await?;
    let reply = moderator
        .wait_for_message_after(
            from,
            |m| matches!(msg_type(m), Some("moderate_result") | Some("error")),
            MESSAGE_TIMEOUT,
        )
        .await?;
    match msg_type(&reply) {
        Some("moderate_result") => {
            ensure!(
                reply.get("action") == Some(&action),
                "moderate_result for {msg} names another action: {reply}"
            );
            Ok(reply.get("result").cloned().unwrap_or(Value::Null))
        }
        _ => bail!("{msg} was answered with an error: {reply}"),
    }
}

/// Sends `msg` from `p` and returns the first `error` that follows it.
pub async fn expect_error(p: &TestParticipant, msg: Value) -> Result<Value> {
    let from = p.message_count();
    p.send(msg.clone()).await?;
    p.wait_for_message_after(from, |m| msg_type(m) == Some("error"), MESSAGE_TIMEOUT)
        .await
        .with_context(|| format!("no error after {msg}"))
}

/// The sid of `p`'s own published track of `kind`, from the `track_published` the server sent
/// it.
pub async fn own_track_sid(p: &TestParticipant, kind: MediaKind) -> Result<String> {
    let sid = p.sid().to_owned();
    let m = p
        .wait_for_message(
            |m| {
                msg_type(m) == Some("track_published")
                    && m.get("participant").and_then(Value::as_str) == Some(sid.as_str())
                    && m.pointer("/track/kind").and_then(Value::as_str) == Some(kind.as_str())
            },
            MESSAGE_TIMEOUT,
        )
        .await
        .with_context(|| format!("{} got no track_published for its {kind}", p.identity()))?;
    Ok(m.pointer("/track/sid")
        .and_then(Value::as_str)
        .context("track_published without track.sid")?
        .to_owned())
}

/// A labelled counter sampled by [`ensure_stalled`] / [`ensure_growing`].
pub type Counter<'a> = (String, Box<dyn Fn() -> u64 + 'a>);

/// A counter of packets `p` received from publisher `sid` on its `kind` track(s).
pub fn received<'a>(p: &'a TestParticipant, sid: &str, kind: MediaKind) -> Counter<'a> {
    let sid = sid.to_owned();
    (
        format!("{} <- {sid} {kind} packets", p.identity()),
        Box::new(move || p.packets_from(&sid, kind)),
    )
}

/// A counter of packets `p` sent on its `kind` track.
pub fn sent<'a>(p: &'a TestParticipant, kind: MediaKind) -> Counter<'a> {
    (
        format!("{} sent {kind} packets", p.identity()),
        Box::new(move || p.published_track(kind).map(|t| t.packets_sent).unwrap_or(0)),
    )
}

/// Samples `stalled` and `growing` twice, [`STALL_SAMPLE`] apart: every `stalled` counter must
/// be unchanged, every `growing` one must have grown (a control: e.g. the publisher still
/// sends). Returns the stalled counters' values.
pub async fn ensure_stalled(
    what: &str,
    stalled: &[Counter<'_>],
    growing: &[Counter<'_>],
) -> Result<Vec<u64>> {
    let s1: Vec<u64> = stalled.iter().map(|(_, f)| f()).collect();
    let g1: Vec<u64> = growing.iter().map(|(_, f)| f()).collect();
    tokio::time::sleep(STALL_SAMPLE).await;
    let s2: Vec<u64> = stalled.iter().map(|(_, f)| f()).collect();
    let g2: Vec<u64> = growing.iter().map(|(_, f)| f()).collect();
    for (i, (label, _)) in stalled.iter().enumerate() {
        ensure!(
            s1[i] == s2[i],
            "{what}: {label} still growing: {} then {} after {STALL_SAMPLE:?}",
            s1[i],
            s2[i]
        );
    }
    for (i, (label, _)) in growing.iter().enumerate() {
        ensure!(
            g2[i] > g1[i],
            "{what}: {label} should keep growing but stayed at {}",
            g1[i]
        );
    }
    Ok(s2)
}

/// Waits until every counter exceeds its value in `base` by at least `min` (within `timeout`).
pub async fn ensure_growing(
    what: &str,
    counters: &[Counter<'_>],
    base: &[u64],
    min: u64,
    timeout: Duration,
) -> Result<()> {
    let ok = wait_until(timeout, || async {
        counters.iter().zip(base).all(|((_, f), b)| f() >= b + min)
    })
    .await;
    if !ok {
        let now: Vec<String> = counters
            .iter()
            .zip(base)
            .map(|((label, f), b)| format!("{label}: {b} -> {}", f()))
            .collect();
        bail!("{what}: counters did not grow by {min} within {timeout:?}: {now:?}");
    }
    Ok(())
}

/// Current values of `counters`.
pub fn sample(counters: &[Counter<'_>]) -> Vec<u64> {
    counters.iter().map(|(_, f)| f()).collect()
}

/// Sleeps until `at` (no-op if it has passed).
pub async fn sleep_until(at: Instant) {
    tokio::time::sleep(at.saturating_duration_since(Instant::now())).await;
}

/// The track of `kind` from `sid` that `p` received last (the current one after a
/// renegotiation).
pub fn latest_track(p: &TestParticipant, sid: &str, kind: MediaKind) -> Option<ReceivedTrack> {
    p.received()
        .into_iter()
        .rev()
        .find(|t| t.stream_id == sid && t.kind == kind)
}

/// The first silence of at least `min` in `t`.
pub fn gap_at_least(t: &ReceivedTrack, min: Duration) -> Option<ArrivalGap> {
    t.gaps.iter().find(|g| g.silence >= min).cloned()
}

