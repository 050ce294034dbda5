//! Node facts from Kubernetes objects: zone, dynamic config, pod-IP capacity.
//! Pure, so it is tested on Kubernetes JSON fixtures.

use std::collections::HashMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::terway_node::TerwayNode;

use crate::cloud::ecs::InstanceLimits;
use crate::inventory::{NodeFact, NodeLimits};

pub const ZONE_LABELS: [&str; 2] = [
    "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/zone",
];
pub const INSTANCE_TYPE_LABELS: [&str; 2] = [
    "node.kubernetes.io/instance-type",
    "beta.kubernetes.io/instance-type",
];
/// The label that points a node at a dynamic config.
pub const CONFIG_LABEL: &str = "terway-config";
/// `eniOnly` (any case) makes a node use exclusive ENIs (types/k8s.go
/// NodeExclusiveENIMode).
pub const EXCLUSIVE_ENI_LABEL: &str = "k8s.aliyun.com/exclusive-mode-eni-type";

fn label<'a>(meta: &'a ObjectMeta, keys: &[&str]) -> Option<&'a str> {
    let labels = meta.labels.as_ref()?;
    keys.iter()
        .find_map(|k| labels.get(*k))
        .map(String::as_str)
        .filter(|s| !s.is_empty())
}

pub fn instance_type(meta: &ObjectMeta) -> Option<&str> {
    label(meta, &INSTANCE_TYPE_LABELS)
}

fn limits_from_instance(l: &InstanceLimits) -> NodeLimits {
    NodeLimits {
        adapters: l.eni_quantity,
        total_adapters: l.eni_quantity,
        ipv4_per_adapter: l.ips_per_eni,
        erdma_adapters: 0,
    }
}

/// The facts of one node, from its metadata; `None` when it has no zone
/// label (it cannot be placed).
pub fn node_fact(
    meta: &ObjectMeta,
    terway_node: Option<&TerwayNode>,
    limits: &HashMap<String, InstanceLimits>,
) -> Option<NodeFact> {
    let zone = label(meta, &ZONE_LABELS)?.to_string();
    let limits = terway_node.and_then(TerwayNode::limits).or_else(|| {
        instance_type(meta)
            .and_then(|t| limits.get(t))
            .map(limits_from_instance)
    });
    Some(NodeFact {
        name: meta.name.clone().unwrap_or_default(),
        zone,
        max_pod_ips: None,
        limits,
        config: label(meta, &[CONFIG_LABEL]).map(str::to_string),
        terway_node: terway_node.is_some(),
        exclusive_eni: label(meta, &[EXCLUSIVE_ENI_LABEL])
            .is_some_and(|v| v.eq_ignore_ascii_case("eniOnly")),
    })
}

fn by_name<'a>(
    terway_nodes: impl IntoIterator<Item = &'a TerwayNode>,
) -> HashMap<&'a str, &'a TerwayNode> {
    terway_nodes
        .into_iter()
        .filter_map(|t| Some((t.metadata.name.as_deref()?, t)))
        .collect()
}

/// Facts of all nodes, with Terway Node resources matched by name. Takes
/// references, so a watch store's objects are read where they are.
pub fn node_facts<'a>(
    nodes: impl IntoIterator<Item = &'a ObjectMeta>,
    terway_nodes: impl IntoIterator<Item = &'a TerwayNode>,
    limits: &HashMap<String, InstanceLimits>,
) -> Vec<NodeFact> {
    let by_name = by_name(terway_nodes);
    let mut out: Vec<NodeFact> = nodes
        .into_iter()
        .filter_map(|m| {
            let t = m.name.as_deref().and_then(|n| by_name.get(n).copied());
            node_fact(m, t, limits)
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Instance types whose limits are needed (nodes without usable limits on a
/// Terway Node resource).
pub fn missing_instance_types<'a>(
    nodes: impl IntoIterator<Item = &'a ObjectMeta>,
    terway_nodes: impl IntoIterator<Item = &'a TerwayNode>,
    known: &HashMap<String, InstanceLimits>,
) -> Vec<String> {
    let with_cap: std::collections::HashSet<&str> = terway_nodes
        .into_iter()
        .filter(|t| t.limits().is_some())
        .filter_map(|t| t.metadata.name.as_deref())
        .collect();
    let mut types: Vec<String> = nodes
        .into_iter()
        .filter(|m| !m.name.as_deref().is_some_and(|n| with_cap.contains(n)))
        .filter_map(instance_type)
        .filter(|t| !known.contains_key(*t))
        .map(str::to_string)
        .collect();
    types.sort();
    types.dedup();
    types
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::Node;
    use serde_json::Value;

    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    fn nodes() -> Vec<Node> {
        fixture("nodes.json")["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| serde_json::from_value(n.clone()).unwrap())
            .collect()
    }

    #[test]
    fn zone_config_and_capacity_from_real_objects() {
        let terway: Vec<TerwayNode> = fixture("terway-nodes.json")["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| serde_json::from_value(t.clone()).unwrap())
            .collect();
        let nodes = nodes();
        let metas = || nodes.iter().map(|n| &n.metadata);
        let limits: HashMap<String, InstanceLimits> = [(
            "ecs.g7.xlarge".to_string(),
            InstanceLimits {
                eni_quantity: 4,
                ips_per_eni: 15,
            },
        )]
        .into();
        let facts = node_facts(metas(), &terway, &limits);
        let legacy = crate::config::EniConf::parse("{}").unwrap();
        let got: Vec<(&str, &str, Option<u64>, Option<&str>)> = facts
            .iter()
            .map(|f| {
                (
                    f.name.as_str(),
                    f.zone.as_str(),
                    crate::capacity::pod_ips(f, &legacy, crate::config::Mode::Crd),
                    f.config.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                // Terway's Node resource wins: (5 - 1) × 20.
                ("cn-shanghai.192.168.0.10", "cn-shanghai-f", Some(80), None),
                // No Terway Node: the instance type's limits, (4 - 1) × 15.
                (
                    "cn-shanghai.192.168.0.11",
                    "cn-shanghai-f",
                    Some(45),
                    Some("big-pool")
                ),
                // Old zone label, unknown instance type.
                ("cn-shanghai.192.168.64.7", "cn-shanghai-g", None, None),
            ]
        );
        let missing = missing_instance_types(metas(), &terway, &HashMap::new());
        assert_eq!(missing, ["ecs.c6.large", "ecs.g7.xlarge"]);
    }
}
