//! A minimal Janus HTTP API client for the VideoRoom side-by-side runs: sessions with a
//! long-poll event loop and keepalives, handles, plugin messages whose asynchronous answers are
//! matched to their transactions, and room creation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

fn txn() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// The HTTP API at e.g. `http://10.99.0.1:8088/janus`.
#[derive(Clone)]
pub struct JanusApi {
    http: reqwest::Client,
    base: String,
}

impl JanusApi {
    pub fn new(base: &str) -> Result<Self> {
        Ok(JanusApi {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .no_proxy()
                .pool_max_idle_per_host(64)
                .build()?,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let r: Value = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?
            .json()
            .await
            .with_context(|| format!("POST {url}: body"))?;
        if r["janus"] == "error" {
            bail!("janus error: {}", r["error"]);
        }
        Ok(r)
    }

    /// `GET /info` (is Janus up?).
    pub async fn info(&self) -> Result<Value> {
        let url = format!("{}/info", self.base);
        Ok(self
            .http
            .get(&url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Creates VideoRoom `room` (Opus + VP8, no bitrate cap, up to `publishers` publishers).
    pub async fn create_room(&self, room: u64, publishers: usize) -> Result<()> {
        let session = JanusSession::create(self.clone(), |_| {}).await?;
        let handle = session.attach().await?;
        let (data, _) = session
            .message(
                handle,
                json!({"request": "create", "room": room, "publishers": publishers,
                       "audiocodec": "opus", "videocodec": "vp8", "bitrate": 0, "fir_freq": 0,
                       "notify_joining": false, "audiolevel_event": false}),
                None,
            )
            .await?;
        session.destroy().await;
        if data["videoroom"] != "created" {
            bail!("create room {room}: {data}");
        }
        Ok(())
    }
}

type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>;

/// One Janus session with its long-poll loop.
pub struct JanusSession {
    api: JanusApi,
    id: u64,
    waiters: Waiters,
    tasks: Vec<JoinHandle<()>>,
}

impl JanusSession {
    /// Creates a session; `on_error` hears `hangup`/`detached` events and poll failures.
    pub async fn create(
        api: JanusApi,
        on_error: impl Fn(String) + Send + Sync + 'static,
    ) -> Result<Self> {
        let r = api
            .post("", json!({"janus": "create", "transaction": txn()}))
            .await?;
        let id = r["data"]["id"].as_u64().context("create: no session id")?;
        let waiters: Waiters = Arc::default();
        let poll = {
            let (api, waiters) = (api.clone(), Arc::clone(&waiters));
            tokio::spawn(async move {
                let url = format!("{}/{id}?maxev=10", api.base);
                loop {
                    let r = match api.http.get(&url).send().await {
                        Ok(r) => r.json::<Value>().await,
                        Err(e) => {
                            on_error(format!("janus long poll: {e}"));
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            continue;
                        }
                    };
                    let events = match r {
                        Ok(Value::Array(a)) => a,
                        Ok(v) => vec![v],
                        Err(_) => continue,
                    };
                    for ev in events {
                        let t = ev["transaction"].as_str().unwrap_or("");
                        if let Some(w) = waiters.lock().unwrap().remove(t) {
                            let _ = w.send(ev);
                            continue;
                        }
                        match ev["janus"].as_str() {
                            Some("hangup") | Some("detached") => {
                                on_error(format!("janus: {ev}"));
                            }
                            _ => {}
                        }
                    }
                }
            })
        };
        let keepalive = {
            let api = api.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(20)).await;
                    let _ = api
                        .post(
                            &format!("/{id}"),
                            json!({"janus": "keepalive", "transaction": txn()}),
                        )
                        .await;
                }
            })
        };
        Ok(JanusSession {
            api,
            id,
            waiters,
            tasks: vec![poll, keepalive],
        })
    }

    /// Attaches a VideoRoom handle.
    pub async fn attach(&self) -> Result<u64> {
        let r = self
            .api
            .post(
                &format!("/{}", self.id),
                json!({"janus": "attach", "plugin": "janus.plugin.videoroom", "transaction": txn()}),
            )
            .await?;
        r["data"]["id"].as_u64().context("attach: no handle id")
    }

    /// Sends a plugin message (with an optional JSEP) and returns the plugin's answer data and
    /// JSEP, waiting for the asynchronous event when Janus only acknowledges. A VideoRoom
    /// `error_code` becomes an error naming the code.
    pub async fn message(
        &self,
        handle: u64,
        body: Value,
        jsep: Option<Value>,
    ) -> Result<(Value, Option<Value>)> {
        let t = txn();
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().unwrap().insert(t.clone(), tx);
        let mut req = json!({"janus": "message", "transaction": t, "body": body});
        if let Some(j) = jsep {
            req["jsep"] = j;
        }
        let r = match self.api.post(&format!("/{}/{handle}", self.id), req).await {
            Ok(r) => r,
            Err(e) => {
                self.waiters.lock().unwrap().remove(&t);
                return Err(e);
            }
        };
        let ev = match r["janus"].as_str() {
            Some("success") => {
                self.waiters.lock().unwrap().remove(&t);
                r
            }
            Some("ack") => tokio::time::timeout(Duration::from_secs(20), rx)
                .await
                .map_err(|_| anyhow!("no answer to {body} within 20 s"))?
                .map_err(|_| anyhow!("session gone"))?,
            _ => bail!("unexpected reply {r}"),
        };
        let data = ev["plugindata"]["data"].clone();
        if let Some(code) = data.get("error_code") {
            bail!("videoroom error {code}: {}", data["error"]);
        }
        Ok((data, ev.get("jsep").cloned()))
    }

    /// Destroys the session and stops its tasks.
    pub async fn destroy(&self) {
        for t in &self.tasks {
            t.abort();
        }
        let _ = self
            .api
            .post(
                &format!("/{}", self.id),
                json!({"janus": "destroy", "transaction": txn()}),
            )
            .await;
    }
}

impl Drop for JanusSession {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
