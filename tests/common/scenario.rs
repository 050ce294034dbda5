//! The shared scene: the example cloud behind the fake VPC endpoint and a
//! cluster behind the fake Kubernetes API, with zone f out of IPs.

use serde_json::json;
use terway_guard::cloud::client::ApiClient;

use super::example_cm;
use super::fake_kube::FakeKube;
use super::fake_vpc::Fake;

pub const CM: &str = "/api/v1/namespaces/kube-system/configmaps/eni-config";
pub const DS: &str = "/apis/apps/v1/namespaces/kube-system/daemonsets/terway-eniip";

/// The fake cloud as in the examples, with a NAT gateway serving zone f.
pub async fn cloud() -> Fake {
    let fake = Fake::like_examples().await;
    fake.with(|s| {
        s.nat_gateways.push(json!({"NatGatewayId": "ngw-1", "VpcId": "vpc-uf6demo0001", "SnatTableIds": {"SnatTableId": ["stb-1"]}, "IpLists": {"IpList": [{"IpAddress": "47.100.10.1", "SnatEntryEnabled": true}]}}));
        s.snat_entries.push(json!({"SnatEntryId": "snat-aaa", "SnatTableId": "stb-1", "SourceVSwitchId": "vsw-uf6aaa0001", "SourceCIDR": "", "SnatIp": "47.100.10.1", "Status": "Available"}));
    });
    fake
}

/// The cluster: eni-config, Terway's DaemonSet, a pod that failed IP allocation.
pub async fn cluster() -> FakeKube {
    let kube = FakeKube::start().await;
    kube.put(CM, example_cm("eni-config.yaml"));
    kube.put(
        DS,
        json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "terway-eniip", "namespace": "kube-system", "generation": 1},
               "spec": {"selector": {"matchLabels": {"app": "terway-eniip"}}, "template": {"metadata": {"labels": {"app": "terway-eniip"}}, "spec": {"containers": [{"name": "terway", "image": "terway:v1"}]}}},
               "status": {"desiredNumberScheduled": 4, "currentNumberScheduled": 4, "numberReady": 4, "numberMisscheduled": 0, "observedGeneration": 1, "updatedNumberScheduled": 4, "numberAvailable": 4}}),
    );
    kube.put(
        "/api/v1/events",
        json!({"apiVersion": "v1", "kind": "EventList", "metadata": {"resourceVersion": "1"}, "items": [
            {"metadata": {"name": "web-1.1", "namespace": "shop"}, "reason": "AllocIPFailed", "type": "Warning", "message": "error allocate ip: InvalidVSwitchId.IpNotEnough", "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web-1"}, "lastTimestamp": "2026-01-01T00:00:00Z"}
        ]}),
    );
    kube.put("/api/v1/namespaces/shop/pods/web-1", json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop"}, "spec": {"nodeName": "node-f-1", "containers": []}, "status": {"phase": "Running"}}));
    for node in ["node-f-1", "node-g-1"] {
        put_terway_pod(&kube, node);
    }
    kube.put(
        "/api/v1/nodes",
        json!({"apiVersion": "v1", "kind": "NodeList", "metadata": {"resourceVersion": "1"}, "items": [
            {"metadata": {"name": "node-f-1", "labels": {"topology.kubernetes.io/zone": "cn-shanghai-f", "node.kubernetes.io/instance-type": "ecs.g7.xlarge"}}},
            {"metadata": {"name": "node-g-1", "labels": {"topology.kubernetes.io/zone": "cn-shanghai-g"}}}
        ]}),
    );
    kube
}

pub const PODS: &str = "/api/v1/namespaces/kube-system/pods";

/// Terway's pod on `node`, Ready, owned by its DaemonSet.
pub fn put_terway_pod(kube: &FakeKube, node: &str) {
    let name = format!("terway-eniip-{node}");
    kube.put(
        &format!("{PODS}/{name}"),
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": "kube-system", "uid": format!("uid-{node}"), "labels": {"app": "terway-eniip"},
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "terway-eniip", "uid": "ds-uid", "controller": true}]},
               "spec": {"nodeName": node, "containers": [{"name": "terway", "image": "terway:v1"}]},
               "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}),
    );
}

/// Paths of the pods deleted so far, in order.
pub fn deleted(kube: &FakeKube) -> Vec<String> {
    kube.store.lock().unwrap().deleted.clone()
}

/// A controller of the scene: the example VPC, only exhaustion events
/// trigger (the free-IP thresholds are off), quiet progress.
pub async fn controller(
    fake: &Fake,
    kube: &FakeKube,
    mode: terway_guard::controller::decide::Mode,
    who: &str,
) -> terway_guard::controller::run::Controller {
    use terway_guard::inventory::{CloudConfig, CloudInventory};
    let inv = CloudInventory::new(
        vpc_client(fake),
        CloudConfig {
            vpc_id: Some("vpc-uf6demo0001".into()),
            ..Default::default()
        },
    );
    let policy = terway_guard::controller::decide::Policy {
        mode,
        min_free: 0,
        min_free_pct: 0.0,
        ..Default::default()
    };
    let mut c = terway_guard::controller::run::Controller::new(
        kube_client(kube).await,
        inv,
        None,
        policy,
        "kube-system",
        "terway-eniip",
        who,
        19,
    );
    c.progress = terway_guard::expand::apply::Progress::quiet;
    c.rollout_timeout = std::time::Duration::from_secs(5);
    c
}

/// Events the test's actors created in kube-system.
pub fn created_events(kube: &FakeKube) -> Vec<serde_json::Value> {
    let store = kube.store.lock().unwrap();
    store
        .objects
        .iter()
        .filter(|(k, _)| k.starts_with("/api/v1/namespaces/kube-system/events/"))
        .map(|(_, v)| v.clone())
        .collect()
}

pub fn vpc_client(fake: &Fake) -> ApiClient {
    super::fake_vpc::vpc_client_at(&fake.url())
}

pub async fn kube_client(kube: &FakeKube) -> ::kube::Client {
    let config = ::kube::Config::new(format!("http://{}", kube.addr).parse().unwrap());
    ::kube::Client::try_from(config).unwrap()
}
