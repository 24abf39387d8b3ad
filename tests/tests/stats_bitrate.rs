//! Per-track statistics of the admin API against known traffic: a publisher sends constant
//! video (50 frames/s × 2 packets × 1000 payload bytes = 100 packets/s, 800 kbit/s of payload)
//! and audio (50 packets/s × 100 bytes = 40 kbit/s); after a few sampling intervals the admin
//! API must report, for each published track, the payload bitrate and packet rate the kit
//! actually sent (±20 %), and the same for the subscriber's legs of those tracks; both
//! participants' connection quality is `excellent` or `good`.
//!
//! The server's `bitrate_bps` counts RTP payload bytes (the rtc stats' `bytes_received` /
//! `bytes_sent` exclude headers), so it is compared with the payload bytes the kit handed to its
//! PC over a window that contains the server's last sampling interval.

mod common;

use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use common::{
    bounded, has_media_from, http_base, num_at, view_quality, view_subscription, view_track,
    within, AdminApi, MEDIA_TIMEOUT,
};
use serde_json::Value;
use switchboard_tests::{FixedVideoPackets, MediaKind, ParticipantConfig, TestParticipant};

const ROOM: &str = "stats-bitrate";
const VIDEO_FPS: u32 = 50;
const VIDEO_PACKETS_PER_FRAME: u32 = 2;
const VIDEO_PAYLOAD: usize = 1000;
const AUDIO_PAYLOAD: usize = 100;
/// Payload bitrates the configuration asks for.
const NOMINAL_VIDEO_BPS: f64 =
    (VIDEO_FPS * VIDEO_PACKETS_PER_FRAME) as f64 * VIDEO_PAYLOAD as f64 * 8.0;
const NOMINAL_AUDIO_BPS: f64 = 50.0 * AUDIO_PAYLOAD as f64 * 8.0;
/// Tolerance of the server's figures against what was sent.
const TOLERANCE: f64 = 0.20;
/// How long media flows between the two kit samples (three 2 s sampling intervals).
const WINDOW: Duration = Duration::from_secs(6);

/// What the kit sent on one track between two instants.
struct Sent {
    bps: f64,
    pps: f64,
}

struct KitSample {
    at: Instant,
    /// (payload bytes, packets) per kind.
    audio: (u64, u64),
    video: (u64, u64),
}

fn kit_sample(p: &TestParticipant) -> Result<KitSample> {
    let get = |kind| -> Result<(u64, u64)> {
        let t = p
            .published_track(kind)
            .with_context(|| format!("publisher has no {kind} track"))?;
        Ok((t.payload_bytes_sent, t.packets_sent))
    };
    Ok(KitSample {
        at: Instant::now(),
        audio: get(MediaKind::Audio)?,
        video: get(MediaKind::Video)?,
    })
}

fn sent_between(a: &KitSample, b: &KitSample, kind: MediaKind) -> Sent {
    let dt = b.at.duration_since(a.at).as_secs_f64();
    let (x, y) = match kind {
        MediaKind::Audio => (a.audio, b.audio),
        MediaKind::Video => (a.video, b.video),
    };
    Sent {
        bps: (y.0 - x.0) as f64 * 8.0 / dt,
        pps: (y.1 - x.1) as f64 / dt,
    }
}

/// Checks one stream's `stats` (a published track or a subscription) against what was sent.
fn check_stats(what: &str, stream: &Value, sent: &Sent) -> Result<()> {
    let bitrate =
        num_at(stream, "/stats/bitrate_bps").with_context(|| format!("{what}: no stats"))?;
    let pps = num_at(stream, "/stats/packets_per_second")?;
    ensure!(
        within(bitrate, sent.bps, TOLERANCE),
        "{what}: server reports bitrate_bps {bitrate:.0}, the kit sent {:.0} bit/s of payload \
         (±{:.0} % allowed): {stream:#}",
        sent.bps,
        TOLERANCE * 100.0
    );
    ensure!(
        within(pps, sent.pps, TOLERANCE),
        "{what}: server reports packets_per_second {pps:.1}, the kit sent {:.1}/s: {stream:#}",
        sent.pps
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_reports_the_bitrate_actually_sent() {
    common::init_tracing();
    bounded(common::TEST_LIMIT, async {
        let server = switchboard::testing::spawn_test_server()
            .await
            .expect("spawn test server");
        let base = http_base(server.http_addr());
        let api = AdminApi::new(&server);

        let config = ParticipantConfig {
            video_fps: VIDEO_FPS,
            fixed_video_packets: Some(FixedVideoPackets {
                packets_per_frame: VIDEO_PACKETS_PER_FRAME,
                payload_len: VIDEO_PAYLOAD,
            }),
            audio_payload_len: AUDIO_PAYLOAD,
            ..ParticipantConfig::default()
        };
        let mut publisher = TestParticipant::join_with(&base, &server.token(ROOM, "pub"), config)
            .await
            .context("pub joins")?;
        // The subscriber publishes nothing.
        let subscriber = TestParticipant::join(&base, &server.token(ROOM, "sub"))
            .await
            .context("sub joins")?;
        publisher.publish().await.context("pub publishes")?;
        subscriber
            .wait_for(|t| has_media_from(t, &[publisher.sid()]), MEDIA_TIMEOUT)
            .await
            .context("sub receives pub")?;

        let a = kit_sample(&publisher)?;
        tokio::time::sleep(WINDOW).await;
        let pub_view = api.participant(ROOM, "pub").await?;
        let sub_view = api.participant(ROOM, "sub").await?;
        let b = kit_sample(&publisher)?;

        let sent_video = sent_between(&a, &b, MediaKind::Video);
        let sent_audio = sent_between(&a, &b, MediaKind::Audio);
        // The kit must have sent about what it was configured for, or the comparison is moot.
        ensure!(
            within(sent_video.bps, NOMINAL_VIDEO_BPS, 0.25)
                && within(sent_audio.bps, NOMINAL_AUDIO_BPS, 0.25),
            "the kit did not keep its rate (overloaded host?): video {:.0} bit/s (nominal \
             {NOMINAL_VIDEO_BPS}), audio {:.0} bit/s (nominal {NOMINAL_AUDIO_BPS})",
            sent_video.bps,
            sent_audio.bps
        );
        for t in publisher.published() {
            ensure!(
                t.write_errors == 0 && t.packets_dropped == 0,
                "publisher {} track: write errors or drops: {t:?}",
                t.kind
            );
        }

        // Published tracks, as received by the server.
        let video = view_track(&pub_view, MediaKind::Video)?;
        let audio = view_track(&pub_view, MediaKind::Audio)?;
        println!(
            "kit sent video {:.0} bit/s {:.1} pkt/s, audio {:.0} bit/s {:.1} pkt/s; server: \
             video {}, audio {}",
            sent_video.bps,
            sent_video.pps,
            sent_audio.bps,
            sent_audio.pps,
            video.get("stats").unwrap_or(&Value::Null),
            audio.get("stats").unwrap_or(&Value::Null)
        );
        check_stats("pub video track", video, &sent_video)?;
        check_stats("pub audio track", audio, &sent_audio)?;
        let fps = num_at(video, "/stats/frames_per_second")?;
        ensure!(
            within(fps, f64::from(VIDEO_FPS), TOLERANCE),
            "pub video track: frames_per_second {fps:.1}, the kit sends {VIDEO_FPS}: {video:#}"
        );
        ensure!(
            video.pointer("/stats/frame_width") == Some(&Value::from(320))
                && video.pointer("/stats/frame_height") == Some(&Value::from(240)),
            "pub video track: frame size is not the 320x240 of the keyframes: {video:#}"
        );
        for (what, t) in [("video", video), ("audio", audio)] {
            let loss = num_at(t, "/stats/loss_percent")?;
            ensure!(
                loss < 2.0,
                "pub {what} track: {loss:.1} % loss on a clean loopback link: {t:#}"
            );
        }

        // The subscriber's legs of those tracks.
        for (what, track, sent) in [("video", video, &sent_video), ("audio", audio, &sent_audio)] {
            let sid = track
                .get("sid")
                .and_then(Value::as_str)
                .context("track without sid")?;
            let sub = view_subscription(&sub_view, sid)?;
            ensure!(
                sub.get("publisher").and_then(Value::as_str) == Some("pub"),
                "sub's subscription to pub's {what} names another publisher: {sub:#}"
            );
            check_stats(&format!("sub's subscription to pub's {what}"), sub, sent)?;
            // RTT from the subscriber's receiver reports (LSR/DLSR against our sender reports).
            let rtt = sub.pointer("/stats/rtt_ms").and_then(Value::as_f64);
            ensure!(
                rtt.is_some_and(|r| (0.0..200.0).contains(&r)),
                "sub's subscription to pub's {what}: rtt_ms {rtt:?} on loopback: {sub:#}"
            );
        }

        for (who, view) in [("pub", &pub_view), ("sub", &sub_view)] {
            let q = view_quality(view);
            ensure!(
                q == "excellent" || q == "good",
                "{who}: connection_quality {q} on a clean loopback link: {view:#}"
            );
        }

        publisher.leave().await?;
        subscriber.leave().await?;
        let _ = server.shutdown().await;
        Ok(())
    })
    .await;
}
