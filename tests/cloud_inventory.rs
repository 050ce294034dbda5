//! The webhook deciding with facts from the (fake) cloud, and surviving it failing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fake_vpc::Fake;
use common::*;
use serde_json::Value;
use terway_guard::inventory::{CloudConfig, CloudInventory, Inventory};

fn cloud(endpoint: &str, vpc: Option<&str>) -> CloudInventory {
    let client = common::fake_vpc::vpc_client_at(endpoint);
    CloudInventory::new(
        client,
        CloudConfig {
            vpc_id: vpc.map(str::to_string),
            lookup_timeout: Duration::from_millis(800),
            ..CloudConfig::default()
        },
    )
}

async fn serve_with(inv: CloudInventory) -> Running {
    let dir = temp_dir("cloudsrv");
    let ca = write_certs(&dir);
    start_with(
        dir.join("tls.crt"),
        dir.join("tls.key"),
        ca,
        dir.clone(),
        move |c| c.inventory = Some(Arc::new(inv)),
    )
    .await
}

#[tokio::test]
async fn decides_with_live_facts_and_reports_readiness() {
    let fake = Fake::like_examples().await;
    let inv = cloud(&fake.url(), Some("vpc-uf6demo0001"));
    let s = serve_with(inv.clone()).await;
    assert_eq!(
        s.raw("GET", "/readyz", vec![]).await.unwrap().status,
        503,
        "not ready before the first sync"
    );
    assert!(inv.sync().await);
    assert_eq!(s.raw("GET", "/readyz", vec![]).await.unwrap().status, 200);

    let old = example_cm("eni-config.yaml");
    let r = response(
        &s.post(
            "/validate",
            &review(
                "UPDATE",
                Some(&example_cm("edit-wrong-zone.yaml")),
                Some(&old),
                &[],
                false,
            ),
        )
        .await,
    );
    assert_eq!(r["allowed"], false);
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("vsw-uf6ccc0003 is in zone cn-shanghai-g"),
        "{r}"
    );
    let r = response(
        &s.post(
            "/validate",
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
    assert_eq!(r["allowed"], true, "{r}");
    // The VPC was listed in one paged call; admissions did not call the cloud.
    assert_eq!(fake.calls("DescribeVSwitches"), 1);

    let mut tcp = tokio::net::TcpStream::connect(s.metrics).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut m = String::new();
    tcp.read_to_string(&mut m).await.unwrap();
    assert!(m.contains("terway_guard_vswitch_available_ips{vswitch=\"vsw-uf6aaa0001\",zone=\"cn-shanghai-f\",vpc=\"vpc-uf6demo0001\"} 2"), "{m}");
    assert!(
        m.contains("terway_guard_zone_available_ips{zone=\"cn-shanghai-f\"} 8190"),
        "{m}"
    );
    s.stop().await;
}

#[tokio::test]
async fn concurrent_admissions_share_one_cold_lookup() {
    let fake = Fake::like_examples().await;
    fake.with(|s| s.delay = Duration::from_millis(300));
    let s = serve_with(cloud(&fake.url(), None)).await;
    let old = example_cm("eni-config.yaml");
    let body = review(
        "UPDATE",
        Some(&example_cm("edit-expand.yaml")),
        Some(&old),
        &[],
        false,
    );
    let mut calls = Vec::new();
    for _ in 0..12 {
        let (addr, ca, body) = (s.addr, s.ca_pem.clone(), serde_json::to_vec(&body).unwrap());
        calls.push(tokio::spawn(async move {
            call(addr, roots(&[&ca]), "POST", "/validate", body)
                .await
                .unwrap()
        }));
    }
    for c in calls {
        let r: Value = response(&c.await.unwrap());
        assert_eq!(r["allowed"], true, "{r}");
    }
    // Three distinct vSwitches, each looked up once for all twelve reviews.
    assert_eq!(fake.calls("DescribeVSwitches"), 3);
    s.stop().await;
}

#[tokio::test]
async fn with_the_cloud_down_additions_are_denied_and_unchanged_configs_pass() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let s = serve_with(cloud(&format!("http://{closed}"), None)).await;
    let old = example_cm("eni-config.yaml");
    let r = response(
        &s.post(
            "/validate",
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
    assert_eq!(r["allowed"], false);
    let msg = r["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains("[vswitch-lookup]")
            && msg.contains("could not verify vSwitch vsw-uf6bbb0002")
            && msg.contains("terway-guard.io/bypass"),
        "{msg}"
    );
    let r = response(
        &s.post(
            "/validate",
            &review("UPDATE", Some(&old), Some(&old), &[], false),
        )
        .await,
    );
    assert_eq!(r["allowed"], true, "{r}");
    assert!(r["warnings"].to_string().contains("vswitch-lookup"));
    s.stop().await;
}

#[tokio::test]
async fn known_lists_what_was_found() {
    let fake = Fake::like_examples().await;
    let inv = cloud(&fake.url(), Some("vpc-uf6demo0001"));
    assert!(inv.known().is_empty());
    inv.sync().await;
    assert_eq!(inv.known().len(), 3);
}

#[tokio::test]
async fn the_base_from_the_cluster_judges_dynamic_configs_and_names_the_vpc() {
    let fake = Fake::like_examples().await;
    let inv = cloud(&fake.url(), None);
    let base = terway_guard::config::manifest::from_value(example_cm("eni-config.yaml")).unwrap();
    inv.set_base(Some(base)).await;
    assert_eq!(inv.vpc_id().as_deref(), Some("vpc-uf6demo0001"));
    assert!(inv.base_config().is_some());
    let s = serve_with(inv).await;
    let dynamic = serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "big-pool", "namespace": "kube-system"},
        "data": {"eni_conf": "{\"min_pool_size\": 40}"}
    });
    let r = response(
        &s.post(
            "/validate",
            &review("CREATE", Some(&dynamic), None, &[], false),
        )
        .await,
    );
    assert_eq!(r["allowed"], false, "{r}");
    assert!(
        r["status"]["message"]
            .as_str()
            .unwrap()
            .contains("[pool-order]"),
        "{r}"
    );
    s.stop().await;
}

/// A config listing `n` made-up vSwitch ids in one zone.
fn junk(n: usize) -> Value {
    let mut cm = example_cm("eni-config.yaml");
    let ids: Vec<String> = (0..n).map(|i| format!("\"vsw-junk{i:05}\"")).collect();
    cm["data"]["eni_conf"] = Value::String(format!(
        r#"{{"service_cidr": "172.16.0.0/16", "vswitches": {{"cn-shanghai-f": ["vsw-uf6aaa0001", {}]}}}}"#,
        ids.join(",")
    ));
    cm
}

#[tokio::test]
async fn one_review_cannot_fan_out_to_the_cloud() {
    for vpc in [Some("vpc-uf6demo0001"), None] {
        let fake = Fake::like_examples().await;
        let inv = cloud(&fake.url(), vpc);
        let s = serve_with(inv.clone()).await;
        inv.sync().await;
        let before = fake.calls("DescribeVSwitches");
        let old = example_cm("eni-config.yaml");

        // Far over the limit: denied, nothing looked up.
        let r = response(
            &s.post(
                "/validate",
                &review("UPDATE", Some(&junk(2000)), Some(&old), &[], false),
            )
            .await,
        );
        assert_eq!(r["allowed"], false);
        let msg = r["status"]["message"].as_str().unwrap();
        assert!(msg.contains("[vswitch-count]"), "{msg}");
        assert_eq!(
            fake.calls("DescribeVSwitches"),
            before,
            "{vpc:?}: no lookups"
        );

        // Under the limit but all unknown: a bounded number of calls, and a
        // bounded answer.
        let r = response(
            &s.post(
                "/validate",
                &review("UPDATE", Some(&junk(90)), Some(&old), &[], false),
            )
            .await,
        );
        assert_eq!(r["allowed"], false);
        let calls = fake.calls("DescribeVSwitches") - before;
        assert!(calls <= 9, "{vpc:?}: {calls} calls for 90 unknown ids");
        let msg = r["status"]["message"].as_str().unwrap();
        assert!(msg.len() <= 9 * 1024, "{} bytes", msg.len());
        assert!(msg.contains("more; run terway-guard check"), "{msg}");
        let added = r["auditAnnotations"]["vswitches-added"].as_str().unwrap();
        assert!(added.len() <= 1024 && added.ends_with("more)"), "{added}");
        assert!(r["warnings"].as_array().map_or(0, Vec::len) <= 21);
        s.stop().await;
    }
}
