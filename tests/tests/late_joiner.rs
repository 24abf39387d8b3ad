//! A and B publish for ~2 s, then C joins (receive-only). C receives the existing tracks, its
//! video starts at a keyframe, and a keyframe request (PLI/FIR) reached each publisher after C
//! joined. The publishers send keyframes only when asked (no periodic keyframes), so C sees
//! video only if the server requests one.

mod common;

use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use common::{bounded, check_media_from, check_no_echo, has_media_from, http_base, MEDIA_TIMEOUT};
use switchboard_tests::{MediaKind, ParticipantConfig, TestParticipant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_joiner_gets_existing_tracks_starting_at_a_keyframe() {
    common::init_tracing();
    bounded(common::TEST_LIMIT, async {
        let server = switchboard::testing::spawn_test_server()
            .await
            .expect("spawn test server");
        let base = http_base(server.http_addr());
        let publisher_config = ParticipantConfig {
            keyframe_interval: None,
            ..ParticipantConfig::default()
        };

        let mut a = TestParticipant::join_with(
            &base,
            &server.token("late-joiner", "alice"),
            publisher_config.clone(),
        )
        .await
        .context("alice joins")?;
        let mut b = TestParticipant::join_with(
            &base,
            &server.token("late-joiner", "bob"),
            publisher_config,
        )
        .await
        .context("bob joins")?;
        a.publish().await.context("alice publishes")?;
        b.publish().await.context("bob publishes")?;
        a.wait_for(|t| has_media_from(t, &[b.sid()]), MEDIA_TIMEOUT)
            .await
            .context("alice receives bob")?;
        b.wait_for(|t| has_media_from(t, &[a.sid()]), MEDIA_TIMEOUT)
            .await
            .context("bob receives alice")?;
        // Publish for a while so the first keyframes are long gone.
        tokio::time::sleep(Duration::from_secs(2)).await;

        let requests = |p: &TestParticipant| {
            p.published_track(MediaKind::Video)
                .map(|t| t.plis_received + t.firs_received)
                .unwrap_or(0)
        };
        let keyframes = |p: &TestParticipant| {
            p.published_track(MediaKind::Video)
                .map(|t| t.keyframes_sent)
                .unwrap_or(0)
        };
        let (a_requests, b_requests) = (requests(&a), requests(&b));
        let (a_keyframes, b_keyframes) = (keyframes(&a), keyframes(&b));

        let joined_at = Instant::now();
        let c = TestParticipant::join(&base, &server.token("late-joiner", "carol"))
            .await
            .context("carol joins")?;
        ensure!(
            c.joined().participants.len() == 2,
            "carol's `joined` must list alice and bob: {:?}",
            c.joined().raw
        );
        for p in &c.joined().participants {
            ensure!(
                p.tracks.len() == 2,
                "carol's `joined` must list the 2 tracks of {}: {:?}",
                p.identity,
                c.joined().raw
            );
        }

        let tracks = c
            .wait_for(|t| has_media_from(t, &[a.sid(), b.sid()]), MEDIA_TIMEOUT)
            .await
            .context("carol receives alice and bob")?;
        ensure!(
            tracks.len() == 4,
            "carol must receive exactly 4 tracks: {tracks:#?}"
        );
        check_no_echo(&c, &tracks)?;
        check_media_from(&c, &tracks, &a)?;
        check_media_from(&c, &tracks, &b)?;

        for t in tracks.iter().filter(|t| t.kind == MediaKind::Video) {
            ensure!(
                t.started_with_keyframe == Some(true),
                "carol's video from {} must start at a keyframe: {t:#?}",
                t.stream_id
            );
            ensure!(
                t.seq_discontinuities == 0,
                "carol's video from {} has {} sequence discontinuities: {t:#?}",
                t.stream_id,
                t.seq_discontinuities
            );
            let delay = t.first_keyframe_at.unwrap().duration_since(joined_at);
            ensure!(
                delay < Duration::from_secs(10),
                "carol's first keyframe from {} took {delay:?}",
                t.stream_id
            );
        }

        ensure!(
            requests(&a) > a_requests,
            "no keyframe request reached alice after carol joined ({} before, {} now)",
            a_requests,
            requests(&a)
        );
        ensure!(
            requests(&b) > b_requests,
            "no keyframe request reached bob after carol joined ({} before, {} now)",
            b_requests,
            requests(&b)
        );
        ensure!(
            keyframes(&a) > a_keyframes && keyframes(&b) > b_keyframes,
            "publishers must have answered with keyframes"
        );

        c.leave().await?;
        a.leave().await?;
        b.leave().await?;
        let _ = server.shutdown().await;
        Ok(())
    })
    .await;
}
