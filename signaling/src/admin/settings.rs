//! A room's settings, changes to them, and the documented range of every numeric setting (checked
//! at the edge, before anything is computed from a client's number).

use serde::{Deserialize, Serialize};

/// Largest `max_participants` (0 means no limit).
pub const MAX_PARTICIPANTS_LIMIT: u32 = 100_000;
/// Longest `empty_timeout_s`: a week.
pub const MAX_EMPTY_TIMEOUT_S: u64 = 7 * 24 * 3600;

/// Settings of a room (all optional on creation; defaults from the server config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomSettings {
    /// Most participants; 0 means no limit; at most [`MAX_PARTICIPANTS_LIMIT`].
    pub max_participants: u32,
    /// Joiners wait in the lobby until a moderator admits them.
    pub lobby: bool,
    /// A moderator's unmute applies at once instead of asking the participant.
    pub allow_remote_unmute: bool,
    /// Seconds an empty room stays open, 0 to [`MAX_EMPTY_TIMEOUT_S`].
    pub empty_timeout_s: u64,
    /// Free-form application data.
    pub metadata: serde_json::Value,
}

/// A change of room settings (also the explicit settings of a new room); absent fields stay as
/// they are.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomPatch {
    /// See [`RoomSettings::max_participants`].
    pub max_participants: Option<u32>,
    /// See [`RoomSettings::lobby`].
    pub lobby: Option<bool>,
    /// See [`RoomSettings::allow_remote_unmute`].
    pub allow_remote_unmute: Option<bool>,
    /// See [`RoomSettings::empty_timeout_s`].
    pub empty_timeout_s: Option<u64>,
    /// See [`RoomSettings::metadata`].
    pub metadata: Option<serde_json::Value>,
}

/// A setting outside its documented range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} must be {range}, not {value}")]
pub struct InvalidSetting {
    /// The field's name.
    pub field: &'static str,
    /// Its range, in words.
    pub range: String,
    /// What was given.
    pub value: u64,
}

/// `value` of `field` within `min..=max`.
pub fn check_range(field: &'static str, value: u64, min: u64, max: u64) -> Result<(), InvalidSetting> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(InvalidSetting { field, range: format!("between {min} and {max}"), value })
    }
}

impl RoomPatch {
    /// Every numeric field within its range.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if let Some(v) = self.max_participants {
            check_range("max_participants", u64::from(v), 0, u64::from(MAX_PARTICIPANTS_LIMIT))?;
        }
        if let Some(v) = self.empty_timeout_s {
            check_range("empty_timeout_s", v, 0, MAX_EMPTY_TIMEOUT_S)?;
        }
        Ok(())
    }

    /// `settings` with this change applied.
    pub fn apply(self, settings: &mut RoomSettings) {
        let s = settings;
        if let Some(v) = self.max_participants {
            s.max_participants = v;
        }
        if let Some(v) = self.lobby {
            s.lobby = v;
        }
        if let Some(v) = self.allow_remote_unmute {
            s.allow_remote_unmute = v;
        }
        if let Some(v) = self.empty_timeout_s {
            s.empty_timeout_s = v;
        }
        if let Some(v) = self.metadata {
            s.metadata = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> RoomSettings {
        RoomSettings { max_participants: 0, lobby: false, allow_remote_unmute: false, empty_timeout_s: 20, metadata: serde_json::Value::Null }
    }

    #[test]
    fn numbers_outside_their_range_name_the_field() {
        let patch = RoomPatch { empty_timeout_s: Some(u64::MAX), ..Default::default() };
        let e = patch.validate().unwrap_err();
        assert_eq!(e.field, "empty_timeout_s");
        assert!(e.to_string().contains("between 0 and 604800"), "{e}");
        let patch = RoomPatch { max_participants: Some(MAX_PARTICIPANTS_LIMIT + 1), ..Default::default() };
        assert_eq!(patch.validate().unwrap_err().field, "max_participants");
        let ok = RoomPatch { max_participants: Some(10), empty_timeout_s: Some(MAX_EMPTY_TIMEOUT_S), ..Default::default() };
        assert!(ok.validate().is_ok());
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let mut s = defaults();
        RoomPatch { lobby: Some(true), metadata: Some(serde_json::json!({"a": 1})), ..Default::default() }.apply(&mut s);
        assert!(s.lobby);
        assert_eq!(s.metadata["a"], 1);
        assert_eq!((s.max_participants, s.empty_timeout_s, s.allow_remote_unmute), (0, 20, false));
    }
}
