//! Statistics samples for this room's peers: per-track meters, subscriptions, and connection
//! quality changes (told to the room and recorded as events).

use super::*;
use crate::events::EventKind;
use crate::participant::Subscription;
use crate::protocol::QualityUpdate;
use switchboard_media::PeerStats;

impl Room {
    pub(super) fn on_stats(&mut self, samples: Vec<PeerStats>) {
        let now = Instant::now();
        let identities: HashMap<ParticipantSid, crate::ids::Identity> =
            self.participants.values().map(|p| (p.member.sid.clone(), p.member.identity.clone())).collect();
        let mut touched = BTreeSet::new();
        for ps in samples {
            let Some(sid) = self.peers.get(&ps.peer).cloned() else { continue };
            let Some(p) = self.participants.get_mut(&sid) else { continue };
            if ps.peer == p.publisher {
                if ps.remote.is_some() {
                    p.remote = ps.remote;
                }
                for (source, sample) in &ps.inbound {
                    if let Some(t) = p.tracks.values_mut().find(|t| t.source_id == *source) {
                        let nacks = t.meter.update(now, sample);
                        self.inner.nacks_to_publishers.fetch_add(nacks, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            } else {
                for (source, sample) in &ps.outbound {
                    let Some((publisher, track)) = self.sources.get(source) else { continue };
                    let Some(identity) = identities.get(publisher) else { continue };
                    let nacks = p
                        .subscriptions
                        .entry(*source)
                        .or_insert_with(|| Subscription { track: track.clone(), publisher: identity.clone(), meter: Default::default() })
                        .meter
                        .update(now, sample);
                    self.inner.nacks_from_subscribers.fetch_add(nacks, std::sync::atomic::Ordering::Relaxed);
                }
                let sources = &self.sources;
                let retired = &mut p.retired;
                p.subscriptions.retain(|source, sub| {
                    let keep = sources.contains_key(source);
                    if !keep {
                        retired.add_out(&sub.meter);
                    }
                    keep
                });
            }
            touched.insert(sid);
        }
        let mut updates = Vec::new();
        for sid in touched {
            let Some(p) = self.participants.get_mut(&sid) else { continue };
            let quality = p.compute_quality();
            if quality == p.quality {
                continue;
            }
            p.quality = quality;
            if let Some(q) = quality {
                let identity = p.member.identity.0.clone();
                updates.push(QualityUpdate { participant: sid.clone(), quality: q });
                self.emit(EventKind::ConnectionQualityChanged, Some(&identity), serde_json::json!({ "quality": q }));
            }
        }
        if !updates.is_empty() {
            self.broadcast(None, ServerMessage::ConnectionQuality { updates });
        }
    }
}
