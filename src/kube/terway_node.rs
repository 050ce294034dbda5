//! Terway's own Node resource (`nodes.network.alibabacloud.com/v1beta1`),
//! read as only the capacity it carries. Deserializing straight into this
//! narrow type means the rest of a CR (ENIs, status, IP lists) is never held
//! in memory, not even while a page of a list is decoded.
//!
//! Field names follow Terway's
//! pkg/apis/network.alibabacloud.com/v1beta1/node_types.go (`NodeCap`,
//! AliyunContainerService/terway@89aadf8).

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{ClusterResourceScope, Resource};
use serde::{Deserialize, Deserializer, Serialize};

use crate::inventory::NodeLimits;

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct TerwayNode {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<TerwayNodeSpec>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct TerwayNodeSpec {
    #[serde(default, rename = "nodeCap", skip_serializing_if = "Option::is_none")]
    pub node_cap: Option<NodeCap>,
}

/// The Go fields are `int` with `omitempty`: absent means 0. A value that is
/// not a non-negative integer reads as absent rather than failing the whole
/// list it came in.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NodeCap {
    #[serde(default, deserialize_with = "count")]
    pub adapters: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub total_adapters: Option<u64>,
    #[serde(default, deserialize_with = "count", rename = "ipv4PerAdapter")]
    pub ipv4_per_adapter: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub eri_quantity: Option<u64>,
}

fn count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(serde_json::Value::deserialize(d)?.as_u64())
}

impl Resource for TerwayNode {
    type DynamicType = ();
    type Scope = ClusterResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "Node".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        "network.alibabacloud.com".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1beta1".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "nodes".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl TerwayNode {
    /// The node's ENI limits, when Terway has recorded usable ones.
    pub fn limits(&self) -> Option<NodeLimits> {
        let cap = self.spec.as_ref()?.node_cap.as_ref()?;
        let adapters = cap.adapters.filter(|a| *a > 0)?;
        let per = cap.ipv4_per_adapter.filter(|p| *p > 0)?;
        Some(NodeLimits {
            adapters,
            total_adapters: cap.total_adapters.filter(|t| *t > 0).unwrap_or(adapters),
            ipv4_per_adapter: per,
            erdma_adapters: cap.eri_quantity.unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// adapters, total adapters, IPv4 per adapter, ERDMA adapters
    type Limits = (u64, u64, u64, u64);

    #[test]
    fn limits_from_node_cap() {
        let cases: &[(serde_json::Value, Option<Limits>)] = &[
            (
                serde_json::json!({"adapters": 4, "ipv4PerAdapter": 15}),
                Some((4, 4, 15, 0)),
            ),
            (
                serde_json::json!({"adapters": 8, "totalAdapters": 10, "ipv4PerAdapter": 30, "eriQuantity": 1, "ipv6PerAdapter": 30, "networkCards": [{"index": 0}]}),
                Some((8, 10, 30, 1)),
            ),
            // omitempty: 0 is absent, and absent is unusable.
            (
                serde_json::json!({"adapters": 0, "ipv4PerAdapter": 15}),
                None,
            ),
            (serde_json::json!({"adapters": 4}), None),
            // Odd values read as absent, not as a failed list.
            (
                serde_json::json!({"adapters": -1, "ipv4PerAdapter": 15}),
                None,
            ),
            (
                serde_json::json!({"adapters": "4", "ipv4PerAdapter": 15}),
                None,
            ),
        ];
        for (cap, want) in cases {
            let node: TerwayNode = serde_json::from_value(serde_json::json!({
                "apiVersion": "network.alibabacloud.com/v1beta1", "kind": "Node",
                "metadata": {"name": "n"},
                "spec": {"nodeCap": cap, "eni": {"vSwitchOptions": ["vsw-1"]}},
                "status": {"networkInterfaces": {"eni-1": {"id": "eni-1"}}}
            }))
            .unwrap();
            let got = node.limits().map(|l| {
                (
                    l.adapters,
                    l.total_adapters,
                    l.ipv4_per_adapter,
                    l.erdma_adapters,
                )
            });
            assert_eq!(&got, want, "{cap}");
        }
        let bare: TerwayNode =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "n"}})).unwrap();
        assert_eq!(bare.limits(), None);
    }
}
