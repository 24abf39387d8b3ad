//! The waiting room: members who joined a room with a lobby and wait for a moderator, in the
//! order they arrived. They have no media and may only ping or leave.

use super::participant::Member;
use crate::ids::{Identity, ParticipantSid};

/// Who waits, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Lobby {
    waiting: Vec<Member>,
}

impl Lobby {
    pub(crate) fn push(&mut self, member: Member) {
        self.waiting.push(member);
    }

    pub(crate) fn get(&self, sid: &ParticipantSid) -> Option<&Member> {
        self.waiting.iter().find(|m| &m.sid == sid)
    }

    /// Takes the member with session `sid` out.
    pub(crate) fn take(&mut self, sid: &ParticipantSid) -> Option<Member> {
        let pos = self.waiting.iter().position(|m| &m.sid == sid)?;
        Some(self.waiting.remove(pos))
    }

    /// Takes the member with `identity` out.
    pub(crate) fn take_identity(&mut self, identity: &Identity) -> Option<Member> {
        let pos = self.waiting.iter().position(|m| &m.identity == identity)?;
        Some(self.waiting.remove(pos))
    }

    /// Everyone, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Member> {
        self.waiting.iter()
    }

    /// Takes everyone out.
    pub(crate) fn take_all(&mut self) -> Vec<Member> {
        std::mem::take(&mut self.waiting)
    }

    pub(crate) fn len(&self) -> usize {
        self.waiting.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ids::RoomName;
    use crate::protocol::Outbound;

    /// A member with an outbound queue whose receiver is returned (kept open by the caller).
    pub(crate) fn member(identity: &str) -> (Member, tokio::sync::mpsc::Receiver<Outbound>) {
        let (out, rx) = tokio::sync::mpsc::channel(8);
        let m = Member {
            sid: ParticipantSid(format!("PA_{identity}")),
            identity: Identity::parse(identity).unwrap(),
            name: identity.into(),
            permissions: Default::default(),
            metadata: serde_json::Value::Null,
            token_id: format!("jti-{identity}"),
            token_room: RoomName::parse("r").unwrap(),
            joined_at: String::new(),
            since: tokio::time::Instant::now(),
            out,
            connection: 0,
        };
        (m, rx)
    }

    #[test]
    fn members_wait_in_order_and_leave_by_sid_or_identity() {
        let mut lobby = Lobby::default();
        let (a, _ra) = member("a");
        let (b, _rb) = member("b");
        let (c, _rc) = member("c");
        lobby.push(a);
        lobby.push(b);
        lobby.push(c);
        let order: Vec<_> = lobby.iter().map(|m| m.identity.as_str()).collect();
        assert_eq!(order, ["a", "b", "c"]);
        assert!(lobby.get(&ParticipantSid("PA_b".into())).is_some());
        assert_eq!(lobby.take(&ParticipantSid("PA_b".into())).map(|m| m.identity.to_string()).as_deref(), Some("b"));
        assert!(lobby.take(&ParticipantSid("PA_b".into())).is_none(), "only once");
        assert_eq!(lobby.take_identity(&Identity::parse("c").unwrap()).map(|m| m.sid.0).as_deref(), Some("PA_c"));
        assert_eq!(lobby.len(), 1);
        assert_eq!(lobby.take_all().len(), 1);
        assert!(lobby.is_empty());
    }
}
