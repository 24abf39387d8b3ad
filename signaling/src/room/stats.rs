//! Statistics samples for this room's peers: per-track meters, subscriptions, and connection
//! quality changes (told to the room and recorded as events).

use super::participant::Subscription;
use super::Room;
use crate::events::EventKind;
use crate::ids::{Identity, ParticipantSid};
use crate::protocol::{QualityUpdate, ServerMessage};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use switchboard_media::PeerStats;
use tokio::time::Instant;

impl Room {
    pub(super) fn on_stats(&mut self, samples: Vec<PeerStats>) {
        let now = Instant::now();
        let identities: HashMap<ParticipantSid, Identity> =
            self.participants.iter().map(|p| (p.member.sid.clone(), p.member.identity.clone())).collect();
        let mut touched = BTreeSet::new();
        for ps in samples {
            let Some(sid) = self.participants.owner_of(ps.peer).cloned() else { continue };
            let Some((p, sources)) = self.participants.get_mut_with_sources(&sid) else { continue };
            if ps.peer == p.publisher {
                if ps.remote.is_some() {
                    p.remote = ps.remote;
                }
                for (source, sample) in &ps.inbound {
                    if let Some(t) = p.tracks.values_mut().find(|t| t.source_id == *source) {
                        let nacks = t.meter.update(now, sample);
                        self.shared.nacks_to_publishers.fetch_add(nacks, Ordering::Relaxed);
                    }
                }
            } else {
                p.estimated_bitrate = ps.estimated_bitrate.or(p.estimated_bitrate);
                for (source, sample) in &ps.outbound {
                    let Some((publisher, track)) = sources.get(source) else { continue };
                    let Some(identity) = identities.get(publisher) else { continue };
                    let nacks = p
                        .subscriptions
                        .entry(*source)
                        .or_insert_with(|| Subscription { track: track.clone(), publisher: identity.clone(), meter: Default::default() })
                        .meter
                        .update(now, sample);
                    self.shared.nacks_from_subscribers.fetch_add(nacks, Ordering::Relaxed);
                }
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
                let identity = p.member.identity.clone();
                updates.push(QualityUpdate { participant: sid.clone(), quality: q });
                self.emit(EventKind::ConnectionQualityChanged, Some(&identity), serde_json::json!({ "quality": q }));
            }
        }
        if !updates.is_empty() {
            self.broadcast(None, ServerMessage::ConnectionQuality { updates });
        }
    }
}
