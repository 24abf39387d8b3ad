//! What a participant may do, from its token (and, later, a moderator's changes).

use serde::{Deserialize, Serialize};

/// Participant permissions as carried in the token's `permissions` claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Permissions {
    /// May publish tracks.
    pub can_publish: bool,
    /// Sources it may publish (`camera`, `microphone`, `screen`); empty means all.
    pub can_publish_sources: Vec<String>,
    /// Receives the other participants' tracks.
    pub can_subscribe: bool,
    /// May send data messages.
    pub can_publish_data: bool,
    /// Invisible to the other participants.
    pub hidden: bool,
    /// May moderate its own room over the WebSocket.
    pub room_admin: bool,
}

impl Default for Permissions {
    fn default() -> Self {
        Self {
            can_publish: true,
            can_publish_sources: Vec::new(),
            can_subscribe: true,
            can_publish_data: true,
            hidden: false,
            room_admin: false,
        }
    }
}

impl Permissions {
    /// May this participant publish a track of `source`?
    pub fn may_publish(&self, source: &str) -> bool {
        self.can_publish && (self.can_publish_sources.is_empty() || self.can_publish_sources.iter().any(|s| s == source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_sources_restrict_only_when_listed() {
        let mut p = Permissions::default();
        assert!(p.may_publish("screen"));
        p.can_publish_sources = vec!["microphone".into()];
        assert!(p.may_publish("microphone"));
        assert!(!p.may_publish("camera"));
        p.can_publish = false;
        assert!(!p.may_publish("microphone"));
    }

    #[test]
    fn unknown_permission_fields_are_rejected() {
        assert!(serde_json::from_str::<Permissions>(r#"{"can_fly": true}"#).is_err());
        let p: Permissions = serde_json::from_str(r#"{"can_publish": false}"#).unwrap();
        assert!(!p.can_publish && p.can_subscribe);
    }
}
