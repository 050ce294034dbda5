//! Hostile and broken clients over real TLS: slow headers, idle handshakes,
//! too many connections, oversized bodies announced up front, and mTLS.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn tls(
    addr: std::net::SocketAddr,
    ca: &str,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots(&[ca]))
    .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
}

/// Reads until EOF or error; how long it took and what came.
async fn drain<S: AsyncReadExt + Unpin>(s: &mut S, limit: Duration) -> (Duration, String) {
    let start = Instant::now();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(limit, s.read_to_end(&mut buf)).await;
    (start.elapsed(), String::from_utf8_lossy(&buf).into_owned())
}

async fn server(tweak: impl FnOnce(&mut terway_guard::server::ServerConfig)) -> Running {
    let dir = temp_dir("hostile");
    let ca = write_certs(&dir);
    start_with(
        dir.join("tls.crt"),
        dir.join("tls.key"),
        ca,
        dir.clone(),
        tweak,
    )
    .await
}

#[tokio::test]
async fn slow_headers_are_cut_and_the_server_keeps_serving() {
    let s = server(|c| c.header_timeout = Duration::from_millis(300)).await;
    let mut slow = tls(s.addr, &s.ca_pem).await.unwrap();
    slow.write_all(b"POST /validate HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    // ...and never finish the headers.
    let (took, _) = drain(&mut slow, Duration::from_secs(5)).await;
    assert!(
        took < Duration::from_secs(3),
        "slow client held the connection for {took:?}"
    );
    assert_eq!(s.raw("GET", "/healthz", vec![]).await.unwrap().status, 200);
    s.stop().await;
}

#[tokio::test]
async fn a_silent_tls_client_is_dropped() {
    let s = server(|c| c.handshake_timeout = Duration::from_millis(300)).await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    let (took, _) = drain(&mut tcp, Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    s.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused_not_queued() {
    let s = server(|c| c.max_connections = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut c = tls(s.addr, &s.ca_pem).await.unwrap();
        // A request in flight keeps the connection (and its slot) busy.
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        let n = c.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        held.push(c);
    }
    assert!(
        s.raw("GET", "/healthz", vec![]).await.is_err(),
        "a fourth connection must be refused"
    );
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        s.raw("GET", "/healthz", vec![]).await.unwrap().status,
        200,
        "a freed slot serves again"
    );
    s.stop().await;
}

#[tokio::test]
async fn an_announced_oversize_body_is_refused_before_it_is_sent() {
    let s = server(|_| {}).await;
    let mut c = tls(s.addr, &s.ca_pem).await.unwrap();
    c.write_all(b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{\"apiVersion\":").await.unwrap();
    let (took, reply) = drain(&mut c, Duration::from_secs(5)).await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(took < Duration::from_secs(2));
    s.stop().await;
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate_from_the_ca() {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let make_ca = || {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = p.self_signed(&key).unwrap();
        (cert.pem(), Issuer::new(p, key))
    };
    let client_cert = |issuer: &Issuer<KeyPair>| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["kube-apiserver".to_string()])
            .unwrap()
            .signed_by(&key, issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (ca_pem, ca) = make_ca();
    let (_, other) = make_ca();
    let dir = temp_dir("mtls");
    let server_ca = write_certs(&dir);
    std::fs::write(dir.join("client-ca.crt"), &ca_pem).unwrap();
    let client_ca = dir.join("client-ca.crt");
    let s = start_with(
        dir.join("tls.crt"),
        dir.join("tls.key"),
        server_ca.clone(),
        dir.clone(),
        move |c| c.client_ca = Some(client_ca),
    )
    .await;

    let call_with = |identity: Option<(String, String)>| {
        let (addr, server_ca) = (s.addr, server_ca.clone());
        async move {
            let b = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots(&[&server_ca]));
            let config = match identity {
                Some((cert, key)) => b
                    .with_client_auth_cert(
                        vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                        PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
                    )
                    .unwrap(),
                None => b.with_no_client_auth(),
            };
            let tcp = TcpStream::connect(addr).await.unwrap();
            let mut c = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(ServerName::try_from("localhost").unwrap(), tcp)
                .await
                .ok()?;
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .await
                .ok()?;
            let (_, reply) = drain(&mut c, Duration::from_secs(5)).await;
            Some(reply)
        }
    };
    let ok = call_with(Some(client_cert(&ca))).await.unwrap_or_default();
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    for (what, identity) in [
        ("no certificate", None),
        ("a foreign CA", Some(client_cert(&other))),
    ] {
        let reply = call_with(identity).await.unwrap_or_default();
        assert!(!reply.contains("200 OK"), "{what}: {reply}");
    }
    s.stop().await;
}

/// curl as people run it: an oversize upload over HTTP/2 and HTTP/1.1 gets its
/// 413 status, whether or not the client waits for "100 Continue".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_sees_413_for_an_oversize_body_over_both_http_versions() {
    let s = start().await;
    let dir = temp_dir("curl413");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &s.ca_pem).unwrap();
    let big = dir.join("big.json");
    std::fs::write(&big, vec![b'a'; 5 << 20]).unwrap();
    let url = format!("https://localhost:{}/validate", s.addr.port());
    let resolve = format!("localhost:{}:127.0.0.1", s.addr.port());
    for version in ["--http2", "--http1.1"] {
        for expect in ["Expect:", "Expect: 100-continue"] {
            let args: Vec<String> = [
                "-sS",
                version,
                "--max-time",
                "20",
                "--cacert",
                &ca.display().to_string(),
                "--resolve",
                &resolve,
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-H",
                expect,
                "--data-binary",
                &format!("@{}", big.display()),
                &url,
            ]
            .map(String::from)
            .to_vec();
            let out = tokio::task::spawn_blocking(move || {
                std::process::Command::new("curl").args(&args).output()
            })
            .await
            .unwrap()
            .expect("curl is installed (scripts/test.sh installs it)");
            let code = String::from_utf8_lossy(&out.stdout);
            assert_eq!(
                code,
                "413",
                "{version} {expect}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    s.stop().await;
}

/// Four 1 MiB configs of junk keys at once: each is answered with a bounded
/// list, and `/healthz` keeps answering while they are judged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pathological_configs_neither_stall_the_server_nor_flood_the_answer() {
    let s = start().await;
    let keys: Vec<String> = (0..45_000)
        .map(|i| format!("\"unknown_key_{i:06}\": 1"))
        .collect();
    let mut cm = example_cm("eni-config.yaml");
    cm["data"]["eni_conf"] = serde_json::Value::String(format!("{{{}}}", keys.join(",")));
    let body = serde_json::to_vec(&review("UPDATE", Some(&cm), Some(&cm), &[], false)).unwrap();
    assert!(body.len() > 1 << 20);
    let roots = roots(&[&s.ca_pem]);
    let heavy: Vec<_> = (0..4)
        .map(|_| {
            let (addr, roots, body) = (s.addr, roots.clone(), body.clone());
            tokio::spawn(async move { call(addr, roots, "POST", "/validate", body).await })
        })
        .collect();
    // A hang detector, not a timing goal: health must answer meanwhile.
    let health = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        call(s.addr, roots.clone(), "GET", "/healthz", Vec::new()),
    )
    .await
    .expect("/healthz answers while large reviews are judged")
    .unwrap();
    assert_eq!(health.status, 200);
    for h in heavy {
        let r = h.await.unwrap().unwrap();
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        let warnings = v["response"]["warnings"].as_array().unwrap();
        assert!(warnings.len() <= 21, "{} warnings", warnings.len());
        assert!(r.body.len() < 64 * 1024, "{} bytes", r.body.len());
    }
    s.stop().await;
}
