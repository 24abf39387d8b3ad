//! Everyone leaves, each in a different way, and the server ends up with nothing: no room, no
//! participant, no media peer, no route, no demultiplexer entry, no session task. Others see a
//! departing participant as `participant_left`, whether it sent `leave` or its socket closed.

mod common;

use std::time::Duration;

use anyhow::{ensure, Context};
use common::{bounded, describe, has_media_from, http_base, is_empty, wait_until, MEDIA_TIMEOUT};
use serde_json::Value;
use switchboard_tests::{
    msg_type, ws_url, ParticipantConfig, RTCPeerConnectionState, SignalClient, TestParticipant,
};

/// Time the server gets to clean up after the last departure (ICE failure is ~3 s in the test
/// server, the empty-room timeout 0 s).
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(12);

fn left_message(sid: &str) -> impl Fn(&Value) -> bool + '_ {
    move |m: &Value| {
        msg_type(m) == Some("participant_left")
            && m.get("participant").and_then(Value::as_str) == Some(sid)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_way_of_leaving_frees_everything() {
    common::init_tracing();
    bounded(common::TEST_LIMIT, async {
        let server = switchboard::testing::spawn_test_server()
            .await
            .expect("spawn test server");
        let base = http_base(server.http_addr());
        let room = "cleanup";

        // Short client-side ICE timeouts, so a client notices quickly when the server stops
        // answering its connectivity checks.
        let quick_ice = ParticipantConfig {
            ice_timeouts: Some((
                Duration::from_secs(1),
                Duration::from_secs(3),
                Duration::from_millis(300),
            )),
            ..ParticipantConfig::default()
        };

        let mut leaver = TestParticipant::join(&base, &server.token(room, "leaver")).await?;
        let mut ws_dropper =
            TestParticipant::join_with(&base, &server.token(room, "ws-dropper"), quick_ice)
                .await?;
        let mut vanisher = TestParticipant::join(&base, &server.token(room, "vanisher")).await?;
        let mut observer = TestParticipant::join(&base, &server.token(room, "observer")).await?;
        for p in [&mut leaver, &mut ws_dropper, &mut vanisher, &mut observer] {
            let name = p.identity().to_owned();
            p.publish()
                .await
                .with_context(|| format!("{name} publishes"))?;
        }
        let all = [leaver.sid(), ws_dropper.sid(), vanisher.sid(), observer.sid()];
        for p in [&leaver, &ws_dropper, &vanisher, &observer] {
            let others: Vec<&str> = all.iter().copied().filter(|s| *s != p.sid()).collect();
            p.wait_for(|t| has_media_from(t, &others), MEDIA_TIMEOUT)
                .await
                .with_context(|| format!("{} receives everyone", p.identity()))?;
        }
        ws_dropper
            .wait_subscriber_connected(Duration::from_secs(5))
            .await?;

        // The counters count: otherwise "all zero" below would prove nothing.
        let busy = server.snapshot().await;
        ensure!(
            busy.rooms == 1 && busy.participants == 4,
            "expected 1 room with 4 participants: {}",
            describe(&busy)
        );
        ensure!(
            busy.media_peers > 0
                && busy.media_routes > 0
                && busy.demux_entries > 0
                && busy.session_tasks > 0,
            "a busy room must show media peers, routes, demux entries and session tasks: {}",
            describe(&busy)
        );

        let leaver_sid = leaver.sid().to_owned();
        let ws_dropper_sid = ws_dropper.sid().to_owned();
        let vanisher_sid = vanisher.sid().to_owned();

        // 1. `leave`: the server closes with 1000 and the others see reason "left".
        let code = leaver.leave().await?;
        ensure!(
            code == Some(1000),
            "after `leave` the server must close with 1000, got {code:?}"
        );
        let left = observer
            .wait_for_message(left_message(&leaver_sid), Duration::from_secs(5))
            .await?;
        ensure!(
            left.get("reason").and_then(Value::as_str) == Some("left"),
            "participant_left after `leave` must have reason \"left\": {left}"
        );

        // 2. WebSocket dropped abruptly (no close frame, no leave); its PCs keep running.
        ws_dropper.drop_websocket().await;
        let left = observer
            .wait_for_message(left_message(&ws_dropper_sid), Duration::from_secs(10))
            .await
            .context("a participant whose WebSocket closed must be seen as participant_left")?;
        ensure!(
            left.get("reason").and_then(Value::as_str).is_some_and(|r| !r.is_empty()),
            "participant_left needs a reason: {left}"
        );
        // Its media is torn down on the server: the client's PCs stop getting STUN answers.
        let torn_down = wait_until(Duration::from_secs(10), || async {
            let s = ws_dropper.connection_states();
            [s.publisher, s.subscriber].iter().all(|st| {
                matches!(
                    st,
                    RTCPeerConnectionState::Disconnected
                        | RTCPeerConnectionState::Failed
                        | RTCPeerConnectionState::Closed
                )
            })
        })
        .await;
        ensure!(
            torn_down,
            "the server kept the media of a participant whose WebSocket dropped: {:?}",
            ws_dropper.connection_states()
        );

        // 3. PCs closed first (DTLS close, no more STUN), then the WebSocket dropped.
        vanisher.close_peer_connections().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        vanisher.drop_abruptly().await;
        observer
            .wait_for_message(left_message(&vanisher_sid), Duration::from_secs(10))
            .await
            .context("the vanished participant must be seen as participant_left")?;

        // Nothing of the departed participants reaches the observer any more (the WebSocket
        // dropper's PCs and media pumps were still running when its socket went away).
        let departed = [&leaver_sid, &ws_dropper_sid, &vanisher_sid];
        let count = |tracks: &[switchboard_tests::ReceivedTrack]| -> u64 {
            tracks
                .iter()
                .filter(|t| departed.iter().any(|sid| t.stream_id == **sid))
                .map(|t| t.packets)
                .sum()
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = count(&observer.received());
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = count(&observer.received());
        ensure!(
            after == before,
            "media of departed participants still reaches the observer ({before} -> {after} packets)"
        );

        // Last one out, with `leave`.
        observer.leave().await?;
        ws_dropper.drop_abruptly().await;

        let clean = wait_until(CLEANUP_TIMEOUT, || async {
            is_empty(&server.snapshot().await)
        })
        .await;
        let last = server.snapshot().await;
        ensure!(
            clean,
            "server state not released within {CLEANUP_TIMEOUT:?}: {}",
            describe(&last)
        );
        ensure!(last.rooms == 0, "rooms left: {}", describe(&last));
        ensure!(last.participants == 0, "participants left: {}", describe(&last));
        ensure!(last.media_peers == 0, "media peers left: {}", describe(&last));
        ensure!(last.media_routes == 0, "media routes left: {}", describe(&last));
        ensure!(last.demux_entries == 0, "demux entries left: {}", describe(&last));
        ensure!(last.session_tasks == 0, "session tasks left: {}", describe(&last));

        let _ = server.shutdown().await;
        Ok(())
    })
    .await;
}

/// A client that closes its WebSocket cleanly (close frame, no `leave`) is `participant_left`
/// for the others, and the room is released once everyone is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_close_without_leave_is_participant_left() {
    common::init_tracing();
    bounded(common::TEST_LIMIT, async {
        let server = switchboard::testing::spawn_test_server()
            .await
            .expect("spawn test server");
        let base = http_base(server.http_addr());

        let (mut observer, _) =
            SignalClient::connect(&ws_url(&base, &server.token("ws-close", "observer"))).await?;
        let (closer, joined) =
            SignalClient::connect(&ws_url(&base, &server.token("ws-close", "closer"))).await?;
        let closer_sid = joined.participant.sid.clone();

        observer
            .recv_until(
                |m| {
                    msg_type(m) == Some("participant_joined")
                        && m.pointer("/participant/sid").and_then(Value::as_str)
                            == Some(closer_sid.as_str())
                },
                Duration::from_secs(5),
            )
            .await
            .context("observer must see participant_joined for the closer")?;

        closer.close(1000, "bye").await?;
        let left = observer
            .recv_until(
                |m| {
                    msg_type(m) == Some("participant_left")
                        && m.get("participant").and_then(Value::as_str)
                            == Some(closer_sid.as_str())
                },
                Duration::from_secs(5),
            )
            .await;
        ensure!(
            left.is_some(),
            "a participant whose WebSocket closed must be seen as participant_left"
        );
        drop(closer);

        observer.send(serde_json::json!({"type": "leave"})).await?;
        let closed = observer.wait_closed(Duration::from_secs(5)).await;
        ensure!(
            matches!(closed, Some((Some(1000), _))),
            "the server must close with 1000 after `leave`: {closed:?}"
        );

        let clean = wait_until(CLEANUP_TIMEOUT, || async {
            is_empty(&server.snapshot().await)
        })
        .await;
        let last = server.snapshot().await;
        ensure!(clean, "server state not released: {}", describe(&last));

        let _ = server.shutdown().await;
        Ok(())
    })
    .await;
}
