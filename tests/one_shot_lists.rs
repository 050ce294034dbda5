//! One-shot commands (`status`, `expand`, an unwatched `controller`) list
//! nodes as the watchers do (issue 22): metadata only, in pages, Terway's
//! Node CRs paged into the narrow type; an absent CRD costs one LIST.

mod common;

use common::fake_kube::FakeKube;
use serde_json::json;

const NODES: &str = "/api/v1/nodes";
const CRD: &str = "/apis/network.alibabacloud.com/v1beta1/nodes";

fn node_list(n: usize) -> serde_json::Value {
    let items: Vec<_> = (0..n)
        .map(|i| json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": format!("node-{i:03}"), "resourceVersion": "1",
                "labels": {"topology.kubernetes.io/zone": "cn-shanghai-f", "kubernetes.io/hostname": format!("node-{i:03}")},
                "annotations": {"big": "x".repeat(1000)}},
            "status": {"images": [{"names": ["registry/acs/pause:3.9"], "sizeBytes": 1}]}}))
        .collect();
    json!({"apiVersion": "v1", "kind": "NodeList", "metadata": {"resourceVersion": "1"}, "items": items})
}

#[tokio::test]
async fn nodes_are_listed_metadata_only_in_pages() {
    let cases = [(120, false), (120, true), (0, false)];
    for (n, crd) in cases {
        let kube = FakeKube::in_process();
        kube.put(NODES, node_list(n));
        if crd {
            let items: Vec<_> = (0..n)
                .map(|i| json!({"apiVersion": "network.alibabacloud.com/v1beta1", "kind": "Node",
                    "metadata": {"name": format!("node-{i:03}"), "resourceVersion": "1"},
                    "spec": {"nodeCap": {"adapters": 4, "ipv4PerAdapter": 15}, "eni": {"vSwitchOptions": ["vsw-1"]}}}))
                .collect();
            kube.put(CRD, json!({"apiVersion": "network.alibabacloud.com/v1beta1", "kind": "NodeList", "metadata": {"resourceVersion": "1"}, "items": items}));
        }
        let facts = terway_guard::kube::snapshot::node_facts(&kube.client(), None)
            .await
            .unwrap();
        let case = format!("{n} nodes, CRD {crd}");
        assert_eq!(facts.len(), n, "{case}");
        assert_eq!(
            facts.iter().filter(|f| f.limits.is_some()).count(),
            if crd { n } else { 0 },
            "{case}"
        );
        let reads = kube.store.lock().unwrap().reads.clone();
        let node_reads: Vec<&String> = reads
            .iter()
            .filter(|r| r.starts_with(&format!("GET {NODES}?")))
            .collect();
        // 120 nodes: pages of 50, 50 and 20; an empty list is one page.
        assert_eq!(node_reads.len(), n.div_ceil(50).max(1), "{case}: {reads:?}");
        for r in &node_reads {
            assert!(
                r.contains("limit=50") && r.ends_with(" (metadata)"),
                "{case}: {r}"
            );
        }
        let crd_reads: Vec<&String> = reads
            .iter()
            .filter(|r| r.starts_with(&format!("GET {CRD}?")))
            .collect();
        let want = if crd { n.div_ceil(50) } else { 1 };
        assert_eq!(crd_reads.len(), want, "{case}: {reads:?}");
        assert!(crd_reads.iter().all(|r| r.contains("limit=50")), "{case}");
    }
}
