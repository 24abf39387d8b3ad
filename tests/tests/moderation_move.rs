//! A moderator moves a participant to another room on the same PeerConnections: the old room
//! sees it leave (`moved`), the new room sees it join, it gets `moved`; afterwards it exchanges
//! media with the new room only, and its PCs never reconnect.

mod common;

use std::time::Instant;

use anyhow::{ensure, Context};
use common::{
    bounded, check_media_from, ensure_stalled, has_media_from, is_msg, moderate, own_track_sid,
    received, sent, sleep_until, ModerationRoom, MEDIA_TIMEOUT, MESSAGE_TIMEOUT, STOP_WINDOW,
};
use serde_json::{json, Value};
use switchboard_tests::{msg_type, MediaKind, RTCPeerConnectionState};

const R1: &str = "r1";
const R2: &str = "r2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_participant_keeps_its_pcs_and_swaps_rooms() {
    common::init_tracing();
    bounded(common::TEST_LIMIT, async {
        // alice, bob and the moderator in r1 (alice and bob exchanging media); carol in r2.
        let room = ModerationRoom::start(R1).await?;
        let c = room.join_publishing(R2, "carol").await?;
        let (a, b, m) = (&room.alice, &room.bob, &room.moderator);
        ensure!(
            c.received().is_empty(),
            "carol (r2) must receive nothing from r1 before the move: {:#?}",
            c.received()
        );
        let (a_sid, b_sid, c_sid) = (a.sid().to_owned(), b.sid().to_owned(), c.sid().to_owned());
        let a_tracks = [
            own_track_sid(&a, MediaKind::Audio).await?,
            own_track_sid(&a, MediaKind::Video).await?,
        ];
        let offers_before = a.subscribe_offers_answered();

        // Move alice to r2.
        let (a_from, b_from, c_from) = (a.message_count(), b.message_count(), c.message_count());
        let moved_at = Instant::now();
        let view = moderate(
            &m,
            json!({"type": "moderate", "action": "move", "identity": "alice", "to_room": R2}),
        )
        .await
        .context("move alice to r2")?;
        ensure!(
            view.get("sid") == Some(&json!(a_sid)),
            "moderate_result of move must describe alice: {view}"
        );

        let left = b
            .wait_for_message_after(
                b_from,
                |m| is_msg(m, "participant_left", &[("participant", json!(a_sid))]),
                MESSAGE_TIMEOUT,
            )
            .await
            .context("bob must see alice leave r1")?;
        ensure!(
            left.get("reason") == Some(&json!("moved"))
                && left.get("identity") == Some(&json!("alice")),
            "participant_left for a move must have reason \"moved\": {left}"
        );
        for track in &a_tracks {
            b.wait_for_message_after(
                b_from,
                |m| {
                    is_msg(
                        m,
                        "track_unpublished",
                        &[("participant", json!(a_sid)), ("track", json!(track))],
                    )
                },
                MESSAGE_TIMEOUT,
            )
            .await
            .context("bob must see alice's tracks unpublished")?;
        }
        let joined = c
            .wait_for_message_after(
                c_from,
                |m| {
                    msg_type(m) == Some("participant_joined")
                        && m.pointer("/participant/identity") == Some(&json!("alice"))
                },
                MESSAGE_TIMEOUT,
            )
            .await
            .context("carol must see alice join r2")?;
        ensure!(
            joined.pointer("/participant/sid") == Some(&json!(a_sid)),
            "a moved participant keeps its sid: {joined}"
        );
        let moved = a
            .wait_for_message_after(a_from, |m| msg_type(m) == Some("moved"), MESSAGE_TIMEOUT)
            .await
            .context("alice must get `moved`")?;
        ensure!(
            moved.pointer("/room/name") == Some(&json!(R2)),
            "`moved` must name room r2: {moved}"
        );
        let others: Vec<&str> = moved
            .get("participants")
            .and_then(Value::as_array)
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| p.get("sid").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        ensure!(
            others == [c_sid.as_str()],
            "`moved` must list r2's participants (carol only): {moved}"
        );

        // Media: alice <-> carol now, nothing between alice and bob.
        c.wait_for(|t| has_media_from(t, &[&a_sid]), MEDIA_TIMEOUT)
            .await
            .context("carol receives alice after the move")?;
        a.wait_for(|t| has_media_from(t, &[&c_sid]), MEDIA_TIMEOUT)
            .await
            .context("alice receives carol after the move")?;
        sleep_until(moved_at + STOP_WINDOW).await;
        let cut = [
            received(&b, &a_sid, MediaKind::Audio),
            received(&b, &a_sid, MediaKind::Video),
            received(&a, &b_sid, MediaKind::Audio),
            received(&a, &b_sid, MediaKind::Video),
            received(&c, &b_sid, MediaKind::Audio),
            received(&c, &b_sid, MediaKind::Video),
        ];
        let flowing = [
            received(&c, &a_sid, MediaKind::Audio),
            received(&c, &a_sid, MediaKind::Video),
            received(&a, &c_sid, MediaKind::Audio),
            received(&a, &c_sid, MediaKind::Video),
            sent(&b, MediaKind::Audio),
        ];
        ensure_stalled("after the move", &cut, &flowing).await?;

        let at_c = c.received();
        check_media_from(&c, &at_c, &a)?;
        ensure!(
            at_c.iter().all(|t| t.stream_id == a_sid),
            "carol must receive alice only: {at_c:#?}"
        );
        check_media_from(&a, &a.received(), &c)?;
        for (p, from) in [(&c, &a_sid), (&a, &c_sid)] {
            for t in p
                .received()
                .iter()
                .filter(|t| &t.stream_id == from && t.kind == MediaKind::Video)
            {
                ensure!(
                    t.started_with_keyframe == Some(true),
                    "{}'s new video from {from} must start at a keyframe: {t:#?}",
                    p.identity()
                );
            }
        }
        ensure!(
            a.subscribe_offers_answered() > offers_before,
            "alice's subscriber PC must have been renegotiated after the move"
        );

        // Same PeerConnections: connected once, never dropped.
        let s = a.connection_states();
        let once = |h: &[RTCPeerConnectionState]| {
            h.iter()
                .filter(|st| **st == RTCPeerConnectionState::Connected)
                .count()
                == 1
                && !h.iter().any(|st| {
                    matches!(
                        st,
                        RTCPeerConnectionState::Disconnected
                            | RTCPeerConnectionState::Failed
                            | RTCPeerConnectionState::Closed
                    )
                })
        };
        ensure!(
            s.publisher == RTCPeerConnectionState::Connected
                && s.subscriber == RTCPeerConnectionState::Connected
                && once(&s.publisher_history)
                && once(&s.subscriber_history),
            "alice's PCs must stay up through the move: {s:?}"
        );
        ensure!(
            a.close_info().is_none(),
            "alice's WebSocket must stay open: {:?}",
            a.close_info()
        );
        drop((cut, flowing));
        ModerationRoom::ensure_no_client_errors(&[&c])?;
        c.leave().await?;
        room.finish().await?;
        Ok(())
    })
    .await;
}
