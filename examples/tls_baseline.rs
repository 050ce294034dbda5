//! The benchmark's baselines: the least a TLS + HTTP server on this machine
//! can do for an admission request, rustls + hyper, with and without axum.
//! - `fixed`: read the body, answer a fixed AdmissionReview (no JSON at all).
//! - `echo`: parse the review into `serde_json::Value` and answer with its
//!   `request.uid` — the work every webhook must do (the "floor").
//! - `axum`: what a framework costs: an axum router (as terway-guard's)
//!   decodes the review into kube-core's `AdmissionReview<DynamicObject>`
//!   and answers allowed through kube-core's `AdmissionResponse`, as
//!   kube-rs's admission example does, without its one label check.
//!
//! Run: tls_baseline ADDR CERT KEY [fixed|echo|axum] (see scripts/bench.sh).

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
    let (addr, cert, key, mode) = match &args[..] {
        [_, addr, cert, key] => (addr, cert, key, "fixed"),
        [_, addr, cert, key, mode] if ["fixed", "echo", "axum"].contains(&mode.as_str()) => {
            (addr, cert, key, mode.as_str())
        }
        _ => {
            eprintln!("usage: tls_baseline ADDR CERT KEY [fixed|echo|axum]");
            std::process::exit(2);
        }
    };
    const MODES: [&str; 3] = ["fixed", "echo", "axum"];
    let mode: &'static str = MODES.into_iter().find(|m| *m == mode).unwrap_or("fixed");
    let echo = mode == "echo";
    let router = axum::Router::new().route("/validate", axum::routing::post(kube_validate));
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
        let router = router.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            if mode == "axum" {
                let svc = hyper_util::service::TowerToHyperService::new(router);
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
                return;
            }
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

/// kube-rs's admission example's handler, less its label check: kube-core's
/// types in, kube-core's response out.
async fn kube_validate(body: Bytes) -> axum::response::Response {
    use axum::response::IntoResponse;
    use kube::core::DynamicObject;
    use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};
    let review: AdmissionReview<DynamicObject> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return (axum::http::StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let request: Result<AdmissionRequest<DynamicObject>, _> = review.try_into();
    let response = match request {
        Ok(req) => AdmissionResponse::from(&req),
        Err(e) => AdmissionResponse::invalid(e.to_string()),
    };
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&response.into_review()).unwrap_or_default(),
    )
        .into_response()
}
