//! Live permission changes and removal. Revoking `can_publish` withdraws the participant's
//! tracks (`track_unpublished`, forwarding stops, it is told through `participant_updated`, a
//! new `publish_offer` is refused); revoking `can_subscribe` stops everything it receives. A
//! removed participant gets `removed{reason}` and close 1000, and its token no longer admits it
//! (`token_revoked`, 4003); a ban refuses every new token of that identity (`banned`, 4003).

mod common;

use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use common::{
    bounded, ensure_stalled, expect_error, has_media_from, is_msg, moderate, own_track_sid,
    received, sent, sleep_until, ModerationRoom, MEDIA_TIMEOUT, MESSAGE_TIMEOUT, STOP_WINDOW,
};
use serde_json::{json, Value};
use switchboard_tests::{msg_type, ws_url, MediaKind, Message, SignalClient};

const ROOM: &str = "moderation-permissions";

fn permissions(can_publish: bool, can_subscribe: bool) -> Value {
    json!({
        "can_publish": can_publish,
        "can_publish_sources": [],
        "can_subscribe": can_subscribe,
        "can_publish_data": true,
        "hidden": false,
        "room_admin": false
    })
}

fn updated_permission(sid: &str, field: &str, value: bool) -> impl Fn(&Value) -> bool {
    let (sid, pointer) = (sid.to_owned(), format!("/participant/permissions/{field}"));
    move |m: &Value| {
        msg_type(m) == Some("participant_updated")
            && m.pointer("/participant/sid").and_then(Value::as_str) == Some(sid.as_str())
            && m.pointer(&pointer) == Some(&json!(value))
    }
}

/// Connects with `token` and expects `error{code}` followed by a close with 4003.
async fn expect_refused(base: &str, token: &str, code: &str) -> Result<()> {
    let mut client = SignalClient::connect_raw(&ws_url(base, token)).await?;
    let first = client.recv_message(MESSAGE_TIMEOUT).await;
    let Some(Message::Json(err)) = &first else {
        bail!("expected error{{code: {code}}} at connect, got {first:?}");
    };
    ensure!(
        is_msg(err, "error", &[("code", json!(code))]),
        "expected error{{code: {code}}} at connect, got {err}"
    );
    let closed = client.wait_closed(MESSAGE_TIMEOUT).await;
    ensure!(
        matches!(closed, Some((Some(4003), _))),
        "after error{{code: {code}}} the socket must close with 4003, got {closed:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permission_changes_apply_live_and_removal_revokes_the_token() {
    common::init_tracing();
    bounded(common::TEST_LIMIT, async {
        // alice and bob publishing, the moderator, and carol publishing too. Bob is removed
        // below, so the participants are taken out of the fixture and leave one by one.
        let room = ModerationRoom::start(ROOM).await?;
        let c = room.join_publishing(ROOM, "carol").await?;
        let ModerationRoom { server, base, alice: a, bob: b, moderator: m, bob_token: b_token, .. } = room;
        b.wait_for(|t| has_media_from(t, &[a.sid(), c.sid()]), MEDIA_TIMEOUT)
            .await
            .context("bob receives alice and carol")?;
        let (a_sid, b_sid, c_sid) = (a.sid().to_owned(), b.sid().to_owned(), c.sid().to_owned());
        let a_tracks = [
            own_track_sid(&a, MediaKind::Audio).await?,
            own_track_sid(&a, MediaKind::Video).await?,
        ];

        // 1. Alice may no longer publish.
        let (a_from, b_from) = (a.message_count(), b.message_count());
        let changed_at = Instant::now();
        let view = moderate(
            &m,
            json!({"type": "moderate", "action": "update_permissions", "identity": "alice",
                   "permissions": permissions(false, true)}),
        )
        .await
        .context("revoke alice's can_publish")?;
        ensure!(
            view.pointer("/permissions/can_publish") == Some(&json!(false)),
            "moderate_result must show alice's new permissions: {view}"
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
        a.wait_for_message_after(
            a_from,
            updated_permission(&a_sid, "can_publish", false),
            MESSAGE_TIMEOUT,
        )
        .await
        .context("alice must get participant_updated with can_publish false")?;
        sleep_until(changed_at + STOP_WINDOW).await;
        let from_alice = [
            received(&b, &a_sid, MediaKind::Audio),
            received(&b, &a_sid, MediaKind::Video),
        ];
        let controls = [
            received(&b, &c_sid, MediaKind::Audio),
            received(&b, &c_sid, MediaKind::Video),
            sent(&a, MediaKind::Audio),
        ];
        ensure_stalled("after revoking alice's can_publish", &from_alice, &controls).await?;
        drop((from_alice, controls));
        let err = expect_error(&a, json!({"type": "publish_offer", "sdp": "v=0\r\n"})).await?;
        ensure!(
            err.get("code") == Some(&json!("permission_denied")),
            "a publish_offer without can_publish must be refused with permission_denied: {err}"
        );

        // 2. Bob may no longer subscribe.
        let b_from = b.message_count();
        let changed_at = Instant::now();
        moderate(
            &m,
            json!({"type": "moderate", "action": "update_permissions", "identity": "bob",
                   "permissions": permissions(true, false)}),
        )
        .await
        .context("revoke bob's can_subscribe")?;
        b.wait_for_message_after(
            b_from,
            updated_permission(&b_sid, "can_subscribe", false),
            MESSAGE_TIMEOUT,
        )
        .await
        .context("bob must get participant_updated with can_subscribe false")?;
        sleep_until(changed_at + STOP_WINDOW).await;
        let from_carol = [
            received(&b, &c_sid, MediaKind::Audio),
            received(&b, &c_sid, MediaKind::Video),
        ];
        let controls = [
            received(&a, &c_sid, MediaKind::Audio),
            received(&a, &c_sid, MediaKind::Video),
            sent(&c, MediaKind::Audio),
        ];
        ensure_stalled("after revoking bob's can_subscribe", &from_carol, &controls).await?;
        drop((from_carol, controls));

        // 3. Remove bob: `removed{reason}`, close 1000, and his token is spent.
        let a_from = a.message_count();
        moderate(
            &m,
            json!({"type": "moderate", "action": "remove", "identity": "bob", "reason": "bye"}),
        )
        .await
        .context("remove bob")?;
        b.wait_for_message(
            |m| is_msg(m, "removed", &[("reason", json!("bye"))]),
            MESSAGE_TIMEOUT,
        )
        .await
        .context("bob must get removed{reason: bye}")?;
        let closed =
            common::wait_until(MESSAGE_TIMEOUT, || async { b.close_info().is_some() }).await;
        ensure!(
            closed && matches!(b.close_info(), Some((Some(1000), _))),
            "a removed participant's socket must close with 1000, got {:?}",
            b.close_info()
        );
        let left = a
            .wait_for_message_after(
                a_from,
                |m| is_msg(m, "participant_left", &[("participant", json!(b_sid))]),
                MESSAGE_TIMEOUT,
            )
            .await
            .context("alice must see bob leave")?;
        ensure!(
            left.get("reason") == Some(&json!("removed")),
            "participant_left of a removed participant must have reason \"removed\": {left}"
        );
        expect_refused(&base, &b_token, "token_revoked")
            .await
            .context("bob's old token after his removal")?;

        // 4. A new token still admits bob (a removal is not a ban) ...
        let (mut b2, _joined) = SignalClient::connect(&ws_url(&base, &server.token(ROOM, "bob")))
            .await
            .context("bob with a new token must be admitted after a plain removal")?;
        // ... until he is removed with a ban: then no token of his gets in.
        moderate(
            &m,
            json!({"type": "moderate", "action": "remove", "identity": "bob", "ban": true}),
        )
        .await
        .context("remove and ban bob")?;
        let removed = b2.recv_type("removed", MESSAGE_TIMEOUT).await;
        ensure!(removed.is_some(), "banned bob must get `removed`");
        let closed = b2.wait_closed(MESSAGE_TIMEOUT).await;
        ensure!(
            matches!(closed, Some((Some(1000), _))),
            "a banned participant's socket must close with 1000, got {closed:?}"
        );
        expect_refused(&base, &server.token(ROOM, "bob"), "banned")
            .await
            .context("a new token of a banned identity")?;

        for p in [&a, &c, &m] {
            ensure!(
                p.errors().is_empty(),
                "{}: client errors {:?}",
                p.identity(),
                p.errors()
            );
        }
        drop(b);
        a.leave().await?;
        c.leave().await?;
        m.leave().await?;
        let _ = server.shutdown().await;
        Ok(())
    })
    .await;
}
