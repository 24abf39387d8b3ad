//! Starting and stopping the server: media shard, conference, HTTP listener, shutdown.

use crate::config::Config;
use crate::drain::Drain;
use crate::events::{EventServiceOptions, EventTasks};
use crate::http;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::store::{SqliteStore, Store, StoreHandle};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use switchboard_media::{MediaConfig, MediaRuntime};
use switchboard_signaling::{Conference, ConferenceOptions, RoomSettings};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// A started server.
pub struct RunningServer {
    pub(crate) state: Arc<AppState>,
    http_addr: SocketAddr,
    udp_addr: SocketAddr,
    tcp_addr: Option<SocketAddr>,
    http_task: tokio::task::JoinHandle<()>,
    media: MediaRuntime,
    event_tasks: EventTasks,
}

/// Sets up `tracing` output (text or JSON) from `RUST_LOG`, default `info`.
pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rtc=warn,rtc_ice=warn,rtc_dtls=warn,rtc_srtp=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if config.log_format == "json" { builder.json().try_init() } else { builder.try_init() };
}

/// Binds the sockets and starts every part of the server, keeping events and session records in
/// the SQLite file `config.store_path`.
pub async fn spawn(config: Config) -> anyhow::Result<RunningServer> {
    let path = config.store_path.clone();
    let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
        .await?
        .map_err(|e| anyhow::anyhow!("cannot open the store {}: {e}", config.store_path.display()))?;
    spawn_with_store(config, Arc::new(store)).await
}

/// Like [`spawn`], with another [`Store`] (an external database) instead of the SQLite file.
pub async fn spawn_with_store(config: Config, store: Arc<dyn Store>) -> anyhow::Result<RunningServer> {
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::acceptor(cert, key)?),
        _ => None,
    };
    if config.is_dev_mode() {
        warn!(
            api_key = crate::config::DEV_API_KEY,
            api_secret = crate::config::DEV_API_SECRET,
            "DEVELOPMENT MODE: using the built-in API key and secret; anyone who can reach this server can mint \
             tokens. Set api_key/api_secret before exposing it."
        );
    }
    let media_config = MediaConfig {
        udp_bind: config.udp_addr(),
        tcp_bind: config.tcp_addr(),
        public_ips: config.public_ip.clone(),
        ice_disconnected_timeout: (config.ice_timeout() / 3).max(Duration::from_secs(1)),
        ice_failed_timeout: config.ice_timeout(),
        ..MediaConfig::default()
    };
    let (media, media_handle, media_events) = MediaRuntime::start(media_config)
        .map_err(|e| {
            let tcp = config.tcp_addr().map(|t| format!(" / ICE-TCP {t}")).unwrap_or_default();
            anyhow::anyhow!("cannot bind the media sockets (UDP {}{tcp}): {e}; pick free ports (--udp-port, --tcp-port)", config.udp_addr())
        })?;
    let udp_addr = media_handle.local_addr();
    let tcp_addr = media_handle.tcp_addr();
    let shutdown = CancellationToken::new();
    let metrics = Arc::new(Metrics::new(media_handle.clone()));
    let store = StoreHandle::new(store);
    let (event_service, events, event_tasks) = crate::events::start(EventServiceOptions {
        store: store.clone(),
        retention: Duration::from_secs(config.event_retention_s),
        webhooks: config.webhooks.clone(),
        api_secret: config.api_secret.clone(),
        on_webhook: Some({
            let metrics = metrics.clone();
            Arc::new(move |result| metrics.count_webhook(result))
        }),
    })
    .await
    .map_err(|e| anyhow::anyhow!("cannot start the event service: {e}"))?;
    let observer = metrics.clone();
    let conference = Conference::start(
        media_handle.clone(),
        media_events,
        ConferenceOptions {
            default_room: RoomSettings {
                max_participants: u32::try_from(config.max_participants).unwrap_or(u32::MAX),
                lobby: false,
                allow_remote_unmute: false,
                empty_timeout_s: config.empty_timeout_s,
                metadata: serde_json::Value::Null,
            },
            events: events.clone(),
            resume_window: Duration::from_secs(config.resume_window_s),
            on_join_latency: Some(Arc::new(move |latency| observer.observe_join_latency(latency))),
            ..ConferenceOptions::default()
        },
        shutdown.child_token(),
    );
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.bind))?;
    let http_addr = listener.local_addr()?;
    let state = Arc::new(AppState {
        config,
        conference,
        metrics,
        events,
        event_service,
        store,
        shutdown: shutdown.clone(),
        drain: Drain::default(),
    });
    let router = http::router(state.clone());
    let stop = shutdown.clone();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let http_task = tokio::spawn(async move {
        let serve = crate::tls::serve_http(listener, tls, router, async move { stop.cancelled().await });
        if let Err(e) = serve.await {
            warn!(error = %e, "HTTP server stopped with an error");
        }
    });
    info!(http = %http_addr, udp = %udp_addr, ice_tcp = ?tcp_addr, "switchboard listening; open {scheme}://{http_addr}/");
    Ok(RunningServer { state, http_addr, udp_addr, tcp_addr, http_task, media, event_tasks })
}

impl RunningServer {
    /// The HTTP/WebSocket address.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// The media UDP address.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// The ICE/TCP address, if ICE over TCP is on.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr
    }

    /// Runs until SIGINT or SIGTERM (or `POST /api/v1/server/drain`), then drains: readiness off,
    /// joins refused, clients told `going_away`; calls continue until every room is empty or
    /// `drain_timeout_s` passes; then everyone is disconnected and the server stops. A signal
    /// after the first one cuts the drain short.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut signalled = false;
        loop {
            let name = tokio::select! {
                _ = int.recv() => "SIGINT",
                _ = term.recv() => "SIGTERM",
                () = self.state.drain.finished() => break,
            };
            if signalled {
                info!(signal = name, "second signal: stopping now");
                break;
            }
            signalled = true;
            info!(signal = name, "signal received");
            // Joins a drain an admin call started already; its deadline stays.
            self.state.start_drain(None, "signal".into());
        }
        self.shutdown().await;
        Ok(())
    }

    /// Disconnects everyone (reason `server_shutdown`), stops the listener, rooms and media.
    pub async fn shutdown(self) {
        self.state.shutdown.cancel();
        let _ = self.http_task.await;
        self.state.conference.closed().await;
        // After the rooms: their last events (departures, `room_ended`) are persisted and sent.
        self.event_tasks.stop().await;
        let media = self.media;
        drop(self.state);
        // The shard stops once every handle is gone (conference, metrics).
        let _ = tokio::task::spawn_blocking(move || media.join()).await;
        info!("switchboard stopped");
    }
}
