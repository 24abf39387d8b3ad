//! The `switchboard` server: configuration, authentication, HTTP and WebSocket endpoints,
//! metrics, the event service with its store of events and session records, and the wiring of
//! signalling to the media shard.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
mod drain;
pub mod events;
mod http;
mod metrics;
mod state;
pub mod store;
pub mod testing;
mod tls;

pub use app::{spawn, RunningServer};
pub use config::Config;
