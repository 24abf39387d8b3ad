//! Active speakers from RFC 6464 audio levels: two audio publishers put the
//! `ssrc-audio-level` header extension on every packet, alice at -10 dBov (loud) and bob at
//! -80 dBov (silent). Both clients receive a `speakers` message listing alice first without
//! bob, and the admin API's room shows alice as `active_speaker`. Then the levels swap, and
//! within 3 s bob is the active speaker and the `speakers` list has bob first without alice.
//! The admin event stream records both changes of the dominant speaker as
//! `active_speaker_changed` events naming the loud participant: alice, then bob.

mod common;

use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use common::{bounded, http_base, track_from, AdminApi, MEDIA_TIMEOUT};
use serde_json::Value;
use switchboard_tests::{msg_type, MediaKind, ParticipantConfig, TestParticipant};

const ROOM: &str = "speakers";
/// -10 dBov.
const LOUD: u8 = 10;
/// -80 dBov.
const SILENT: u8 = 80;
/// How long the first `speakers` message / active speaker may take.
const FIRST_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the switch may take after the levels swap.
const SWAP_LIMIT: Duration = Duration::from_secs(3);

/// The participant sids of a `speakers` message, in order, if `m` is one.
fn speaker_sids(m: &Value) -> Option<Vec<String>> {
    if msg_type(m) != Some("speakers") {
        return None;
    }
    Some(
        m.get("speakers")?
            .as_array()?
            .iter()
            .map(|s| {
                s.get("participant")
                    .and_then(Value::as_str)
                    .unwrap_or("<missing>")
                    .to_owned()
            })
            .collect(),
    )
}

/// A `speakers` message with `first` first and without `absent`.
fn leads_without(m: &Value, first: &str, absent: &str) -> bool {
    speaker_sids(m).is_some_and(|l| {
        l.first().map(String::as_str) == Some(first) && !l.iter().any(|s| s == absent)
    })
}

/// Every `speakers` message of `p` from index `from` (exclusive of later ones) up to `to`.
fn speakers_messages(p: &TestParticipant, from: usize, to: usize) -> Vec<Value> {
    p.messages()
        .into_iter()
        .take(to)
        .skip(from)
        .filter(|m| msg_type(m) == Some("speakers"))
        .collect()
}

/// Polls the room's `active_speaker` until it is `want` or `deadline` passes; returns the last
/// value seen.
async fn wait_active_speaker(api: &AdminApi, want: &str, deadline: Instant) -> Result<Value> {
    loop {
        let room = api.room(ROOM).await?;
        let active = room.get("active_speaker").cloned().unwrap_or(Value::Null);
        if active == want {
            return Ok(active);
        }
        if Instant::now() >= deadline {
            bail!("active_speaker is {active}, expected {want:?}: {room:#}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn join(
    base: &str,
    server: &switchboard::RunningServer,
    identity: &str,
    level: u8,
) -> Result<TestParticipant> {
    let config = ParticipantConfig {
        publish_video: false,
        audio_level: Some(level),
        ..ParticipantConfig::default()
    };
    let mut p = TestParticipant::join_with(base, &server.token(ROOM, identity), config)
        .await
        .with_context(|| format!("{identity} joins"))?;
    p.publish()
        .await
        .with_context(|| format!("{identity} publishes"))?;
    let audio = p
        .published_track(MediaKind::Audio)
        .context("no audio track")?;
    ensure!(
        audio.audio_level_ext_id.is_some(),
        "{identity}: the audio-level extension was not negotiated: {audio:?}"
    );
    Ok(p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loudest_participant_is_the_active_speaker() {
    common::init_tracing();
    bounded(common::TEST_LIMIT, async {
        let server = switchboard::testing::spawn_test_server()
            .await
            .expect("spawn test server");
        let base = http_base(server.http_addr());
        let api = AdminApi::new(&server);

        let alice = join(&base, &server, "alice", LOUD).await?;
        let bob = join(&base, &server, "bob", SILENT).await?;
        let (a, b) = (alice.sid().to_owned(), bob.sid().to_owned());
        for (p, from) in [(&alice, &b), (&bob, &a)] {
            p.wait_for(
                |t| track_from(t, from, MediaKind::Audio).is_some_and(|t| t.packets >= 50),
                MEDIA_TIMEOUT,
            )
            .await
            .with_context(|| format!("{} receives audio", p.identity()))?;
        }

        // Phase 1: alice is loud, bob silent.
        for p in [&alice, &bob] {
            let m = p
                .wait_for_message(|m| leads_without(m, &a, &b), FIRST_TIMEOUT)
                .await
                .with_context(|| {
                    format!("{}: no speakers message listing alice ({a}) first without bob ({b})", p.identity())
                })?;
            let level = m.pointer("/speakers/0/level").and_then(Value::as_f64).unwrap_or(-1.0);
            ensure!(level > 0.0 && level <= 1.0, "speaker level out of range: {m}");
        }
        wait_active_speaker(&api, "alice", Instant::now() + FIRST_TIMEOUT).await?;

        // A participant at -80 dBov is never a speaker.
        let swap_from = [alice.message_count(), bob.message_count()];
        for (p, upto) in [(&alice, swap_from[0]), (&bob, swap_from[1])] {
            let with_bob: Vec<Value> = speakers_messages(p, 0, upto)
                .into_iter()
                .filter(|m| speaker_sids(m).is_some_and(|l| l.contains(&b)))
                .collect();
            ensure!(
                with_bob.is_empty(),
                "{}: bob at -{SILENT} dBov was listed as a speaker: {with_bob:?}",
                p.identity()
            );
        }

        // Phase 2: swap.
        let swapped_at = Instant::now();
        alice.set_audio_level(SILENT)?;
        bob.set_audio_level(LOUD)?;
        let deadline = swapped_at + SWAP_LIMIT;
        wait_active_speaker(&api, "bob", deadline)
            .await
            .context("after the swap, bob did not become the active speaker in time")?;
        for (p, from) in [(&alice, swap_from[0]), (&bob, swap_from[1])] {
            let left = deadline.saturating_duration_since(Instant::now());
            p.wait_for_message_after(from, |m| leads_without(m, &b, &a), left)
                .await
                .with_context(|| {
                    format!(
                        "{}: within {SWAP_LIMIT:?} of the swap, no speakers message listing bob first without alice",
                        p.identity()
                    )
                })?;
        }
        tracing::info!("switch took {:?}", swapped_at.elapsed());

        // The admin event stream (read back from the stored events) has the same dominant
        // speaker changes: alice (loud) first, then bob once the levels swapped, nothing else.
        let is_change = |e: &Value| {
            msg_type(e) == Some("active_speaker_changed") && e.get("room") == Some(&Value::from(ROOM))
        };
        let events = api
            .events_until(
                0,
                |evs| {
                    evs.iter()
                        .any(|e| is_change(e) && e.get("participant") == Some(&Value::from("bob")))
                },
                FIRST_TIMEOUT,
            )
            .await
            .context("the event stream has no active_speaker_changed for bob")?;
        let changes: Vec<(Value, Value)> = events
            .iter()
            .filter(|e| is_change(e))
            .map(|e| {
                let field = |p: &str| e.pointer(p).cloned().unwrap_or(Value::Null);
                (field("/participant"), field("/data/sid"))
            })
            .collect();
        ensure!(
            changes
                == [
                    (Value::from("alice"), Value::from(a.as_str())),
                    (Value::from("bob"), Value::from(b.as_str()))
                ],
            "active_speaker_changed events (participant, sid) should be alice ({a}) then bob ({b}): \
             {changes:?}"
        );

        alice.leave().await?;
        bob.leave().await?;
        let _ = server.shutdown().await;
        Ok(())
    })
    .await;
}
