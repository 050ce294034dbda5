//! Terway's own verdict next to ours: its ConfigError and exhaustion events
//! in `status` and the controller's metrics, and a ConfigError after an edit
//! the webhook let through made visible as an Event naming that edit.

mod common;

use std::time::{Duration, SystemTime};

use common::fake_kube::FakeKube;
use common::fake_vpc::FakeEnv;
use common::scenario::{CM, cloud, cluster, controller, created_events};
use serde_json::{Value, json};
use terway_guard::admission::Settings;
use terway_guard::controller::decide::Mode;

/// An edit of eni-config as the apiserver stores it: the object of the
/// review with the patch the mutating webhook answered applied.
fn admit_edit(kube: &FakeKube, edit: impl FnOnce(&str) -> String) -> Value {
    let old = kube.get(CM);
    let mut new = old.clone();
    new["data"]["eni_conf"] = json!(edit(old["data"]["eni_conf"].as_str().unwrap()));
    let review = common::review("UPDATE", Some(&new), Some(&old), &["system:masters"], false);
    let prepared = terway_guard::admission::read(
        review.to_string().as_bytes(),
        &Settings::default(),
        &terway_guard::admission::Memo::default(),
    )
    .unwrap();
    let (answer, _) = terway_guard::admission::mutate(&prepared);
    let patch = answer.patch.expect("a patch");
    json_patch::patch(&mut new, &patch).unwrap();
    kube.put(CM, new.clone());
    new
}

fn at(offset: Duration) -> String {
    terway_guard::cloud::time::iso8601(SystemTime::now() + offset)
}

fn terway_event(name: &str, reason: &str, kind: &str, object: &str, message: &str) -> Value {
    json!({"metadata": {"name": name, "namespace": "default"}, "reason": reason, "type": "Warning", "message": message,
           "involvedObject": {"kind": kind, "name": object, "namespace": if kind == "Pod" { "shop" } else { "" }},
           "count": 2, "lastTimestamp": at(Duration::from_secs(5)), "source": {"component": "terway-daemon"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_error_after_an_allowed_edit_is_named_and_status_shows_terways_events() {
    let (fake, kube) = (cloud().await, cluster().await);
    let stored = admit_edit(&kube, |t| {
        t.replace("\"max_pool_size\": 30", "\"max_pool_size\": 31")
    });
    let stamp: Value = serde_json::from_str(
        stored["metadata"]["annotations"]["terway-guard.io/last-edit"]
            .as_str()
            .expect("the mutation stamps the edit"),
    )
    .unwrap();
    assert_eq!(stamp["user"], "alice");
    let hash = stored["metadata"]["annotations"]["terway-guard.io/eni-conf-sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(stamp["hash"], hash.as_str());

    // Terway then says the config cannot be used on a zone-f node, and a
    // zone-g pod cannot get an IP.
    kube.put(
        "/api/v1/namespaces/shop/pods/web-g",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-g", "namespace": "shop"}, "spec": {"nodeName": "node-g-1", "containers": []}, "status": {"phase": "Pending"}}),
    );
    kube.put(
        "/api/v1/events",
        json!({"apiVersion": "v1", "kind": "EventList", "metadata": {"resourceVersion": "9"}, "items": [
            terway_event("cfg.1", "ConfigError", "Node", "node-f-1", "error get vSwitch vsw-uf6aaa0001, vswitch not found"),
            terway_event("ip.1", "AllocIPFailed", "Pod", "web-g", "error allocate ip: InvalidVSwitchId.IpNotEnough"),
        ]}),
    );

    let c = controller(&fake, &kube, Mode::Plan, "replica-a").await;
    c.tick().await.unwrap();
    let named: Vec<Value> = created_events(&kube)
        .into_iter()
        .filter(|e| e["reason"] == "TerwayConfigErrorAfterEdit")
        .collect();
    assert_eq!(named.len(), 1);
    let msg = named[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("Terway reports ConfigError on Node/node-f-1")
            && msg.contains("after the edit of eni-config by alice at")
            && msg.contains(&hash[..12])
            && msg.contains("vswitch not found"),
        "{msg}"
    );
    assert_eq!(named[0]["involvedObject"]["name"], "eni-config");
    let metrics = c.metrics.render();
    for line in [
        "terway_guard_terway_events{reason=\"ConfigError\",zone=\"cn-shanghai-f\"} 2",
        "terway_guard_terway_events{reason=\"IpExhausted\",zone=\"cn-shanghai-g\"} 2",
    ] {
        assert!(metrics.contains(line), "{line}\n{metrics}");
    }
    // Said once per edit.
    c.tick().await.unwrap();
    assert_eq!(
        created_events(&kube)
            .iter()
            .filter(|e| e["reason"] == "TerwayConfigErrorAfterEdit")
            .count(),
        1
    );

    // `status` shows Terway's verdict beside ours.
    let dir = common::temp_dir("terway-events");
    let kubeconfig = kube.kubeconfig(&dir);
    let url = fake.url();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_terway-guard"))
            .arg("status")
            .args(common::fake_vpc::fake_cloud_args(&url))
            .fake_env(kubeconfig)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Terway's events in the last hour:"), "{text}");
    assert!(
        text.contains("  cn-shanghai-f: 2 ConfigError, 0 IP exhaustion"),
        "{text}"
    );
    assert!(
        text.contains("  cn-shanghai-g: 0 ConfigError, 2 IP exhaustion"),
        "{text}"
    );
    assert!(
        text.contains("latest ConfigError")
            && text.contains("Node/node-f-1: error get vSwitch vsw-uf6aaa0001, vswitch not found"),
        "{text}"
    );
}
