//! Invitations not yet used: an invitee is listed as `invited` until it joins or its invite
//! expires (unix seconds; expired ones are forgotten when the list is read).

use crate::ids::Identity;
use std::collections::BTreeMap;

/// An invite not yet used.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Invite {
    pub(crate) name: Option<String>,
    pub(crate) expires_at: u64,
}

/// A room's pending invites by identity.
#[derive(Debug, Default)]
pub(crate) struct Invites {
    pending: BTreeMap<Identity, Invite>,
}

impl Invites {
    /// Records (or renews) an invite.
    pub(crate) fn add(&mut self, identity: Identity, name: Option<String>, expires_at: u64) {
        self.pending.insert(identity, Invite { name, expires_at });
    }

    /// The invitee joined: its invite is used.
    pub(crate) fn used(&mut self, identity: &Identity) {
        self.pending.remove(identity);
    }

    /// Unexpired invites at unix time `now`, in identity order; the expired ones are dropped.
    pub(crate) fn pending(&mut self, now: u64) -> impl Iterator<Item = (&Identity, &Invite)> {
        self.pending.retain(|_, i| i.expires_at > now);
        self.pending.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Identity {
        Identity::parse(s).unwrap()
    }

    #[test]
    fn invites_expire_and_are_used_once() {
        let mut inv = Invites::default();
        inv.add(id("b"), Some("Bea".into()), 200);
        inv.add(id("a"), None, 100);
        let names: Vec<_> = inv.pending(50).map(|(i, _)| i.as_str().to_owned()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(inv.pending(100).count(), 1, "a's invite expired at 100");
        inv.used(&id("b"));
        assert_eq!(inv.pending(0).count(), 0);
    }
}
