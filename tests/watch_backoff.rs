//! Watches of resources that are absent or forbidden back off (issue 22):
//! against the fake Kubernetes API in virtual time, ten minutes of an absent
//! Terway Node CRD (or of RBAC refusing nodes) cost about ten LISTs, and once
//! the resource can be read its store fills within the back-off's cap.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fake_kube::FakeKube;
use serde_json::json;
use terway_guard::inventory::KubeadmServiceCidr;
use terway_guard::kube::cluster;
use terway_guard::kube::health::{Reason, WatchHealth};
use terway_guard::kube::watch::CAP;
use tokio::time::Instant;

const CRD: &str = "/apis/network.alibabacloud.com/v1beta1/nodes";
const NODES: &str = "/api/v1/nodes";
const KUBE_SYSTEM_CMS: &str = "/api/v1/namespaces/kube-system/configmaps";
const TEN_MINUTES: Duration = Duration::from_secs(600);

fn terway_nodes(n: usize) -> serde_json::Value {
    let items: Vec<_> = (0..n)
        .map(|i| {
            json!({"apiVersion": "network.alibabacloud.com/v1beta1", "kind": "Node",
            "metadata": {"name": format!("node-{i}"), "resourceVersion": "1"},
            "spec": {"nodeCap": {"adapters": 4, "ipv4PerAdapter": 15}}})
        })
        .collect();
    json!({"apiVersion": "network.alibabacloud.com/v1beta1", "kind": "NodeList",
           "metadata": {"resourceVersion": "1"}, "items": items})
}

fn nodes(n: usize) -> serde_json::Value {
    let items: Vec<_> = (0..n)
        .map(|i| {
            json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": format!("node-{i}"), "resourceVersion": "1",
                         "labels": {"topology.kubernetes.io/zone": "cn-shanghai-f"}}})
        })
        .collect();
    json!({"apiVersion": "v1", "kind": "NodeList", "metadata": {"resourceVersion": "1"}, "items": items})
}

/// Waits (in virtual time) until `ready` holds, at most `within`; returns
/// how long it took.
async fn until(within: Duration, ready: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() <= within,
            "not within {within:?} (waited {:?})",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    start.elapsed()
}

/// (resource, path, how the path fails, what is put there once it works)
type Case = (
    &'static str,
    &'static str,
    Option<u16>,
    fn(usize) -> serde_json::Value,
);

#[tokio::test(start_paused = true)]
async fn absent_or_forbidden_lists_back_off_and_recover_within_the_cap() {
    let cases: [Case; 3] = [
        // No CRD: the apiserver answers 404 (the fake does for an empty path).
        (cluster::TERWAY_NODES, CRD, None, terway_nodes),
        // RBAC without the CRD's resource.
        (cluster::TERWAY_NODES, CRD, Some(403), terway_nodes),
        // RBAC without nodes.
        (cluster::NODES, NODES, Some(403), nodes),
    ];
    for (resource, path, refused, objects) in cases {
        let kube = FakeKube::in_process();
        if let Some(code) = refused {
            kube.put(path, objects(3));
            kube.refuse(path, Some(code));
        }
        let health = Arc::new(WatchHealth::default());
        let client = kube.client();
        let len: Box<dyn Fn() -> usize> = if resource == cluster::NODES {
            let s = cluster::watch_nodes(client, &health, None);
            Box::new(move || s.state().len())
        } else {
            let s = cluster::watch_terway_nodes(client, &health, None);
            Box::new(move || s.state().len())
        };
        let case = format!("{resource} {refused:?}");

        tokio::time::sleep(TEN_MINUTES).await;
        let lists = kube.lists(path);
        // 1, 2, 4, ... 256 s apart: LISTs at 0, 1, 3, 7, ... 255, 511 s.
        assert!((8..=10).contains(&lists), "{case}: {lists} LISTs");
        let want = if refused == Some(403) {
            Reason::Forbidden
        } else {
            Reason::NotFound
        };
        let failing = health.failing(resource).expect(&case);
        assert_eq!(failing.reason, want, "{case}");
        assert_eq!(failing.count as usize, lists, "{case}");
        assert_eq!(len(), 0, "{case}");

        // The resource becomes readable: seen within the cap.
        kube.refuse(path, None);
        kube.put(path, objects(3));
        let took = until(CAP + Duration::from_secs(5), || len() == 3).await;
        assert!(took <= CAP, "{case}: {took:?}");
        assert_eq!(health.failing(resource), None, "{case}");
        assert!(health.was_listed(resource), "{case}");
        let errors = health.errors();
        assert_eq!(errors, [(resource, want.label(), lists as u64)], "{case}");

        // Listed once more, then quiet: the watch holds, no more LISTs.
        let before = kube.lists(path);
        tokio::time::sleep(TEN_MINUTES).await;
        assert_eq!(kube.lists(path), before, "{case}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_kubeadm_fallback_as_the_watch_finds_it() {
    let kube = FakeKube::in_process();
    // Another ConfigMap in kube-system: the collection exists, kubeadm-config not.
    kube.put(
        &format!("{KUBE_SYSTEM_CMS}/eni-config"),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "eni-config", "namespace": "kube-system"}, "data": {}}),
    );
    let health = Arc::new(WatchHealth::default());
    let store = cluster::watch_kubeadm(kube.client(), &health, None);
    // Unknown until listed.
    assert_eq!(cluster::kubeadm_fact(&store, &health), None);
    until(Duration::from_secs(5), || {
        health.was_listed(cluster::KUBEADM)
    })
    .await;
    assert_eq!(
        cluster::kubeadm_fact(&store, &health),
        Some(KubeadmServiceCidr::Unusable(
            "kube-system/kubeadm-config is absent".into()
        ))
    );

    // Present (a fresh cluster: the fake's watches send no events).
    let kube = FakeKube::in_process();
    kube.put(
        &format!("{KUBE_SYSTEM_CMS}/kubeadm-config"),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
               "data": {"ClusterConfiguration": "networking:\n  serviceSubnet: 10.96.0.0/12\n"}}),
    );
    let health = Arc::new(WatchHealth::default());
    let store = cluster::watch_kubeadm(kube.client(), &health, None);
    until(Duration::from_secs(5), || {
        health.was_listed(cluster::KUBEADM)
    })
    .await;
    assert_eq!(
        cluster::kubeadm_fact(&store, &health),
        Some(KubeadmServiceCidr::Usable("10.96.0.0/12".into()))
    );

    // RBAC without it: unknown, not "absent".
    let kube = FakeKube::in_process();
    kube.refuse(KUBE_SYSTEM_CMS, Some(403));
    let health = Arc::new(WatchHealth::default());
    let store = cluster::watch_kubeadm(kube.client(), &health, None);
    tokio::time::sleep(TEN_MINUTES).await;
    assert_eq!(cluster::kubeadm_fact(&store, &health), None);
    assert_eq!(
        health.failing(cluster::KUBEADM).map(|f| f.reason),
        Some(Reason::Forbidden)
    );
    assert!(kube.lists(KUBE_SYSTEM_CMS) <= 10);
}
