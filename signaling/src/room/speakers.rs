//! Active speakers from RFC 6464 audio levels: a smoothed level per participant, the ordered
//! list of those speaking, and the dominant speaker, which changes only after leading for
//! [`DOMINANCE_REPORTS`] consecutive reports. Debounced: a participant starts speaking above
//! [`SPEAKING`] and stops below half of it, and a list whose members did not change (only their
//! order) is sent at most once per [`REORDER_INTERVAL`].

use super::Room;
use crate::events::EventKind;
use crate::ids::{Identity, ParticipantSid};
use crate::protocol::{ServerMessage, SpeakerInfo};
use std::collections::HashMap;
use switchboard_media::{AudioLevel, MediaCommand, SourcePriority};
use tokio::time::Instant;

/// Mean linear level above which a participant counts as speaking (about -30 dBov).
const SPEAKING: f32 = 0.03;
/// Weight of the newest report in the smoothed level.
const SMOOTHING: f32 = 0.5;
/// Reports a new leader must lead before it becomes the dominant speaker.
const DOMINANCE_REPORTS: u32 = 2;
/// Minimum time between two announcements that only reorder the same speakers.
const REORDER_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Speaker state of a room.
#[derive(Default)]
pub(crate) struct Speakers {
    levels: HashMap<ParticipantSid, f32>,
    announced: Vec<ParticipantSid>,
    announced_at: Option<Instant>,
    pub(crate) dominant: Option<ParticipantSid>,
    challenger: Option<(ParticipantSid, u32)>,
}

impl Speakers {
    /// Folds in one report; returns the new speaking list if it changed, and the new dominant
    /// speaker if that changed.
    pub(crate) fn update(
        &mut self,
        now: Instant,
        reported: &HashMap<ParticipantSid, f32>,
    ) -> (Option<Vec<(ParticipantSid, f32)>>, Option<ParticipantSid>) {
        for (sid, level) in self.levels.iter_mut() {
            let new = reported.get(sid).copied().unwrap_or(0.0);
            *level = SMOOTHING * new + (1.0 - SMOOTHING) * *level;
        }
        for (sid, level) in reported {
            self.levels.entry(sid.clone()).or_insert(*level);
        }
        self.levels.retain(|_, l| *l > 0.001);
        let was_speaking = |sid: &ParticipantSid| self.announced.contains(sid);
        let mut speaking: Vec<(ParticipantSid, f32)> = self
            .levels
            .iter()
            .filter(|(s, l)| **l >= SPEAKING || (was_speaking(s) && **l >= SPEAKING / 2.0))
            .map(|(s, l)| (s.clone(), *l))
            .collect();
        speaking.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let order: Vec<ParticipantSid> = speaking.iter().map(|(s, _)| s.clone()).collect();
        let same_members = order.len() == self.announced.len() && order.iter().all(|s| self.announced.contains(s));
        let reorder_due = self.announced_at.is_none_or(|t| now.saturating_duration_since(t) >= REORDER_INTERVAL);
        let changed = (order != self.announced && (!same_members || reorder_due)).then(|| {
            self.announced = order;
            self.announced_at = Some(now);
            speaking.clone()
        });
        let leader = speaking.first().map(|(s, _)| s.clone());
        let mut new_dominant = None;
        match leader {
            Some(l) if Some(&l) != self.dominant.as_ref() => {
                let count = match &self.challenger {
                    Some((c, n)) if *c == l => n + 1,
                    _ => 1,
                };
                if count >= DOMINANCE_REPORTS || self.dominant.is_none() {
                    self.dominant = Some(l.clone());
                    self.challenger = None;
                    new_dominant = Some(l);
                } else {
                    self.challenger = Some((l, count));
                }
            }
            _ => self.challenger = None,
        }
        (changed, new_dominant)
    }

    pub(crate) fn forget(&mut self, sid: &ParticipantSid) {
        self.levels.remove(sid);
        if self.dominant.as_ref() == Some(sid) {
            self.dominant = None;
        }
    }
}

impl Room {
    pub(super) fn on_audio_levels(&mut self, levels: Vec<AudioLevel>) {
        let mut reported: HashMap<ParticipantSid, f32> = HashMap::new();
        for l in levels {
            if let Some((sid, _)) = self.participants.source(l.source) {
                let e = reported.entry(sid.clone()).or_insert(0.0);
                *e = e.max(l.level);
            }
        }
        let before = self.speakers.dominant.clone();
        let (changed, dominant) = self.speakers.update(Instant::now(), &reported);
        if let Some(list) = changed {
            let speakers = list.into_iter().map(|(participant, level)| SpeakerInfo { participant, level }).collect();
            self.broadcast(None, ServerMessage::Speakers { speakers });
        }
        if let Some(sid) = dominant {
            // The active speaker's camera goes first in every subscriber's bandwidth share.
            if let Some(old) = before {
                self.set_camera_priority(&old, SourcePriority::Normal);
            }
            self.set_camera_priority(&sid, SourcePriority::Speaker);
            let identity = self.participants.get(&sid).map(|p| p.member.identity.clone());
            self.emit(EventKind::ActiveSpeakerChanged, identity.as_ref(), serde_json::json!({ "sid": sid }));
        }
    }

    /// Ranks the camera tracks of `sid` in the media allocation.
    pub(super) fn set_camera_priority(&self, sid: &ParticipantSid, priority: SourcePriority) {
        let Some(p) = self.participants.get(sid) else { return };
        for t in p.tracks.values().filter(|t| t.source == "camera") {
            self.shared.media.send(MediaCommand::SetSourcePriority { source: t.source_id, priority });
        }
    }

    /// The dominant speaker's identity.
    pub(super) fn active_speaker(&self) -> Option<&Identity> {
        let sid = self.speakers.dominant.as_ref()?;
        self.participants.get(sid).map(|p| &p.member.identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(pairs: &[(&str, f32)]) -> HashMap<ParticipantSid, f32> {
        pairs.iter().map(|(s, l)| (ParticipantSid((*s).into()), *l)).collect()
    }

    #[test]
    fn ordered_list_and_dominance_with_hysteresis() {
        let t0 = Instant::now();
        let at = |ms| t0 + std::time::Duration::from_millis(ms);
        let mut s = Speakers::default();
        let (list, dom) = s.update(at(0), &report(&[("a", 0.5), ("b", 0.1)]));
        let names: Vec<_> = list.unwrap().into_iter().map(|(p, _)| p.0).collect();
        assert_eq!(names, ["a", "b"], "loudest first");
        assert_eq!(dom.unwrap().0, "a", "first leader becomes dominant at once");
        // same order again: nothing to announce
        assert_eq!(s.update(at(250), &report(&[("a", 0.5), ("b", 0.1)])), (None, None));
        // b gets louder: dominance needs two reports in a row; a mere reorder of the same
        // speakers waits for the reorder interval
        let (list, dom) = s.update(at(500), &report(&[("a", 0.06), ("b", 0.9)]));
        assert_eq!(list, None, "only the order changed, 500 ms after the last list");
        assert_eq!(dom, None, "one report is not enough");
        let (list, dom) = s.update(at(1000), &report(&[("a", 0.06), ("b", 0.9)]));
        assert_eq!(dom.unwrap().0, "b");
        let names: Vec<_> = list.expect("reorder after the interval").into_iter().map(|(p, _)| p.0).collect();
        assert_eq!(names, ["b", "a"]);
    }

    #[test]
    fn silence_decays_out_of_the_list() {
        let t0 = Instant::now();
        let mut s = Speakers::default();
        s.update(t0, &report(&[("a", 0.2)]));
        let mut last = None;
        for i in 1..8 {
            if let (Some(list), _) = s.update(t0 + std::time::Duration::from_millis(250 * i), &report(&[])) {
                last = Some(list);
            }
        }
        assert_eq!(last, Some(vec![]), "a quiet participant leaves the speaking list");
    }
}
