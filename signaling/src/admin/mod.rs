//! The moderation vocabulary: room settings and their ranges, the operations moderators ask of a
//! room (one type each), the views they return, and their errors. Pure data; rooms carry the
//! operations out (`room/ops.rs`).

mod error;
pub mod ops;
mod settings;
mod views;

pub use error::AdminError;
pub use settings::{check_range, InvalidSetting, RoomPatch, RoomSettings, MAX_EMPTY_TIMEOUT_S, MAX_PARTICIPANTS_LIMIT};
pub use views::{ParticipantView, RoomView, SubscriptionView, TrackStatsView, TrackView};
