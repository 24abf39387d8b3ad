//! A moderator's mute holds on the person, not on one track: when the muted participant
//! reloads (a new session with the same identity) and publishes again, its new microphone
//! track starts muted and locked (`muted_by` the moderator), and nothing of it is forwarded;
//! its camera is not affected. Once a moderator's unmute takes effect (asked and accepted), the
//! next session publishes freely.

mod common;

use std::time::Duration;

use anyhow::{ensure, Context};
use common::{
    bounded, ensure_growing, ensure_stalled, has_media_from, moderate, own_track_sid, received,
    sample, sent, ModerationRoom, MEDIA_TIMEOUT, MODERATOR,
};
use serde_json::{json, Value};
use switchboard_tests::{MediaKind, ParticipantConfig, TestParticipant};

const ROOM: &str = "moderation-mute-lock";

/// Alice's own audio track from her `track_published`: (sid, muted, muted_by), checking that the
/// server calls it `microphone`.
async fn own_audio(p: &TestParticipant) -> anyhow::Result<(String, Value, Value)> {
    let sid = own_track_sid(p, MediaKind::Audio).await?;
    let msg = p
        .messages()
        .into_iter()
        .find(|m| m.pointer("/track/sid") == Some(&json!(sid)))
        .context("track_published of the audio track")?;
    ensure!(msg.pointer("/track/source") == Some(&json!("microphone")), "audio is the microphone: {msg}");
    Ok((
        sid,
        msg.pointer("/track/muted").cloned().unwrap_or_default(),
        msg.pointer("/track/muted_by").cloned().unwrap_or_default(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderator_mute_survives_a_rejoin_until_a_moderator_unmutes() {
    common::init_tracing();
    bounded(common::TEST_LIMIT, async {
        // alice and bob exchanging media, the moderator; alice will reload twice, so the
        // participants are taken out of the fixture.
        let room = ModerationRoom::start(ROOM).await?;
        let ModerationRoom { server, base, alice, bob, moderator: m, .. } = room;
        moderate(&m, json!({"type": "moderate", "action": "mute", "identity": "alice", "kind": "audio"})).await?;

        // Alice reloads: a new session, a new microphone track, which she declares as her
        // "screen" to slip past the lock; the server names audio `microphone` whatever the
        // client says, and locks by kind anyway.
        alice.drop_abruptly().await;
        let renamed = ParticipantConfig { audio_source: Some("screen".into()), ..ParticipantConfig::default() };
        let mut alice = TestParticipant::join_with(&base, &server.token(ROOM, "alice"), renamed)
            .await
            .context("alice rejoins")?;
        alice.publish().await?;
        let (track, muted, by) = own_audio(&alice).await?;
        ensure!(muted == json!(true) && by == json!(MODERATOR), "the new microphone starts muted by {MODERATOR}: {muted} {by}");
        alice
            .wait_for_message(|m| m["type"] == "track_muted" && m["track"] == json!(track) && m["by"] == json!(MODERATOR), common::MESSAGE_TIMEOUT)
            .await
            .context("alice is told her new microphone is muted by the moderator (her client locks the button)")?;
        let err = common::expect_error(&alice, json!({"type": "set_track_muted", "track": track, "muted": false})).await?;
        ensure!(err["code"] == "permission_denied", "alice cannot unmute it herself: {err}");
        let sid = alice.sid().to_owned();
        {
        // Her camera flows to Bob, her microphone does not, though she sends it.
        let video = [received(&bob, &sid, MediaKind::Video)];
        ensure_growing("alice's camera after the rejoin", &video, &sample(&video), 25, Duration::from_secs(5)).await?;
        let audio = [received(&bob, &sid, MediaKind::Audio)];
        let stalled = ensure_stalled("alice's locked microphone", &audio, &[sent(&alice, MediaKind::Audio)]).await?;
        ensure!(stalled == [0], "not one packet of the locked microphone reached bob: {stalled:?}");

        // A moderator's unmute, once Alice accepts it, lifts the lock for good.
        moderate(&m, json!({"type": "moderate", "action": "unmute", "identity": "alice", "kind": "audio"})).await?;
        alice
            .wait_for_message(|m| m["type"] == "unmute_requested" && m["track"] == json!(track), common::MESSAGE_TIMEOUT)
            .await
            .context("alice is asked to unmute")?;
        alice.send(json!({"type": "unmute_response", "track": track, "accept": true})).await?;
        ensure_growing("alice's microphone after the unmute", &audio, &sample(&audio), 25, Duration::from_secs(5)).await?;
        }
        alice.drop_abruptly().await;
        let mut alice = TestParticipant::join(&base, &server.token(ROOM, "alice")).await.context("alice rejoins again")?;
        alice.publish().await?;
        let (_, muted, _) = own_audio(&alice).await?;
        ensure!(muted == json!(false), "after the unmute a new microphone is not muted");
        let sid = alice.sid().to_owned();
        bob.wait_for(|t| has_media_from(t, &[&sid]), MEDIA_TIMEOUT).await?;
        {
            let audio = [received(&bob, &sid, MediaKind::Audio)];
            ensure_growing("alice's new microphone", &audio, &sample(&audio), 25, Duration::from_secs(5)).await?;
        }
        alice.leave().await?;
        bob.leave().await?;
        m.leave().await?;
        server.shutdown().await;
        Ok(())
    })
    .await;
}
