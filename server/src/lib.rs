//! The `switchboard` server: configuration, authentication, HTTP and WebSocket endpoints,
//! metrics, and the wiring of signalling to the media shard.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
mod http;
mod metrics;
pub mod testing;

pub use app::{spawn, RunningServer};
pub use config::Config;
