//! Reuse before create: a vSwitch of the VPC that no Terway config lists, in
//! the zone, big enough and (nearly) empty, is listed instead of creating
//! another; every other same-zone vSwitch is named with why it was passed over.

use serde::Serialize;

use super::request::Request;
use crate::config::EniConf;
use crate::inventory::{VSwitchFact, usable_ips};

/// A same-zone vSwitch the planner looked at and did not take, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    pub id: String,
    pub cidr: String,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reuse {
    pub id: String,
    pub why: String,
}

/// A reused vSwitch must have at least this share of its IPs free: one that
/// is (nearly) empty is not quietly serving something else.
pub const REUSE_MIN_FREE: f64 = 0.9;

/// The best same-zone vSwitch of the VPC to list instead of creating one:
/// listed in no Terway config, at least the requested size, (nearly) empty.
/// The largest wins; every other same-zone vSwitch is a rejection with its
/// reason.
pub(super) fn candidate(
    r: &Request,
    conf: &EniConf,
) -> (Option<(VSwitchFact, String)>, Vec<Rejected>) {
    let base_listed: Vec<String> = conf.vswitches().iter().map(|l| l.id.clone()).collect();
    let mut fit: Vec<&VSwitchFact> = Vec::new();
    let mut rejected = Vec::new();
    for v in r.view.vswitches.iter().filter(|v| v.zone == r.zone) {
        let usable = usable_ips(&v.cidr);
        let free = if usable == 0 {
            0.0
        } else {
            v.available_ips as f64 / usable as f64
        };
        let why = if base_listed.contains(&v.id) {
            Some(format!("already listed in {}", r.config.name))
        } else if let Some((name, _)) = r.dynamic_listed.iter().find(|(_, ids)| ids.contains(&v.id))
        {
            Some(format!("listed in dynamic config {name}"))
        } else if v.cidr.prefix_len() > r.prefix_len {
            Some(format!(
                "/{} is smaller than the /{} asked for",
                v.cidr.prefix_len(),
                r.prefix_len
            ))
        } else if free < REUSE_MIN_FREE {
            Some(format!(
                "only {} of {usable} IPs free ({:.0} %): something already uses it",
                v.available_ips,
                free * 100.0
            ))
        } else {
            None
        };
        match why {
            Some(why) => rejected.push(Rejected {
                id: v.id.clone(),
                cidr: v.cidr.to_string(),
                why,
            }),
            None => fit.push(v),
        }
    }
    fit.sort_by(|a, b| {
        usable_ips(&b.cidr)
            .cmp(&usable_ips(&a.cidr))
            .then(a.id.cmp(&b.id))
    });
    let mut fit = fit.into_iter();
    let best = fit.next().map(|v| {
        let why = format!(
            "{} ({}) is in {}, listed in no Terway config, /{} (at least the /{} asked for) and {} of {} IPs are free",
            v.id,
            v.cidr,
            v.zone,
            v.cidr.prefix_len(),
            r.prefix_len,
            v.available_ips,
            usable_ips(&v.cidr)
        );
        (v.clone(), why)
    });
    rejected.extend(fit.map(|v| Rejected {
        id: v.id.clone(),
        cidr: v.cidr.to_string(),
        why: "also suitable, but smaller (or later by id) than the one chosen".into(),
    }));
    (best, rejected)
}
