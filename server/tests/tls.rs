//! Built-in TLS: with `tls_cert`/`tls_key` the one listener serves https (health, pages, API) and
//! wss (signalling) with that certificate, no longer speaks plain http, and closes on shutdown;
//! unusable files stop the server at start-up with the file named. Certificates are
//! self-signed, made in the test.

use futures_util::StreamExt;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use switchboard::testing::{spawn_test_server_with, test_config};
use switchboard::{Config, RunningServer};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as PEM files.
struct SelfSigned {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    cert_pem: String,
    cert_der: CertificateDer<'static>,
}

impl SelfSigned {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sb-tls-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("the temp dir is writable");
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("rcgen makes a self-signed certificate");
        let cert = dir.join("tls.crt");
        let key = dir.join("tls.key");
        std::fs::write(&cert, made.cert.pem()).unwrap();
        std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
        Self { dir, cert, key, cert_pem: made.cert.pem(), cert_der: made.cert.der().clone() }
    }

    fn config(&self) -> Config {
        Config { tls_cert: Some(self.cert.clone()), tls_key: Some(self.key.clone()), ..test_config() }
    }
}

impl Drop for SelfSigned {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An HTTP client that trusts only `certificate`.
fn https_client(certificate: &SelfSigned) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(certificate.cert_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// Opens `wss://localhost:<port>/ws?access_token=…` trusting only `certificate` and returns the
/// first message.
async fn wss_first_message(server: &RunningServer, certificate: &SelfSigned, token: &str) -> Value {
    let mut roots = RootCertStore::empty();
    roots.add(certificate.cert_der.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(server.http_addr()).await.unwrap();
    let tls = TlsConnector::from(Arc::new(client))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("the TLS handshake succeeds with the self-signed certificate");
    let url = format!("wss://localhost:{}/ws?access_token={token}", server.http_addr().port());
    let (mut ws, response) = tokio_tungstenite::client_async(url, tls).await.expect("the WebSocket upgrade succeeds");
    assert_eq!(response.status(), 101);
    let frame = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("the server answers in time");
    match frame {
        Some(Ok(Message::Text(text))) => serde_json::from_str(&text).expect("JSON"),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

#[tokio::test]
async fn https_serves_health_and_the_client_page_with_the_configured_certificate() {
    let certificate = SelfSigned::new("https");
    let server = spawn_test_server_with(certificate.config()).await.unwrap();
    let client = https_client(&certificate);
    let port = server.http_addr().port();

    for host in ["127.0.0.1", "localhost"] {
        let response = client
            .get(format!("https://{host}:{port}/healthz"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("https GET /healthz via {host}: {e:?}"));
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "ok");
    }
    let ready = client.get(format!("https://127.0.0.1:{port}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let page = client.get(format!("https://127.0.0.1:{port}/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<html"), "the web client is served over https");
}

#[tokio::test]
async fn wss_join_succeeds_with_the_self_signed_certificate() {
    let certificate = SelfSigned::new("wss");
    let server = spawn_test_server_with(certificate.config()).await.unwrap();
    let joined = wss_first_message(&server, &certificate, &server.token("secure", "alice")).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    assert_eq!(joined["room"]["name"], "secure");
    assert_eq!(joined["participant"]["identity"], "alice");
    assert_eq!(server.snapshot().await.participants, 1);
}

#[tokio::test]
async fn a_tls_listener_does_not_answer_plain_http_or_untrusting_clients() {
    let certificate = SelfSigned::new("plain");
    let server = spawn_test_server_with(certificate.config()).await.unwrap();
    let plain = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let result = plain.get(format!("http://{}/healthz", server.http_addr())).send().await;
    assert!(result.is_err(), "plain http must not be served on a TLS listener: {result:?}");

    // A client that does not trust the certificate fails the handshake...
    let default_roots = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
    let result = default_roots.get(format!("https://127.0.0.1:{}/healthz", server.http_addr().port())).send().await;
    assert!(result.is_err(), "an unknown self-signed certificate must not be accepted: {result:?}");
    // ...and neither failure disturbs the listener.
    let response = https_client(&certificate)
        .get(format!("https://127.0.0.1:{}/healthz", server.http_addr().port()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn shutdown_closes_the_tls_listener() {
    let certificate = SelfSigned::new("shutdown");
    let server = spawn_test_server_with(certificate.config()).await.unwrap();
    let addr = server.http_addr();
    tokio::net::TcpStream::connect(addr).await.expect("the listener accepts while running");
    server.shutdown().await;
    // The accept loop ends with the listener axum drops, releasing the port.
    let after = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(after.is_ok(), "{addr} still accepts connections after shutdown");
}

#[tokio::test]
async fn unusable_certificate_files_stop_the_server_at_start_up() {
    let certificate = SelfSigned::new("bad");
    let other = SelfSigned::new("bad-other");

    let missing = certificate.dir.join("missing.crt");
    let error = spawn_test_server_with(Config { tls_cert: Some(missing), ..certificate.config() })
        .await
        .err()
        .expect("a missing certificate file is refused");
    assert!(error.to_string().contains("missing.crt"), "{error}");

    let error = spawn_test_server_with(Config { tls_key: Some(other.key.clone()), ..certificate.config() })
        .await
        .err()
        .expect("a key that does not match the certificate is refused");
    assert!(error.to_string().contains(&display(&other.key)), "{error}");
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
