//! The participants table of one room: participants by session, and the two indexes media events
//! need — which participant owns a media peer, and which participant and track a media source
//! is. The indexes change only through this table, so they never disagree with it.

use super::participant::Participant;
use crate::ids::{Identity, ParticipantSid, TrackSid};
use std::collections::HashMap;
use switchboard_media::{PeerId, SourceId};

/// Published source → (publisher, track).
pub(crate) type SourceIndex = HashMap<SourceId, (ParticipantSid, TrackSid)>;

/// Participants (with media) of a room and their indexes.
#[derive(Default)]
pub(crate) struct Participants {
    by_sid: HashMap<ParticipantSid, Participant>,
    /// Media peer → owner.
    peers: HashMap<PeerId, ParticipantSid>,
    /// Published source → (publisher, track), for the tracks forwarded in this room.
    sources: SourceIndex,
}

impl Participants {
    /// Adds `p` and indexes its two media peers (its tracks are indexed by [`Self::index_source`]
    /// as they are offered).
    pub(crate) fn insert(&mut self, p: Participant) {
        for peer in [p.publisher, p.subscriber] {
            self.peers.insert(peer, p.member.sid.clone());
        }
        self.by_sid.insert(p.member.sid.clone(), p);
    }

    /// Takes a participant out with every index entry pointing at it.
    pub(crate) fn remove(&mut self, sid: &ParticipantSid) -> Option<Participant> {
        let p = self.by_sid.remove(sid)?;
        self.peers.retain(|_, s| s != sid);
        self.sources.retain(|_, (s, _)| s != sid);
        Some(p)
    }

    pub(crate) fn get(&self, sid: &ParticipantSid) -> Option<&Participant> {
        self.by_sid.get(sid)
    }

    pub(crate) fn get_mut(&mut self, sid: &ParticipantSid) -> Option<&mut Participant> {
        self.by_sid.get_mut(sid)
    }

    /// A participant together with the source index (read-only), for updates that look up the
    /// tracks it receives.
    pub(crate) fn get_mut_with_sources(
        &mut self,
        sid: &ParticipantSid,
    ) -> Option<(&mut Participant, &SourceIndex)> {
        Some((self.by_sid.get_mut(sid)?, &self.sources))
    }

    pub(crate) fn contains(&self, sid: &ParticipantSid) -> bool {
        self.by_sid.contains_key(sid)
    }

    /// The session of `identity`, if it is here.
    pub(crate) fn find(&self, identity: &Identity) -> Option<ParticipantSid> {
        self.by_sid.values().find(|p| &p.member.identity == identity).map(|p| p.member.sid.clone())
    }

    /// Every participant (in no particular order; see [`Self::in_joining_order`]).
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Participant> {
        self.by_sid.values()
    }

    /// Every session id.
    pub(crate) fn sids(&self) -> Vec<ParticipantSid> {
        self.by_sid.keys().cloned().collect()
    }

    /// Oldest first (then by identity), so lists and tables stay put.
    pub(crate) fn in_joining_order(&self) -> Vec<&Participant> {
        let mut all: Vec<&Participant> = self.by_sid.values().collect();
        all.sort_by(|a, b| (&a.member.joined_at, &a.member.identity).cmp(&(&b.member.joined_at, &b.member.identity)));
        all
    }

    pub(crate) fn len(&self) -> usize {
        self.by_sid.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_sid.is_empty()
    }

    /// The owner of media peer `peer`.
    pub(crate) fn owner_of(&self, peer: PeerId) -> Option<&ParticipantSid> {
        self.peers.get(&peer)
    }

    /// `source` is `track` of `publisher`, forwarded in this room.
    pub(crate) fn index_source(&mut self, source: SourceId, publisher: &ParticipantSid, track: &TrackSid) {
        self.sources.insert(source, (publisher.clone(), track.clone()));
    }

    /// `source` is no longer forwarded here; returns whose track it was.
    pub(crate) fn forget_source(&mut self, source: SourceId) -> Option<(ParticipantSid, TrackSid)> {
        self.sources.remove(&source)
    }

    /// Whose track `source` is.
    pub(crate) fn source(&self, source: SourceId) -> Option<&(ParticipantSid, TrackSid)> {
        self.sources.get(&source)
    }

    /// Published tracks in the room.
    pub(crate) fn track_count(&self) -> usize {
        self.by_sid.values().map(|p| p.tracks.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call_state::CallState;
    use crate::room::lobby::tests::member;

    fn participant(identity: &str, peers: (u64, u64)) -> (Participant, tokio::sync::mpsc::Receiver<crate::protocol::Outbound>) {
        let (member, rx) = member(identity);
        (Participant::new(member, CallState::Joining, PeerId(peers.0), PeerId(peers.1)), rx)
    }

    #[test]
    fn indexes_follow_the_table() {
        let mut t = Participants::default();
        let (a, _ra) = participant("a", (1, 2));
        let (b, _rb) = participant("b", (3, 4));
        let (a_sid, b_sid) = (a.member.sid.clone(), b.member.sid.clone());
        t.insert(a);
        t.insert(b);
        assert_eq!(t.owner_of(PeerId(2)), Some(&a_sid));
        assert_eq!(t.find(&Identity::parse("b").unwrap()), Some(b_sid.clone()));
        t.index_source(SourceId(9), &a_sid, &TrackSid("TR_1".into()));
        assert_eq!(t.source(SourceId(9)).map(|(s, _)| s), Some(&a_sid));
        let removed = t.remove(&a_sid).unwrap();
        assert_eq!(removed.member.sid, a_sid);
        assert_eq!(t.owner_of(PeerId(1)), None, "its peers are forgotten");
        assert_eq!(t.source(SourceId(9)), None, "and its sources");
        assert_eq!(t.owner_of(PeerId(3)), Some(&b_sid));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn joining_order_is_by_time_then_identity() {
        let mut t = Participants::default();
        for (i, (identity, at)) in [("c", "2024-01-01T00:00:02Z"), ("b", "2024-01-01T00:00:01Z"), ("a", "2024-01-01T00:00:02Z")]
            .into_iter()
            .enumerate()
        {
            let (mut p, rx) = participant(identity, (10 * i as u64, 10 * i as u64 + 1));
            std::mem::forget(rx);
            p.member.joined_at = at.into();
            t.insert(p);
        }
        let order: Vec<_> = t.in_joining_order().iter().map(|p| p.member.identity.to_string()).collect();
        assert_eq!(order, ["b", "a", "c"]);
    }
}
