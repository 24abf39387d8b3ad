//! ICE over TCP (RFC 6544): the node's ICE/TCP port and its connections, framed as RFC 4571
//! (each STUN, DTLS, SRTP or SRTCP packet behind a 16-bit length).
//!
//! Clients whose network blocks UDP connect to our passive TCP candidate. Each connection is a
//! task on the shard's thread that hands the frames it reads to the shard's loop ([`TcpInput`])
//! and writes what the loop queues for it. The queue is bounded: a slow TCP subscriber loses its
//! own packets (counted as `tcp_queue` drops) and never delays the loop or anyone else. The
//! loop keeps one [`TcpPorts`] entry per open connection, keyed by the client's address, which
//! is also the 4-tuple the demultiplexer learns from the connection's first STUN check.

use crate::stats::MediaCounters;
use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};
use tracing::{debug, warn};

/// Open connections at most; more are closed at once.
const MAX_CONNECTIONS: usize = 4096;
/// Packets queued for one connection at most (about 0.5 s of a 5 Mbit/s leg).
const SEND_QUEUE: usize = 256;
/// A connection that sends nothing for this long is closed (ICE consent checks come every few
/// seconds; RFC 7675 gives up after 30 s).
const IDLE: Duration = Duration::from_secs(30);
/// A write that makes no progress for this long closes the connection.
const WRITE_STALL: Duration = Duration::from_secs(10);
/// Frames read from all connections that may wait for the shard.
const INBOUND_QUEUE: usize = 1024;

/// What a connection task tells the shard's loop.
pub(crate) enum TcpInput {
    /// A client connected from `peer`; `writer` takes its outbound packets.
    Opened { peer: SocketAddr, writer: mpsc::Sender<BytesMut> },
    /// One frame from `peer`.
    Frame { peer: SocketAddr, frame: BytesMut },
    /// `peer`'s connection is gone.
    Closed { peer: SocketAddr },
}

/// The loop's side: the open connections' send queues.
#[derive(Default)]
pub(crate) struct TcpPorts {
    writers: HashMap<SocketAddr, mpsc::Sender<BytesMut>>,
}

impl TcpPorts {
    /// Records what a connection task reported; returns a frame for the shard, if it was one.
    pub(crate) fn input(&mut self, input: TcpInput) -> Option<(SocketAddr, BytesMut)> {
        match input {
            TcpInput::Opened { peer, writer } => {
                self.writers.insert(peer, writer);
                None
            }
            TcpInput::Frame { peer, frame } => Some((peer, frame)),
            TcpInput::Closed { peer } => {
                self.writers.remove(&peer);
                None
            }
        }
    }

    /// Queues `payload` for the connection from `to`; `false` (the packet is dropped) if there
    /// is none or its queue is full.
    pub(crate) fn send(&self, to: SocketAddr, payload: BytesMut) -> bool {
        self.writers.get(&to).is_some_and(|w| w.try_send(payload).is_ok())
    }
}

/// Starts accepting on `listener` (call from within the shard thread's runtime); frames and
/// connection changes arrive on the returned receiver.
pub(crate) fn start(listener: TcpListener, counters: Arc<MediaCounters>) -> mpsc::Receiver<TcpInput> {
    let (tx, rx) = mpsc::channel(INBOUND_QUEUE);
    tokio::spawn(accept(listener, tx, counters));
    rx
}

async fn accept(listener: TcpListener, to_loop: mpsc::Sender<TcpInput>, counters: Arc<MediaCounters>) {
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors and the like: wait instead of spinning.
                warn!(error = %e, "ICE/TCP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if to_loop.is_closed() {
            return;
        }
        if open.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
            MediaCounters::add(&counters.tcp_refused, 1);
            continue;
        }
        let _ = stream.set_nodelay(true);
        open.fetch_add(1, Ordering::Relaxed);
        let (open, counters, to_loop) = (open.clone(), counters.clone(), to_loop.clone());
        tokio::spawn(async move {
            counters.tcp_connections.fetch_add(1, Ordering::Relaxed);
            serve(stream, peer, to_loop).await;
            counters.tcp_connections.fetch_sub(1, Ordering::Relaxed);
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// RFC 4571 framing: a 16-bit big-endian length, then the packet.
fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder().length_field_length(2).max_frame_length(u16::MAX as usize).new_codec()
}

/// Reads frames from the client and writes what the loop queues, until either side ends, the
/// client is idle for [`IDLE`] or a write stalls for [`WRITE_STALL`].
async fn serve(stream: TcpStream, peer: SocketAddr, to_loop: mpsc::Sender<TcpInput>) {
    let (read, write) = stream.into_split();
    let mut frames = FramedRead::new(read, codec());
    let mut sink = FramedWrite::new(write, codec());
    let (writer, mut queued) = mpsc::channel::<BytesMut>(SEND_QUEUE);
    if to_loop.send(TcpInput::Opened { peer, writer }).await.is_err() {
        return;
    }
    debug!(%peer, "ICE/TCP connection open");
    loop {
        tokio::select! {
            frame = tokio::time::timeout(IDLE, frames.next()) => match frame {
                Ok(Some(Ok(frame))) => {
                    if to_loop.send(TcpInput::Frame { peer, frame }).await.is_err() {
                        return;
                    }
                }
                Ok(Some(Err(e))) => {
                    debug!(%peer, error = %e, "ICE/TCP framing error");
                    break;
                }
                Ok(None) | Err(_) => break,
            },
            packet = queued.recv() => {
                let Some(packet) = packet else { break };
                let written = tokio::time::timeout(WRITE_STALL, async {
                    sink.feed(packet.freeze()).await?;
                    while let Ok(more) = queued.try_recv() {
                        sink.feed(more.freeze()).await?;
                    }
                    SinkExt::<bytes::Bytes>::flush(&mut sink).await?;
                    Ok::<(), std::io::Error>(())
                })
                .await;
                if !matches!(written, Ok(Ok(()))) {
                    debug!(%peer, "ICE/TCP write failed or stalled");
                    break;
                }
            }
        }
    }
    debug!(%peer, "ICE/TCP connection closed");
    let _ = to_loop.send(TcpInput::Closed { peer }).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn frames_both_ways_and_close() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let counters = Arc::new(MediaCounters::default());
        let mut inputs = start(listener, counters.clone());
        let mut ports = TcpPorts::default();
        let mut client = TcpStream::connect(addr).await.unwrap();
        let me = client.local_addr().unwrap();
        assert!(ports.input(inputs.recv().await.unwrap()).is_none(), "opened");
        // two frames in one write, the second split across two
        client.write_all(&[0, 3, 1, 2, 3, 0, 2, 9]).await.unwrap();
        client.write_all(&[8]).await.unwrap();
        let (from, frame) = ports.input(inputs.recv().await.unwrap()).unwrap();
        assert_eq!((from, &frame[..]), (me, &[1u8, 2, 3][..]));
        let (_, frame) = ports.input(inputs.recv().await.unwrap()).unwrap();
        assert_eq!(&frame[..], &[9, 8]);
        assert!(ports.send(me, BytesMut::from(&[7u8, 7, 7, 7][..])));
        let mut back = [0u8; 6];
        client.read_exact(&mut back).await.unwrap();
        assert_eq!(back, [0, 4, 7, 7, 7, 7]);
        assert_eq!(MediaCounters::get(&counters.tcp_connections), 1);
        drop(client);
        assert!(ports.input(inputs.recv().await.unwrap()).is_none(), "closed");
        assert!(!ports.send(me, BytesMut::from(&[1u8][..])), "no connection any more");
    }

    #[tokio::test]
    async fn a_full_queue_drops_instead_of_waiting() {
        let (writer, _never_read) = mpsc::channel(SEND_QUEUE);
        let me: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut ports = TcpPorts::default();
        ports.input(TcpInput::Opened { peer: me, writer });
        let sent = (0..SEND_QUEUE + 10).filter(|_| ports.send(me, BytesMut::from(&[1u8][..]))).count();
        assert_eq!(sent, SEND_QUEUE);
    }
}
