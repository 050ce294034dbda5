//! Shared test harness: a real server on 127.0.0.1 with rcgen certificates,
//! and a real TLS client.
#![allow(dead_code)]

pub mod fake_kube;
pub mod fake_vpc;
pub mod scenario;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use terway_guard::inventory::StaticInventory;
use terway_guard::server::{Server, ServerConfig};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

pub struct Running {
    pub addr: SocketAddr,
    pub metrics: SocketAddr,
    pub ca_pem: String,
    pub dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Signals shutdown and waits for the drain to finish.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(10), t)
                .await
                .expect("server drained in time")
                .unwrap();
        }
    }
}

/// A fresh, empty directory under the system temp dir.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("terway-guard-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn write_certs(dir: &Path) -> String {
    let b = terway_guard::certs::generate(&["localhost".into(), "127.0.0.1".into()]).unwrap();
    terway_guard::certs::write(dir, &b).unwrap();
    b.ca_pem
}

pub async fn start() -> Running {
    let dir = temp_dir("srv");
    let ca_pem = write_certs(&dir);
    start_with(
        dir.join("tls.crt"),
        dir.join("tls.key"),
        ca_pem,
        dir,
        |_| {},
    )
    .await
}

pub async fn start_with(
    cert: PathBuf,
    key: PathBuf,
    ca_pem: String,
    dir: PathBuf,
    tweak: impl FnOnce(&mut ServerConfig),
) -> Running {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut cfg = ServerConfig::new("127.0.0.1:0".parse().unwrap(), cert, key);
    cfg.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    let inventory = StaticInventory::load(&example("inventory.yaml")).unwrap();
    cfg.inventory = Some(Arc::new(inventory));
    tweak(&mut cfg);
    let server = Server::bind(cfg).await.unwrap();
    let addr = server.local_addr();
    let metrics = server.metrics_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    Running {
        addr,
        metrics,
        ca_pem,
        dir,
        stop: Some(tx),
        task: Some(task),
    }
}

pub fn example(name: &str) -> String {
    format!("{}/examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub fn example_cm(name: &str) -> Value {
    let text = std::fs::read_to_string(example(name)).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub peer_cert: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn roots(ca_pems: &[&str]) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for pem in ca_pems {
        for c in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(c.unwrap()).unwrap();
        }
    }
    roots
}

/// One request on a new TLS connection (HTTP/1.1).
pub async fn call(
    addr: SocketAddr,
    roots: rustls::RootCertStore,
    method: &str,
    path: &str,
    body: Vec<u8>,
) -> Result<Reply, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let peer_cert = tls
        .get_ref()
        .1
        .peer_certificates()
        .map(|c| c[0].to_vec())
        .unwrap_or_default();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = tokio::time::timeout(Duration::from_secs(10), sender.send_request(req))
        .await
        .map_err(|_| "timeout".to_string())?
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes()
        .to_vec();
    Ok(Reply {
        status,
        body,
        peer_cert,
    })
}

impl Running {
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        call(
            self.addr,
            roots(&[&self.ca_pem]),
            "POST",
            path,
            serde_json::to_vec(body).unwrap(),
        )
        .await
        .unwrap()
    }
    pub async fn raw(&self, method: &str, path: &str, body: Vec<u8>) -> Result<Reply, String> {
        call(self.addr, roots(&[&self.ca_pem]), method, path, body).await
    }
}

/// An AdmissionReview v1 for a ConfigMap.
pub fn review(
    op: &str,
    new: Option<&Value>,
    old: Option<&Value>,
    groups: &[&str],
    dry_run: bool,
) -> Value {
    let subject = new.or(old).cloned().unwrap_or(json!({}));
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "0b0e2a6c-1111-4a1b-9c7e-00000000abcd",
            "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
            "resource": {"group": "", "version": "v1", "resource": "configmaps"},
            "name": subject["metadata"]["name"],
            "namespace": subject["metadata"].get("namespace").cloned().unwrap_or(json!("kube-system")),
            "operation": op,
            "userInfo": {"username": "alice", "groups": groups},
            "object": new,
            "oldObject": old,
            "dryRun": dry_run,
        }
    })
}

/// The response part of a review reply.
pub fn response(reply: &Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["response"].clone()
}

/// A plain-HTTP GET of the metrics port; the answer must be 200.
pub async fn plain_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    tcp.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out
}
