//! The webhook over real TLS: decisions, messages, warnings, audit
//! annotations, mutation, limits.

mod common;

use common::*;
use serde_json::{Value, json};

/// The response to a review that is not a dry run.
async fn judge(
    s: &Running,
    path: &str,
    op: &str,
    new: Option<&Value>,
    old: Option<&Value>,
    groups: &[&str],
) -> Value {
    response(&s.post(path, &review(op, new, old, groups, false)).await)
}

const UID: &str = "0b0e2a6c-1111-4a1b-9c7e-00000000abcd";

fn eni(cm: &mut Value, eni_conf: &str) {
    cm["data"]["eni_conf"] = json!(eni_conf);
}

#[tokio::test]
async fn denies_a_bad_edit_with_every_message() {
    let s = start().await;
    let old = example_cm("eni-config.yaml");
    let new = example_cm("edit-wrong-zone.yaml");
    let r = judge(
        &s,
        "/validate?timeout=10s",
        "UPDATE",
        Some(&new),
        Some(&old),
        &["system:authenticated"],
    )
    .await;
    assert_eq!(r["uid"], UID);
    assert_eq!(r["allowed"], false);
    assert_eq!(r["status"]["code"], 403);
    let msg = r["status"]["message"].as_str().unwrap();
    let lines: Vec<&str> = msg.lines().collect();
    assert_eq!(lines.len(), 3, "{msg}");
    assert!(
        lines[1].starts_with("- [vswitch-zones]") || lines[2].starts_with("- [vswitch-zones]"),
        "{msg}"
    );
    assert!(msg.contains(r#"[vswitch-zone] eni_conf.vswitches["cn-shanghai-f"][1]: vsw-uf6ccc0003 is in zone cn-shanghai-g"#), "{msg}");
    let audit = &r["auditAnnotations"];
    assert_eq!(audit["decision"], "denied");
    assert!(audit["rules"].as_str().unwrap().contains("vswitch-zone"));
    // The id was already listed (under its own zone), so nothing is "added".
    assert!(audit.get("vswitches-added").is_none(), "{audit}");
    assert!(
        r["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("[vswitch-prefix]"))
    );
    s.stop().await;
}

#[tokio::test]
async fn allows_a_good_edit_with_warnings_and_annotations() {
    let s = start().await;
    let old = example_cm("eni-config.yaml");
    let new = example_cm("edit-expand.yaml");
    let r = judge(&s, "/validate", "UPDATE", Some(&new), Some(&old), &[]).await;
    assert_eq!(r["allowed"], true, "{r}");
    assert_eq!(r["auditAnnotations"]["decision"], "allowed");
    assert_eq!(r["auditAnnotations"]["vswitches-added"], "vsw-uf6bbb0002");
    assert_eq!(
        r["auditAnnotations"]["eni-conf-sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    let warnings = r["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].as_str().unwrap().len() <= 256);
    s.stop().await;
}

#[tokio::test]
async fn delete_dry_run_and_foreign_configmaps() {
    let s = start().await;
    let old = example_cm("eni-config.yaml");
    let r = judge(&s, "/validate", "DELETE", None, Some(&old), &[]).await;
    assert_eq!(r["allowed"], false);
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("[delete-base]")
    );

    // dryRun gets the same answer as the real thing.
    let new = example_cm("edit-small-vswitch.yaml");
    let wet = judge(&s, "/validate", "UPDATE", Some(&new), Some(&old), &[]).await;
    let dry = response(
        &s.post(
            "/validate",
            &review("UPDATE", Some(&new), Some(&old), &[], true),
        )
        .await,
    );
    assert_eq!(wet, dry);
    assert_eq!(dry["allowed"], false);

    // A ConfigMap that is not Terway's passes untouched, even with bad content.
    let mut other = example_cm("edit-comments.yaml");
    other["metadata"]["name"] = json!("coredns");
    other["data"].as_object_mut().unwrap().remove("eni_conf");
    other["data"]["Corefile"] = json!(".:53 {");
    for path in ["/validate", "/mutate"] {
        let r = response(
            &s.post(
                path,
                &review("UPDATE", Some(&other), Some(&other), &[], false),
            )
            .await,
        );
        assert_eq!(r["allowed"], true);
        assert!(
            r.get("patch").is_none() && r.get("auditAnnotations").is_none(),
            "{r}"
        );
    }
    // eni-config in another namespace is not Terway's either.
    let mut elsewhere = example_cm("edit-comments.yaml");
    elsewhere["metadata"]["namespace"] = json!("default");
    let r = judge(&s, "/validate", "UPDATE", Some(&elsewhere), None, &[]).await;
    assert_eq!(r["allowed"], true);
    s.stop().await;
}

#[tokio::test]
async fn mutation_applies_and_is_idempotent() {
    let s = start().await;
    let mut cm = example_cm("eni-config.yaml");
    let text = cm["data"]["eni_conf"].as_str().unwrap().replace(
        r#"["vsw-uf6ccc0003"]"#,
        r#"["vsw-uf6ccc0003", "vsw-uf6ccc0003"]"#,
    );
    eni(&mut cm, &text);
    let r = judge(&s, "/mutate", "UPDATE", Some(&cm), Some(&cm), &[]).await;
    assert_eq!(r["allowed"], true);
    assert_eq!(r["patchType"], "JSONPatch");
    // kube-core sends the patch bytes as a JSON array, which Go's []byte decoding accepts.
    let patch_bytes: Vec<u8> = serde_json::from_value(r["patch"].clone()).unwrap();
    let patch: json_patch::Patch = serde_json::from_slice(&patch_bytes).unwrap();
    let mut patched = cm.clone();
    json_patch::patch(&mut patched, &patch).unwrap();
    let eni_after = patched["data"]["eni_conf"].as_str().unwrap();
    assert_eq!(eni_after.matches("vsw-uf6ccc0003").count(), 1);
    assert_eq!(eni_after, text.replace(r#", "vsw-uf6ccc0003"]"#, "]"));
    assert_eq!(
        patched["metadata"]["annotations"]["terway-guard.io/eni-conf-sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    // The webhook applied to its own output sends no patch.
    let again = judge(&s, "/mutate", "UPDATE", Some(&patched), Some(&cm), &[]).await;
    assert!(again.get("patch").is_none(), "{again}");
    // And the validating webhook only warns about the repeat.
    let v = response(
        &s.post(
            "/validate",
            &review(
                "UPDATE",
                Some(&cm),
                Some(&example_cm("eni-config.yaml")),
                &[],
                false,
            ),
        )
        .await,
    );
    assert_eq!(v["allowed"], true, "{v}");
    assert!(v["warnings"].to_string().contains("vswitch-duplicate"));
    s.stop().await;
}

#[tokio::test]
async fn bypass_needs_an_allowed_group() {
    let s = start().await;
    let old = example_cm("eni-config.yaml");
    let mut new = example_cm("edit-small-vswitch.yaml");
    new["metadata"]["annotations"] =
        json!({"terway-guard.io/bypass": "INC-42: emergency, /24 is all we have"});
    let r = judge(
        &s,
        "/validate",
        "UPDATE",
        Some(&new),
        Some(&old),
        &["system:masters"],
    )
    .await;
    assert_eq!(r["allowed"], true, "{r}");
    assert_eq!(r["auditAnnotations"]["decision"], "bypassed");
    assert_eq!(
        r["auditAnnotations"]["bypass-reason"],
        "INC-42: emergency, /24 is all we have"
    );
    assert_eq!(r["auditAnnotations"]["bypassed-rules"], "vswitch-prefix");
    assert!(
        r["warnings"][0]
            .as_str()
            .unwrap()
            .contains("BYPASSED vswitch-prefix")
    );

    let r = judge(
        &s,
        "/validate",
        "UPDATE",
        Some(&new),
        Some(&old),
        &["system:authenticated"],
    )
    .await;
    assert_eq!(r["allowed"], false);
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains("alice may not set the bypass annotation"),
        "{msg}"
    );
    assert!(
        !msg.contains("system:masters"),
        "the allowed groups stay unnamed: {msg}"
    );
    s.stop().await;
}

#[tokio::test]
async fn a_bypass_is_an_act_of_the_request_that_sets_it() {
    let s = start().await;
    let clean = example_cm("eni-config.yaml");
    let with_bypass = |cm: &Value, reason: &str| {
        let mut cm = cm.clone();
        cm["metadata"]["annotations"] = json!({"terway-guard.io/bypass": reason});
        cm
    };
    // Planted: a non-member sets it on a clean edit; refused.
    let planted = with_bypass(&clean, "later");
    let r = judge(
        &s,
        "/validate",
        "UPDATE",
        Some(&planted),
        Some(&clean),
        &["system:authenticated"],
    )
    .await;
    assert_eq!(r["allowed"], false, "{r}");
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("[bypass-annotation]")
    );
    // Leftover: the annotation was there before; an admin's bad edit is not let through.
    let bad = with_bypass(&example_cm("edit-small-vswitch.yaml"), "INC-1");
    let r = judge(
        &s,
        "/validate",
        "UPDATE",
        Some(&bad),
        Some(&with_bypass(&clean, "INC-1")),
        &["system:masters"],
    )
    .await;
    assert_eq!(r["allowed"], false, "{r}");
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("set by an earlier edit")
    );
    // A new reason from an admin is this request's own bypass.
    let r = judge(
        &s,
        "/validate",
        "UPDATE",
        Some(&with_bypass(&bad, "INC-2")),
        Some(&with_bypass(&clean, "INC-1")),
        &["system:masters"],
    )
    .await;
    assert_eq!(r["auditAnnotations"]["decision"], "bypassed", "{r}");
    // Deleting eni-config cannot be bypassed by an annotation it carries.
    let r = judge(
        &s,
        "/validate",
        "DELETE",
        None,
        Some(&with_bypass(&clean, "x")),
        &["system:masters"],
    )
    .await;
    assert_eq!(r["allowed"], false, "{r}");
    // The mutating webhook removes a leftover, and only a leftover.
    let left = with_bypass(&clean, "INC-1");
    let r = judge(
        &s,
        "/mutate",
        "UPDATE",
        Some(&left),
        Some(&left),
        &["system:masters"],
    )
    .await;
    let patch_bytes: Vec<u8> = serde_json::from_value(r["patch"].clone()).unwrap_or_default();
    let patch = String::from_utf8(patch_bytes).unwrap_or_default();
    assert!(
        patch.contains("remove") && patch.contains("terway-guard.io~1bypass"),
        "{r}"
    );
    let r = judge(
        &s,
        "/mutate",
        "UPDATE",
        Some(&with_bypass(&clean, "INC-2")),
        Some(&left),
        &["system:masters"],
    )
    .await;
    assert!(!r.to_string().contains("terway-guard.io~1bypass"), "{r}");
    s.stop().await;
}

#[tokio::test]
async fn secrets_never_leave() {
    let s = start().await;
    let old = example_cm("eni-config.yaml");
    let mut new = example_cm("edit-typos.yaml");
    let key = "LTAI5tSecretKeyId9";
    let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCY";
    let text = new["data"]["eni_conf"].as_str().unwrap().replacen('{', &format!("{{\n  \"access_key\": \"{key}\",\n  \"access_secret\": \"{secret}\",\n  \"acess_secret\": \"{secret}\","), 1);
    eni(&mut new, &text);
    new["metadata"]["annotations"] =
        json!({"terway-guard.io/bypass": format!("leaking {secret} here")});
    for groups in [&["system:masters"][..], &[][..]] {
        let reply = s
            .post(
                "/validate",
                &review("UPDATE", Some(&new), Some(&old), groups, false),
            )
            .await;
        let body = reply.text();
        assert!(!body.contains(key) && !body.contains(secret), "{body}");
        assert!(body.contains("inline-credentials"), "{body}");
    }
    let metrics = common::plain_get(s.metrics, "/metrics").await;
    assert!(!metrics.contains(key) && !metrics.contains(secret));
    s.stop().await;
}

#[tokio::test]
async fn malformed_and_oversize_requests_get_4xx_and_the_server_lives() {
    let s = start().await;
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"not json at all".to_vec(), 400),
        (b"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\"}".to_vec(), 400),
        (b"{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"request\":{}}".to_vec(), 400),
        (b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".to_vec(), 400),
        (vec![0xff, 0xfe, 0x00], 400),
        (vec![b' '; 5 << 20], 413),
    ];
    for (body, want) in cases {
        for path in ["/validate", "/mutate"] {
            let r = s.raw("POST", path, body.clone()).await.unwrap();
            assert_eq!(r.status, want, "{path}: {}", r.text());
        }
    }
    let r = s.raw("GET", "/healthz", Vec::new()).await.unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    let r = s.raw("GET", "/readyz", Vec::new()).await.unwrap();
    assert_eq!(r.status, 200);
    let r = s.raw("GET", "/nope", Vec::new()).await.unwrap();
    assert_eq!(r.status, 404);
    let metrics = common::plain_get(s.metrics, "/metrics").await;
    assert!(
        metrics.contains("terway_guard_admission_bad_requests_total{endpoint=\"validate\"} 5"),
        "{metrics}"
    );
    s.stop().await;
}

#[tokio::test]
async fn metrics_count_decisions() {
    let s = start().await;
    let old = example_cm("eni-config.yaml");
    let new = example_cm("edit-wrong-zone.yaml");
    for _ in 0..3 {
        s.post(
            "/validate",
            &review("UPDATE", Some(&new), Some(&old), &[], false),
        )
        .await;
    }
    let m = common::plain_get(s.metrics, "/metrics").await;
    assert!(m.contains("terway_guard_admission_requests_total{endpoint=\"validate\",operation=\"UPDATE\",decision=\"denied\",patched=\"false\"} 3"), "{m}");
    assert!(
        m.contains("terway_guard_admission_duration_seconds_count{endpoint=\"validate\"} 3"),
        "{m}"
    );
    s.stop().await;
}

/// The apiserver's Go client negotiates HTTP/2 over TLS when it can.
#[tokio::test]
async fn speaks_http2_when_negotiated() {
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use std::sync::Arc;
    let s = start().await;
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots(&[&s.ca_pem]))
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(conn);
    let body = std::fs::read(example("review-denied.json")).unwrap();
    for _ in 0..3 {
        let req = hyper::Request::post("https://localhost/validate?timeout=10s")
            .header("content-type", "application/json")
            .body(Full::new(hyper::body::Bytes::from(body.clone())))
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["response"]["allowed"], false);
    }
    // An oversize body over HTTP/2 gets its 413 status, not a stream error.
    let big = vec![b'a'; 5 << 20];
    let req = hyper::Request::post("https://localhost/validate")
        .header("content-type", "application/json")
        .header("content-length", big.len().to_string())
        .body(Full::new(hyper::body::Bytes::from(big)))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 413);
    // Other refusals keep their status too.
    let req = hyper::Request::get("https://localhost/validate")
        .body(Full::new(hyper::body::Bytes::new()))
        .unwrap();
    assert_eq!(sender.send_request(req).await.unwrap().status(), 405);
    s.stop().await;
}

/// An inventory that never answers in time (a slow cloud).
struct Stuck;

impl terway_guard::inventory::Inventory for Stuck {
    fn facts<'a>(
        &'a self,
        _: &'a terway_guard::inventory::Query,
    ) -> terway_guard::inventory::FactsFuture<'a> {
        Box::pin(async {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            terway_guard::inventory::Facts::default()
        })
    }
}

#[tokio::test]
async fn a_slow_inventory_never_lets_an_unverified_vswitch_in() {
    let dir = temp_dir("slow");
    let ca = write_certs(&dir);
    let s = start_with(
        dir.join("tls.crt"),
        dir.join("tls.key"),
        ca,
        dir.clone(),
        |c| {
            c.inventory = Some(std::sync::Arc::new(Stuck));
            c.request_timeout = std::time::Duration::from_millis(200);
        },
    )
    .await;
    let old = example_cm("eni-config.yaml");
    let started = std::time::Instant::now();
    let r = response(
        &s.post(
            "/validate?timeout=10s",
            &review(
                "UPDATE",
                Some(&example_cm("edit-expand.yaml")),
                Some(&old),
                &[],
                false,
            ),
        )
        .await,
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(r["allowed"], false, "{r}");
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains("[vswitch-lookup]")
            && msg.contains("vsw-uf6bbb0002")
            && msg.contains("did not answer within 200 ms"),
        "{msg}"
    );
    // Nothing added: the unverifiable vSwitches already listed only warn.
    let r = judge(&s, "/validate", "UPDATE", Some(&old), Some(&old), &[]).await;
    assert_eq!(r["allowed"], true, "{r}");
    assert!(r["warnings"].to_string().contains("vswitch-lookup"));
    s.stop().await;
}

#[tokio::test]
async fn example_reviews_from_the_readme() {
    let s = start().await;
    for (file, allowed) in [("review-allowed.json", true), ("review-denied.json", false)] {
        let body = std::fs::read(example(file)).unwrap();
        let reply = s.raw("POST", "/validate", body).await.unwrap();
        let r = response(&reply);
        assert_eq!(r["allowed"], allowed, "{file}: {r}");
        assert!(r["uid"].as_str().unwrap().starts_with("5f1c2a9e-"));
    }
    s.stop().await;
}
