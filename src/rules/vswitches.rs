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
    if found.is_empty() {
        // Nothing to overlap: service_cidr is not worth parsing.
        return;
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
mod tests;
