//! A moderator puts a participant on hold: within a second nothing it sends is forwarded and it
//! receives nothing (both PCs stay up), it gets `on_hold` and everyone sees it `on_hold`. On
//! resume media flows both ways again, each video restarting at a keyframe the server asked the
//! publisher for (PLI), with sequence numbers continuing without a gap.

mod common;

use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use common::{
    bounded, ensure_growing, ensure_stalled, gap_at_least, is_msg, latest_track, moderate,
    received, sent, sleep_until, wait_until, ModerationRoom, MESSAGE_TIMEOUT, MODERATOR,
    STOP_WINDOW,
};
use serde_json::{json, Value};
use switchboard_tests::{msg_type, MediaKind, RTCPeerConnectionState, TestParticipant};

const ROOM: &str = "moderation-hold";

fn keyframe_requests(p: &TestParticipant) -> u64 {
    p.published_track(MediaKind::Video)
        .map(|t| t.plis_received + t.firs_received)
        .unwrap_or(0)
}

fn updated_state(sid: &str, state: &str) -> impl Fn(&Value) -> bool {
    let (sid, state) = (sid.to_owned(), state.to_owned());
    move |m: &Value| {
        msg_type(m) == Some("participant_updated")
            && m.pointer("/participant/sid").and_then(Value::as_str) == Some(sid.as_str())
            && m.pointer("/participant/state").and_then(Value::as_str) == Some(state.as_str())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_stops_media_both_ways_and_resume_restarts_at_a_keyframe() {
    common::init_tracing();
    bounded(common::TEST_LIMIT, async {
        let room = ModerationRoom::start(ROOM).await?;
        let (a, b, m) = (&room.alice, &room.bob, &room.moderator);
        let (a_sid, b_sid) = (a.sid().to_owned(), b.sid().to_owned());

        let media = [
            received(&a, &b_sid, MediaKind::Audio),
            received(&a, &b_sid, MediaKind::Video),
            received(&b, &a_sid, MediaKind::Audio),
            received(&b, &a_sid, MediaKind::Video),
        ];
        let still_sending = [
            sent(&a, MediaKind::Audio),
            sent(&a, MediaKind::Video),
            sent(&b, MediaKind::Audio),
            sent(&b, MediaKind::Video),
        ];

        // 1. Hold alice.
        let (a_from, b_from) = (a.message_count(), b.message_count());
        let held_at = Instant::now();
        let view = moderate(
            &m,
            json!({"type": "moderate", "action": "hold", "identity": "alice"}),
        )
        .await
        .context("hold alice")?;
        ensure!(
            view.get("state") == Some(&json!("on_hold")),
            "moderate_result of hold must show alice on_hold: {view}"
        );
        a.wait_for_message_after(
            a_from,
            |m| is_msg(m, "on_hold", &[("by", json!(MODERATOR))]),
            MESSAGE_TIMEOUT,
        )
        .await
        .context("alice must get on_hold")?;
        a.wait_for_message_after(a_from, updated_state(&a_sid, "on_hold"), MESSAGE_TIMEOUT)
            .await
            .context("alice must get participant_updated (on_hold) about herself")?;
        b.wait_for_message_after(b_from, updated_state(&a_sid, "on_hold"), MESSAGE_TIMEOUT)
            .await
            .context("bob must see alice on_hold")?;

        sleep_until(held_at + STOP_WINDOW).await;
        let stopped = ensure_stalled("while alice is on hold", &media, &still_sending).await?;
        let requests_before = (keyframe_requests(&a), keyframe_requests(&b));

        // Transports stay up while on hold.
        for p in [&a, &b] {
            let s = p.connection_states();
            ensure!(
                s.publisher == RTCPeerConnectionState::Connected
                    && s.subscriber == RTCPeerConnectionState::Connected,
                "{}'s PCs must stay connected during the hold: {s:?}",
                p.identity()
            );
        }

        // 2. Resume.
        let (a_from, b_from) = (a.message_count(), b.message_count());
        let view = moderate(
            &m,
            json!({"type": "moderate", "action": "resume", "identity": "alice"}),
        )
        .await
        .context("resume alice")?;
        ensure!(
            view.get("state") == Some(&json!("connected")),
            "moderate_result of resume must show alice connected: {view}"
        );
        a.wait_for_message_after(
            a_from,
            |m| is_msg(m, "resumed", &[("by", json!(MODERATOR))]),
            MESSAGE_TIMEOUT,
        )
        .await
        .context("alice must get resumed")?;
        b.wait_for_message_after(b_from, updated_state(&a_sid, "connected"), MESSAGE_TIMEOUT)
            .await
            .context("bob must see alice connected again")?;
        // ~1 s of audio and of video, both ways.
        ensure_growing("after resume", &media, &stopped, 40, Duration::from_secs(8)).await?;

        // Video restarted at a keyframe the server asked each publisher for.
        let asked = wait_until(Duration::from_secs(2), || async {
            keyframe_requests(&a) > requests_before.0 && keyframe_requests(&b) > requests_before.1
        })
        .await;
        ensure!(
            asked,
            "after resume each publisher must get a keyframe request: alice {} -> {}, bob {} -> {}",
            requests_before.0,
            keyframe_requests(&a),
            requests_before.1,
            keyframe_requests(&b)
        );
        for (p, from) in [(&a, &b_sid), (&b, &a_sid)] {
            for kind in [MediaKind::Audio, MediaKind::Video] {
                let who = format!("{} <- {from} {kind}", p.identity());
                let t = latest_track(p, from, kind).with_context(|| format!("{who}: no track"))?;
                let gap = gap_at_least(&t, STOP_WINDOW)
                    .with_context(|| format!("{who}: no silence during the hold: {:?}", t.gaps))?;
                ensure!(
                    gap.seq_continuous,
                    "{who}: after resume the sequence numbers must continue at last + 1: {gap:?}"
                );
                if kind == MediaKind::Video {
                    ensure!(
                        gap.keyframe_start,
                        "{who}: video must resume with a keyframe: {gap:?}"
                    );
                }
                ensure!(
                    t.seq_discontinuities_after_keyframe == 0 && t.timestamp_regressions == 0,
                    "{who}: {} sequence discontinuities, {} timestamp regressions: {t:#?}",
                    t.seq_discontinuities_after_keyframe,
                    t.timestamp_regressions
                );
                ensure!(
                    t.stamps_bad == 0 && t.vp8_invalid == 0,
                    "{who}: payloads not intact: {t:#?}"
                );
            }
        }
        for p in [&a, &b] {
            let s = p.connection_states();
            ensure!(
                s.publisher_history
                    .iter()
                    .filter(|st| **st == RTCPeerConnectionState::Connected)
                    .count()
                    == 1
                    && s.subscriber_history
                        .iter()
                        .filter(|st| **st == RTCPeerConnectionState::Connected)
                        .count()
                        == 1,
                "{}'s PCs must not have reconnected: {s:?}",
                p.identity()
            );
        }
        drop((media, still_sending));
        room.finish().await?;
        Ok(())
    })
    .await;
}
