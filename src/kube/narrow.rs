//! What the watch stores keep: only the fields terway-guard reads. A
//! realistic ACK node is ~15 KiB (images, conditions, managed fields); what
//! is kept of it is a few hundred bytes.

use k8s_openapi::api::core::v1::{Event, Node};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::nodes;
use super::terway_node::TerwayNode;

/// Keeps of a Node only its name and the labels terway-guard reads: a
/// realistic ACK node is ~15 KiB (images, conditions, managed fields), this
/// is a few hundred bytes.
pub fn narrow_node(n: &mut Node) {
    narrow_node_meta(&mut n.metadata);
    n.spec = None;
    n.status = None;
}

/// [`narrow_node`] for the metadata a metadata-only watch returns.
pub fn narrow_node_meta(m: &mut ObjectMeta) {
    let keep = |k: &str| {
        nodes::ZONE_LABELS.contains(&k)
            || nodes::INSTANCE_TYPE_LABELS.contains(&k)
            || k == nodes::CONFIG_LABEL
            || k == nodes::EXCLUSIVE_ENI_LABEL
            || k == "topology.kubernetes.io/region"
    };
    m.annotations = None;
    m.managed_fields = None;
    m.owner_references = None;
    m.finalizers = None;
    if let Some(labels) = m.labels.as_mut() {
        labels.retain(|k, _| keep(k));
    }
}

/// Keeps of a Terway Node CR its name and `spec.nodeCap` (the type holds
/// nothing else of it).
pub fn narrow_terway_node(o: &mut TerwayNode) {
    let m = &mut o.metadata;
    m.annotations = None;
    m.labels = None;
    m.managed_fields = None;
    m.owner_references = None;
    m.finalizers = None;
}

/// Keeps of an Event what the exhaustion signals read.
pub fn narrow_event(e: &mut Event) {
    e.metadata.managed_fields = None;
    e.metadata.annotations = None;
    e.metadata.labels = None;
    e.related = None;
    e.series = None;
    e.action = None;
    if let Some(m) = e.message.as_mut()
        && m.len() > 1024
    {
        let mut cut = 1024;
        while !m.is_char_boundary(cut) {
            cut -= 1;
        }
        m.truncate(cut);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn stores_keep_only_what_is_read() {
        let path = format!("{}/tests/fixtures/nodes.json", env!("CARGO_MANIFEST_DIR"));
        let list: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut node = list["items"][1].clone();
        // What a real ACK node also carries.
        node["status"]["images"] = (0..40)
            .map(|i| serde_json::json!({"names": [format!("registry-cn-shanghai.ack.aliyuncs.com/acs/image-{i}@sha256:{:064}", i)], "sizeBytes": 123456789}))
            .collect();
        node["status"]["conditions"] = (0..8)
            .map(|i| serde_json::json!({"type": format!("Condition{i}"), "status": "False", "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available", "lastHeartbeatTime": "2026-11-26T10:00:00Z", "lastTransitionTime": "2026-11-20T10:00:00Z"}))
            .collect();
        node["metadata"]["annotations"] = serde_json::json!({"node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true"});
        let full: Node = serde_json::from_value(node).unwrap();
        let mut narrow = full.clone();
        narrow_node(&mut narrow);
        let size = |n: &Node| serde_json::to_vec(n).unwrap().len();
        assert!(
            size(&narrow) * 10 < size(&full),
            "{} vs {}",
            size(&narrow),
            size(&full)
        );
        // The facts are the same from either.
        let facts = |n: &Node| nodes::node_fact(&n.metadata, None, &HashMap::new());
        assert_eq!(facts(&narrow), facts(&full));
        let mut t: TerwayNode = serde_json::from_value(serde_json::json!({
            "apiVersion": "network.alibabacloud.com/v1beta1", "kind": "Node",
            "metadata": {"name": "n", "annotations": {"a": "b"}, "labels": {"c": "d"}},
            "spec": {"nodeCap": {"adapters": 4, "ipv4PerAdapter": 15}, "eni": {"big": "x"}},
            "status": {"networkInterfaces": {"eni-1": {}}}
        }))
        .unwrap();
        narrow_terway_node(&mut t);
        assert_eq!(t.limits().unwrap().adapters, 4);
        let v = serde_json::to_value(&t).unwrap();
        assert!(
            v.get("status").is_none()
                && v["spec"].get("eni").is_none()
                && v["metadata"].get("annotations").is_none(),
            "{v}"
        );
    }
}
