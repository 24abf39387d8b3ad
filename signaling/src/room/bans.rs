//! Who may not enter a room: banned identities, and the tokens of participants a moderator
//! removed (such a token no longer admits anyone to this room, banned or not).

use crate::ids::Identity;
use crate::join::{JoinError, JoinRequest};
use std::collections::{BTreeSet, HashSet};

/// A room's ban list and revoked tokens.
#[derive(Debug, Default)]
pub(crate) struct Bans {
    banned: BTreeSet<Identity>,
    /// `jti`s of removed participants' tokens.
    revoked_tokens: HashSet<String>,
}

impl Bans {
    /// Whether `request` may enter.
    pub(crate) fn admit(&self, request: &JoinRequest) -> Result<(), JoinError> {
        if self.banned.contains(&request.identity) {
            return Err(JoinError::Banned);
        }
        if self.revoked_tokens.contains(&request.token_id) {
            return Err(JoinError::TokenRevoked);
        }
        Ok(())
    }

    pub(crate) fn ban(&mut self, identity: Identity) {
        self.banned.insert(identity);
    }

    /// `false` if `identity` was not banned.
    pub(crate) fn lift(&mut self, identity: &Identity) -> bool {
        self.banned.remove(identity)
    }

    pub(crate) fn revoke_token(&mut self, token_id: &str) {
        self.revoked_tokens.insert(token_id.to_owned());
    }

    /// Banned identities, in order.
    pub(crate) fn list(&self) -> Vec<Identity> {
        self.banned.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RoomName;

    fn request(identity: &str, token: &str) -> JoinRequest {
        JoinRequest {
            room: RoomName::parse("r").unwrap(),
            identity: Identity::parse(identity).unwrap(),
            name: identity.into(),
            permissions: Default::default(),
            metadata: serde_json::Value::Null,
            token_id: token.into(),
        }
    }

    #[test]
    fn banned_identities_and_revoked_tokens_stay_out() {
        let mut b = Bans::default();
        assert_eq!(b.admit(&request("a", "t1")), Ok(()));
        b.ban(Identity::parse("a").unwrap());
        assert_eq!(b.admit(&request("a", "t2")), Err(JoinError::Banned));
        b.revoke_token("t3");
        assert_eq!(b.admit(&request("b", "t3")), Err(JoinError::TokenRevoked), "any identity with that token");
        assert_eq!(b.admit(&request("b", "t4")), Ok(()));
        assert!(b.lift(&Identity::parse("a").unwrap()));
        assert!(!b.lift(&Identity::parse("a").unwrap()), "lifted once");
        assert_eq!(b.admit(&request("a", "t2")), Ok(()));
        assert!(b.list().is_empty());
    }
}
