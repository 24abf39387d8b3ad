//! A room with a lobby (created through the admin API): a joiner first gets `lobby_waiting` and
//! may only ping or leave; a moderator (`room_admin` skips the lobby) sees it in `list` with
//! state `lobby`, admits it (`admitted`, then `joined`, then media both ways), and denies a
//! second joiner (`denied`, then the socket closes with 1000).

mod common;

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use common::{
    bounded, check_media_from, has_media_from, http_base, is_msg, moderate, token_with,
    MEDIA_TIMEOUT, MESSAGE_TIMEOUT,
};
use serde_json::{json, Value};
use switchboard_tests::{
    msg_type, ws_url, Joined, Message, ParticipantConfig, SignalClient, TestParticipant,
};

const ROOM: &str = "lobbyroom";
const MODERATOR: &str = "mod";

/// Next JSON message on a raw connection (a close or silence is an error).
async fn next_json(client: &mut SignalClient, who: &str) -> Result<Value> {
    match client.recv_message(MESSAGE_TIMEOUT).await {
        Some(Message::Json(v)) => Ok(v),
        other => bail!("{who}: expected a JSON message, got {other:?}"),
    }
}

/// Connects `identity` to the lobby room and checks that the first message is `lobby_waiting`.
async fn enter_lobby(base: &str, token: &str, who: &str) -> Result<SignalClient> {
    let mut client = SignalClient::connect_raw(&ws_url(base, token)).await?;
    let first = next_json(&mut client, who).await?;
    ensure!(
        msg_type(&first) == Some("lobby_waiting")
            && first.get("protocol") == Some(&json!(1))
            && first.pointer("/room/name") == Some(&json!(ROOM)),
        "{who}: the first message in a lobby room must be lobby_waiting{{protocol: 1, room: {ROOM}}}, got {first}"
    );
    Ok(client)
}

/// The `list` entry of `identity`, if any.
fn listed<'a>(list: &'a Value, identity: &str) -> Option<&'a Value> {
    list.as_array()?
        .iter()
        .find(|p| p.get("identity") == Some(&json!(identity)))
}

fn saw_joined(p: &TestParticipant, identity: &str) -> bool {
    p.messages().iter().any(|m| {
        msg_type(m) == Some("participant_joined")
            && m.pointer("/participant/identity") == Some(&json!(identity))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lobby_admit_and_deny() {
    common::init_tracing();
    bounded(common::TEST_LIMIT, async {
        let server = switchboard::testing::spawn_test_server()
            .await
            .expect("spawn test server");
        let base = http_base(server.http_addr());

        // The room and its lobby setting come from the admin API. The test server closes empty
        // rooms at once, so the room gets an empty timeout to survive until someone joins.
        let admin = server.sign(&switchboard::auth::Claims::admin(
            server.api_key(),
            "tester",
            Duration::from_secs(3600),
        ));
        let response = reqwest::Client::new()
            .post(format!("{base}/api/v1/rooms"))
            .bearer_auth(&admin)
            .json(&json!({"name": ROOM, "lobby": true, "empty_timeout_s": 60}))
            .send()
            .await
            .context("POST /api/v1/rooms")?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        ensure!(
            status.as_u16() == 201,
            "POST /api/v1/rooms must create the lobby room (201): {status} {body}"
        );

        // The moderator skips the lobby, and publishes so the admitted joiner has media to get.
        let mod_token = token_with(&server, ROOM, MODERATOR, |c| {
            c.permissions.room_admin = true
        });
        let mut m = TestParticipant::join(&base, &mod_token)
            .await
            .context("a room_admin must join a lobby room directly (joined first)")?;
        m.publish().await.context("the moderator publishes")?;

        // 1. A joiner waits; meanwhile only ping (and leave) are accepted.
        let mut j = enter_lobby(&base, &server.token(ROOM, "joiner"), "joiner").await?;
        j.send(json!({"type": "ping", "ts": 7})).await?;
        let pong = next_json(&mut j, "joiner").await?;
        ensure!(
            is_msg(&pong, "pong", &[("ts", json!(7.0))])
                || is_msg(&pong, "pong", &[("ts", json!(7))]),
            "a lobby member's ping must be answered with pong{{ts: 7}}: {pong}"
        );
        j.send(json!({"type": "send_data", "payload": {"hello": "from the lobby"}}))
            .await?;
        let refused = next_json(&mut j, "joiner").await?;
        ensure!(
            msg_type(&refused) == Some("error"),
            "a lobby member's send_data must be refused with an error: {refused}"
        );

        let list = moderate(&m, json!({"type": "moderate", "action": "list"}))
            .await
            .context("list")?;
        let entry = listed(&list, "joiner")
            .with_context(|| format!("`list` must show the joiner waiting: {list}"))?;
        ensure!(
            entry.get("state") == Some(&json!("lobby")),
            "the waiting joiner must be listed with state lobby: {entry}"
        );
        ensure!(
            !saw_joined(&m, "joiner"),
            "the room must not announce a lobby member: {:?}",
            m.messages()
        );
        ensure!(
            !m.messages().iter().any(|v| msg_type(v) == Some("data")),
            "data from a lobby member reached the room: {:?}",
            m.messages()
        );

        // 2. Admit: `admitted`, then `joined`, then media both ways.
        let view = moderate(
            &m,
            json!({"type": "moderate", "action": "admit", "identity": "joiner"}),
        )
        .await
        .context("admit the joiner")?;
        ensure!(
            view.get("identity") == Some(&json!("joiner"))
                && view.get("state") != Some(&json!("lobby")),
            "moderate_result of admit must describe the admitted joiner: {view}"
        );
        let admitted = next_json(&mut j, "joiner").await?;
        ensure!(
            msg_type(&admitted) == Some("admitted"),
            "after admission the joiner's next message must be `admitted`, got {admitted}"
        );
        let joined = next_json(&mut j, "joiner").await?;
        let joined = Joined::parse(&joined).context("`joined` must follow `admitted`")?;
        ensure!(
            joined.room.name == ROOM && joined.participants.iter().any(|p| p.identity == MODERATOR),
            "the joiner's `joined` must name the room and list the moderator: {:?}",
            joined.raw
        );
        let mut j = TestParticipant::from_joined(j, joined, ParticipantConfig::default())
            .await
            .context("joiner's PCs")?;
        j.publish().await.context("the admitted joiner publishes")?;
        m.wait_for_message(
            |v| {
                msg_type(v) == Some("participant_joined")
                    && v.pointer("/participant/identity") == Some(&json!("joiner"))
            },
            MESSAGE_TIMEOUT,
        )
        .await
        .context("the room must see the admitted joiner join")?;
        j.wait_for(|t| has_media_from(t, &[m.sid()]), MEDIA_TIMEOUT)
            .await
            .context("the admitted joiner receives the moderator")?;
        m.wait_for(|t| has_media_from(t, &[j.sid()]), MEDIA_TIMEOUT)
            .await
            .context("the moderator receives the admitted joiner")?;
        check_media_from(&j, &j.received(), &m)?;
        check_media_from(&m, &m.received(), &j)?;

        // 3. Deny a second joiner: `denied`, then close 1000.
        let mut k = enter_lobby(&base, &server.token(ROOM, "intruder"), "intruder").await?;
        let list = moderate(&m, json!({"type": "moderate", "action": "list"}))
            .await
            .context("list")?;
        ensure!(
            listed(&list, "intruder").and_then(|e| e.get("state")) == Some(&json!("lobby")),
            "`list` must show the second joiner in the lobby: {list}"
        );
        moderate(
            &m,
            json!({"type": "moderate", "action": "deny", "identity": "intruder"}),
        )
        .await
        .context("deny the second joiner")?;
        let denied = next_json(&mut k, "intruder").await?;
        ensure!(
            msg_type(&denied) == Some("denied"),
            "a denied lobby member's next message must be `denied`, got {denied}"
        );
        let closed = k.wait_closed(MESSAGE_TIMEOUT).await;
        ensure!(
            matches!(closed, Some((Some(1000), _))),
            "after `denied` the socket must close with 1000, got {closed:?}"
        );
        let list = moderate(&m, json!({"type": "moderate", "action": "list"}))
            .await
            .context("list")?;
        ensure!(
            listed(&list, "intruder").is_none(),
            "a denied joiner must no longer be listed: {list}"
        );
        ensure!(
            !saw_joined(&m, "intruder") && !saw_joined(&j, "intruder"),
            "the room must never see the denied joiner join"
        );
        for p in [&m, &j] {
            ensure!(
                p.errors().is_empty(),
                "{}: client errors {:?}",
                p.identity(),
                p.errors()
            );
        }

        j.leave().await?;
        m.leave().await?;
        let _ = server.shutdown().await;
        Ok(())
    })
    .await;
}
