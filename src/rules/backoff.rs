//! `backoff_override`: the legacy daemon's retry budgets for cloud calls
//! (pkg/backoff/backoff.go).

use serde_json::Value;

use super::{Doc, Finding, Mode, Severity, id};
use crate::config::fields::BACKOFF_MEMBERS;
use crate::config::path::quote_short;

/// The `backoff_override` keys the legacy daemon waits on, and what fails
/// when one never runs its condition (`None`: only releases, warn).
/// pkg/backoff/backoff.go key names; the callers are
/// pkg/factory/aliyun/aliyun.go and pkg/aliyun/client/ecs.go.
const BACKOFF_USED: &[(&str, Option<&str>)] = &[
    (
        "eni_create",
        Some("no ENI can be created (pkg/factory/aliyun/aliyun.go CreateNetworkInterface)"),
    ),
    (
        "eni_ops",
        Some(
            "a created ENI is never seen InUse, so ENI creation fails (pkg/factory/aliyun/aliyun.go CreateNetworkInterface)",
        ),
    ),
    (
        "eni_ip_ops",
        Some(
            "no secondary IP can be assigned (pkg/factory/aliyun/aliyun.go AssignNIPv4, pkg/aliyun/client/ecs.go AssignPrivateIPAddress)",
        ),
    ),
    ("eni_delete_confirm", None),
    ("wait_podeni_status", None),
];

/// `backoff_override` replaces a key's whole backoff (pkg/backoff/backoff.go
/// OverrideBackoff, called by the legacy daemon only: daemon/builder.go
/// PostInitForLegacyMode). The daemon decodes it case-sensitively, so an
/// entry without an exact `Steps` (or a null entry) has Steps 0, and
/// apimachinery's wait.ExponentialBackoffWithContext returns "timed out
/// waiting for the condition" without calling the condition once when
/// Steps < 1.
pub(super) fn check(d: &Doc, out: &mut Vec<Finding>) {
    let Some((e, entries)) = d.legacy_map("backoff_override") else {
        return;
    };
    for (key, value) in entries {
        let steps = match value {
            Value::Null => Some(0),
            // An entry Go cannot decode is the field-type rule's finding.
            Value::Object(o)
                if BACKOFF_MEMBERS.iter().any(|m| {
                    o.get(m.name)
                        .is_some_and(|v| !v.is_null() && !v.is_number())
                }) =>
            {
                None
            }
            Value::Object(o) => match o.get("Steps") {
                None | Some(Value::Null) => Some(0),
                Some(n) => n.as_i64(),
            },
            _ => None,
        };
        let Some(steps) = steps.filter(|n| *n < 1) else {
            continue;
        };
        let Some((_, breaks)) = BACKOFF_USED.iter().find(|(k, _)| k == key) else {
            continue;
        };
        let (severity, effect) = match (breaks, d.mode) {
            (Some(b), Some(Mode::Legacy)) => (
                Severity::Deny,
                format!("{b}, so a node without a free IP allocates no pod IP"),
            ),
            (Some(b), _) => (
                Severity::Warn,
                format!("in legacy IPAM {b}; CRD mode does not read it"),
            ),
            (None, _) => (
                Severity::Warn,
                "Terway cannot finish releasing ENIs or pod ENIs that wait on it".to_string(),
            ),
        };
        out.push(Finding::new(
            id::BACKOFF_OVERRIDE,
            severity,
            &e.path().key(key),
            format!("backoff_override {} has Steps {steps} (an entry replaces the whole backoff, and a missing or lower-case \"steps\" is 0): the wait gives up before its first try (\"timed out waiting for the condition\", pkg/backoff/backoff.go, apimachinery wait.ExponentialBackoffWithContext); {effect}. Set \"Steps\" to 1 or more, or remove the entry", quote_short(key, 40)),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    #[test]
    fn backoff_overrides_the_legacy_daemon_waits_on() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                r#"{"backoff_override": {"eni_create": {"Duration": 1000000000, "Factor": 2, "Steps": 3}}}"#,
                &[],
                &[],
            ),
            (
                r#"{"backoff_override": {"eni_create": {"Duration": 1000000000}}}"#,
                &["backoff-override"],
                &[],
            ),
            (
                r#"{"backoff_override": {"eni_ip_ops": {"Steps": 0}}}"#,
                &["backoff-override"],
                &[],
            ),
            (
                r#"{"backoff_override": {"eni_ops": {"Steps": -1}}}"#,
                &["backoff-override"],
                &[],
            ),
            (
                r#"{"backoff_override": {"eni_create": null}}"#,
                &["backoff-override"],
                &[],
            ),
            // The daemon's decoder is case-sensitive: "steps" is not Steps.
            (
                r#"{"backoff_override": {"eni_create": {"steps": 3}}}"#,
                &["backoff-override"],
                &[],
            ),
            (
                r#"{"backoff_override": {"eni_delete_confirm": {"Steps": 0}}}"#,
                &[],
                &["backoff-override"],
            ),
            // Keys the legacy daemon never looks up.
            (r#"{"backoff_override": {"x": {"Steps": 0}}}"#, &[], &[]),
            (
                r#"{"backoff_override": {"wait_eni_status": {"Steps": 0}}}"#,
                &[],
                &[],
            ),
            // CRD mode's daemon never applies the overrides.
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "backoff_override": {"eni_create": {"Steps": 0}}}"#,
                &[],
                &[],
            ),
        ];
        assert_base_cases(cases);
    }
}
