//! Clients whose DTLS certificate is RSA (as some non-browser WebRTC stacks and older browsers
//! use) connect to the shard as publisher and as subscriber, and media flows; ECDSA P-256 (what
//! browsers use today) is run the same way for comparison. Virtual clock, no sockets.
//!
//! rtc 0.21.1 cannot *generate* RSA keys with its built-in crypto providers (ring / aws-lc-rs,
//! mirroring rcgen), so an RSA-2048 PKCS#8 fixture key is imported with
//! `RTCCrypto::import_signing_key` and wrapped in a fresh self-signed certificate with
//! `RTCCertificate::generate_from_signing_key`.

mod common;

use common::Net;
use rtc::crypto::{self, SignatureScheme};
use rtc::peer_connection::certificate::{CertificateParams, RTCCertificate};
use rtc::peer_connection::configuration::{RTCConfiguration, RTCConfigurationBuilder};
use rtc::peer_connection::transport::RTCDtlsRole;
use rtc::statistics::StatsSelector;
use std::time::Duration;
use switchboard_media::{MediaEvent, PeerId};

/// RSA-2048 test key (PKCS#8), generated for this test only with
/// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`.
const RSA_2048_KEY: &str = "\
-----BEGIN PRIVATE KEY-----
MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDNREncxkaDAyj3
X21UJ5b1QJ3t8wp/Ho7R/i7aq9kDViff/V/DfNp8Wx/wj9oFFIxOkrdQCnI5fCIT
+wvlHhLeSnYikajDH93R0soro8SULE5wHjLKkN92oyiaImvuO64eO/UZHJjPrtKe
F3KV+M+FTYzcaEfPAG1Fi6CmGCk4Cq0B+vossQrLdsaEVJtINhOjhxLrplfpM63D
3hXPOMfjSav7ShDOJp/9KxZ5tj8hNbplhnugEo76LEzL0zuOAN/w3Id6EddSOLGg
KBnHUMmG/rjIW02CdSFkoQsc5FXgWaXd+ux/IRvDFUiuTDf+gEAiHpVDAdzeN/C0
FCOo3D7DAgMBAAECggEAD7kXX03gwNBRJwGsQjH2Ijsc3cksGKiij/tEY4OeT98d
ls61syexJK1mOOsL7C+yv6IFYKAsN7MGeTlVo+s1zsktW2CE6M1cFGJtEgKtYBw0
tenaQiHuvAurZIMWeV0g7TfygkXqfp4JjAqHwG0amD9kds2WEokZ1aXoXFCld6FW
mPVaH8ojdUHBghYPTwxH8AN7AMDnEifaxqOq1jlH05IWpuwHFIM8FduwZt7QemuD
ISPlPqjB0Peka7/sGjKynkm15wRF6sJ09wpgWM9M5RSZDEKeWEaYg8SgCv+q87+m
7khXkzNYApjnFFrYeH1Wa877g+QmqCtgjZI38yko4QKBgQDlUp3lVMCMXGMMey6w
VDRk6nauQ5QDcfo4FgyCo4ZE09JBtaEuoMrao5yzjWsavJgoiYofeFIG1ioPI2x9
zKdbsaJgBk9sfCC1xNIbgn9E1XQ9opTsAqy1UrciIuE+mLmgE0gda2NkYEWORU1i
qOrChVP8WD48cNOcY7xYN4yF/QKBgQDlJUTaplufttFKdungFeOLayv7L1FetoOp
kVcb8pNm3gEx68Uim8y/YOk/gNV6AN4nWKt17lSZmGjGJ3dFgCLOpqFcPzl/FH5l
2iVFtGprYUyQueJl1tYMfCGbe1pL7/utxqfnK6mP6wa35fCDKaKZ6GXdGuvitK6/
JzNocKSTvwKBgQDIfIIujPoJvHub3dXjsrpbv+AiWlJ88JihkCU/0VcBtW6MpA5W
hZzTqVbGY0zQAzHDvvtSqA6Oi44Zzg57rQBj2djrupiVb6/pOjm2c1BxDWyithEc
hPoZTEdvQK9L2pnuqOzTS5+JkeE9kLknGCamCYpzg3JlxP48K7XuKiJgwQKBgQDP
0iNGYsaKbdYXQQ4QDAoZMhPrdhjIW6PBsG1ejXyeOQ7AZeKe5sqlb5Fb5M64Hf1d
lg+7n3He89lijfygbfwjjACglz7gQIf6fAR92YkC5nX4dH4eeuAa5qHcT92vLXIH
QzqYcIMSYcfwFX0ymBo+mAV6qKXzMIekGjuHp1G8JQKBgQCLGNTx8gPD4ID5bmAL
Tclcvni/N9mjsLDjsnfPzWLujcn9AYZv0z4efYwnea5OnnkFgztRIkjOyb9AGKmR
idPr7O85Fzsh3kHJ9Bh+bjZtxKL/g8d1JFJdC+v92DwtUwttbIQfuyQY1DNoFwzb
bfIrP+G1HtzxZieym6W97WGA9Q==
-----END PRIVATE KEY-----
";

/// DER of OID 1.2.840.113549.1.1.1 (rsaEncryption), in an RSA certificate's SubjectPublicKeyInfo.
const OID_RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// DER of OID 1.2.840.10045.2.1 (id-ecPublicKey).
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// DER of OID 1.2.840.10045.3.1.7 (prime256v1 / P-256).
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// The body of a PEM block, base64-decoded (the crate has no base64/pem dependency to lean on).
fn pem_body(pem: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in pem.lines().filter(|l| !l.starts_with("-----")).flat_map(|l| l.trim().bytes()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => panic!("not base64: {c:#x}"),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn rsa_certificate() -> RTCCertificate {
    let provider = crypto::default_provider().unwrap();
    let key = provider
        .crypto()
        .import_signing_key(SignatureScheme::RsaPkcs1Sha256, &pem_body(RSA_2048_KEY))
        .expect("the RSA fixture imports as a PKCS#8 RSA key");
    let params = CertificateParams::new(vec!["switchboard-test-client".to_owned()]).unwrap();
    RTCCertificate::generate_from_signing_key(params, SignatureScheme::RsaPkcs1Sha256, key).unwrap()
}

fn ecdsa_p256_certificate() -> RTCCertificate {
    let provider = crypto::default_provider().unwrap();
    let params = CertificateParams::new(vec!["switchboard-test-client".to_owned()]).unwrap();
    RTCCertificate::generate(provider.crypto(), SignatureScheme::EcdsaP256Sha256, params).unwrap()
}

fn with_certificate(cert: &RTCCertificate) -> RTCConfiguration {
    RTCConfigurationBuilder::new().with_certificates(vec![cert.clone()]).build()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn fingerprint(cert: &RTCCertificate) -> String {
    let provider = crypto::default_provider().unwrap();
    let fps = cert.get_fingerprints(provider.crypto()).unwrap();
    assert_eq!(fps[0].algorithm, "sha-256");
    fps[0].value.to_ascii_lowercase()
}

/// Checks that client `idx` advertised `cert` in its SDP and completed its DTLS handshake with
/// it; returns the negotiated DTLS cipher suite.
fn assert_handshake_used(net: &mut Net, idx: usize, cert: &RTCCertificate) -> String {
    let fp = fingerprint(cert);
    let now = net.now;
    let client = &mut net.clients[idx];
    let sdp = client.pc.local_description().expect("a local description").sdp.to_ascii_lowercase();
    assert!(
        sdp.contains(&format!("a=fingerprint:sha-256 {fp}")),
        "client {idx} advertises the certificate we gave it (fingerprint {fp}); sdp:\n{sdp}"
    );
    let report = client.pc.get_stats(now, StatsSelector::None);
    let transport = report.transport().expect("transport stats");
    // Set by rtc when the DTLS handshake completes, from the certificate the transport used.
    assert_eq!(
        transport.local_certificate_id.to_ascii_lowercase(),
        fp,
        "client {idx} completed DTLS with the configured certificate"
    );
    assert!(!transport.remote_certificate_id.is_empty(), "and saw the shard's certificate");
    transport.dtls_cipher.clone()
}

/// A publisher with `pub_cert` and a subscriber with `sub_cert` (answering with
/// `sub_answering_role`, if set) connect through the shard; 30 frames are sent and every one
/// reaches the subscriber in order. Returns the net and the client indexes.
fn call(
    pub_cert: &RTCCertificate,
    sub_cert: &RTCCertificate,
    sub_answering_role: Option<RTCDtlsRole>,
) -> (Net, usize, usize) {
    let mut net = Net::new();
    let publisher = net.add_publisher_with(PeerId(1), with_certificate(pub_cert));
    net.run_for(Duration::from_millis(500));
    assert!(net.connected(publisher), "publisher connects (ICE + DTLS); events: {:?}", net.events);
    net.send_video(publisher, true);
    net.run_for(Duration::from_millis(20));
    let source = net.opened_source(PeerId(1)).expect("first RTP over SRTP opens a source");

    let subscriber = net.add_subscriber_with(PeerId(2), with_certificate(sub_cert), sub_answering_role);
    net.subscribe(subscriber, PeerId(2), source, "TR_video");
    net.run_for(Duration::from_millis(500));
    assert!(net.connected(subscriber), "subscriber connects (ICE + DTLS); events: {:?}", net.events);

    for i in 0..30 {
        net.send_video(publisher, i % 10 == 0);
        net.run_for(Duration::from_millis(33));
    }
    let got = &net.clients[subscriber].received;
    assert_eq!(got.len(), 30, "every frame is forwarded to the subscriber");
    assert!(got.iter().all(|p| p.track_id == "TR_video"));
    for w in got.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1), "continuous sequence numbers");
    }
    assert_eq!(switchboard_media::MediaCounters::get(&net.counters.packets_forwarded), 30);
    assert!(
        !net.events.iter().any(|e| matches!(e, MediaEvent::PeerFailed { .. } | MediaEvent::NegotiationFailed { .. })),
        "no failures; events: {:?}",
        net.events
    );
    (net, publisher, subscriber)
}

#[test]
fn rsa_fixture_certificate_is_an_rsa_certificate() {
    let cert = rsa_certificate();
    let der = cert.dtls_certificate.certificate[0].as_ref();
    assert!(contains(der, OID_RSA_ENCRYPTION), "RSA public key in the certificate");
    assert!(!contains(der, OID_EC_PUBLIC_KEY));
    let key = &cert.dtls_certificate.private_key.signing_key;
    assert!(key.supports(SignatureScheme::RsaPkcs1Sha256));
    assert!(!key.supports(SignatureScheme::EcdsaP256Sha256));

    let ecdsa = ecdsa_p256_certificate();
    let der = ecdsa.dtls_certificate.certificate[0].as_ref();
    assert!(contains(der, OID_EC_PUBLIC_KEY) && contains(der, OID_P256), "ECDSA P-256 public key");
    assert!(!contains(der, OID_RSA_ENCRYPTION));
}

/// The DTLS setup role client `idx` ended up with, from the negotiated SDP.
fn client_setup(net: &Net, idx: usize, local: bool) -> &'static str {
    let pc = &net.clients[idx].pc;
    let desc = if local { pc.local_description() } else { pc.remote_description().cloned() };
    let sdp = desc.expect("a description").sdp;
    ["active", "passive", "actpass"]
        .into_iter()
        .find(|r| sdp.contains(&format!("a=setup:{r}")))
        .expect("a=setup in the SDP")
}

#[test]
fn rsa_client_certificates_publish_and_subscribe() {
    let cert = rsa_certificate();
    let (mut net, publisher, subscriber) = call(&cert, &cert, None);

    // Publisher leg: the shard answers a=setup:passive, so the client is the DTLS client and
    // proves its RSA key in CertificateVerify.
    assert_eq!(client_setup(&net, publisher, false), "passive", "shard answered as DTLS server");
    assert_handshake_used(&mut net, publisher, &cert);

    // Subscriber leg: rtc answers an ICE-lite offer with a=setup:passive by default, so here the
    // client is the DTLS server: its RSA key signs the ServerKeyExchange and the shard, as DTLS
    // client, has to accept an ECDHE_RSA suite.
    assert_eq!(client_setup(&net, subscriber, true), "passive", "client answered as DTLS server");
    let cipher = assert_handshake_used(&mut net, subscriber, &cert);
    assert!(cipher.contains("ECDHE_RSA"), "an RSA-authenticated suite: {cipher}");
}

#[test]
fn rsa_subscriber_answering_active_like_a_browser_receives_media() {
    // Browsers answer a=setup:active: the client is the DTLS client on the subscriber leg too,
    // and the shard (DTLS server) verifies the client's RSA CertificateVerify.
    let pub_cert = ecdsa_p256_certificate();
    let sub_cert = rsa_certificate();
    let (mut net, _publisher, subscriber) = call(&pub_cert, &sub_cert, Some(RTCDtlsRole::Client));
    assert_eq!(client_setup(&net, subscriber, true), "active", "client answered as DTLS client");
    assert_handshake_used(&mut net, subscriber, &sub_cert);
}

#[test]
fn ecdsa_p256_client_certificates_publish_and_subscribe() {
    let cert = ecdsa_p256_certificate();
    let (mut net, publisher, subscriber) = call(&cert, &cert, None);
    assert_handshake_used(&mut net, publisher, &cert);
    assert_eq!(client_setup(&net, subscriber, true), "passive");
    let cipher = assert_handshake_used(&mut net, subscriber, &cert);
    assert!(cipher.contains("ECDHE_ECDSA"), "an ECDSA-authenticated suite: {cipher}");
}
