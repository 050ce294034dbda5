//! What tells the controller a zone is running dry: Warning events from
//! Terway, and drift between the config and the running Terway pods. Pure.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Event;

use crate::inventory::Facts;
/// The event readers live beside the watches (kube layer); kept here under
/// their old paths.
pub use crate::kube::terway_events::{
    EXHAUSTION_REASONS, happened, is_exhaustion, last_seen, zone_of,
};

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
    use crate::kube::terway_events::tests::{event, facts};
    use serde_json::json;

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
