//! The moderator-mute policy as pure logic: a track's mute state and who may change it
//! ([`TrackMute`]), and the locks that make a moderator's mute outlive the track it was applied
//! to ([`MuteLocks`]): a track the same identity publishes later (after a rejoin, a reload, a new
//! device) starts muted and locked, until a moderator's unmute takes effect.
//!
//! Locks are kept by (identity, kind), not by source name, because the client names its sources
//! and could rename its way out of a lock.

use crate::ids::Identity;
use std::collections::HashMap;
use switchboard_media::MediaKind;

/// The mute state of one published track.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TrackMute {
    /// Nothing of it is forwarded.
    pub(crate) muted: bool,
    /// The moderator who muted it; the participant cannot unmute it by itself.
    pub(crate) muted_by: Option<Identity>,
    /// A moderator asked the participant to unmute; `unmute_response` is expected.
    pub(crate) unmute_requested: bool,
}

/// Why a participant may not change its own track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LockedBy(pub(crate) Identity);

impl TrackMute {
    /// A track that starts under `lock` (a moderator's earlier mute of this kind), if any.
    pub(crate) fn starting(lock: Option<&Identity>) -> Self {
        Self { muted: lock.is_some(), muted_by: lock.cloned(), unmute_requested: false }
    }

    /// Sets the state as `by` (a moderator; `None`: the publisher, or the publisher accepting an
    /// unmute request) asks; returns whether it changed. The publisher muting a track a
    /// moderator muted changes nothing: the moderator's mute (and its lock) stays.
    pub(crate) fn set(&mut self, muted: bool, by: Option<&Identity>) -> bool {
        if muted && by.is_none() && self.muted_by.is_some() {
            return false;
        }
        let muted_by = if muted { by.cloned() } else { None };
        if self.muted == muted && self.muted_by == muted_by {
            return false;
        }
        self.muted = muted;
        self.muted_by = muted_by;
        self.unmute_requested = false;
        true
    }

    /// Whether the publisher itself may set `muted`: it cannot lift a moderator's mute.
    pub(crate) fn publisher_may(&self, muted: bool) -> Result<(), LockedBy> {
        match &self.muted_by {
            Some(by) if !muted => Err(LockedBy(by.clone())),
            _ => Ok(()),
        }
    }

    /// A moderator's unmute the room does not apply at once: the participant is asked, if the
    /// track is muted at all. Returns whether a request is now pending.
    pub(crate) fn request_unmute(&mut self) -> bool {
        if self.muted {
            self.unmute_requested = true;
        }
        self.muted
    }
}

/// Moderator mutes by (identity, kind) → the moderator.
#[derive(Debug, Default)]
pub(crate) struct MuteLocks {
    locks: HashMap<(Identity, MediaKind), Identity>,
}

impl MuteLocks {
    /// The moderator whose mute holds on `identity`'s tracks of `kind`.
    pub(crate) fn holder(&self, identity: &Identity, kind: MediaKind) -> Option<&Identity> {
        self.locks.get(&(identity.clone(), kind))
    }

    /// A track of `identity`'s `kind` changed to `mute`; `kind_still_locked` tells whether any of
    /// its tracks of that kind is still moderator-muted. The lock lasts while one is (it outlives
    /// those tracks: that is its point) and ends when a moderator's unmute takes effect.
    pub(crate) fn track_changed(&mut self, identity: &Identity, kind: MediaKind, mute: &TrackMute, kind_still_locked: bool) {
        let key = (identity.clone(), kind);
        match &mute.muted_by {
            Some(by) => _ = self.locks.insert(key, by.clone()),
            None if !mute.muted && !kind_still_locked => _ = self.locks.remove(&key),
            None => {}
        }
    }

    /// Takes every lock of `identity` (it moves to another room with them).
    pub(crate) fn take(&mut self, identity: &Identity) -> Vec<(MediaKind, Identity)> {
        let kinds: Vec<MediaKind> = self.locks.keys().filter(|(i, _)| i == identity).map(|(_, k)| *k).collect();
        kinds.into_iter().filter_map(|k| self.locks.remove(&(identity.clone(), k)).map(|by| (k, by))).collect()
    }

    /// Locks of `identity` brought from another room.
    pub(crate) fn restore(&mut self, identity: &Identity, locks: Vec<(MediaKind, Identity)>) {
        for (kind, by) in locks {
            self.locks.insert((identity.clone(), kind), by);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Identity {
        Identity::parse(s).unwrap()
    }

    #[test]
    fn a_moderators_mute_is_kept_against_the_publisher() {
        let m = id("mod");
        let mut t = TrackMute::default();
        assert!(t.set(true, Some(&m)));
        assert_eq!(t.muted_by, Some(m.clone()));
        assert!(!t.set(true, None), "the publisher muting again changes nothing");
        assert_eq!(t.muted_by, Some(m.clone()), "and does not take the moderator's mute over");
        assert_eq!(t.publisher_may(false), Err(LockedBy(m.clone())));
        assert_eq!(t.publisher_may(true), Ok(()));
        // an unmute request accepted by the publisher lifts it
        assert!(t.request_unmute());
        assert!(t.unmute_requested);
        assert!(t.set(false, None));
        assert_eq!(t, TrackMute::default());
    }

    #[test]
    fn publisher_mutes_are_its_own() {
        let mut t = TrackMute::default();
        assert!(t.set(true, None));
        assert_eq!(t.publisher_may(false), Ok(()));
        assert!(t.set(false, None));
        assert!(!t.set(false, None), "unchanged");
        assert!(!t.request_unmute(), "nothing to ask while unmuted");
    }

    #[test]
    fn a_remote_unmute_by_a_moderator_clears_the_mute() {
        let m = id("mod");
        let mut t = TrackMute::starting(Some(&m));
        assert!(t.muted);
        assert!(t.set(false, Some(&m)));
        assert_eq!((t.muted, t.muted_by), (false, None));
    }

    #[test]
    fn locks_last_while_a_track_of_the_kind_is_moderator_muted() {
        let (alice, m) = (id("alice"), id("mod"));
        let mut locks = MuteLocks::default();
        let mut t = TrackMute::default();
        t.set(true, Some(&m));
        locks.track_changed(&alice, MediaKind::Audio, &t, true);
        assert_eq!(locks.holder(&alice, MediaKind::Audio), Some(&m));
        assert_eq!(locks.holder(&alice, MediaKind::Video), None, "by kind");
        // another audio track unmuted while this one is still moderator-muted: the lock stays
        locks.track_changed(&alice, MediaKind::Audio, &TrackMute::default(), true);
        assert!(locks.holder(&alice, MediaKind::Audio).is_some());
        // the publisher's own mute of a track leaves the lock alone
        locks.track_changed(&alice, MediaKind::Audio, &TrackMute { muted: true, ..Default::default() }, false);
        assert!(locks.holder(&alice, MediaKind::Audio).is_some());
        // the last moderator-muted track of the kind is unmuted: the lock ends
        locks.track_changed(&alice, MediaKind::Audio, &TrackMute::default(), false);
        assert_eq!(locks.holder(&alice, MediaKind::Audio), None);
    }

    #[test]
    fn locks_move_with_the_person() {
        let (alice, m) = (id("alice"), id("mod"));
        let mut here = MuteLocks::default();
        here.track_changed(&alice, MediaKind::Video, &TrackMute::starting(Some(&m)), true);
        here.track_changed(&id("bob"), MediaKind::Audio, &TrackMute::starting(Some(&m)), true);
        let taken = here.take(&alice);
        assert_eq!(taken, vec![(MediaKind::Video, m.clone())]);
        assert_eq!(here.holder(&alice, MediaKind::Video), None);
        assert!(here.holder(&id("bob"), MediaKind::Audio).is_some(), "others' locks stay");
        let mut there = MuteLocks::default();
        there.restore(&alice, taken);
        assert_eq!(there.holder(&alice, MediaKind::Video), Some(&m));
    }
}
