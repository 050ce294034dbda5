//! Rules on the IP pool watermarks and what they cost each zone.

use std::collections::BTreeMap;

use super::{Doc, Finding, Mode, Operation, Severity, id};
use crate::capacity::Pool;
use crate::config::{ENI_CONF, Path};
use crate::inventory::NodeGroup;

pub(super) fn check(d: &Doc, out: &mut Vec<Finding>) {
    // The Node CR's pool fields are `Minimum=0`
    // (pkg/apis/network.alibabacloud.com/v1beta1/node_types.go PoolSpec): in
    // CRD mode the apiserver refuses the Node update and the node never gets a
    // pool. The legacy pool just treats a negative size as none.
    // A Node CR created in prefix mode gets pool sizes of 0 whatever
    // eni_conf says (pkg/eni/node_reconcile.go: EnableIPPrefix zeroes
    // MaxPoolSize and MinPoolSize, not WarmUpSize), so the minimum never bites.
    let prefix_zeroes = d.mode == Some(Mode::Crd)
        && d.new
            .get("enable_ip_prefix")
            .and_then(|e| e.value.as_bool())
            .unwrap_or(false);
    for field in ["min_pool_size", "max_pool_size", "ip_warm_up_size"] {
        if let Some(e) = d.new.get(field)
            && let Some(n) = e.value.as_i64()
            && n < 0
        {
            let (severity, effect) = match d.mode {
                Some(Mode::Legacy) => (Severity::Warn, "the legacy pool treats it as 0"),
                _ if prefix_zeroes && field != "ip_warm_up_size" => (
                    Severity::Warn,
                    "prefix mode writes 0 to the Node CR instead, but a node whose Node CR was created before prefix mode refuses it (minimum 0)",
                ),
                _ => (
                    Severity::Deny,
                    "in CRD mode the Node CR refuses it (minimum 0) and the node's pool is never set up",
                ),
            };
            out.push(Finding::new(
                id::POOL_SIZE,
                severity,
                &e.path(),
                format!("{field} is {n}; it counts IPs: {effect}. Use 0 or more"),
            ));
        }
    }
    let min = d.new.int("min_pool_size").unwrap_or(0);
    let max = d.new.int("max_pool_size").unwrap_or(0);
    // A dynamic config judged without its base inherits an unknown maximum.
    let max_known = d.new.get("max_pool_size").is_some() || d.mode.is_some();
    if min > max && max >= 0 && max_known && !prefix_zeroes {
        let path = d
            .new
            .get("min_pool_size")
            .map_or(Path::root(ENI_CONF), |e| e.path());
        let unset = if d.new.get("max_pool_size").is_none() {
            " (max_pool_size is not set, so it is 0)"
        } else {
            ""
        };
        // Terway runs either way, so this is terway-guard's own control
        // (catalog OWN_CONTROLS): the edit does not get what it reads as.
        let effect = match d.mode {
            Some(Mode::Crd) => format!(
                "in CRD mode Terway allocates up to {min} idle IPs and then releases down to {max}, over and over (pkg/controller/multi-ip/node/pool.go)"
            ),
            _ => format!(
                "the legacy pool silently uses {max} as the minimum (daemon/config.go getPoolConfig); in CRD mode it would churn IPs"
            ),
        };
        out.push(Finding::deny(
            id::POOL_ORDER,
            &path,
            format!("min_pool_size ({min}) is above max_pool_size ({max}){unset}: {effect}. Set min_pool_size ≤ max_pool_size"),
        ));
    }
    if let Some(e) = d.new.get("min_eni")
        && e.value.as_i64().is_some_and(|n| n > 0)
        && d.mode != Some(Mode::Crd)
        && d.new.int("min_pool_size").is_some_and(|n| n > 0)
    {
        out.push(Finding::warn(
            id::POOL_ORDER,
            &e.path(),
            "min_eni replaces min_pool_size with min_eni × IPs per ENI in the legacy pool (daemon/config.go getPoolConfig); set only one of them",
        ));
    }
    if let Some(e) = d.new.get("ip_warm_up_size")
        && let Some(warm) = e.value.as_i64()
        && warm > max
        && max > 0
    {
        out.push(Finding::warn(
            id::POOL_ORDER,
            &e.path(),
            format!("ip_warm_up_size ({warm}) is above max_pool_size ({max}): the IPs warmed up beyond {max} are released again right after, which churns IPs and API calls (Terway docs/warm-up.md). Keep it within the pool sizes"),
        ));
    }
    let Some(facts) = d.facts else { return };
    if max <= 0 && d.op != Operation::Update {
        // Neither the capacity check nor the zone budget applies.
        return;
    }
    let mode = d.mode.unwrap_or(Mode::Legacy);
    let groups = facts.groups();
    let nodes: Vec<&NodeGroup> = groups
        .iter()
        .filter(|g| g.node.config.as_deref() == d.dynamic)
        .collect();
    // Read once for both the capacity check and the zone budget.
    let pool = Pool::of(d.new, mode);
    if max > 0 {
        let caps: Vec<(&NodeGroup, u64)> = nodes
            .iter()
            .filter_map(|g| Some((*g, pool.pod_ips(&g.node)?)))
            .filter(|(_, c)| (max as u64) > *c)
            .collect();
        if let Some((smallest, cap)) = caps.iter().min_by_key(|(_, c)| *c) {
            let path = d
                .new
                .get("max_pool_size")
                .map_or(Path::root(ENI_CONF), |e| e.path());
            let effect = match mode {
                Mode::Legacy => {
                    "Terway silently uses the capacity there (daemon/config.go getPoolConfig)"
                }
                Mode::Crd => "those nodes can never hold that many idle IPs",
            };
            out.push(Finding::warn(
                id::POOL_CAPACITY,
                &path,
                format!(
                    "max_pool_size {max} is above the pod-IP capacity of {} node(s) (smallest: {} with {cap}); {effect}",
                    caps.iter().map(|(g, _)| g.count).sum::<usize>(),
                    smallest.node.name,
                ),
            ));
        }
    }
    zone_budget(d, mode, &pool, &nodes, out);
}

fn zone_budget(d: &Doc, mode: Mode, new_pool: &Pool, nodes: &[&NodeGroup], out: &mut Vec<Finding>) {
    // Free IPs are already net of what Terway holds now; without the old
    // config (a CREATE) the extra cost of the edit is unknown, not "all of it".
    if d.op != Operation::Update {
        return;
    }
    let Some(facts) = d.facts else { return };
    let mut per_zone: BTreeMap<&str, (i128, usize)> = BTreeMap::new();
    let old_pool = d.old.map(|o| Pool::of(o, mode));
    for g in nodes {
        let n = &g.node;
        let delta = new_pool.idle(n) as i128 - old_pool.map_or(0, |p| p.idle(n)) as i128;
        let e = per_zone.entry(&n.zone).or_default();
        e.0 += delta * g.count as i128;
        e.1 += g.count;
    }
    let listed = d.new.vswitches();
    // Built only for a finding.
    let min_path = || {
        d.new
            .get("min_pool_size")
            .map_or_else(|| Path::root(ENI_CONF), |e| e.path())
    };
    for (zone, (extra, count)) in per_zone {
        if extra <= 0 {
            continue;
        }
        let in_zone: Vec<&str> = listed
            .iter()
            .filter(|l| l.zone == zone)
            .map(|l| l.id.as_str())
            .collect();
        if in_zone.is_empty() {
            continue;
        }
        let mut ids = in_zone.clone();
        ids.dedup();
        let free: u64 = ids
            .iter()
            .filter_map(|id| facts.found(id))
            .map(|v| v.available_ips)
            .sum();
        let extra = extra as u64;
        let ratio = d.settings.budget_warn_ratio;
        let severity = if extra > free {
            Severity::Deny
        } else if (extra as f64) > ratio * free as f64 {
            Severity::Warn
        } else {
            continue;
        };
        let old_min = d.old.and_then(|o| o.int("min_pool_size")).unwrap_or(0);
        let new_min = d.new.int("min_pool_size").unwrap_or(0);
        out.push(Finding::new(
            id::ZONE_BUDGET,
            severity,
            &min_path(),
            format!(
                "the pool change (min_pool_size {old_min} -> {new_min}) makes Terway pre-allocate {extra} more idle IPs in zone {zone} ({count} nodes), but its vSwitches have {free} free; add a vSwitch to the zone first (terway-guard expand --zone {zone}) or raise min_pool_size in smaller steps"
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const VSW: &str =
        r#""vswitches": {"cn-shanghai-f": ["vsw-f19"], "cn-shanghai-g": ["vsw-g19"]}"#;

    fn pools(min: i64, max: i64) -> crate::config::ConfigObject {
        base(&format!(
            r#"{{{VSW}, "min_pool_size": {min}, "max_pool_size": {max}}}"#
        ))
    }

    #[test]
    fn watermarks() {
        let cases: &[(&str, &[&str])] = &[
            (
                r#"{"min_pool_size": 5, "max_pool_size": 10, "ip_warm_up_size": 3}"#,
                &[],
            ),
            (r#"{"min_pool_size": -1}"#, &[]),
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "min_pool_size": -1}"#,
                &["pool-size"],
            ),
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "ip_warm_up_size": -5}"#,
                &["pool-size"],
            ),
            // Terway runs (legacy clamps, CRD churns): own control.
            (
                r#"{"min_pool_size": 20, "max_pool_size": 10}"#,
                &["pool-order"],
            ),
            (r#"{"min_pool_size": 5}"#, &["pool-order"]),
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "min_pool_size": 20, "max_pool_size": 10}"#,
                &["pool-order"],
            ),
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "min_pool_size": 5}"#,
                &["pool-order"],
            ),
            (r#"{"min_pool_size": 10, "max_pool_size": 10}"#, &[]),
            // Prefix mode zeroes the Node CR's pool sizes, not its warm-up.
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "enable_ip_prefix": true, "min_pool_size": -1}"#,
                &[],
            ),
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "enable_ip_prefix": true, "min_pool_size": 20, "max_pool_size": 10}"#,
                &[],
            ),
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "enable_ip_prefix": true, "ip_warm_up_size": -1}"#,
                &["pool-size"],
            ),
        ];
        for (conf, want) in cases {
            assert_denies(&create(&base(conf)), want);
        }
        assert_warns(&create(&base(r#"{"ip_warm_up_size": -5}"#)), &["pool-size"]);
    }

    fn crd_pools(min: i64, max: i64) -> crate::config::ConfigObject {
        base(&format!(
            r#"{{{VSW}, "ipam_type": "crd", "security_groups": ["sg-1"], "min_pool_size": {min}, "max_pool_size": {max}}}"#
        ))
    }

    #[test]
    fn a_pre_existing_min_above_max_never_blocks_a_repair() {
        let old = crd_pools(50, 10);
        let new = crd_pools(50, 20);
        let got = update_with_facts(&old, &new);
        assert_denies(&got, &[]);
        assert!(message(&got, "pool-order").contains("already so before this edit"));
        let got = update_with_facts(&crd_pools(5, 10), &crd_pools(50, 10));
        assert_denies(&got, &["pool-order"]);
        let got = update_with_facts(&pools(5, 10), &pools(50, 10));
        assert_denies(&got, &["pool-order"]);
    }

    #[test]
    fn capacity_warns() {
        let got = update_with_facts(&pools(5, 10), &pools(5, 50));
        assert_warns(&got, &["pool-capacity"]);
        assert!(message(&got, "pool-capacity").contains("2 node(s)"));
    }

    #[test]
    fn zone_budget() {
        // Zone g: 2 base nodes (capacity 60) and vsw-g19 with 100 free IPs.
        type Case = (
            (i64, i64),
            (i64, i64),
            &'static [&'static str],
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            ((5, 10), (10, 10), &[], &[]),
            ((5, 50), (47, 50), &[], &["zone-budget"]),
            ((5, 60), (60, 60), &["zone-budget"], &[]),
            ((50, 60), (5, 60), &[], &[]),
        ];
        for ((omin, omax), (nmin, nmax), deny, warn) in cases {
            let got = update_with_facts(&pools(*omin, *omax), &pools(*nmin, *nmax));
            assert_denies(&got, deny);
            let mut warn = warn.to_vec();
            if *nmax > 30 && !warn.contains(&"pool-capacity") {
                warn.push("pool-capacity");
            }
            assert_warns(&got, &warn);
        }
    }

    #[test]
    fn budget_message_has_the_numbers() {
        let got = update_with_facts(&pools(5, 60), &pools(60, 60));
        let m = message(&got, "zone-budget");
        assert!(
            m.contains("110 more idle IPs in zone cn-shanghai-g (2 nodes)"),
            "{m}"
        );
        assert!(m.contains("have 100 free"), "{m}");
    }

    #[test]
    fn a_create_has_no_before_so_no_budget() {
        assert_denies(&create_with_facts(&pools(60, 60)), &[]);
    }

    #[test]
    fn adding_a_vswitch_in_the_same_edit_counts() {
        let old = pools(5, 60);
        let new = base(
            r#"{"vswitches": {"cn-shanghai-f": ["vsw-f19"], "cn-shanghai-g": ["vsw-g19", "vsw-g18"]}, "min_pool_size": 60, "max_pool_size": 60}"#,
        );
        assert_denies(&update_with_facts(&old, &new), &[]);
    }
}
