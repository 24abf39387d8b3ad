//! The RTP header extensions the shard writes on subscriber legs, in the RFC 8285 one-byte form:
//! the transport-wide sequence number (transport-cc, for the subscriber's bandwidth estimate) and
//! the RFC 6464 audio level of the publisher's packet (so the subscriber's browser reports it in
//! `getSynchronizationSources()`). Ids are the ones the subscriber's answer accepted. Written
//! straight into the serialised packet, so nothing is allocated per packet.

/// What one forwarded packet carries (ids already negotiated and in 1..=14).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Extensions {
    /// Transport-cc: extension id and transport-wide sequence number.
    pub(crate) twcc: Option<(u8, u16)>,
    /// Audio level: extension id and the RFC 6464 byte (V flag, -dBov).
    pub(crate) audio_level: Option<(u8, u8)>,
}

impl Extensions {
    /// Bytes the block adds to the header: none, or the 4-byte `0xBEDE` header and the elements
    /// padded to whole words.
    pub(crate) fn len(&self) -> usize {
        let elements: usize = self.twcc.map_or(0, |_| 3) + self.audio_level.map_or(0, |_| 2);
        if elements == 0 { 0 } else { 4 + elements.div_ceil(4) * 4 }
    }

    /// Writes the block into `packet`, serialised RTP of `len` bytes whose header (without any
    /// extension) is `header_len` long; returns the new length.
    pub(crate) fn write(&self, packet: &mut Vec<u8>, len: usize, header_len: usize) -> usize {
        let add = self.len();
        if add == 0 {
            return len;
        }
        packet.resize(len + add, 0);
        packet.copy_within(header_len..len, header_len + add);
        let block = &mut packet[header_len..header_len + add];
        block.fill(0);
        block[..4].copy_from_slice(&[0xBE, 0xDE, 0, ((add - 4) / 4) as u8]);
        let mut at = 4;
        if let Some((id, seq)) = self.twcc {
            let [hi, lo] = seq.to_be_bytes();
            block[at..at + 3].copy_from_slice(&[(id << 4) | 1, hi, lo]);
            at += 3;
        }
        if let Some((id, level)) = self.audio_level {
            block[at..at + 2].copy_from_slice(&[id << 4, level]);
        }
        packet[0] |= 0x10;
        len + add
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtp::Packet;
    use rtc::shared::marshal::{Marshal, Unmarshal};

    fn serialised() -> Vec<u8> {
        let mut p = Packet { payload: bytes::Bytes::from_static(b"opus payload"), ..Default::default() };
        p.header.version = 2;
        p.header.sequence_number = 77;
        p.header.ssrc = 0xabcd;
        p.marshal().unwrap().to_vec()
    }

    #[test]
    fn stamped_packets_parse_with_their_extensions_and_payload_intact() {
        for ext in [
            Extensions { twcc: Some((5, 0x1234)), audio_level: None },
            Extensions { twcc: Some((5, 0x1234)), audio_level: Some((1, 0x85)) },
            Extensions { twcc: None, audio_level: Some((1, 0x85)) },
        ] {
            let mut buf = serialised();
            let n = buf.len();
            let n = ext.write(&mut buf, n, 12);
            assert_eq!(n, 12 + ext.len() + 12);
            let back = Packet::unmarshal(&mut &buf[..n]).unwrap();
            assert_eq!(back.header.get_extension(5).as_deref(), ext.twcc.map(|_| &[0x12, 0x34][..]));
            assert_eq!(back.header.get_extension(1).as_deref(), ext.audio_level.map(|_| &[0x85][..]));
            assert_eq!((back.header.sequence_number, back.header.ssrc), (77, 0xabcd));
            assert_eq!(&back.payload[..], b"opus payload");
        }
        let mut buf = serialised();
        assert_eq!(Extensions::default().write(&mut buf, 24, 12), 24, "nothing to write");
    }
}
