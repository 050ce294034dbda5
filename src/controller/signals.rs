//! What tells the controller a zone is running dry: Warning events from
//! Terway, and drift between the config and the running Terway pods. Pure.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Event;

use crate::inventory::Facts;

pub const EXHAUSTION_REASONS: [&str; 2] = ["AllocIPFailed", "CreateENIFailed"];
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

/// Zones with exhaustion events newer than `since` (epoch seconds).
pub fn exhausted_zones(
    events: &[Event],
    since: &BTreeMap<String, i64>,
    facts: &Facts,
    pod_nodes: &BTreeMap<(String, String), String>,
) -> BTreeSet<String> {
    events
        .iter()
        .filter(|e| is_exhaustion(e))
        .filter_map(|e| {
            let zone = zone_of(e, facts, pod_nodes)?;
            (last_seen(e) > since.get(&zone).copied().unwrap_or(i64::MIN)).then_some(zone)
        })
        .collect()
}

/// Terway runs a config other than the current one: its pod template was
/// rolled (by terway-guard) for a different `eni_conf` hash. A template that
/// never carried a hash says nothing, so a fresh install raises no alarm.
pub fn drift(template_hash: Option<&str>, config_hash: &str) -> bool {
    template_hash.is_some_and(|h| h != config_hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Lookup, NodeFact, VSwitchFact};
    use serde_json::json;

    fn event(v: serde_json::Value) -> Event {
        serde_json::from_value(v).unwrap()
    }

    fn facts() -> Facts {
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

    #[test]
    fn only_events_after_the_last_expansion_count() {
        let e = event(
            json!({"metadata": {"name": "a"}, "reason": "AllocIPFailed", "message": "vsw-f1 has not enough IpAddress", "involvedObject": {"kind": "Pod"}, "lastTimestamp": "2026-11-26T00:00:10Z"}),
        );
        let t = last_seen(&e);
        let none = BTreeMap::new();
        assert_eq!(
            exhausted_zones(std::slice::from_ref(&e), &none, &facts(), &BTreeMap::new()).len(),
            1
        );
        let after: BTreeMap<String, i64> = [("cn-shanghai-f".to_string(), t)].into();
        assert!(exhausted_zones(&[e], &after, &facts(), &BTreeMap::new()).is_empty());
    }

    #[test]
    fn drift_needs_a_known_rollout_hash() {
        assert!(!drift(None, "h1"));
        assert!(!drift(Some("h1"), "h1"));
        assert!(drift(Some("h0"), "h1"));
    }
}
