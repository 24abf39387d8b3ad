//! Batched UDP sends: every datagram the shard queued in one wake-up leaves in as few
//! `sendmmsg(2)` calls as possible (up to [`BATCH`] per call) instead of one `sendto(2)` each.
//!
//! A forwarded packet goes to a different subscriber each time, so GSO (one destination, equal
//! segments) does not apply; `sendmmsg` saves the system call per datagram. This module holds the
//! shard's only `unsafe` code: building the `mmsghdr` array the kernel reads.

use crate::transmit::Transmit;
use socket2::SockAddr;
use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// Datagrams per `sendmmsg` call (the kernel caps one call at `UIO_MAXIOV`, 1024).
pub(crate) const BATCH: usize = 64;

/// What one [`send_batch`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sent {
    /// Datagrams the kernel accepted.
    pub(crate) sent: usize,
    /// Datagrams dropped: send buffer full, or an error for that destination.
    pub(crate) dropped: usize,
    /// `sendmmsg` calls made.
    pub(crate) calls: usize,
}

/// Sends `batch` (at most [`BATCH`] datagrams) on the non-blocking socket `socket`. A full send
/// buffer drops the rest of the batch (the loop never blocks on a slow receiver); an error for
/// one destination drops that datagram only.
pub(crate) fn send_batch(socket: &impl AsRawFd, batch: &[Transmit]) -> Sent {
    debug_assert!(batch.len() <= BATCH);
    let addrs: Vec<SockAddr> = batch.iter().map(|t| SockAddr::from(t.to)).collect();
    let mut iovs: Vec<libc::iovec> = batch
        .iter()
        .map(|t| libc::iovec { iov_base: t.payload.as_ptr() as *mut libc::c_void, iov_len: t.payload.len() })
        .collect();
    let mut msgs: Vec<libc::mmsghdr> = iovs
        .iter_mut()
        .zip(&addrs)
        .map(|(iov, addr)| {
            // SAFETY: an all-zero msghdr is a valid empty header; the fields set below point into
            // `addrs` and `iovs`, which outlive every sendmmsg call of this function.
            let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
            hdr.msg_name = addr.as_ptr() as *mut libc::c_void;
            hdr.msg_namelen = addr.len();
            hdr.msg_iov = iov as *mut libc::iovec;
            hdr.msg_iovlen = 1;
            libc::mmsghdr { msg_hdr: hdr, msg_len: 0 }
        })
        .collect();
    let mut out = Sent::default();
    let mut next = 0;
    while next < msgs.len() {
        let rest = &mut msgs[next..];
        out.calls += 1;
        let n = sendmmsg(socket.as_raw_fd(), rest);
        match n {
            Ok(0) => {
                out.dropped += rest.len();
                break;
            }
            Ok(n) => {
                out.sent += n;
                next += n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                out.dropped += rest.len();
                break;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                // The first datagram of the rest failed (e.g. unreachable destination): skip it.
                tracing::debug!(to = %batch[next].to, error = %e, "send failed");
                out.dropped += 1;
                next += 1;
            }
        }
    }
    out
}

fn sendmmsg(fd: RawFd, msgs: &mut [libc::mmsghdr]) -> io::Result<usize> {
    let len = libc::c_uint::try_from(msgs.len()).unwrap_or(libc::c_uint::MAX);
    // SAFETY: `msgs` is a valid array of `len` headers whose pointers are live (see send_batch);
    // the kernel writes only their `msg_len` fields.
    let n = unsafe { libc::sendmmsg(fd, msgs.as_mut_ptr(), len, libc::MSG_DONTWAIT) };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use std::net::{SocketAddr, UdpSocket};

    fn transmit(to: SocketAddr, body: &[u8]) -> Transmit {
        Transmit { to, via: crate::transmit::Via::Udp, payload: BytesMut::from(body) }
    }

    #[test]
    fn one_call_delivers_datagrams_to_several_destinations_in_order() {
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (a, b) = (UdpSocket::bind("127.0.0.1:0").unwrap(), UdpSocket::bind("127.0.0.1:0").unwrap());
        let to = |s: &UdpSocket| s.local_addr().unwrap();
        let batch = [transmit(to(&a), b"one"), transmit(to(&b), b"other"), transmit(to(&a), b"two")];
        assert_eq!(send_batch(&sender, &batch), Sent { sent: 3, dropped: 0, calls: 1 });
        let mut buf = [0u8; 16];
        for (socket, expected) in [(&a, &b"one"[..]), (&a, b"two"), (&b, b"other")] {
            let (n, from) = socket.recv_from(&mut buf).unwrap();
            assert_eq!((&buf[..n], from), (expected, to(&sender)));
        }
    }

    #[test]
    fn an_unreachable_destination_drops_only_its_own_datagram() {
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let v6: SocketAddr = "[::1]:9".parse().unwrap(); // wrong family for this socket: EAFNOSUPPORT/EINVAL
        let batch = [transmit(a.local_addr().unwrap(), b"1"), transmit(v6, b"x"), transmit(a.local_addr().unwrap(), b"2")];
        let sent = send_batch(&sender, &batch);
        // sendmmsg stops at the failing datagram: sent 1, then the failure alone, then the last.
        assert_eq!(sent, Sent { sent: 2, dropped: 1, calls: 3 });
        let mut buf = [0u8; 4];
        assert_eq!(a.recv(&mut buf).unwrap(), 1);
        assert_eq!(&buf[..1], b"1");
        assert_eq!(a.recv(&mut buf).unwrap(), 1);
        assert_eq!(&buf[..1], b"2");
    }
}
