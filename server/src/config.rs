//! Typed configuration: defaults → optional TOML file (unknown keys rejected) → `SWITCHBOARD_*`
//! environment → command-line flags. Loaded once at start-up.

use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The development API key, used when none is configured.
pub const DEV_API_KEY: &str = "devkey";
/// The development API secret, used when none is configured.
pub const DEV_API_SECRET: &str = "secret";

/// Longest resume window accepted (`resume_window_s`): an hour.
pub const MAX_RESUME_WINDOW_S: u64 = 3600;

/// Longest drain deadline accepted (`drain_timeout_s`): a day.
pub const MAX_DRAIN_TIMEOUT_S: u64 = 86_400;

/// Server configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP + WebSocket listen address.
    pub bind: SocketAddr,
    /// UDP port of the media socket (all peers share it; 0 picks a free port).
    pub udp_port: u16,
    /// Address the media socket binds (and the ICE/TCP listener).
    pub udp_bind: IpAddr,
    /// TCP port of ICE over TCP (RFC 6544), for clients whose network blocks UDP (0 picks a
    /// free port).
    pub tcp_port: u16,
    /// Offer ICE over TCP beside UDP.
    pub ice_tcp: bool,
    /// Addresses advertised in ICE candidates (NAT 1:1); empty: the bound address.
    pub public_ip: Vec<IpAddr>,
    /// API key (token issuer).
    pub api_key: String,
    /// API secret (token signing key).
    pub api_secret: String,
    /// No ICE traffic for this long removes a participant (seconds).
    pub ice_timeout_s: u64,
    /// An empty room closes after this long (seconds).
    pub empty_timeout_s: u64,
    /// A participant whose connection drops stays (`reconnecting`) this long for the client to
    /// resume it (seconds); 0: it leaves at once.
    pub resume_window_s: u64,
    /// On SIGTERM, calls may continue this long before everyone is disconnected (seconds).
    pub drain_timeout_s: u64,
    /// Most participants per room; 0 means no limit.
    pub max_participants: usize,
    /// Log format: `text` or `json`.
    pub log_format: String,
    /// Browser origins (`https://dash.example.com`) allowed to call the HTTP API cross-origin, or
    /// `*` for any; empty (the default) sends no CORS headers, so only same-origin pages can.
    pub cors_origins: Vec<String>,
    /// SQLite file holding events and session records, created if missing; `:memory:` keeps them
    /// only while the process runs.
    pub store_path: PathBuf,
    /// Events are kept this long (seconds) for `Last-Event-ID` replay, then pruned. Session
    /// records are kept.
    pub event_retention_s: u64,
    /// Webhook endpoints and how deliveries are retried (`[webhooks]`).
    pub webhooks: WebhookConfig,
    /// PEM certificate chain (leaf first); with `tls_key`, HTTP and WebSocket are served as
    /// https/wss on `bind` instead of plain http/ws.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert` (PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
}

/// `[webhooks]`: every event is POSTed as signed JSON to each URL.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// Endpoints (`http://` or `https://`); empty: no webhooks.
    pub urls: Vec<String>,
    /// Attempts per delivery, the first included.
    pub max_attempts: u32,
    /// Wait before the first retry (milliseconds); it doubles with every retry.
    pub initial_backoff_ms: u64,
    /// Timeout of one attempt (milliseconds).
    pub timeout_ms: u64,
    /// Deliveries that may wait; when full, new ones are dropped and counted.
    pub queue_capacity: usize,
    /// Deliveries in flight at once.
    pub workers: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self { urls: Vec::new(), max_attempts: 5, initial_backoff_ms: 500, timeout_ms: 5000, queue_capacity: 1024, workers: 4 }
    }
}

impl WebhookConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        for url in &self.urls {
            let ok = reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            if !ok {
                return Err(ConfigError::Invalid(format!("webhooks.urls: {url:?} is not an http:// or https:// URL")));
            }
        }
        let bad = |what: &str| Err(ConfigError::Invalid(format!("webhooks.{what}")));
        if self.max_attempts == 0 {
            return bad("max_attempts must be at least 1");
        }
        if self.timeout_ms == 0 {
            return bad("timeout_ms must be at least 1");
        }
        if self.queue_capacity == 0 {
            return bad("queue_capacity must be at least 1");
        }
        if !(1..=64).contains(&self.workers) {
            return bad("workers must be 1–64");
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 7880)),
            udp_port: 7882,
            udp_bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            tcp_port: 7881,
            ice_tcp: true,
            public_ip: Vec::new(),
            api_key: DEV_API_KEY.into(),
            api_secret: DEV_API_SECRET.into(),
            ice_timeout_s: 15,
            empty_timeout_s: 20,
            resume_window_s: 20,
            drain_timeout_s: 30,
            max_participants: 0,
            log_format: "text".into(),
            cors_origins: Vec::new(),
            store_path: PathBuf::from("switchboard.db"),
            event_retention_s: 86_400,
            webhooks: WebhookConfig::default(),
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// A configuration that cannot be used, with what to change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for [`Config`] (unknown keys included).
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The path.
        path: String,
        /// What is wrong and where.
        message: String,
    },
    /// The values contradict each other.
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Reads a TOML file over the defaults.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        Self::from_toml(&text).map_err(|message| ConfigError::Parse { path: path.display().to_string(), message })
    }

    /// Parses TOML over the defaults.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Uses the development key and secret.
    pub fn is_dev_mode(&self) -> bool {
        self.api_key == DEV_API_KEY && self.api_secret == DEV_API_SECRET
    }

    /// Checks what cannot be expressed in types.
    ///
    /// `drain_timeout_s` is at most [`MAX_DRAIN_TIMEOUT_S`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.is_dev_mode() && (!self.bind.ip().is_loopback() || !self.udp_bind.is_loopback()) {
            return Err(ConfigError::Invalid(format!(
                "refusing to listen on {} / {} with the development API key and secret; set api_key and api_secret \
                 (SWITCHBOARD_API_KEY, SWITCHBOARD_API_SECRET) or bind 127.0.0.1",
                self.bind, self.udp_bind
            )));
        }
        if self.api_secret.len() < 6 {
            return Err(ConfigError::Invalid("api_secret is too short: use at least 32 random characters".into()));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError::Invalid(format!("log_format must be \"text\" or \"json\", not {:?}", self.log_format)));
        }
        for origin in &self.cors_origins {
            if !is_origin(origin) {
                return Err(ConfigError::Invalid(format!(
                    "cors_origins: {origin:?} is not an origin; write scheme://host[:port] without a path \
                     (e.g. https://dash.example.com), or * for any"
                )));
            }
        }
        if self.drain_timeout_s > MAX_DRAIN_TIMEOUT_S {
            return Err(ConfigError::Invalid(format!(
                "drain_timeout_s is {}; at most {MAX_DRAIN_TIMEOUT_S} (a day) — and match the pod's terminationGracePeriodSeconds",
                self.drain_timeout_s
            )));
        }
        if self.resume_window_s > MAX_RESUME_WINDOW_S {
            return Err(ConfigError::Invalid(format!("resume_window_s is {}; at most {MAX_RESUME_WINDOW_S}", self.resume_window_s)));
        }
        if self.event_retention_s == 0 {
            return Err(ConfigError::Invalid("event_retention_s must be at least 1".into()));
        }
        if self.store_path.as_os_str().is_empty() {
            return Err(ConfigError::Invalid("store_path must not be empty (use :memory: for no file)".into()));
        }
        self.webhooks.validate()?;
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::Invalid("tls_cert and tls_key go together: set both or neither".into()));
        }
        Ok(())
    }

    /// Media socket address.
    pub fn udp_addr(&self) -> SocketAddr {
        SocketAddr::new(self.udp_bind, self.udp_port)
    }

    /// ICE/TCP listen address, if ICE over TCP is on.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.ice_tcp.then(|| SocketAddr::new(self.udp_bind, self.tcp_port))
    }

    /// ICE failure timeout.
    pub fn ice_timeout(&self) -> Duration {
        Duration::from_secs(self.ice_timeout_s.max(1))
    }
}

/// `*`, or `http(s)://host[:port]` with nothing after (browsers send origins in exactly this form).
fn is_origin(s: &str) -> bool {
    if s == "*" {
        return true;
    }
    let Some(rest) = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")) else {
        return false;
    };
    !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_development_setup() {
        let c = Config::default();
        assert_eq!(c.bind.to_string(), "127.0.0.1:7880");
        assert_eq!(c.udp_addr().to_string(), "127.0.0.1:7882");
        assert_eq!(c.tcp_addr().map(|a| a.to_string()).as_deref(), Some("127.0.0.1:7881"));
        assert_eq!(Config::from_toml("ice_tcp = false").unwrap().tcp_addr(), None);
        assert!(c.is_dev_mode());
        c.validate().unwrap();
    }

    #[test]
    fn toml_overrides_and_rejects_unknown_keys() {
        let c = Config::from_toml("udp_port = 9000\npublic_ip = [\"203.0.113.7\"]").unwrap();
        assert_eq!(c.udp_port, 9000);
        assert_eq!(c.public_ip.len(), 1);
        let err = Config::from_toml("udp_prot = 9000").unwrap_err();
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn cors_origins_must_be_bare_origins() {
        let ok = Config::from_toml("cors_origins = [\"https://dash.example.com\", \"http://localhost:3000\"]").unwrap();
        ok.validate().unwrap();
        Config { cors_origins: vec!["*".into()], ..Config::default() }.validate().unwrap();
        for bad in ["dash.example.com", "https://dash.example.com/", "https://", "ftp://x"] {
            assert!(Config { cors_origins: vec![bad.into()], ..Config::default() }.validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn webhooks_table_parses_and_urls_are_checked() {
        let c = Config::from_toml("[webhooks]\nurls = [\"https://hooks.example.com/sb\"]\nmax_attempts = 3\n").unwrap();
        assert_eq!(c.webhooks.urls, ["https://hooks.example.com/sb"]);
        assert_eq!((c.webhooks.max_attempts, c.webhooks.initial_backoff_ms), (3, 500));
        c.validate().unwrap();
        assert!(Config::from_toml("[webhooks]\nurl = []").unwrap_err().contains("unknown field"));
        for bad in ["hooks.example.com", "ftp://x/y", "http://"] {
            let c = Config { webhooks: WebhookConfig { urls: vec![bad.into()], ..WebhookConfig::default() }, ..Config::default() };
            assert!(c.validate().is_err(), "{bad}");
        }
        let c = Config { event_retention_s: 0, ..Config::default() };
        assert!(c.validate().is_err());
    }

    #[test]
    fn the_drain_deadline_is_at_most_a_day() {
        Config { drain_timeout_s: MAX_DRAIN_TIMEOUT_S, ..Config::default() }.validate().unwrap();
        let err = Config { drain_timeout_s: u64::MAX, ..Config::default() }.validate().unwrap_err();
        assert!(err.to_string().contains("drain_timeout_s"), "{err}");
    }

    #[test]
    fn tls_needs_both_certificate_and_key() {
        let c = Config::from_toml("tls_cert = \"/etc/tls/tls.crt\"\ntls_key = \"/etc/tls/tls.key\"").unwrap();
        c.validate().unwrap();
        let c = Config { tls_key: None, ..c };
        assert!(c.validate().unwrap_err().to_string().contains("tls_key"));
    }

    #[test]
    fn dev_credentials_refuse_public_binds() {
        let c = Config { bind: "0.0.0.0:7880".parse().unwrap(), ..Config::default() };
        assert!(c.validate().is_err());
        let c = Config { api_key: "k".into(), api_secret: "a-long-secret".into(), ..c };
        c.validate().unwrap();
    }
}
