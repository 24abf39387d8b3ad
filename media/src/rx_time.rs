//! When the kernel received the datagram last read from a socket (`SIOCGSTAMPNS`), so the shard
//! can measure how long a packet stays in the server: from its arrival in the socket's queue to
//! the hand-off of its last forwarded copy to the kernel (`ForwardLatency`). One `ioctl` per
//! received datagram; sends, the bulk of the shard's system calls, are not touched. The second
//! and last file of this crate with `unsafe` code (after `udp_batch.rs`).

use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime};

/// `SIOCGSTAMPNS` (asm-generic/sockios.h, 64-bit `time_t` ABI); not exported by the `libc` crate.
const SIOCGSTAMPNS: libc::c_ulong = 0x8907;

/// Turns on receive timestamps for `socket` (the first query does that as a side effect and has
/// no packet to report yet).
pub(crate) fn enable(socket: &impl AsRawFd) {
    let _ = last_receive_time(socket);
}

/// The kernel's receive time of the datagram last read from `socket`, on the wall clock; `None`
/// when the kernel has none.
pub(crate) fn last_receive_time(socket: &impl AsRawFd) -> Option<SystemTime> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: SIOCGSTAMPNS writes one `struct timespec` through the pointer, which points to a
    // live, writable `timespec` for the duration of the call.
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), SIOCGSTAMPNS as _, &mut ts as *mut libc::timespec) };
    if rc != 0 || ts.tv_sec <= 0 {
        return None;
    }
    let since_epoch = Duration::new(u64::try_from(ts.tv_sec).ok()?, u32::try_from(ts.tv_nsec).ok()?);
    SystemTime::UNIX_EPOCH.checked_add(since_epoch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn reports_when_the_last_datagram_arrived() {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        enable(&receiver);
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let before = SystemTime::now();
        sender.send_to(b"x", receiver.local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 4];
        receiver.recv_from(&mut buf).unwrap();
        let after = SystemTime::now();
        let at = last_receive_time(&receiver).expect("a receive timestamp");
        let slack = Duration::from_millis(5);
        assert!(at + slack >= before && at <= after + slack, "{at:?} not within {before:?}..{after:?}");
    }
}
