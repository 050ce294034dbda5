//! Terway's own verdict on its config and its IP supply, as it reports them
//! in Kubernetes Events: `ConfigError` (types/k8s.go `EventConfigError`,
//! emitted on the Node when `eni-config` cannot be used,
//! pkg/eni/node_reconcile.go and pkg/controller/node/node.go), and the
//! exhaustion reasons `AllocIPFailed` and `CreateENIFailed`
//! (AliyunContainerService/terway@89aadf8). Pure: events and facts in,
//! per-zone summaries out.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Event;
use serde::Serialize;

use crate::config::ConfigObject;
use crate::config::redact::Secrets;
use crate::inventory::Facts;
use crate::kube::terway_events as signals;
use crate::verdict::Edit;

/// The reasons live beside the watches that read them (kube layer).
pub use crate::kube::terway_events::{CONFIG_ERROR, TERWAY_REASONS, is_config_error};
/// How far back "recent" reaches.
pub const RECENT_SECS: i64 = 3600;
/// The zone of an event whose zone cannot be told.
pub const UNKNOWN_ZONE: &str = "unknown";

/// The latest event of a kind in a zone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Latest {
    pub reason: String,
    /// `Kind/name` the event is about.
    pub object: String,
    pub message: String,
    /// Epoch seconds.
    pub at: i64,
}

/// Terway's recent events in one zone.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ZoneEvents {
    pub zone: String,
    /// ConfigError occurrences (an event's `count`, at least 1).
    pub config_errors: u64,
    /// AllocIPFailed / CreateENIFailed occurrences that say IPs ran out.
    pub exhaustion: u64,
    pub latest_config_error: Option<Latest>,
    pub latest_exhaustion: Option<Latest>,
}

fn occurrences(e: &Event) -> u64 {
    e.count.map_or(1, |c| c.max(1) as u64)
}

/// A message fit to show: one line, at most 300 characters.
pub fn short(message: &str) -> String {
    let one: String = message.split_whitespace().collect::<Vec<_>>().join(" ");
    match one.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &one[..cut]),
        None => one,
    }
}

fn latest(e: &Event) -> Latest {
    let o = &e.involved_object;
    Latest {
        reason: e.reason.clone().unwrap_or_default(),
        object: format!(
            "{}/{}",
            o.kind.as_deref().unwrap_or("?"),
            o.name.as_deref().unwrap_or("?")
        ),
        message: short(e.message.as_deref().unwrap_or_default()),
        at: signals::last_seen(e),
    }
}

/// Per zone, the ConfigError and exhaustion events seen at or after `since`
/// (epoch seconds), with the latest of each. Zones in name order; events
/// whose zone cannot be told are counted under [`UNKNOWN_ZONE`].
pub fn by_zone(
    events: &[Event],
    facts: &Facts,
    pod_nodes: &BTreeMap<(String, String), String>,
    since: i64,
) -> Vec<ZoneEvents> {
    let mut zones: BTreeMap<String, ZoneEvents> = BTreeMap::new();
    for e in events.iter().filter(|e| signals::last_seen(e) >= since) {
        let config = is_config_error(e);
        if !config && !signals::is_exhaustion(e) {
            continue;
        }
        let zone = signals::zone_of(e, facts, pod_nodes).unwrap_or_else(|| UNKNOWN_ZONE.into());
        let z = zones.entry(zone.clone()).or_insert_with(|| ZoneEvents {
            zone,
            ..ZoneEvents::default()
        });
        let (count, slot) = if config {
            (&mut z.config_errors, &mut z.latest_config_error)
        } else {
            (&mut z.exhaustion, &mut z.latest_exhaustion)
        };
        *count += occurrences(e);
        let l = latest(e);
        if slot.as_ref().is_none_or(|s| l.at >= s.at) {
            *slot = Some(l);
        }
    }
    zones.into_values().collect()
}

/// ConfigError events seen after `at` (epoch seconds), latest first.
pub fn config_errors_after(events: &[Event], at: i64) -> Vec<&Event> {
    let mut out: Vec<&Event> = events
        .iter()
        .filter(|e| is_config_error(e) && signals::last_seen(e) > at)
        .collect();
    out.sort_by_key(|e| std::cmp::Reverse(signals::last_seen(e)));
    out
}

/// When Terway reports a `ConfigError` after the last edit terway-guard let
/// through (the edit the mutation stamped), the message naming both: the
/// guard missed something, and the operator sees it next to the config.
/// Returns the edit's hash (to announce once per edit) and the message, with
/// any credential `eni_conf` holds masked.
pub fn guard_miss(config: &ConfigObject, events: &[Event]) -> Option<(String, String)> {
    let edit = Edit::of(config)?;
    let at = edit
        .at
        .parse::<k8s_openapi::jiff::Timestamp>()
        .ok()?
        .as_second();
    let errors = config_errors_after(events, at);
    let first = errors.first()?;
    let l = latest(first);
    let when = k8s_openapi::jiff::Timestamp::from_second(l.at)
        .map(|t| t.to_string())
        .unwrap_or_default();
    let msg = format!(
        "Terway reports ConfigError on {} at {when} ({} such event{} since), after the edit of {} by {} at {} (eni_conf sha256 {}), which terway-guard allowed: {}. Fix or revert that edit, and report the config so a rule can catch it",
        l.object,
        errors.len(),
        if errors.len() == 1 { "" } else { "s" },
        config.name,
        edit.user,
        edit.at,
        &edit.hash[..edit.hash.len().min(12)],
        l.message
    );
    Some((edit.hash, Secrets::of([config]).scrub(&msg)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::NodeFact;
    use serde_json::json;

    fn event(v: serde_json::Value) -> Event {
        serde_json::from_value(v).unwrap()
    }

    fn facts() -> Facts {
        let mut f = Facts::default();
        f.set_nodes(vec![
            NodeFact {
                name: "node-f-1".into(),
                zone: "cn-shanghai-f".into(),
                ..NodeFact::default()
            },
            NodeFact {
                name: "node-g-1".into(),
                zone: "cn-shanghai-g".into(),
                ..NodeFact::default()
            },
        ]);
        f
    }

    #[test]
    fn counts_per_zone_with_the_latest_message() {
        let events = [
            event(
                json!({"metadata": {"name": "a"}, "reason": "ConfigError", "type": "Warning", "count": 3,
                "message": "failed to parse eni_conf:\n invalid character '}'", "involvedObject": {"kind": "Node", "name": "node-f-1"},
                "lastTimestamp": "2026-11-26T10:00:00Z"}),
            ),
            event(
                json!({"metadata": {"name": "b"}, "reason": "ConfigError", "type": "Warning",
                "message": "newer", "involvedObject": {"kind": "Node", "name": "node-f-1"},
                "lastTimestamp": "2026-11-26T10:05:00Z"}),
            ),
            event(
                json!({"metadata": {"name": "c"}, "reason": "AllocIPFailed", "type": "Warning",
                "message": "InvalidVSwitchId.IpNotEnough", "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web-1"},
                "lastTimestamp": "2026-11-26T10:01:00Z"}),
            ),
            // Not about IPs: not counted.
            event(
                json!({"metadata": {"name": "d"}, "reason": "AllocIPFailed", "type": "Warning",
                "message": "rpc timeout", "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web-1"},
                "lastTimestamp": "2026-11-26T10:01:00Z"}),
            ),
            // Too old.
            event(
                json!({"metadata": {"name": "e"}, "reason": "ConfigError", "type": "Warning",
                "message": "old", "involvedObject": {"kind": "Node", "name": "node-g-1"},
                "lastTimestamp": "2026-11-20T10:00:00Z"}),
            ),
            // A node terway-guard does not know.
            event(
                json!({"metadata": {"name": "f"}, "reason": "ConfigError", "type": "Warning",
                "message": "x", "involvedObject": {"kind": "Node", "name": "gone"},
                "lastTimestamp": "2026-11-26T10:00:00Z"}),
            ),
        ];
        let pods = [(
            ("shop".to_string(), "web-1".to_string()),
            "node-g-1".to_string(),
        )]
        .into();
        // 2026-11-25T19:06:40Z: after "e", before the others.
        let since = 1_795_633_600;
        let got = by_zone(&events, &facts(), &pods, since);
        let zones: Vec<(&str, u64, u64)> = got
            .iter()
            .map(|z| (z.zone.as_str(), z.config_errors, z.exhaustion))
            .collect();
        assert_eq!(
            zones,
            [
                ("cn-shanghai-f", 4, 0),
                ("cn-shanghai-g", 0, 1),
                ("unknown", 1, 0)
            ]
        );
        let f = &got[0].latest_config_error.as_ref().unwrap();
        assert_eq!(
            (f.message.as_str(), f.object.as_str()),
            ("newer", "Node/node-f-1")
        );
        assert_eq!(
            got[1].latest_exhaustion.as_ref().unwrap().object,
            "Pod/web-1"
        );
        let after = config_errors_after(&events, since);
        assert_eq!(after.len(), 3);
        assert_eq!(after[0].message.as_deref(), Some("newer"));
    }

    #[test]
    fn a_config_error_after_an_allowed_edit_names_the_edit() {
        let mut cm = crate::rules::testing::base(
            r#"{"access_secret": "s3cr3t-value", "vswitches": {"z": ["vsw-1"]}}"#,
        );
        let error = |at: &str, msg: &str| {
            event(
                json!({"metadata": {"name": at}, "reason": "ConfigError", "type": "Warning", "message": msg,
                "involvedObject": {"kind": "Node", "name": "node-f-1"}, "lastTimestamp": at}),
            )
        };
        let events = [
            error("2026-11-26T09:00:00Z", "before the edit"),
            error("2026-11-26T10:01:00Z", "bad vswitch: s3cr3t-value"),
        ];
        assert_eq!(guard_miss(&cm, &events), None, "no stamped edit");
        cm.annotations.insert(
            crate::verdict::LAST_EDIT_ANNOTATION.into(),
            json!({"user": "alice", "at": "2026-11-26T10:00:00Z", "hash": "0123456789abcdef0123"})
                .to_string(),
        );
        let (hash, msg) = guard_miss(&cm, &events).unwrap();
        assert_eq!(hash, "0123456789abcdef0123");
        assert!(
            msg.starts_with("Terway reports ConfigError on Node/node-f-1 at 2026-11-26T10:01:00Z (1 such event since), after the edit of eni-config by alice at 2026-11-26T10:00:00Z (eni_conf sha256 0123456789ab), which terway-guard allowed: bad vswitch: [redacted]."),
            "{msg}"
        );
        // Only errors before the edit: nothing to say.
        assert_eq!(guard_miss(&cm, &events[..1]), None);
    }

    #[test]
    fn messages_are_one_short_line() {
        assert_eq!(short("a\n  b\tc"), "a b c");
        let long = "x".repeat(400);
        assert_eq!(short(&long).chars().count(), 301);
    }
}
