//! Rules that depend on Terway's IPAM mode: `ipam_type`, prefix mode, fields
//! one mode ignores, and what a dynamic config cannot change.

use super::{Doc, Finding, Mode, Severity, id};
use crate::config::EniConf;
use crate::config::path::quote_short;

/// Read from the base `eni-config` only: the mode (daemon/daemon.go
/// newNetworkService), the service CIDR and the API client settings (pkg/k8s
/// NewK8S gets the global config), pod IP patching (daemon/builder.go
/// LoadGlobalConfig).
const BASE_ONLY: [&str; 5] = [
    "ipam_type",
    "service_cidr",
    "kube_client_qps",
    "kube_client_burst",
    "enable_patch_pod_ips",
];

/// Read by the legacy pool only (daemon/config.go getPoolConfig); CRD mode
/// sizes ENIs from the Node CR (pkg/eni/node_reconcile.go).
const LEGACY_ONLY: [&str; 4] = ["min_eni", "max_eni", "eni_cap_ratio", "eni_cap_shift"];

/// Checks on a dynamic config as written.
pub(super) fn dynamic_only(own: &EniConf, base: Option<&EniConf>, out: &mut Vec<Finding>) {
    for field in BASE_ONLY {
        if let Some(e) = own.get(field) {
            // The mode is the base's, but the merged ipam_type still reaches
            // the legacy pool: `crd` there zeroes its sizes (daemon/config.go
            // getPoolConfig) and skips the GC loop (daemon/builder.go).
            let effect = if field == "ipam_type" {
                "the mode stays eni-config's, but the legacy daemon reads this merged value for its pool: \"crd\" zeroes max_pool_size and min_pool_size (daemon/config.go getPoolConfig); remove it"
            } else {
                "here it has no effect"
            };
            out.push(Finding::warn(
                id::DYNAMIC_BASE_ONLY,
                &e.path(),
                format!("{field} is read from eni-config only (daemon/builder.go LoadGlobalConfig); {effect}"),
            ));
        }
    }
    if let Some(e) = own.get("ip_stack")
        && base.and_then(|b| b.str("ip_stack")) != e.value.as_str()
    {
        out.push(Finding::warn(
            id::DYNAMIC_BASE_ONLY,
            &e.path(),
            "ip_stack differs from eni-config's: the daemon uses this value, but terway-init sets the node's IPv6 capability from eni-config's (cmd/terway-cli/node.go dualStack); keep them equal",
        ));
    }
}

pub(super) fn check(d: &Doc, out: &mut Vec<Finding>) {
    ipam_type(d, out);
    prefix(d, out);
    if d.mode == Some(Mode::Crd) {
        for field in LEGACY_ONLY {
            if let Some(e) = d.new.get(field)
                && e.value.as_f64().is_some_and(|v| v != 0.0)
            {
                out.push(Finding::warn(
                    id::MODE_IGNORED,
                    &e.path(),
                    format!("{field} has no effect in CRD IPAM (ipam_type: crd): node capacity comes from the Node CR (pkg/eni/node_reconcile.go)"),
                ));
            }
        }
    }
}

fn ipam_type(d: &Doc, out: &mut Vec<Finding>) {
    if d.dynamic.is_some() {
        return;
    }
    // Built only for a finding.
    let path = || {
        d.new.get("ipam_type").map_or_else(
            || crate::config::Path::root(crate::config::ENI_CONF).key("ipam_type"),
            |e| e.path(),
        )
    };
    if let Some(old) = d.old
        && Mode::of(old) != Mode::of(d.new)
    {
        out.push(Finding::warn(
            id::IPAM_TYPE,
            &path(),
            format!(
                "this edit switches Terway from {} to {} at the next daemon restart; pods keep their IPs only through Terway's migration procedure",
                Mode::of(old).name(),
                Mode::of(d.new).name()
            ),
        ));
    }
    let Some(v) = d.new.get("ipam_type").and_then(|e| e.value.as_str()) else {
        return;
    };
    if matches!(v, "" | "crd" | "default") {
        return;
    }
    let (severity, why) = if v.trim().eq_ignore_ascii_case("crd") {
        (
            Severity::Deny,
            "it reads as CRD IPAM, but Terway compares exactly and runs the legacy IPAM for it (daemon/daemon.go newNetworkService)",
        )
    } else {
        (
            Severity::Warn,
            "Terway runs the legacy IPAM for any value but \"crd\" (daemon/daemon.go newNetworkService)",
        )
    };
    out.push(Finding::new(
        id::IPAM_TYPE,
        severity,
        &path(),
        format!(
            "ipam_type is {}: {why}. Write \"crd\" or remove it",
            quote_short(v, 30)
        ),
    ));
}

fn prefix(d: &Doc, out: &mut Vec<Finding>) {
    let on = |c: &EniConf| {
        c.get("enable_ip_prefix")
            .and_then(|e| e.value.as_bool())
            .unwrap_or(false)
    };
    let Some(e) = d.new.get("enable_ip_prefix") else {
        if let Some(old) = d.old
            && on(old)
        {
            toggled(d, false, out);
        }
        return;
    };
    let enabled = on(d.new);
    if enabled && d.mode == Some(Mode::Legacy) {
        out.push(Finding::warn(
            id::PREFIX_MODE,
            &e.path(),
            "enable_ip_prefix has no effect in the legacy IPAM: prefix mode runs only with ipam_type: crd (daemon/builder.go PostInitForCRDV2)",
        ));
    }
    if enabled
        && let Some(c) = d.new.get("ipv6_prefix_count")
        && c.value.as_i64().is_some_and(|n| n > 1)
    {
        let severity = if d.mode == Some(Mode::Legacy) {
            Severity::Warn
        } else {
            Severity::Deny
        };
        out.push(Finding::new(
            id::PREFIX_MODE,
            severity,
            &c.path(),
            "ipv6_prefix_count must be 0 or 1 with enable_ip_prefix; the CRD-mode daemon refuses anything else and does not start (daemon/builder.go validatePrefixConfig)",
        ));
    }
    if d.old.is_some_and(|old| on(old) != enabled) {
        toggled(d, enabled, out);
    }
}

/// A Node CR keeps the prefix mode it was created with (pkg/eni/node_reconcile.go:
/// EnableIPPrefix is immutable; a `PrefixModeImmutable` event says so).
fn toggled(d: &Doc, enabled: bool, out: &mut Vec<Finding>) {
    if d.mode == Some(Mode::Legacy) {
        return;
    }
    let have = d.facts.map(|f| {
        f.nodes
            .iter()
            .filter(|n| n.terway_node && n.config.as_deref() == d.dynamic)
            .count()
    });
    let who = match have {
        Some(0) => return,
        Some(n) => format!("{n} node(s) already have a Terway Node CR and keep"),
        None => "nodes that already have a Terway Node CR keep".to_string(),
    };
    let path = d.new.get("enable_ip_prefix").map_or(
        crate::config::Path::root(crate::config::ENI_CONF).key("enable_ip_prefix"),
        |e| e.path(),
    );
    out.push(Finding::warn(
        id::PREFIX_MODE,
        &path,
        format!(
            "enable_ip_prefix is now {enabled}, but {who} the mode they were created with (pkg/eni/node_reconcile.go, event PrefixModeImmutable); only new nodes follow this edit"
        ),
    ));
}

#[cfg(test)]
mod tests {
    use crate::rules::Operation;
    use crate::rules::testing::*;

    #[test]
    fn mode_rules() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"]}"#,
                &[],
                &[],
            ),
            (r#"{"ipam_type": "CRD"}"#, &["ipam-type"], &[]),
            (r#"{"ipam_type": "vpc"}"#, &[], &["ipam-type"]),
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "enable_ip_prefix": true, "ipv6_prefix_count": 2}"#,
                &["prefix-mode"],
                &[],
            ),
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "enable_ip_prefix": true, "ipv6_prefix_count": 1}"#,
                &[],
                &[],
            ),
            (r#"{"enable_ip_prefix": true}"#, &[], &["prefix-mode"]),
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "max_eni": 3}"#,
                &[],
                &["mode-ignored"],
            ),
            (r#"{"max_eni": 3}"#, &[], &[]),
        ];
        assert_base_cases(cases);
    }

    #[test]
    fn dynamic_configs_cannot_change_base_only_fields() {
        let b = base(r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "ip_stack": "ipv4"}"#);
        let d = dynamic(
            "big-pool",
            r#"{"service_cidr": "10.0.0.0/16", "ip_stack": "dual", "max_pool_size": 10}"#,
        );
        let f = run(Operation::Create, Some(&d), None, Some(&b), None);
        assert_denies(&f, &[]);
        assert_warns(&f, &["dynamic-base-only"]);
        assert_eq!(
            f.iter().filter(|f| f.rule == "dynamic-base-only").count(),
            2
        );
    }

    #[test]
    fn a_dynamic_ipam_type_only_warns_and_says_what_it_still_does() {
        // (dynamic eni_conf, what the dynamic-base-only warning says)
        let cases = [
            (r#"{"ipam_type": "crd"}"#, "getPoolConfig"),
            (r#"{"kube_client_burst": -1}"#, "no effect"),
        ];
        let b = base(r#"{"security_group": "sg-1"}"#);
        for (conf, says) in cases {
            let f = run(
                Operation::Create,
                Some(&dynamic("x", conf)),
                None,
                Some(&b),
                None,
            );
            assert_denies(&f, &[]);
            assert!(message(&f, "dynamic-base-only").contains(says), "{f:#?}");
        }
    }

    #[test]
    fn toggling_prefix_mode_warns_for_existing_nodes() {
        let old = base(
            r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "vswitches": {"cn-shanghai-f": ["vsw-f19"]}}"#,
        );
        let new = base(
            r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "enable_ip_prefix": true, "vswitches": {"cn-shanghai-f": ["vsw-f19"]}}"#,
        );
        let f = update_with_facts(&old, &new);
        assert_warns(&f, &["prefix-mode"]);
        assert!(message(&f, "prefix-mode").contains("4 node(s)"), "{f:#?}");
        let f = update_with_facts(&old, &old);
        assert_warns(&f, &[]);
    }
}
