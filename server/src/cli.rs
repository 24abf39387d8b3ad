//! Command line: `switchboard [serve]` runs the server, `switchboard token` signs a token, and the
//! admin subcommands ([`admin`]) call the admin API. Every flag also reads a `SWITCHBOARD_*`
//! environment variable; flags win over the environment, which wins over the config file.

pub mod admin;
mod client;
mod table;

pub use client::{ApiClient, ClientError};

use crate::auth::Claims;
use crate::config::{Config, ConfigError};
use clap::{Args, Parser, Subcommand};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Switchboard: a WebRTC conference server (SFU) with per-participant control.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about)]
pub struct Cli {
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub settings: Settings,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Sign a join token (or an admin token) locally and print it.
    Token(TokenArgs),
    /// Admin API calls.
    #[command(flatten)]
    Admin(admin::AdminCommand),
}

/// `switchboard token` options.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Room the token admits to.
    #[arg(long, required_unless_present = "admin")]
    pub room: Option<String>,
    /// Participant identity (unique within the room).
    #[arg(long, required_unless_present = "admin")]
    pub identity: Option<String>,
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Lifetime, e.g. 30m, 1h, 7d.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
    /// A server-admin token (for the admin API) instead of a join token.
    #[arg(long)]
    pub admin: bool,
}

/// Configuration flags (each overrides the config file and its environment variable).
#[derive(Debug, Args, Default)]
pub struct Settings {
    /// TOML config file (unknown keys are rejected).
    #[arg(long, global = true, env = "SWITCHBOARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// HTTP/WebSocket listen address [default: 127.0.0.1:7880].
    #[arg(long, global = true, env = "SWITCHBOARD_BIND")]
    pub bind: Option<SocketAddr>,
    /// UDP port for all media [default: 7882].
    #[arg(long, global = true, env = "SWITCHBOARD_UDP_PORT")]
    pub udp_port: Option<u16>,
    /// Address the media socket (and the ICE/TCP listener) binds [default: 127.0.0.1].
    #[arg(long, global = true, env = "SWITCHBOARD_UDP_BIND")]
    pub udp_bind: Option<IpAddr>,
    /// TCP port of ICE over TCP, for clients whose network blocks UDP [default: 7881].
    #[arg(long, global = true, env = "SWITCHBOARD_TCP_PORT")]
    pub tcp_port: Option<u16>,
    /// Offer ICE over TCP beside UDP: true or false [default: true].
    #[arg(long, global = true, env = "SWITCHBOARD_ICE_TCP")]
    pub ice_tcp: Option<bool>,
    /// Address(es) to advertise in ICE candidates (repeat or comma-separate) [default: the bound address].
    #[arg(long, global = true, env = "SWITCHBOARD_PUBLIC_IP", value_delimiter = ',')]
    pub public_ip: Vec<IpAddr>,
    /// API key (token issuer) [default: devkey, development only].
    #[arg(long, global = true, env = "SWITCHBOARD_API_KEY")]
    pub api_key: Option<String>,
    /// API secret (token signing key) [default: secret, development only].
    #[arg(long, global = true, env = "SWITCHBOARD_API_SECRET", hide_env_values = true)]
    pub api_secret: Option<String>,
    /// Seconds without ICE traffic before a participant is removed [default: 15].
    #[arg(long, global = true, env = "SWITCHBOARD_ICE_TIMEOUT_S")]
    pub ice_timeout_s: Option<u64>,
    /// Seconds an empty room stays open [default: 20].
    #[arg(long, global = true, env = "SWITCHBOARD_EMPTY_TIMEOUT_S")]
    pub empty_timeout_s: Option<u64>,
    /// Seconds a participant whose connection dropped may resume (0: it leaves at once) [default: 20].
    #[arg(long, global = true, env = "SWITCHBOARD_RESUME_WINDOW_S")]
    pub resume_window_s: Option<u64>,
    /// On SIGTERM, seconds calls may continue before everyone is disconnected [default: 30].
    #[arg(long, global = true, env = "SWITCHBOARD_DRAIN_TIMEOUT_S")]
    pub drain_timeout_s: Option<u64>,
    /// Most participants per room, 0 for no limit [default: 0].
    #[arg(long, global = true, env = "SWITCHBOARD_MAX_PARTICIPANTS")]
    pub max_participants: Option<usize>,
    /// Log format: text or json [default: text].
    #[arg(long, global = true, env = "SWITCHBOARD_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Browser origin allowed to call the HTTP API cross-origin (repeat or comma-separate; `*` for
    /// any) [default: none, same-origin only].
    #[arg(long = "cors-origin", global = true, env = "SWITCHBOARD_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// SQLite file for events and session records (`:memory:` for none) [default: switchboard.db].
    #[arg(long, global = true, env = "SWITCHBOARD_STORE_PATH")]
    pub store_path: Option<PathBuf>,
    /// Seconds events are kept for replay [default: 86400].
    #[arg(long, global = true, env = "SWITCHBOARD_EVENT_RETENTION_S")]
    pub event_retention_s: Option<u64>,
    /// Webhook endpoint receiving every event (repeat or comma-separate) [default: none].
    #[arg(long = "webhook-url", global = true, env = "SWITCHBOARD_WEBHOOK_URLS", value_delimiter = ',')]
    pub webhook_urls: Vec<String>,
    /// PEM certificate chain: serve https and wss (with --tls-key) [default: plain http/ws].
    #[arg(long, global = true, env = "SWITCHBOARD_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, global = true, env = "SWITCHBOARD_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
}

impl Settings {
    /// Defaults, then the file, then these flags/environment values; validated.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut c = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        macro_rules! overlay {
            ($($field:ident),*) => { $( if let Some(v) = self.$field.clone() { c.$field = v; } )* };
        }
        overlay!(
            bind,
            udp_port,
            udp_bind,
            tcp_port,
            ice_tcp,
            api_key,
            api_secret,
            ice_timeout_s,
            empty_timeout_s,
            resume_window_s,
            drain_timeout_s,
            max_participants,
            log_format,
            store_path,
            event_retention_s
        );
        if !self.public_ip.is_empty() {
            c.public_ip = self.public_ip.clone();
        }
        if !self.cors_origins.is_empty() {
            c.cors_origins = self.cors_origins.clone();
        }
        if !self.webhook_urls.is_empty() {
            c.webhooks.urls = self.webhook_urls.clone();
        }
        if self.tls_cert.is_some() {
            c.tls_cert = self.tls_cert.clone();
        }
        if self.tls_key.is_some() {
            c.tls_key = self.tls_key.clone();
        }
        c.validate()?;
        Ok(c)
    }
}

/// Signs the token `switchboard token` prints.
pub fn token(config: &Config, args: &TokenArgs) -> String {
    let claims = if args.admin && args.room.is_none() {
        Claims::admin(&config.api_key, args.identity.as_deref().unwrap_or("admin"), args.ttl)
    } else {
        let mut c = Claims::join(
            &config.api_key,
            args.room.as_deref().unwrap_or_default(),
            args.identity.as_deref().unwrap_or_default(),
            args.name.as_deref(),
            args.ttl,
        );
        c.admin = args.admin;
        c
    };
    claims.sign(&config.api_secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed_and_flags_override_the_file() {
        Cli::command().debug_assert();
        let dir = std::env::temp_dir().join(format!("sb-cfg-{}", std::process::id()));
        std::fs::write(&dir, "udp_port = 9000\nempty_timeout_s = 5\n").unwrap();
        let cli = Cli::parse_from(["switchboard", "--config", dir.to_str().unwrap(), "--udp-port", "9100"]);
        let c = cli.settings.load().unwrap();
        assert_eq!((c.udp_port, c.empty_timeout_s), (9100, 5));
        std::fs::remove_file(dir).unwrap();
    }

    #[test]
    fn token_subcommand_signs_a_verifiable_token() {
        let cli = Cli::parse_from(["switchboard", "token", "--room", "r", "--identity", "bob", "--ttl", "2h"]);
        let Some(Command::Token(args)) = cli.command else { panic!("token subcommand") };
        let config = Config::default();
        let claims = crate::auth::verify(&token(&config, &args), "devkey", "secret").unwrap();
        assert_eq!((claims.room.as_deref(), claims.sub.as_str(), claims.admin), (Some("r"), "bob", false));
        assert!(claims.exp - claims.nbf == 7200);
    }

    #[test]
    fn cors_origins_come_from_repeated_flags() {
        let cli = Cli::parse_from([
            "switchboard",
            "--cors-origin",
            "https://a.example",
            "--cors-origin",
            "http://b.example:8080",
        ]);
        let c = cli.settings.load().unwrap();
        assert_eq!(c.cors_origins, ["https://a.example", "http://b.example:8080"]);
        let cli = Cli::parse_from(["switchboard", "--cors-origin", "not an origin"]);
        assert!(cli.settings.load().is_err());
    }

    #[test]
    fn tls_flags_set_certificate_and_key_together() {
        let cli = Cli::parse_from(["switchboard", "--tls-cert", "/tls/tls.crt", "--tls-key", "/tls/tls.key"]);
        let c = cli.settings.load().unwrap();
        assert_eq!(c.tls_cert.as_deref(), Some(std::path::Path::new("/tls/tls.crt")));
        assert_eq!(c.tls_key.as_deref(), Some(std::path::Path::new("/tls/tls.key")));
        let err = Cli::parse_from(["switchboard", "--tls-cert", "/tls/tls.crt"]).settings.load().unwrap_err();
        assert!(err.to_string().contains("tls_key"), "{err}");
    }

    #[test]
    fn store_and_webhook_flags_override_the_file() {
        let cli = Cli::parse_from([
            "switchboard",
            "--store-path",
            ":memory:",
            "--event-retention-s",
            "60",
            "--webhook-url",
            "http://127.0.0.1:9/a",
            "--webhook-url",
            "https://hooks.example.com/b",
        ]);
        let c = cli.settings.load().unwrap();
        assert_eq!((c.store_path.to_str(), c.event_retention_s), (Some(":memory:"), 60));
        assert_eq!(c.webhooks.urls, ["http://127.0.0.1:9/a", "https://hooks.example.com/b"]);
        assert!(Cli::parse_from(["switchboard", "--webhook-url", "nope"]).settings.load().is_err());
    }

    #[test]
    fn admin_subcommands_parse_as_documented() {
        use admin::AdminCommand as A;
        let parse = |args: &[&str]| Cli::try_parse_from([&["switchboard"], args].concat()).map(|c| c.command);
        for args in [
            &["rooms"][..],
            &["rooms", "list", "--json"],
            &["rooms", "create", "standup", "--lobby", "--max-participants", "10"],
            &["rooms", "get", "standup"],
            &["rooms", "end", "standup", "--url", "http://10.0.0.1:7880"],
            &["participants", "standup"],
            &["participants", "standup", "alice"],
            &["mute", "standup", "alice", "--kind", "audio"],
            &["mute", "standup", "alice", "--track", "TR_x", "--unmute"],
            &["hold", "standup", "alice"],
            &["resume", "standup", "alice"],
            &["move", "standup", "alice", "--to", "breakout"],
            &["kick", "standup", "alice", "--reason", "spam", "--ban"],
            &["invite", "standup", "bob", "--name", "Bob", "--ttl", "1h"],
            &["lobby", "standup"],
            &["lobby", "standup", "admit", "carol"],
            &["lobby", "standup", "deny", "carol"],
            &["sessions"],
        ] {
            assert!(matches!(parse(args), Ok(Some(Command::Admin(_)))), "{args:?}");
        }
        assert!(matches!(parse(&["rooms"]), Ok(Some(Command::Admin(A::Rooms(_))))));
        assert!(parse(&["mute", "standup", "alice", "--kind", "smell"]).is_err());
        assert!(parse(&["move", "standup", "alice"]).is_err(), "--to is required");
    }
}
