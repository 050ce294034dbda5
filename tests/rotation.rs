//! Certificate rotation the way a Kubernetes Secret volume does it: the
//! kubelet writes a new directory and atomically swaps the `..data` symlink.

mod common;

use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

fn der(pem: &str) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

/// Writes a generation directory and points `..data` at it atomically.
fn publish(dir: &Path, generation: &str, cert: &str, key: &str) {
    let gen_dir = dir.join(generation);
    std::fs::create_dir_all(&gen_dir).unwrap();
    std::fs::write(gen_dir.join("tls.crt"), cert).unwrap();
    std::fs::write(gen_dir.join("tls.key"), key).unwrap();
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    symlink(generation, &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("..data")).unwrap();
}

#[tokio::test]
async fn symlink_swap_rotates_without_restart_and_bad_pairs_are_ignored() {
    let dir = temp_dir("rot");
    let a = terway_guard::certs::generate(&["localhost".into()]).unwrap();
    let b = terway_guard::certs::generate(&["localhost".into()]).unwrap();
    publish(&dir, "..gen_a", &a.cert_pem, &a.key_pem);
    symlink("..data/tls.crt", dir.join("tls.crt")).unwrap();
    symlink("..data/tls.key", dir.join("tls.key")).unwrap();
    let s = start_with(
        dir.join("tls.crt"),
        dir.join("tls.key"),
        a.ca_pem.clone(),
        dir.clone(),
        |_| {},
    )
    .await;

    // A client keeps calling on fresh connections, trusting both CAs.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let seen_b = Arc::new(AtomicBool::new(false));
    let client = {
        let (stop, ok, failed, seen_b) = (stop.clone(), ok.clone(), failed.clone(), seen_b.clone());
        let (addr, cas, b_der) = (
            s.addr,
            [a.ca_pem.clone(), b.ca_pem.clone()],
            der(&b.cert_pem),
        );
        tokio::spawn(async move {
            for _ in 0..2000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                match call(
                    addr,
                    roots(&[&cas[0], &cas[1]]),
                    "GET",
                    "/healthz",
                    Vec::new(),
                )
                .await
                {
                    Ok(r) if r.status == 200 => {
                        ok.fetch_add(1, Ordering::Relaxed);
                        if r.peer_cert == b_der {
                            seen_b.store(true, Ordering::Relaxed);
                        }
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let first = call(s.addr, roots(&[&a.ca_pem]), "GET", "/healthz", Vec::new())
        .await
        .unwrap();
    assert_eq!(first.peer_cert, der(&a.cert_pem));

    publish(&dir, "..gen_b", &b.cert_pem, &b.key_pem);
    for _ in 0..200 {
        if seen_b.load(Ordering::Relaxed) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        seen_b.load(Ordering::Relaxed),
        "the new certificate was never served"
    );
    // Only the new CA is needed now.
    let now = call(s.addr, roots(&[&b.ca_pem]), "GET", "/healthz", Vec::new())
        .await
        .unwrap();
    assert_eq!(now.peer_cert, der(&b.cert_pem));

    // A broken pair (key of another cert) keeps the last good one.
    publish(&dir, "..gen_c", &a.cert_pem, &b.key_pem);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let kept = call(s.addr, roots(&[&b.ca_pem]), "GET", "/healthz", Vec::new())
        .await
        .unwrap();
    assert_eq!(kept.peer_cert, der(&b.cert_pem));
    // Garbage too.
    publish(&dir, "..gen_d", "not a cert", "not a key");
    let kept = call(s.addr, roots(&[&b.ca_pem]), "GET", "/healthz", Vec::new())
        .await
        .unwrap();
    assert_eq!(kept.peer_cert, der(&b.cert_pem));

    stop.store(true, Ordering::Relaxed);
    client.await.unwrap();
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "some calls failed during rotation"
    );
    assert!(ok.load(Ordering::Relaxed) > 5);
    s.stop().await;
}
