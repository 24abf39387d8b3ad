//! A moderator mutes a participant's audio: the server stops forwarding it within a second
//! (its video keeps flowing), everyone sees `track_muted` naming the moderator, the participant
//! cannot unmute it itself (`permission_denied`), and a moderator's `unmute` only asks
//! (`unmute_requested`); once the participant accepts, its audio flows again with sequence
//! numbers continuing without a gap and timestamps advanced by the pause. A participant without
//! `room_admin` cannot moderate.

mod common;

use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use common::{
    bounded, ensure_growing, ensure_stalled, expect_error, gap_at_least, is_msg, latest_track,
    moderate, own_track_sid, received, sample, sent, sleep_until, ModerationRoom,
    MESSAGE_TIMEOUT, MODERATOR, STOP_WINDOW,
};
use serde_json::{json, Value};
use switchboard_tests::{msg_type, MediaKind};

const ROOM: &str = "moderation-mute";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderator_mute_is_enforced_and_unmute_needs_consent() {
    common::init_tracing();
    bounded(common::TEST_LIMIT, async {
        let room = ModerationRoom::start(ROOM).await?;
        let (a, b, m) = (&room.alice, &room.bob, &room.moderator);
        let a_sid = a.sid().to_owned();
        let a_audio = own_track_sid(&a, MediaKind::Audio).await?;
        let a_video = own_track_sid(&a, MediaKind::Video).await?;
        let b_audio_track =
            latest_track(&b, &a_sid, MediaKind::Audio).context("bob's audio track")?;
        ensure!(
            b_audio_track.track_id == a_audio,
            "bob's track from alice has msid track id {} but alice's audio is {a_audio}",
            b_audio_track.track_id
        );

        let track_muted = |track: &str, muted: bool, by: Value| {
            let (sid, track) = (a_sid.clone(), track.to_owned());
            move |m: &Value| {
                is_msg(
                    m,
                    "track_muted",
                    &[
                        ("participant", json!(sid)),
                        ("track", json!(track)),
                        ("muted", json!(muted)),
                        ("by", by.clone()),
                    ],
                )
            }
        };

        // 1. The moderator mutes alice's audio.
        let (a_from, b_from) = (a.message_count(), b.message_count());
        let muted_at = Instant::now();
        let view = moderate(
            &m,
            json!({"type": "moderate", "action": "mute", "identity": "alice", "kind": "audio"}),
        )
        .await
        .context("mute alice's audio")?;
        let track_view = view
            .get("tracks")
            .and_then(Value::as_array)
            .and_then(|ts| ts.iter().find(|t| t.get("sid") == Some(&json!(a_audio))))
            .with_context(|| {
                format!("moderate_result of mute lacks alice's audio track: {view}")
            })?;
        ensure!(
            track_view.get("muted") == Some(&json!(true))
                && track_view.get("muted_by") == Some(&json!(MODERATOR)),
            "moderate_result of mute must show the audio muted by {MODERATOR}: {view}"
        );
        a.wait_for_message_after(
            a_from,
            track_muted(&a_audio, true, json!(MODERATOR)),
            MESSAGE_TIMEOUT,
        )
        .await
        .context("alice must be told her audio was muted by the moderator")?;
        b.wait_for_message_after(
            b_from,
            track_muted(&a_audio, true, json!(MODERATOR)),
            MESSAGE_TIMEOUT,
        )
        .await
        .context("bob must see alice's audio muted by the moderator")?;

        sleep_until(muted_at + STOP_WINDOW).await;
        let audio = [received(&b, &a_sid, MediaKind::Audio)];
        let controls = [
            received(&b, &a_sid, MediaKind::Video),
            sent(&a, MediaKind::Audio),
        ];
        let stopped_at = ensure_stalled("after mute", &audio, &controls).await?;

        // 2. Alice may not unmute what a moderator muted.
        let err = expect_error(
            &a,
            json!({"type": "set_track_muted", "track": a_audio, "muted": false}),
        )
        .await?;
        ensure!(
            err.get("code") == Some(&json!("permission_denied")),
            "unmuting a moderator-muted track must be refused with permission_denied: {err}"
        );

        // 3. Bob (no room_admin) may not moderate.
        let err = expect_error(
            &b,
            json!({"type": "moderate", "action": "mute", "identity": "alice", "kind": "video"}),
        )
        .await?;
        ensure!(
            err.get("code") == Some(&json!("permission_denied")),
            "`moderate` without room_admin must be refused with permission_denied: {err}"
        );

        let now = ensure_stalled("after the refused self-unmute", &audio, &controls).await?;
        ensure!(
            now == stopped_at,
            "alice's audio reached bob again after her refused unmute: {stopped_at:?} -> {now:?}"
        );

        // 4. The moderator's unmute only asks alice.
        let a_from = a.message_count();
        moderate(
            &m,
            json!({"type": "moderate", "action": "unmute", "identity": "alice", "kind": "audio"}),
        )
        .await
        .context("unmute alice's audio")?;
        let req = a
            .wait_for_message_after(
                a_from,
                |m| {
                    is_msg(
                        m,
                        "unmute_requested",
                        &[("track", json!(a_audio)), ("by", json!(MODERATOR))],
                    )
                },
                MESSAGE_TIMEOUT,
            )
            .await
            .context("alice must be asked to unmute")?;
        tracing::info!("unmute request: {req}");
        let now = ensure_stalled(
            "after the unmute request (not yet accepted)",
            &audio,
            &controls,
        )
        .await?;
        ensure!(
            now == stopped_at,
            "alice's audio flows again before she accepted the unmute: {stopped_at:?} -> {now:?}"
        );

        // 5. Alice accepts: her audio flows again, continuing the same numbering.
        let (a_from, b_from) = (a.message_count(), b.message_count());
        let base_counts = sample(&audio);
        a.send(json!({"type": "unmute_response", "track": a_audio, "accept": true}))
            .await?;
        a.wait_for_message_after(
            a_from,
            track_muted(&a_audio, false, Value::Null),
            MESSAGE_TIMEOUT,
        )
        .await
        .context("alice must see her audio unmuted (by: null)")?;
        b.wait_for_message_after(
            b_from,
            track_muted(&a_audio, false, Value::Null),
            MESSAGE_TIMEOUT,
        )
        .await
        .context("bob must see alice's audio unmuted")?;
        ensure_growing(
            "after the accepted unmute",
            &audio,
            &base_counts,
            25,
            Duration::from_secs(5),
        )
        .await?;

        let t = latest_track(&b, &a_sid, MediaKind::Audio).context("bob's audio from alice")?;
        ensure!(
            t.track_id == a_audio,
            "after the unmute bob receives a different audio track: {t:#?}"
        );
        let gap = gap_at_least(&t, STOP_WINDOW).with_context(|| {
            format!(
                "bob's audio from alice shows no silence of {STOP_WINDOW:?}: {:?}",
                t.gaps
            )
        })?;
        ensure!(
            gap.seq_continuous,
            "after the unmute the sequence numbers must continue at last + 1: {gap:?}"
        );
        ensure!(
            t.seq_discontinuities_after_keyframe == 0 && t.seq_backwards == 0,
            "bob's audio from alice has {} sequence discontinuities ({} gap packets, {} backwards)",
            t.seq_discontinuities_after_keyframe,
            t.seq_gap_packets,
            t.seq_backwards
        );
        ensure!(
            t.timestamp_regressions == 0,
            "bob's audio from alice went back in RTP time {} times",
            t.timestamp_regressions
        );
        // The timestamp jump covers the silence (48 kHz), so a receiver keeps its timing.
        let silence_ticks = gap.silence.as_secs_f64() * 48_000.0;
        let slack = 0.4 * 48_000.0;
        ensure!(
            (gap.ts_delta as f64 - silence_ticks).abs() <= slack,
            "after {:?} of silence the RTP timestamp advanced {} ticks ({:.3} s): {gap:?}",
            gap.silence,
            gap.ts_delta,
            gap.ts_delta as f64 / 48_000.0
        );
        ensure!(
            t.stamps_bad == 0 && t.stamps_ok == t.packets,
            "bob's audio from alice is not intact: {t:#?}"
        );

        // Alice's video was never interrupted, and nobody muted it.
        let v = latest_track(&b, &a_sid, MediaKind::Video).context("bob's video from alice")?;
        ensure!(
            gap_at_least(&v, STOP_WINDOW).is_none(),
            "alice's video to bob stalled while only her audio was muted: {:?}",
            v.gaps
        );
        for p in [&a, &b, &m] {
            let muted_video: Vec<Value> = p
                .messages()
                .into_iter()
                .filter(|m| {
                    msg_type(m) == Some("track_muted") && m.get("track") == Some(&json!(a_video))
                })
                .collect();
            ensure!(
                muted_video.is_empty(),
                "{} saw alice's video (un)muted, though only her audio was: {muted_video:?}",
                p.identity()
            );
        }
        drop((audio, controls));
        room.finish().await?;
        Ok(())
    })
    .await;
}
