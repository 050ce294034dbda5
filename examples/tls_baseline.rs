//! The benchmark's baselines: the least a TLS + HTTP server on this machine
//! can do for an admission request, rustls + hyper in both modes.
//! - `fixed`: read the body, answer a fixed AdmissionReview (no JSON at all).
//! - `echo`: parse the review into `serde_json::Value` and answer with its
//!   `request.uid` — the work every webhook must do (the "floor").
//!
//! Run: tls_baseline ADDR CERT KEY [fixed|echo] (see scripts/bench.sh).

use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

const ANSWER: &[u8] = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"5f1c2a9e-0000-4000-8000-000000000001","allowed":true}}"#;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (addr, cert, key, echo) = match &args[..] {
        [_, addr, cert, key] => (addr, cert, key, false),
        [_, addr, cert, key, mode] if mode == "fixed" || mode == "echo" => {
            (addr, cert, key, mode == "echo")
        }
        _ => {
            eprintln!("usage: tls_baseline ADDR CERT KEY [fixed|echo]");
            std::process::exit(2);
        }
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .expect("cert")
        .map(|c| c.expect("cert"))
        .collect();
    let key = PrivateKeyDer::from_pem_file(key).expect("key");
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("pair");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let svc = hyper::service::service_fn(move |req: Request<Incoming>| async move {
                let body = req
                    .into_body()
                    .collect()
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let answer = if echo {
                    let review: serde_json::Value =
                        serde_json::from_slice(&body).unwrap_or_default();
                    let uid = review["request"]["uid"].clone();
                    Bytes::from(
                        serde_json::to_vec(&serde_json::json!({
                            "apiVersion": "admission.k8s.io/v1",
                            "kind": "AdmissionReview",
                            "response": {"uid": uid, "allowed": true}
                        }))
                        .unwrap_or_default(),
                    )
                } else {
                    Bytes::from_static(ANSWER)
                };
                Ok::<_, std::convert::Infallible>(
                    Response::builder()
                        .header("content-type", "application/json")
                        .body(Full::new(answer))
                        .unwrap(),
                )
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), svc)
                .await;
        });
    }
}
