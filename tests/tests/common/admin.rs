//! Admin API and statistics helpers of the integration tests: a read-only admin client, the
//! event stream reader and accessors of `ParticipantView` JSON.

use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;
use switchboard_tests::{msg_type, MediaKind, TestParticipant};

/// A read-only admin API client (`Authorization: Bearer` with an admin token for `tester`).
#[derive(Clone)]
pub struct AdminApi {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl AdminApi {
    pub fn new(server: &switchboard::RunningServer) -> Self {
        let token = server.sign(&switchboard::auth::Claims::admin(
            server.api_key(),
            "tester",
            Duration::from_secs(600),
        ));
        AdminApi {
            http: reqwest::Client::new(),
            base: format!("http://{}", server.http_addr()),
            token,
        }
    }

    /// `GET path`; the JSON body of a 200, an error otherwise.
    pub async fn get(&self, path: &str) -> Result<Value> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .with_context(|| format!("GET {path}: body"))?;
        ensure!(status.is_success(), "GET {path}: {status}: {body}");
        serde_json::from_str(&body).with_context(|| format!("GET {path}: not JSON: {body}"))
    }

    /// `GET /api/v1/rooms/{room}`.
    pub async fn room(&self, room: &str) -> Result<Value> {
        self.get(&format!("/api/v1/rooms/{room}")).await
    }

    /// `GET /api/v1/rooms/{room}/participants/{identity}` (a `ParticipantView`).
    pub async fn participant(&self, room: &str, identity: &str) -> Result<Value> {
        self.get(&format!("/api/v1/rooms/{room}/participants/{identity}"))
            .await
    }

    /// Reads the admin event stream (`GET /api/v1/events?access_token=…`, as a browser's
    /// `EventSource` does) from after `last_event_id` (`0`: every stored event first, then live
    /// ones) until `done` accepts the events read so far, or `timeout` passes (an error showing
    /// them). Returns each event's JSON (the `data:` line), checked against its `id:` and
    /// `event:` lines.
    pub async fn events_until(
        &self,
        last_event_id: u64,
        mut done: impl FnMut(&[Value]) -> bool,
        timeout: Duration,
    ) -> Result<Vec<Value>> {
        let url = format!("{}/api/v1/events?access_token={}", self.base, self.token);
        let mut resp = self
            .http
            .get(url)
            .header("Last-Event-ID", last_event_id.to_string())
            .send()
            .await
            .context("GET /api/v1/events")?;
        ensure!(
            resp.status().is_success(),
            "GET /api/v1/events: {}",
            resp.status()
        );
        let deadline = tokio::time::Instant::now() + timeout;
        let (mut buf, mut events) = (String::new(), Vec::new());
        loop {
            while let Some(end) = buf.find("\n\n") {
                let frame: String = buf.drain(..end + 2).collect();
                let (mut id, mut ty, mut data) = (None, None, None);
                for line in frame.lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "id" => id = Some(value.parse::<u64>().context("numeric event id")?),
                        "event" => ty = Some(value.to_owned()),
                        "data" => {
                            data = Some(
                                serde_json::from_str::<Value>(value).context("JSON event data")?,
                            )
                        }
                        _ => {} // keep-alive comments
                    }
                }
                let (Some(id), Some(ty), Some(data)) = (id, ty, data) else {
                    continue;
                };
                ensure!(
                    data.get("seq").and_then(Value::as_u64) == Some(id)
                        && msg_type(&data) == Some(ty.as_str()),
                    "event frame id/event lines disagree with its JSON: {frame}"
                );
                events.push(data);
                if done(&events) {
                    return Ok(events);
                }
            }
            match tokio::time::timeout_at(deadline, resp.chunk()).await {
                Ok(Ok(Some(bytes))) => {
                    buf.push_str(std::str::from_utf8(&bytes).context("UTF-8 events")?)
                }
                Ok(Ok(None)) => bail!("the event stream ended; events so far: {events:#?}"),
                Ok(Err(e)) => bail!("the event stream failed: {e}; events so far: {events:#?}"),
                Err(_) => bail!(
                    "condition on the event stream not met within {timeout:?}; events: {events:#?}"
                ),
            }
        }
    }
}

/// The one published track of `kind` in a `ParticipantView`.
pub fn view_track(view: &Value, kind: MediaKind) -> Result<&Value> {
    let tracks: Vec<&Value> = view
        .get("tracks")
        .and_then(Value::as_array)
        .context("participant view without tracks[]")?
        .iter()
        .filter(|t| t.get("kind").and_then(Value::as_str) == Some(kind.as_str()))
        .collect();
    ensure!(
        tracks.len() == 1,
        "expected one {kind} track in the participant view, found {}: {view:#}",
        tracks.len()
    );
    Ok(tracks[0])
}

/// The subscription to track `track_sid` in a `ParticipantView`.
pub fn view_subscription<'a>(view: &'a Value, track_sid: &str) -> Result<&'a Value> {
    view.get("subscriptions")
        .and_then(Value::as_array)
        .context("participant view without subscriptions[]")?
        .iter()
        .find(|s| s.get("track").and_then(Value::as_str) == Some(track_sid))
        .with_context(|| format!("no subscription to {track_sid} in {view:#}"))
}

/// A number at `pointer` (e.g. `/stats/bitrate_bps`) of `v`.
pub fn num_at(v: &Value, pointer: &str) -> Result<f64> {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .with_context(|| format!("no number at {pointer} in {v:#}"))
}

/// `connection_quality` of a `ParticipantView`.
pub fn view_quality(view: &Value) -> &str {
    view.get("connection_quality")
        .and_then(Value::as_str)
        .unwrap_or("<missing>")
}

/// Every `(participant sid, quality)` pair of the `connection_quality` messages `p` received.
pub fn quality_updates(p: &TestParticipant) -> Vec<(String, String)> {
    p.messages()
        .iter()
        .filter(|m| msg_type(m) == Some("connection_quality"))
        .flat_map(|m| {
            m.get("updates")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .map(|u| {
            let s = |k: &str| u.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            (s("participant"), s("quality"))
        })
        .collect()
}

/// Whether `|actual - expected| <= tolerance × expected`.
pub fn within(actual: f64, expected: f64, tolerance: f64) -> bool {
    (actual - expected).abs() <= tolerance * expected
}
