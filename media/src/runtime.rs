//! Runs a [`Shard`] on its own thread with the real clock, the shard's UDP socket and its ICE/TCP
//! listener.
//!
//! The thread owns the socket and the shard; signalling reaches it through an unbounded command
//! channel ([`MediaHandle`]) and hears back through an event channel. ICE/TCP connections are
//! tasks on the same thread (`tcp`) that hand their frames to the loop. The loop waits on the
//! socket, the TCP frames, the shard's earliest timer and the command channel; it reads up to 65 datagrams per
//! wake and sends what each one produced before reading the next, batched into `sendmmsg` calls
//! (`udp_batch`). A full send buffer drops the datagram (counted), never blocks the loop. The time
//! from each datagram's arrival in the socket (the kernel's timestamp) to the hand-off of its
//! copies is counted in `MediaCounters::forward_latency`.

use crate::api::{MediaCommand, MediaEvent};
use crate::config::{Bound, MediaConfig};
use crate::rx_time;
use crate::shard::Shard;
use crate::stats::{MediaCounters, ShardSnapshot};
use crate::tcp::{TcpInput, TcpPorts};
use crate::transmit::{Transmit, Via};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

/// Sends commands to a running shard. Cheap to clone.
#[derive(Clone, Debug)]
pub struct MediaHandle {
    tx: mpsc::UnboundedSender<MediaCommand>,
    bound: Bound,
    counters: Arc<MediaCounters>,
}

impl MediaHandle {
    /// Queues a command; `false` if the shard has stopped.
    pub fn send(&self, cmd: MediaCommand) -> bool {
        self.tx.send(cmd).is_ok()
    }

    /// The UDP address the shard's socket is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.bound.udp
    }

    /// The address the ICE/TCP listener is bound to, if ICE over TCP is on.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.bound.tcp
    }

    /// The shard's counters.
    pub fn counters(&self) -> &Arc<MediaCounters> {
        &self.counters
    }

    /// A statistics sample of every peer, or `None` if the shard has stopped.
    pub async fn stats(&self) -> Option<Vec<crate::stats::PeerStats>> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send(MediaCommand::GetStats { reply }).then_some(())?;
        rx.await.ok()
    }

    /// Object counts of the shard, or `None` if it has stopped.
    pub async fn snapshot(&self) -> Option<ShardSnapshot> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.send(MediaCommand::Snapshot { reply }).then_some(())?;
        rx.await.ok()
    }
}

/// A shard thread. Dropping every [`MediaHandle`] stops it; [`MediaRuntime::join`] waits.
pub struct MediaRuntime {
    thread: Option<JoinHandle<()>>,
}

/// Socket buffer size asked of the kernel (it caps this at `net.core.rmem_max`).
const SOCKET_BUFFER: usize = 4 << 20;

impl MediaRuntime {
    /// Binds the UDP socket (and the ICE/TCP listener, if configured) and starts the shard
    /// thread.
    pub fn start(
        config: MediaConfig,
    ) -> io::Result<(MediaRuntime, MediaHandle, mpsc::UnboundedReceiver<MediaEvent>)> {
        let std_socket = std::net::UdpSocket::bind(config.udp_bind)?;
        std_socket.set_nonblocking(true)?;
        set_buffers(&std_socket);
        crate::rx_time::enable(&std_socket);
        let std_listener = match config.tcp_bind {
            Some(addr) => {
                let listener = std::net::TcpListener::bind(addr)?;
                listener.set_nonblocking(true)?;
                Some(listener)
            }
            None => None,
        };
        let bound = Bound {
            udp: std_socket.local_addr()?,
            tcp: std_listener.as_ref().map(|l| l.local_addr()).transpose()?,
        };
        let counters = Arc::new(MediaCounters::default());
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let shard = Shard::new(config, bound, counters.clone());
        let tcp_counters = counters.clone();
        let thread = std::thread::Builder::new().name("media-shard-0".into()).spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return error!(error = %e, "media shard runtime failed to start"),
            };
            rt.block_on(async move {
                let socket = match UdpSocket::from_std(std_socket) {
                    Ok(socket) => socket,
                    Err(e) => return error!(error = %e, "media socket unusable"),
                };
                let tcp = match std_listener.map(TcpListener::from_std).transpose() {
                    Ok(listener) => listener.map(|l| crate::tcp::start(l, tcp_counters)),
                    Err(e) => return error!(error = %e, "ICE/TCP listener unusable"),
                };
                run(shard, socket, tcp, cmd_rx, ev_tx).await
            });
        })?;
        info!(udp = %bound.udp, tcp = ?bound.tcp, "media shard started");
        let handle = MediaHandle { tx: cmd_tx, bound, counters };
        Ok((MediaRuntime { thread: Some(thread) }, handle, ev_rx))
    }

    /// Waits for the shard thread to end (after every handle is dropped).
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn set_buffers(socket: &std::net::UdpSocket) {
    let sock = socket2::SockRef::from(socket);
    for (name, res) in [
        ("SO_RCVBUF", sock.set_recv_buffer_size(SOCKET_BUFFER)),
        ("SO_SNDBUF", sock.set_send_buffer_size(SOCKET_BUFFER)),
    ] {
        if let Err(e) = res {
            warn!(option = name, error = %e, "cannot size the media socket buffer");
        }
    }
}

async fn run(
    mut shard: Shard,
    socket: UdpSocket,
    mut tcp: Option<mpsc::Receiver<TcpInput>>,
    mut commands: mpsc::UnboundedReceiver<MediaCommand>,
    events: mpsc::UnboundedSender<MediaEvent>,
) {
    let mut buf = vec![0u8; 2048];
    let mut out = Outbound { outgoing: Vec::with_capacity(crate::udp_batch::BATCH), tcp: TcpPorts::default() };
    loop {
        let deadline = shard.poll_timeout().unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            biased;
            cmd = commands.recv() => {
                let Some(cmd) = cmd else { break };
                let now = Instant::now();
                shard.handle_command(now, cmd);
                while let Ok(cmd) = commands.try_recv() {
                    shard.handle_command(now, cmd);
                }
                shard.flush(now);
            }
            res = socket.recv_from(&mut buf) => match res {
                Ok((n, from)) => {
                    let mut arrived = rx_time::last_receive_time(&socket);
                    shard.handle_datagram(Instant::now(), from, &buf[..n]);
                    // Drain what else is queued before paying for a wake-up again, sending each
                    // datagram's copies before reading the next: under load, the first
                    // publisher packet of a burst does not wait for the whole burst's fan-out.
                    for _ in 0..64 {
                        let sent = send_queued(&mut shard, &socket, &mut out);
                        if let Some(at) = arrived.take().filter(|_| sent > 0) {
                            let in_server = SystemTime::now().duration_since(at).unwrap_or_default();
                            shard.counters().forward_latency.observe(in_server);
                        }
                        match socket.try_recv_from(&mut buf) {
                            Ok((n, from)) => {
                                arrived = rx_time::last_receive_time(&socket);
                                shard.handle_datagram(Instant::now(), from, &buf[..n]);
                            }
                            Err(_) => break,
                        }
                    }
                }
                Err(e) => warn!(error = %e, "media socket receive error"),
            },
            input = next_tcp(&mut tcp) => {
                if let Some((from, frame)) = out.tcp.input(input) {
                    shard.handle_tcp_frame(Instant::now(), from, &frame);
                }
            }
            _ = tokio::time::sleep_until(deadline.into()) => shard.handle_timeout(Instant::now()),
        }
        send_queued(&mut shard, &socket, &mut out);
        while let Some(ev) = shard.poll_event() {
            if events.send(ev).is_err() {
                return;
            }
        }
    }
    info!("media shard stopped");
}

/// Where the loop sends: UDP datagrams batched for `sendmmsg`, ICE/TCP packets to their
/// connection's queue.
struct Outbound {
    outgoing: Vec<Transmit>,
    tcp: TcpPorts,
}

/// The next input of the ICE/TCP connections; never ready without a listener.
async fn next_tcp(tcp: &mut Option<mpsc::Receiver<TcpInput>>) -> TcpInput {
    match tcp {
        Some(rx) => match rx.recv().await {
            Some(input) => input,
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// Sends every datagram the shard has queued, UDP in `sendmmsg` batches; returns how many left.
fn send_queued(shard: &mut Shard, socket: &UdpSocket, out: &mut Outbound) -> usize {
    let mut total = 0;
    let Outbound { outgoing, tcp } = out;
    loop {
        while outgoing.len() < crate::udp_batch::BATCH {
            let Some(t) = shard.poll_transmit() else { break };
            match t.via {
                Via::Udp => outgoing.push(t),
                Via::Tcp if tcp.send(t.to, t.payload) => total += 1,
                Via::Tcp => MediaCounters::add(&shard.counters().dropped_tcp_queue, 1),
            }
        }
        if outgoing.is_empty() {
            return total;
        }
        let sent = crate::udp_batch::send_batch(socket, outgoing);
        MediaCounters::add(&shard.counters().dropped_send_buffer, sent.dropped as u64);
        MediaCounters::add(&shard.counters().send_calls, sent.calls as u64);
        total += sent.sent;
        outgoing.clear();
    }
}
