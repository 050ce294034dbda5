//! Rules on the `vswitches` listing and on what the inventory says about it.

use std::collections::{BTreeMap, BTreeSet};

use super::{Doc, Finding, Operation, Settings, Severity, id, service_cidr::parse_service_cidr};
use crate::config::EniConf;
use crate::config::eni_conf::Listed;
use crate::config::path::quote_short;
use crate::inventory::Lookup;

fn is_vsw_id(s: &str) -> bool {
    s.strip_prefix("vsw-").is_some_and(|r| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// The repeats inside one zone (every occurrence after the first).
pub fn repeats(conf: &EniConf) -> Vec<&Listed> {
    let mut seen = BTreeSet::new();
    conf.vswitches()
        .iter()
        .filter(|l| !seen.insert((l.zone.as_str(), l.id.as_str())))
        .collect()
}

/// Checks on the listing as the user wrote it.
pub(super) fn check_listing(conf: &EniConf, settings: &Settings, out: &mut Vec<Finding>) {
    let ids = conf.vswitch_count();
    if ids > settings.max_vswitch_ids {
        let path = conf
            .get("vswitches")
            .map_or(crate::config::Path::root(crate::config::ENI_CONF), |e| {
                e.path()
            });
        out.push(Finding::deny(
            id::VSWITCH_COUNT,
            &path,
            format!(
                "{ids} distinct vSwitch ids are listed; terway-guard accepts at most {} per config (--max-vswitches) and looked none of them up. A real eni_conf lists a few per zone",
                settings.max_vswitch_ids
            ),
        ));
    }
    if let Some(e) = conf.get("vswitches")
        && let Some(zones) = e.value.as_object()
        && zones.contains_key("")
    {
        // No node's zone is "": Terway never reads these vSwitches and the
        // nodes fall back to their own (daemon/config.go getENIConfig,
        // daemon/builder.go setupENIManager, pkg/eni/node_reconcile.go).
        out.push(Finding::warn(
            id::VSWITCH_ID,
            &e.path().key(""),
            "a zone key is empty, so Terway never uses the vSwitches under it: nodes take their own vSwitch instead (daemon/config.go getENIConfig, pkg/eni/node_reconcile.go); use the zone id, e.g. \"cn-shanghai-f\"",
        ));
    }
    for l in conf.vswitches() {
        if !is_vsw_id(&l.id) {
            out.push(Finding::deny(
                id::VSWITCH_ID,
                &l.path(),
                format!("{} is not a vSwitch id, so Terway's lookup fails and it skips it (pkg/vswitch/vswitch.go GetOne); ids look like \"vsw-uf6abc123\" (vsw- then lowercase letters and digits)", quote_short(&l.id, 40)),
            ).about(format!("vsw:{}:{}", l.zone, l.id)));
        }
    }
    // The webhook rewrites eni_conf to drop repeats, unless that would put
    // inline credentials into its patch.
    let fix = if conf.has_inline_credentials() {
        "remove the repeat by hand (not rewritten automatically: eni_conf holds credentials)"
    } else {
        "the repeat is removed by the webhook"
    };
    for l in repeats(conf) {
        out.push(Finding::warn(
            id::VSWITCH_DUPLICATE,
            &l.path(),
            format!(
                "{} is listed twice under {}; {fix}",
                l.id,
                quote_short(&l.zone, 40)
            ),
        ));
    }
}

/// Checks on the listing Terway will load, with inventory facts when known.
pub(super) fn check_doc(d: &Doc, out: &mut Vec<Finding>) {
    let listed = d.new.vswitches();
    let mut zones_of: BTreeMap<&str, Vec<&Listed>> = BTreeMap::new();
    // Terway looks vSwitches up by the node's zone, never "": a list under
    // an empty key is never read (its own warning, check_listing).
    for l in listed.iter().filter(|l| !l.zone.is_empty()) {
        zones_of.entry(&l.id).or_default().push(l);
    }
    for (id_, places) in &zones_of {
        let zones: BTreeSet<&str> = places.iter().map(|l| l.zone.as_str()).collect();
        if zones.len() > 1 {
            let names: Vec<String> = zones.iter().map(|z| quote_short(z, 40)).collect();
            // Point at the listing that is wrong when the real zone is known.
            let real = d.facts.and_then(|f| f.found(id_)).map(|v| v.zone.as_str());
            let wrong = match real {
                Some(z) => places.iter().find(|l| l.zone != z),
                None => places.iter().find(|l| l.zone != places[0].zone),
            };
            let second = wrong.unwrap_or(&places[0]);
            out.push(Finding::deny(
                id::VSWITCH_ZONES,
                &second.path(),
                format!("{id_} is listed under zones {}; a vSwitch lives in one zone and Terway skips it elsewhere (pkg/vswitch/vswitch.go GetOne). Keep it only under its own zone", names.join(" and ")),
            ).about(format!("vsw:{id_}")));
        }
    }
    let Some(facts) = d.facts else { return };
    let old_ids: BTreeSet<&str> = d
        .old
        .map(|o| o.vswitches().iter().map(|l| l.id.as_str()).collect())
        .unwrap_or_default();
    // A CREATE adds everything it lists; an UPDATE adds what the old object lacked.
    let added = |id: &str| d.op != Operation::Update || !old_ids.contains(id);
    let region = || {
        facts
            .region
            .as_deref()
            .map(|r| format!(" in region {r}"))
            .unwrap_or_default()
    };
    let mut first = BTreeSet::new();
    for l in listed.iter().filter(|l| !l.zone.is_empty()) {
        if !first.insert(&l.id) {
            continue;
        }
        match facts.vswitch(&l.id) {
            None => {}
            Some(Lookup::NotFound) => out.push(Finding::deny(
                id::VSWITCH_EXISTS,
                &l.path(),
                format!("vSwitch {} does not exist{}; Terway skips it (pkg/vswitch/vswitch.go GetOne), so it adds no IPs. Check the id in the VPC console or remove it", l.id, region()),
            ).about(format!("vsw:{}", l.id))),
            Some(Lookup::Failed(why)) => {
                let sev = if added(&l.id) { Severity::Deny } else { Severity::Warn };
                out.push(Finding::new(
                    id::VSWITCH_LOOKUP,
                    sev,
                    &l.path(),
                    format!("could not verify vSwitch {}: {why}; retry, or set annotation terway-guard.io/bypass with a reason if you are sure", l.id),
                ).about(format!("vsw:{}", l.id)));
            }
            Some(Lookup::Found(v)) => {
                if v.zone != l.zone {
                    out.push(Finding::deny(
                        id::VSWITCH_ZONE,
                        &l.path(),
                        format!("{} is in zone {}, but is listed under {}; Terway skips a vSwitch of another zone (pkg/vswitch/vswitch.go GetOne), so it adds no IPs there. Move it under {:?}", l.id, v.zone, quote_short(&l.zone, 40), v.zone),
                    ).about(format!("vsw:{}:{}", l.zone, l.id)));
                }
                let len = v.cidr.prefix_len();
                if len > d.settings.max_prefix_len {
                    let usable = crate::inventory::usable_ips(&v.cidr);
                    let (sev, tail) = if d.op == Operation::Update && added(&l.id) {
                        (Severity::Deny, "create a larger one (terway-guard expand) and list that instead")
                    } else {
                        (Severity::Warn, "plan a larger one before this zone runs dry")
                    };
                    out.push(Finding::new(
                        id::VSWITCH_PREFIX,
                        sev,
                        &l.path(),
                        format!("{} is {} ({usable} usable IPs); pod vSwitches should be /{} or larger; {tail}", l.id, v.cidr, d.settings.max_prefix_len),
                    ).about(format!("vsw:{}", l.id)));
                }
            }
        }
    }
    vpc_and_overlap(d, listed, out);
}

fn vpc_and_overlap(d: &Doc, listed: &[Listed], out: &mut Vec<Finding>) {
    let Some(facts) = d.facts else { return };
    let mut seen = BTreeSet::new();
    let found: Vec<(&Listed, &crate::inventory::VSwitchFact)> = listed
        .iter()
        .filter(|l| seen.insert(&l.id))
        .filter_map(|l| facts.found(&l.id).map(|v| (l, v)))
        .collect();
    // The VPC every vSwitch must be in: the cluster's, else the most common.
    let expected = facts.cluster_vpc.clone().or_else(|| {
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, v) in &found {
            *count.entry(&v.vpc).or_default() += 1;
        }
        let top = count.values().max().copied();
        found
            .iter()
            .map(|(_, v)| v.vpc.as_str())
            .find(|vpc| Some(count[vpc]) == top)
            .map(str::to_string)
    });
    if let Some(expected) = expected {
        let whose = if facts.cluster_vpc.is_some() {
            "the cluster's VPC"
        } else {
            "the VPC of the other vSwitches"
        };
        for (l, v) in &found {
            if v.vpc != expected {
                out.push(Finding::deny(
                    id::VSWITCH_VPC,
                    &l.path(),
                    format!("{} is in {}, not in {whose} {expected}; Terway would create ENIs in it and the cloud refuses ENIs outside the node's VPC, so pod IP allocation fails. Use a vSwitch of {expected}", l.id, v.vpc),
                ).about(format!("vsw:{}", l.id)));
            }
        }
    }
    let service = d
        .new
        .str("service_cidr")
        .and_then(parse_service_cidr)
        .unwrap_or_default();
    for (i, (l, v)) in found.iter().enumerate() {
        if let Some(s) = service.iter().find(|s| overlaps(s, &v.cidr)) {
            out.push(Finding::deny(
                id::VSWITCH_OVERLAP,
                &l.path(),
                format!("{} ({}) overlaps service_cidr {s}; pods would get addresses inside the service range and their traffic would be misrouted. Use a vSwitch outside {s}", l.id, v.cidr),
            ).about(format!("vsw:{}:svc", l.id)));
        }
        for (other, ov) in &found[..i] {
            if overlaps(&ov.cidr, &v.cidr) {
                out.push(Finding::deny(
                    id::VSWITCH_OVERLAP,
                    &l.path(),
                    format!("{} ({}) overlaps {} ({}); two listed vSwitches cannot share addresses. Remove one", l.id, v.cidr, other.id, ov.cidr),
                ).about(format!("vsw:{}:{}", l.id, other.id)));
            }
        }
    }
}

pub fn overlaps(a: &ipnet::IpNet, b: &ipnet::IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    const OLD: &str = r#"{"service_cidr": "172.16.0.0/16", "vswitches": {"cn-shanghai-f": ["vsw-f19"], "cn-shanghai-g": ["vsw-g19"]}}"#;

    #[test]
    fn listing_rules_without_inventory() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (r#"{"vswitches": {"cn-a": ["vsw-abc1"]}}"#, &[], &[]),
            (
                r#"{"vswitches": {"cn-a": ["vsw-ABC"]}}"#,
                &["vswitch-id"],
                &[],
            ),
            (
                r#"{"vswitches": {"cn-a": ["sw-abc"]}}"#,
                &["vswitch-id"],
                &[],
            ),
            (r#"{"vswitches": {"cn-a": ["vsw-"]}}"#, &["vswitch-id"], &[]),
            (r#"{"vswitches": {"": ["vsw-a"]}}"#, &[], &["vswitch-id"]),
            (
                r#"{"vswitches": {"cn-a": ["vsw-a", "vsw-a"]}}"#,
                &[],
                &["vswitch-duplicate"],
            ),
            (
                r#"{"vswitches": {"cn-a": ["vsw-a"], "cn-b": ["vsw-a"]}}"#,
                &["vswitch-zones"],
                &[],
            ),
        ];
        assert_base_cases(cases);
    }

    #[test]
    fn inventory_rules_on_update() {
        let old = base(OLD);
        let with = |f: &str, g: &str| {
            base(&format!(
                r#"{{"service_cidr": "172.16.0.0/16", "vswitches": {{"cn-shanghai-f": [{f}], "cn-shanghai-g": [{g}]}}}}"#
            ))
        };
        let cases: &[(&str, &str, &[&str], &[&str])] = &[
            (r#""vsw-f19""#, r#""vsw-g19""#, &[], &[]),
            (r#""vsw-f19""#, r#""vsw-g19", "vsw-g18""#, &[], &[]),
            (
                r#""vsw-f19", "vsw-nope""#,
                r#""vsw-g19""#,
                &["vswitch-exists"],
                &[],
            ),
            (
                r#""vsw-f19", "vsw-g18""#,
                r#""vsw-g19""#,
                &["vswitch-zone"],
                &[],
            ),
            (
                r#""vsw-f19", "vsw-f24""#,
                r#""vsw-g19""#,
                &["vswitch-prefix"],
                &[],
            ),
            (
                r#""vsw-f19", "vsw-other""#,
                r#""vsw-g19""#,
                &["vswitch-vpc"],
                &[],
            ),
            (
                r#""vsw-f19", "vsw-inside""#,
                r#""vsw-g19""#,
                &["vswitch-overlap"],
                &[],
            ),
            (
                r#""vsw-f19", "vsw-svc""#,
                r#""vsw-g19""#,
                &["vswitch-overlap"],
                &[],
            ),
        ];
        for (f, g, deny, warn) in cases {
            let got = update_with_facts(&old, &with(f, g));
            assert_denies(&got, deny);
            assert_warns(&got, warn);
        }
    }

    #[test]
    fn small_vswitches_already_present_only_warn() {
        let small = base(r#"{"vswitches": {"cn-shanghai-f": ["vsw-f19", "vsw-f24"]}}"#);
        let got = update_with_facts(&small, &small);
        assert_denies(&got, &[]);
        assert_warns(&got, &["vswitch-prefix"]);
        let got = create_with_facts(&small);
        assert_denies(&got, &[]);
        assert_warns(&got, &["vswitch-prefix"]);
    }

    #[test]
    fn a_list_under_an_empty_zone_is_never_read() {
        // (listing, denied, warned): Terway never looks up zone "".
        let cases: &[(&str, &[&str], &[&str])] = &[
            (r#"{"": ["vsw-f19"]}"#, &[], &["vswitch-id"]),
            (r#"{"": ["vsw-nosuch1"]}"#, &[], &["vswitch-id"]),
            (
                r#"{"": ["vsw-g18"], "cn-shanghai-g": ["vsw-g18"]}"#,
                &[],
                &["vswitch-id"],
            ),
            (r#"{"cn-shanghai-f": ["vsw-g18"]}"#, &["vswitch-zone"], &[]),
        ];
        for (listing, deny, warn) in cases {
            let got = create_with_facts(&base(&format!(r#"{{"vswitches": {listing}}}"#)));
            assert_denies(&got, deny);
            assert_warns(&got, warn);
        }
    }

    #[test]
    fn zone_message_names_both_zones() {
        let got = create_with_facts(&base(r#"{"vswitches": {"cn-shanghai-f": ["vsw-g18"]}}"#));
        let m = message(&got, "vswitch-zone");
        assert!(
            m.contains("cn-shanghai-g") && m.contains("cn-shanghai-f"),
            "{m}"
        );
    }

    #[test]
    fn failed_lookups_deny_only_what_is_added() {
        use crate::inventory::Lookup;
        use crate::rules::Operation;
        let old = base(r#"{"vswitches": {"cn-shanghai-f": ["vsw-f19"]}}"#);
        let new = base(r#"{"vswitches": {"cn-shanghai-f": ["vsw-f19", "vsw-new1"]}}"#);
        let mut facts = facts_for(&[&old, &new]);
        for v in facts.vswitches.values_mut() {
            *v = Lookup::Failed("timeout".into());
        }
        let got = run(
            Operation::Update,
            Some(&new),
            Some(&old),
            None,
            Some(&facts),
        );
        assert_denies(&got, &["vswitch-lookup"]);
        assert_warns(&got, &["vswitch-lookup"]);
        assert_eq!(got.iter().filter(|f| f.rule == "vswitch-lookup").count(), 2);
    }

    #[test]
    fn a_dynamic_config_filled_in_adds_only_what_it_lists() {
        // The base lists a /24 (vswitch-prefix denies one an UPDATE adds).
        let b = base(
            r#"{"service_cidr": "172.20.0.0/16", "vswitches": {"cn-shanghai-f": ["vsw-f24"]}}"#,
        );
        let cases: &[(&str, &str, &[&str])] = &[
            ("", r#"{"max_pool_size": 5}"#, &[]),
            ("{}", r#"{"max_pool_size": 5}"#, &[]),
            ("not json", r#"{"max_pool_size": 5}"#, &[]),
            (
                "",
                r#"{"vswitches": {"cn-shanghai-f": ["vsw-f24", "vsw-f19"]}}"#,
                &[],
            ),
            (
                "",
                r#"{"vswitches": {"cn-shanghai-g": ["vsw-g19", "vsw-f19"]}}"#,
                &["vswitch-zone"],
            ),
        ];
        for (old, new, want) in cases {
            let old = dynamic("big-pool", old);
            let new = dynamic("big-pool", new);
            let facts = facts_for(&[&b, &old, &new]);
            use crate::rules::Operation;
            let update = run(
                Operation::Update,
                Some(&new),
                Some(&old),
                Some(&b),
                Some(&facts),
            );
            let create = run(Operation::Create, Some(&new), None, Some(&b), Some(&facts));
            assert_denies(&update, want);
            assert_denies(&create, want);
        }
    }
}
