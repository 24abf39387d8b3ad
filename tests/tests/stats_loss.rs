//! Loss statistics and connection quality: a publisher skips every 5th packet of each track
//! after numbering it (a real 20 % gap in the sequence space, which its NACK responder cannot
//! repair since those packets never reached its PC). The admin API must show ≈20 % loss on both
//! its tracks and `connection_quality: poor`, and it must receive a `connection_quality` message
//! naming it as `poor`; a clean publisher in the same room must stay `excellent`/`good`, in the
//! admin API and in every `connection_quality` message.
//!
//! The clean participant does not subscribe (`can_subscribe: false`): a subscriber of the lossy
//! publisher receives the same sequence gaps (the SFU keeps the publisher's numbering, offset),
//! so its receiver reports would rightly show that loss on its own leg.

mod common;

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use common::{
    bounded, has_media_from, http_base, num_at, quality_updates, token_with, view_quality,
    view_track, AdminApi, MEDIA_TIMEOUT,
};
use serde_json::Value;
use switchboard_tests::{msg_type, MediaKind, ParticipantConfig, TestParticipant};

const ROOM: &str = "stats-loss";
const DROP_EVERY: u32 = 5;
const EXPECTED_LOSS: f64 = 100.0 / DROP_EVERY as f64;
const LOSS_TOLERANCE: f64 = 7.0;
/// How long the `poor` message may take: a few 2 s sampling intervals.
const QUALITY_TIMEOUT: Duration = Duration::from_secs(15);
/// Gap between the two admin API samples (longer than one sampling interval).
const SAMPLE_GAP: Duration = Duration::from_millis(2_200);

fn check_lossy_view(view: &Value, round: usize) -> Result<()> {
    for kind in [MediaKind::Audio, MediaKind::Video] {
        let t = view_track(view, kind)?;
        let loss = num_at(t, "/stats/loss_percent")
            .with_context(|| format!("sample {round}: lossy {kind} track has no stats"))?;
        ensure!(
            (loss - EXPECTED_LOSS).abs() <= LOSS_TOLERANCE,
            "sample {round}: lossy {kind} track: loss_percent {loss:.1}, expected \
             {EXPECTED_LOSS}±{LOSS_TOLERANCE} (every {DROP_EVERY}th packet is never sent): {t:#}"
        );
        let lost = num_at(t, "/stats/packets_lost")?;
        ensure!(
            lost > 0.0,
            "sample {round}: lossy {kind} track: packets_lost is {lost}: {t:#}"
        );
    }
    let q = view_quality(view);
    ensure!(
        q == "poor",
        "sample {round}: lossy participant's connection_quality is {q}, expected poor: {view:#}"
    );
    Ok(())
}

fn check_clean_view(view: &Value, round: usize) -> Result<()> {
    for kind in [MediaKind::Audio, MediaKind::Video] {
        let t = view_track(view, kind)?;
        let loss = num_at(t, "/stats/loss_percent")
            .with_context(|| format!("sample {round}: clean {kind} track has no stats"))?;
        ensure!(
            loss < 2.0,
            "sample {round}: clean {kind} track: loss_percent {loss:.1} on a loopback link: {t:#}"
        );
    }
    let q = view_quality(view);
    ensure!(
        q == "excellent" || q == "good",
        "sample {round}: clean participant's connection_quality is {q}, expected better than \
         poor: {view:#}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lossy_publisher_is_reported_poor() {
    common::init_tracing();
    bounded(common::TEST_LIMIT, async {
        let server = switchboard::testing::spawn_test_server()
            .await
            .expect("spawn test server");
        let base = http_base(server.http_addr());
        let api = AdminApi::new(&server);

        let clean_token = token_with(&server, ROOM, "clean", |c| {
            c.permissions.can_subscribe = false;
        });
        let mut clean = TestParticipant::join(&base, &clean_token)
            .await
            .context("clean joins")?;
        let lossy_config = ParticipantConfig {
            drop_every_nth: Some(DROP_EVERY),
            ..ParticipantConfig::default()
        };
        let mut lossy =
            TestParticipant::join_with(&base, &server.token(ROOM, "lossy"), lossy_config)
                .await
                .context("lossy joins")?;
        clean.publish().await.context("clean publishes")?;
        lossy.publish().await.context("lossy publishes")?;
        lossy
            .wait_for(|t| has_media_from(t, &[clean.sid()]), MEDIA_TIMEOUT)
            .await
            .context("lossy receives clean")?;

        // The WebSocket message naming the lossy participant as poor.
        let lossy_sid = lossy.sid().to_owned();
        lossy
            .wait_for_message(
                |m| {
                    msg_type(m) == Some("connection_quality")
                        && m.get("updates").and_then(Value::as_array).is_some_and(|u| {
                            u.iter().any(|u| {
                                u.get("participant").and_then(Value::as_str)
                                    == Some(lossy_sid.as_str())
                                    && u.get("quality").and_then(Value::as_str) == Some("poor")
                            })
                        })
                },
                QUALITY_TIMEOUT,
            )
            .await
            .context("no connection_quality message naming the lossy participant as poor")?;

        // Two admin API samples, more than a sampling interval apart: stable, not a blip.
        for round in 1..=2 {
            if round > 1 {
                tokio::time::sleep(SAMPLE_GAP).await;
            }
            let lossy_view = api.participant(ROOM, "lossy").await?;
            let clean_view = api.participant(ROOM, "clean").await?;
            check_lossy_view(&lossy_view, round)?;
            check_clean_view(&clean_view, round)?;
        }

        // The kit really dropped a fifth of its packets and sent the rest.
        for t in lossy.published() {
            let numbered = t.packets_sent + t.packets_dropped;
            ensure!(
                t.write_errors == 0
                    && numbered > 0
                    && t.packets_dropped.abs_diff(numbered / u64::from(DROP_EVERY)) <= 1,
                "lossy {} track: {} sent, {} dropped, {} write errors",
                t.kind,
                t.packets_sent,
                t.packets_dropped,
                t.write_errors
            );
        }

        // Nobody was ever told the clean participant was worse than good.
        let clean_sid = clean.sid().to_owned();
        for (who, p) in [("clean", &clean), ("lossy", &lossy)] {
            let bad: Vec<(String, String)> = quality_updates(p)
                .into_iter()
                .filter(|(sid, q)| *sid == clean_sid && q != "excellent" && q != "good")
                .collect();
            ensure!(
                bad.is_empty(),
                "{who} was told the clean participant ({clean_sid}) had quality {bad:?}; all \
                 connection_quality updates it received: {:?}",
                quality_updates(p)
            );
        }

        lossy.leave().await?;
        clean.leave().await?;
        let _ = server.shutdown().await;
        Ok(())
    })
    .await;
}
