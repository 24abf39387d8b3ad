//! Shared helpers of the integration tests (each test file includes this with `mod common;`).
#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Result};
use switchboard::testing::Snapshot;
use switchboard_tests::{MediaKind, ReceivedTrack, TestParticipant};

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
        ensure!(n == 1, "{who}: expected 1 {kind} track, found {n}: {tracks:#?}");
        let t = track_from(tracks, publisher.sid(), kind).unwrap();
        let published = match publisher.published_track(kind) {
            Some(p) => p,
            None => bail!("{who}: publisher has no {kind} track"),
        };
        let min = match kind {
            MediaKind::Audio => MIN_AUDIO_PACKETS,
            MediaKind::Video => MIN_VIDEO_PACKETS,
        };
        ensure!(t.packets >= min, "{who}: {kind}: only {} packets: {t:#?}", t.packets);
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
