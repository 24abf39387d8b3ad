//! Recent packets of a video source, kept once per source for answering subscribers' NACKs.
//!
//! Every leg of a source forwards the same packets with its own numbers, so one history per
//! source (not per leg, as `rtc`'s NACK responder keeps) serves all its subscribers: a NACK's
//! sequence number is mapped back through the leg's rewriter and the packet re-sent from here.

use rtc::rtp::Packet;

/// Packets kept: 65,536 is a multiple, so a slot keeps its meaning across the wrap. At 1,000
/// packets/s that is ~0.5 s of history, ~1.7 s at a camera's 300.
const CAPACITY: usize = 512;

/// The last [`CAPACITY`] packets of a source by incoming sequence number (payloads shared, not
/// copied).
#[derive(Default)]
pub(crate) struct History {
    slots: Vec<Option<Packet>>,
}

impl History {
    /// Keeps `packet`, replacing the one `CAPACITY` sequence numbers older.
    pub(crate) fn push(&mut self, packet: &Packet) {
        if self.slots.is_empty() {
            self.slots.resize_with(CAPACITY, || None);
        }
        self.slots[usize::from(packet.header.sequence_number) % CAPACITY] = Some(packet.clone());
    }

    /// The packet with incoming sequence number `seq`, if still kept.
    pub(crate) fn get(&self, seq: u16) -> Option<&Packet> {
        self.slots.get(usize::from(seq) % CAPACITY)?.as_ref().filter(|p| p.header.sequence_number == seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u16) -> Packet {
        let mut p = Packet::default();
        p.header.sequence_number = seq;
        p
    }

    #[test]
    fn keeps_the_last_packets_and_forgets_older_ones() {
        let mut h = History::default();
        assert!(h.get(1).is_none());
        for seq in 65_000u16..=65_535 {
            h.push(&packet(seq));
        }
        for seq in 0u16..100 {
            h.push(&packet(seq));
        }
        assert_eq!(h.get(99).map(|p| p.header.sequence_number), Some(99));
        assert_eq!(h.get(65_535).map(|p| p.header.sequence_number), Some(65_535), "across the wrap");
        assert!(h.get(65_000).is_none(), "overwritten by seq 88");
        assert!(h.get(100).is_none(), "not sent yet");
    }
}
