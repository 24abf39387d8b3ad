//! Shared helpers of the admin API tests: an HTTP client that signs admin tokens, the contract's
//! route table, and WebSocket participants to list, mute and remove.
#![allow(dead_code)]

pub mod sse;

use futures_util::{SinkExt, StreamExt};
use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;
use switchboard::auth::Claims;
use switchboard::RunningServer;
use tokio_tungstenite::tungstenite::Message;

/// The routes of ARCHITECTURE §5 that these tests cover, as (method, path template). The event
/// stream, session records and server drain ([`LATER_ROUTES`]) are tested on their own.
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/rooms"),
    ("GET", "/api/v1/rooms"),
    ("GET", "/api/v1/rooms/{room}"),
    ("PATCH", "/api/v1/rooms/{room}"),
    ("DELETE", "/api/v1/rooms/{room}"),
    ("GET", "/api/v1/rooms/{room}/participants"),
    ("GET", "/api/v1/rooms/{room}/participants/{identity}"),
    ("PATCH", "/api/v1/rooms/{room}/participants/{identity}"),
    ("DELETE", "/api/v1/rooms/{room}/participants/{identity}"),
    ("GET", "/api/v1/rooms/{room}/bans"),
    ("DELETE", "/api/v1/rooms/{room}/bans/{identity}"),
    ("POST", "/api/v1/rooms/{room}/participants/{identity}/mute"),
    ("POST", "/api/v1/rooms/{room}/mute"),
    ("POST", "/api/v1/rooms/{room}/participants/{identity}/hold"),
    ("POST", "/api/v1/rooms/{room}/participants/{identity}/resume"),
    ("POST", "/api/v1/rooms/{room}/participants/{identity}/move"),
    ("POST", "/api/v1/rooms/{room}/invites"),
    ("GET", "/api/v1/rooms/{room}/lobby"),
    ("POST", "/api/v1/rooms/{room}/lobby/{identity}/admit"),
    ("POST", "/api/v1/rooms/{room}/lobby/{identity}/deny"),
    ("POST", "/api/v1/rooms/{room}/data"),
    ("POST", "/api/v1/tokens"),
];

/// Contract routes that arrive with their own issue; the OpenAPI document may list them.
pub const LATER_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/events"),
    ("GET", "/api/v1/sessions"),
    ("GET", "/api/v1/sessions/{id}"),
    ("GET", "/api/v1/server"),
    ("POST", "/api/v1/server/drain"),
];

/// A response: status, headers, and the body as JSON (`Null` when empty, a JSON string when the
/// body is not JSON, so that a plain-text error shows up in assertions).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub content_type: String,
}

impl Reply {
    /// Asserts the status and returns the body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        self.body
    }

    /// Asserts an error reply: status, JSON content type, `{"error": {"code", "message"}}`.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Self {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        assert!(
            self.content_type.starts_with("application/json"),
            "error bodies are JSON, got {:?}",
            self.content_type
        );
        assert_eq!(self.body["error"]["code"], code, "{}", self.body);
        let message = self.body["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "errors carry a message: {}", self.body);
        self
    }
}

/// An admin API client for one test server.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
}

impl Api {
    /// A client with an admin token for identity `tester`.
    pub fn new(server: &RunningServer) -> Self {
        Self::as_caller(server, "tester")
    }

    /// A client with an admin token for `sub` (each caller has its own rate limit).
    pub fn as_caller(server: &RunningServer, sub: &str) -> Self {
        let token = server.sign(&Claims::admin(server.api_key(), sub, Duration::from_secs(600)));
        Self::with_token(server, Some(token))
    }

    /// A client sending `token` (or no Authorization header).
    pub fn with_token(server: &RunningServer, token: Option<String>) -> Self {
        Self { http: reqwest::Client::new(), base: format!("http://{}", server.http_addr()), token }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn post_empty(&self, path: &str) -> Reply {
        self.send(Method::POST, path, None).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| ("application/json", b.to_string().into_bytes()));
        self.raw(method, path, body, &[]).await
    }

    /// Any request: `(content type, bytes)` body and extra headers.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some((content_type, bytes)) = body {
            req = req.header(CONTENT_TYPE, content_type).body(bytes);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let response = req.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let bytes = response.bytes().await.expect("the body arrives");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply { status, headers, body, content_type }
    }

    /// Creates a room with these extra settings (and, unless given, a 60 s empty timeout: the test
    /// server's default of 0 would close an empty room at once); panics unless 201.
    pub async fn create_room(&self, name: &str, settings: Value) -> Value {
        let mut body = settings;
        if body.is_null() {
            body = serde_json::json!({});
        }
        body["name"] = name.into();
        if body.get("empty_timeout_s").is_none() {
            body["empty_timeout_s"] = 60.into();
        }
        self.post("/api/v1/rooms", body).await.expect(201)
    }

    /// Identities listed in `GET …/participants`, sorted.
    pub async fn identities(&self, room: &str) -> Vec<String> {
        let body = self.get(&format!("/api/v1/rooms/{room}/participants")).await.expect(200);
        let mut ids: Vec<String> = body["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["identity"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    }
}

/// The served OpenAPI document.
pub async fn openapi(server: &RunningServer) -> Value {
    Api::with_token(server, None).get("/api/v1/openapi.json").await.expect(200)
}

/// Property names of component schema `name` in the OpenAPI document.
pub fn schema_fields(doc: &Value, name: &str) -> BTreeSet<String> {
    let schema = &doc["components"]["schemas"][name];
    schema["properties"].as_object().unwrap_or_else(|| panic!("schema {name}: {schema}")).keys().cloned().collect()
}

/// Field names of a JSON object.
pub fn json_fields(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap_or_else(|| panic!("an object: {v}")).keys().cloned().collect()
}

/// Asserts that `value` has only fields schema `name` documents, and every field it requires.
#[track_caller]
pub fn assert_matches_schema(doc: &Value, name: &str, value: &Value) {
    let fields = json_fields(value);
    let documented = schema_fields(doc, name);
    let required: BTreeSet<String> = doc["components"]["schemas"][name]["required"]
        .as_array()
        .map(|r| r.iter().filter_map(|f| f.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let undocumented: Vec<_> = fields.difference(&documented).collect();
    let missing: Vec<_> = required.difference(&fields).collect();
    assert!(undocumented.is_empty(), "schema {name} lacks fields {undocumented:?} of the served JSON: {value}");
    assert!(missing.is_empty(), "the served JSON lacks fields {missing:?} that schema {name} requires: {value}");
}

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens a WebSocket session with `token`.
pub async fn connect(server: &RunningServer, token: &str) -> Ws {
    let url = format!("ws://{}/ws?access_token={token}", server.http_addr());
    tokio_tungstenite::connect_async(url).await.expect("websocket connects").0
}

/// Joins `room` as `identity` and reads `joined`.
pub async fn join(server: &RunningServer, room: &str, identity: &str) -> Ws {
    let mut ws = connect(server, &server.token(room, identity)).await;
    let first = next(&mut ws).await.expect("a first message");
    assert_eq!(first["type"], "joined", "{first}");
    ws
}

/// Next JSON message, or `Err(close code)` when the server closes.
pub async fn next(ws: &mut Ws) -> Result<Value, u16> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("server answers in time");
        match frame {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(&t).expect("server sends JSON")),
            Some(Ok(Message::Close(f))) => return Err(f.map(|f| u16::from(f.code)).unwrap_or(1005)),
            Some(Ok(_)) => continue,
            _ => return Err(1006),
        }
    }
}

/// Skips messages until one of type `ty` arrives.
pub async fn next_of_type(ws: &mut Ws, ty: &str) -> Value {
    loop {
        match next(ws).await {
            Ok(msg) if msg["type"] == ty => return msg,
            Ok(_) => continue,
            Err(code) => panic!("closed with {code} while waiting for {ty}"),
        }
    }
}

/// Skips messages until the server closes; returns the close code.
pub async fn closed(ws: &mut Ws) -> u16 {
    loop {
        if let Err(code) = next(ws).await {
            return code;
        }
    }
}

/// Sends `leave` (ignoring errors: the socket may be gone).
pub async fn leave(ws: &mut Ws) {
    let _ = ws.send(Message::text(r#"{"type":"leave"}"#)).await;
}

/// A test server whose signalling-only participants (WebSocket, no media) are not removed by
/// the ICE timeout while a test inspects them.
pub async fn spawn_test_server() -> anyhow::Result<switchboard::RunningServer> {
    let config = switchboard::Config { ice_timeout_s: 120, ..switchboard::testing::test_config() };
    switchboard::testing::spawn_test_server_with(config).await
}

/// Polls `GET path` until `done` accepts the 200 body (10 s at most).
pub async fn eventually(api: &Api, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let body = api.get(path).await.expect(200);
        if done(&body) {
            return body;
        }
        assert!(std::time::Instant::now() < deadline, "{path} never got there: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The one session record of `room` once it has ended, with its legs (`GET /api/v1/sessions/{id}`).
pub async fn ended_session(api: &Api, room: &str) -> Value {
    let page = eventually(api, &format!("/api/v1/sessions?room={room}"), |page| {
        page["sessions"].as_array().is_some_and(|s| s.len() == 1 && !s[0]["ended_at"].is_null())
    })
    .await;
    let id = page["sessions"][0]["id"].as_str().expect("a session id");
    api.get(&format!("/api/v1/sessions/{id}")).await.expect(200)
}

/// The legs of a session record as `(identity, sid, leave_reason)`, in record order.
pub fn legs(session: &Value) -> Vec<(String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or("<none>").to_owned();
    session["participants"]
        .as_array()
        .unwrap_or_else(|| panic!("a session with legs: {session}"))
        .iter()
        .map(|l| (s(&l["identity"]), s(&l["sid"]), s(&l["leave_reason"])))
        .collect()
}

/// A fresh directory (for a test's database file), removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let dir = std::env::temp_dir().join(format!("switchboard-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `http://<addr>`, the base URL webrtc-rs kit participants (`switchboard_tests`) join with.
pub fn kit_base(server: &RunningServer) -> String {
    format!("http://{}", server.http_addr())
}

/// Sends a raw text frame (e.g. a `ping`), panicking if the socket is gone.
pub async fn send_json(ws: &mut Ws, msg: Value) {
    ws.send(Message::text(msg.to_string())).await.expect("the socket is open");
}
