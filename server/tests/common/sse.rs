//! A small server-sent-events client for the event stream tests: opens `GET /api/v1/events` and
//! parses the frames (`id:`, `event:`, `data:`; comment lines such as keep-alives are skipped).

use serde_json::Value;
use std::time::Duration;
use switchboard::auth::Claims;
use switchboard::RunningServer;

/// One event as received.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    /// The `id:` line.
    pub id: u64,
    /// The `event:` line.
    pub event: String,
    /// The `data:` line, parsed.
    pub data: Value,
}

/// An open event stream.
pub struct EventStream {
    response: reqwest::Response,
    buf: String,
}

/// An admin token for `server`.
pub fn admin_token(server: &RunningServer) -> String {
    server.sign(&Claims::admin(server.api_key(), "tester", Duration::from_secs(600)))
}

/// `GET /api/v1/events{query}` with an admin bearer token and extra headers; the response as is.
pub async fn request(server: &RunningServer, query: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .get(format!("http://{}/api/v1/events{query}", server.http_addr()))
        .bearer_auth(admin_token(server));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.expect("the server answers")
}

impl EventStream {
    /// Opens the stream with an admin bearer token; panics unless it is a 200 event stream.
    pub async fn open(server: &RunningServer, query: &str, headers: &[(&str, &str)]) -> Self {
        Self::from_response(request(server, query, headers).await)
    }

    /// Wraps a response that must be a 200 `text/event-stream`.
    pub fn from_response(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), 200, "the event stream opens");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/event-stream"), "{content_type}");
        Self { response, buf: String::new() }
    }

    /// The next event, or `None` if none arrives within `wait` (or the stream ends).
    pub async fn next_within(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                if let Some(event) = parse(&frame) {
                    return Some(event);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await.ok()?;
            match chunk.expect("the stream reads") {
                Some(bytes) => self.buf.push_str(std::str::from_utf8(&bytes).expect("UTF-8 events")),
                None => return None,
            }
        }
    }

    /// The next event; panics if none arrives within 10 s.
    pub async fn next(&mut self) -> SseEvent {
        self.next_within(Duration::from_secs(10)).await.expect("an event within 10 s")
    }

    /// Events up to and including the first that `done` accepts; panics after 10 s without it.
    pub async fn until(&mut self, mut done: impl FnMut(&SseEvent) -> bool) -> Vec<SseEvent> {
        let mut seen = Vec::new();
        loop {
            let event = self.next().await;
            let stop = done(&event);
            seen.push(event);
            if stop {
                return seen;
            }
        }
    }
}

/// An event of `type` about `participant`.
pub fn is(event: &SseEvent, ty: &str, participant: &str) -> bool {
    event.event == ty && event.data["participant"] == participant
}

fn parse(frame: &str) -> Option<SseEvent> {
    let (mut id, mut event, mut data) = (None, None, None);
    for line in frame.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => id = Some(value.parse().expect("numeric ids")),
            "event" => event = Some(value.to_owned()),
            "data" => data = Some(serde_json::from_str(value).expect("JSON data")),
            _ => {} // comments (keep-alive) and fields we do not use
        }
    }
    Some(SseEvent { id: id?, event: event?, data: data? })
}
