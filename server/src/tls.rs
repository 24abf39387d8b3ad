//! Built-in TLS (`--tls-cert`, `--tls-key`): loading the PEM certificate chain and key into a
//! rustls acceptor, and [`TlsListener`], which hands axum finished TLS streams so the same router
//! serves `https://` and `wss://`. Routing, HTTP and graceful shutdown stay with `axum::serve`
//! ([`serve_http`] picks plain or TLS). Certificate renewal needs a restart: the files are read
//! once, at start-up.

use axum::serve::{Listener, ListenerExt};
use axum::Router;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, warn};

/// A client that has not finished its handshake after this long is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; connections beyond this are closed at once, so a flood of
/// silent sockets cannot pile up tasks and memory.
const MAX_HANDSHAKES: usize = 512;
/// Finished handshakes waiting for axum to take them.
const READY_QUEUE: usize = 64;

/// A certificate or key that cannot be used, naming the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The certificate file is unreadable or not PEM.
    #[error("cannot read the TLS certificate {path}: {message}")]
    Certificate {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The key file is unreadable, not PEM, or holds no private key.
    #[error("cannot read the TLS private key {path}: {message}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// rustls refused the pair (e.g. the key does not match the certificate).
    #[error("unusable TLS certificate {cert} with key {key}: {source}")]
    Rejected {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason.
        source: rustls::Error,
    },
}

/// Reads a PEM certificate chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or SEC1)
/// into an acceptor for HTTP/1.1 (the WebSocket upgrade needs HTTP/1.1; axum serves no HTTP/2).
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let certificate_error = |message: String| TlsError::Certificate { path: cert.to_owned(), message };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| certificate_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| certificate_error(e.to_string()))?;
    if chain.is_empty() {
        return Err(certificate_error("no CERTIFICATE block in the file".into()));
    }
    let private_key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError::Key { path: key.to_owned(), message: e.to_string() })?;
    // ring, as everywhere else in the workspace (rtc, reqwest): no second crypto library.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let rejected = |source| TlsError::Rejected { cert: cert.to_owned(), key: key.to_owned(), source };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(rejected)?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(rejected)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `router` on `listener` until `shutdown` completes (then lets open requests finish, as
/// `axum::serve` does): over TLS when `tls` is set, plain HTTP otherwise.
pub(crate) async fn serve_http(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let app = router.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        None => axum::serve(listener, app).with_graceful_shutdown(shutdown).await,
        Some(acceptor) => {
            // The no-op `tap_io` is for `ConnectInfo<SocketAddr>`: axum implements it for
            // `TcpListener` and for any tapped listener, and the orphan rule keeps us from
            // implementing it for `TlsListener` ourselves.
            let listener = TlsListener::new(listener, acceptor)?.tap_io(|_| ());
            axum::serve(listener, app).with_graceful_shutdown(shutdown).await
        }
    }
}

/// A TCP listener whose connections come out TLS-terminated.
///
/// Handshakes run in their own tasks (bounded in number and time), so one slow client never
/// delays the next; [`Listener::accept`] yields only finished ones. Dropping the listener (axum
/// does on shutdown) stops accepting and aborts handshakes still in progress.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `listener`; must be called inside a tokio runtime.
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(READY_QUEUE);
        // Ends by itself once `ready` is dropped (see `accept_loop`).
        tokio::spawn(accept_loop(listener, acceptor, tx));
        Ok(Self { ready, local_addr })
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop only ends when this receiver is gone, so this cannot happen while
            // `self` exists; wait forever rather than invent a connection.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    // Dropped with this task: in-flight handshakes are aborted on shutdown.
    let mut handshakes = JoinSet::new();
    loop {
        tokio::select! {
            () = ready.closed() => return,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) if handshakes.len() < MAX_HANDSHAKES => {
                    handshakes.spawn(handshake(acceptor.clone(), tcp, peer));
                }
                Ok((_, peer)) => debug!(%peer, "too many TLS handshakes in progress; connection closed"),
                Err(e) => accept_error(e).await,
            },
            Some(done) = handshakes.join_next() => {
                if let Ok(Some(connection)) = done {
                    if ready.send(connection).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

async fn handshake(
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
) -> Option<(TlsStream<TcpStream>, SocketAddr)> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => Some((stream, peer)),
        // Scanners, plain-HTTP clients and untrusting browsers end up here: not worth a warning.
        Ok(Err(e)) => {
            debug!(%peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            debug!(%peer, "TLS handshake timed out");
            None
        }
    }
}

/// As `axum::serve` does for plain TCP: errors about one connection are skipped; others (e.g.
/// out of file descriptors) are logged and retried after a pause instead of spinning.
async fn accept_error(e: io::Error) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    warn!(error = %e, "accepting a TCP connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("the temp dir is writable");
        path
    }

    #[test]
    fn unusable_files_are_reported_with_their_path() {
        let dir = std::env::temp_dir().join(format!("sb-tls-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let not_pem = write(&dir, "not.pem", "hello\n");
        let Err(err) = acceptor(&missing, &missing) else { panic!("a missing file is refused") };
        assert!(matches!(err, TlsError::Certificate { .. }) && err.to_string().contains("missing.pem"), "{err}");
        let Err(err) = acceptor(&not_pem, &not_pem) else { panic!("a file without PEM is refused") };
        assert!(err.to_string().contains("no CERTIFICATE"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
