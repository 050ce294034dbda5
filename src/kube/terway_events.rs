//! Terway's Warning events as the cluster readers watch and read them: the
//! reasons (`ConfigError`, types/k8s.go `EventConfigError`; the exhaustion
//! reasons `AllocIPFailed` and `CreateENIFailed`,
//! AliyunContainerService/terway@89aadf8), whether one says IPs ran out, its
//! zone and when it happened. Pure. Here, beside the watches that keep them,
//! so the kube readers, `events`, `audit` and the controller's signals all
//! import them downward.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Event;

use crate::inventory::Facts;

pub const CONFIG_ERROR: &str = "ConfigError";
pub const EXHAUSTION_REASONS: [&str; 2] = ["AllocIPFailed", "CreateENIFailed"];
/// Every reason terway-guard watches.
pub const TERWAY_REASONS: [&str; 3] = [CONFIG_ERROR, EXHAUSTION_REASONS[0], EXHAUSTION_REASONS[1]];
const EXHAUSTION_TEXT: [&str; 3] = [
    "ipnotenough",
    "has not enough ipaddress",
    "quotaexceeded.privateipaddress",
];

/// Whether an event says a vSwitch ran out of addresses (case-insensitive).
pub fn is_exhaustion(e: &Event) -> bool {
    let reason_ok = e
        .reason
        .as_deref()
        .is_some_and(|r| EXHAUSTION_REASONS.contains(&r));
    let msg = e
        .message
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    reason_ok && EXHAUSTION_TEXT.iter().any(|t| msg.contains(t))
}

/// The zone an exhaustion event is about: the vSwitch it names, else the
/// node of the pod (or the node itself) it is attached to.
pub fn zone_of(
    e: &Event,
    facts: &Facts,
    pod_nodes: &BTreeMap<(String, String), String>,
) -> Option<String> {
    let msg = e.message.as_deref().unwrap_or_default();
    for word in msg.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        if word.starts_with("vsw-")
            && let Some(v) = facts.found(word)
        {
            return Some(v.zone.clone());
        }
    }
    let o = &e.involved_object;
    let node = match o.kind.as_deref() {
        Some("Node") => o.name.clone(),
        Some("Pod") => pod_nodes
            .get(&(
                o.namespace.clone().unwrap_or_default(),
                o.name.clone().unwrap_or_default(),
            ))
            .cloned(),
        _ => None,
    }?;
    facts
        .nodes
        .iter()
        .find(|n| n.name == node)
        .map(|n| n.zone.clone())
}

/// When an event last happened: its last, event or first time, else when
/// it was created.
pub fn happened(e: &Event) -> Option<k8s_openapi::jiff::Timestamp> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or(e.event_time.as_ref().map(|t| t.0))
        .or(e.first_timestamp.as_ref().map(|t| t.0))
        .or(e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// The time an event last happened, as seconds since the epoch.
pub fn last_seen(e: &Event) -> i64 {
    happened(e).map_or(0, |t| t.as_second())
}

pub fn is_config_error(e: &Event) -> bool {
    e.reason.as_deref() == Some(CONFIG_ERROR)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::inventory::{Lookup, NodeFact, VSwitchFact};
    use serde_json::json;

    pub(crate) fn event(v: serde_json::Value) -> Event {
        serde_json::from_value(v).unwrap()
    }

    pub(crate) fn facts() -> Facts {
        let mut f = Facts::default();
        f.vswitches.insert(
            "vsw-f1".into(),
            Lookup::Found(VSwitchFact {
                id: "vsw-f1".into(),
                vpc: "v".into(),
                zone: "cn-shanghai-f".into(),
                cidr: "10.0.0.0/24".parse().unwrap(),
                available_ips: 0,
            }),
        );
        std::sync::Arc::make_mut(&mut f.nodes).push(NodeFact {
            name: "node-g".into(),
            zone: "cn-shanghai-g".into(),
            ..NodeFact::default()
        });
        f
    }

    #[test]
    fn finds_exhaustion_and_its_zone() {
        let pod_nodes: BTreeMap<(String, String), String> = [(
            ("shop".to_string(), "web-2".to_string()),
            "node-g".to_string(),
        )]
        .into();
        let cases = [
            (
                json!({"metadata": {"name": "a"}, "reason": "AllocIPFailed", "message": "error alloc ip: The specified VSwitch \"vsw-f1\" has not enough IpAddress.", "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web-1"}, "lastTimestamp": "2026-11-26T00:00:10Z"}),
                true,
                Some("cn-shanghai-f"),
            ),
            (
                json!({"metadata": {"name": "b"}, "reason": "AllocIPFailed", "message": "InvalidVSwitchId.IpNotEnough", "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web-2"}}),
                true,
                Some("cn-shanghai-g"),
            ),
            (
                json!({"metadata": {"name": "c"}, "reason": "CreateENIFailed", "message": "QUOTAEXCEEDED.PRIVATEIPADDRESS", "involvedObject": {"kind": "Node", "name": "node-g"}}),
                true,
                Some("cn-shanghai-g"),
            ),
            (
                json!({"metadata": {"name": "d"}, "reason": "AllocIPFailed", "message": "context deadline exceeded", "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web-1"}}),
                false,
                None,
            ),
            (
                json!({"metadata": {"name": "e"}, "reason": "FailedScheduling", "message": "has not enough IpAddress", "involvedObject": {"kind": "Pod"}}),
                false,
                None,
            ),
        ];
        for (v, exhausted, zone) in cases {
            let e = event(v);
            assert_eq!(is_exhaustion(&e), exhausted, "{e:?}");
            if exhausted {
                assert_eq!(zone_of(&e, &facts(), &pod_nodes).as_deref(), zone);
            }
        }
    }
}
