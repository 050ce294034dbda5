//! The expansion planner: which CIDR, which SNAT entries, which config
//! change — and a self-check through the same verdict engine as the webhook.
//! Pure: facts in, plan out.

use ipnet::IpNet;
use serde::Serialize;
use serde_json::Value;

use super::cidr;
pub use super::request::Request;
pub use super::reuse::{REUSE_MIN_FREE, Rejected, Reuse};
use crate::config::{ENI_CONF, EniConf, Role, edit};
use crate::inventory::{Lookup, VSwitchFact, VpcView, usable_ips};
use crate::rules::{Finding, Input, Operation, fields_service_cidr};
use crate::verdict;

/// The id the plan shows for the vSwitch it has not created yet.
pub const PLANNED_ID: &str = "vsw-planned";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedVSwitch {
    pub cidr: String,
    pub zone: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedSnat {
    pub snat_table_id: String,
    pub snat_ip: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub zone: String,
    pub vswitch: PlannedVSwitch,
    /// An existing vSwitch listed instead of creating one (`vswitch` then
    /// describes it), with the reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reuse: Option<Reuse>,
    /// Same-zone vSwitches of the VPC that were not taken, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rejected: Vec<Rejected>,
    pub snat: Vec<PlannedSnat>,
    /// The new `eni_conf` with [`PLANNED_ID`] where the new id will go.
    pub eni_conf: Value,
    #[serde(skip)]
    pub vpc_id: String,
    /// Terway's IPAM mode for this config (what a restart must do).
    #[serde(skip)]
    pub mode: crate::config::Mode,
    /// Warnings the self-check raised (denials make no plan).
    #[serde(skip)]
    pub warnings: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "prefix length /{0} is not allowed for a vSwitch; use /16 to /29 (/19 gives 8188 pod IPs)"
    )]
    Prefix(u8),
    #[error("{0} is not a usable eni-config: {1}")]
    Config(String, String),
    #[error(
        "VPC {vpc} has no free /{prefix} block outside its vSwitches and service_cidr (searched {searched}); add a secondary CIDR block to the VPC, or plan a smaller vSwitch with --prefix-len {smaller}"
    )]
    VpcFull {
        vpc: String,
        prefix: u8,
        searched: String,
        smaller: u8,
    },
    #[error("the planned eni-config would be denied by terway-guard's own rules:\n{0}")]
    SelfCheck(String),
}

/// A deterministic name: the same plan always names its vSwitch the same.
pub fn vswitch_name(zone: &str, cidr: &str) -> String {
    format!("terway-guard-{zone}-{}", cidr.replace(['.', '/'], "-"))
}

pub fn plan(r: &Request) -> Result<Plan, PlanError> {
    if !(16..=29).contains(&r.prefix_len) {
        return Err(PlanError::Prefix(r.prefix_len));
    }
    let bad = |why: &str| PlanError::Config(r.config.name.clone(), why.to_string());
    if r.config.role() != Role::Base {
        return Err(bad("the expansion edits the base eni-config"));
    }
    let text = r
        .config
        .eni_conf_text()
        .ok_or_else(|| bad("it has no eni_conf"))?;
    let conf = EniConf::parse(text).map_err(|e| bad(&format!("eni_conf does not parse: {e}")))?;

    let zone_ids: Vec<String> = conf
        .vswitches()
        .iter()
        .filter(|l| l.zone == r.zone)
        .map(|l| l.id.clone())
        .collect();
    let (reuse, rejected) = super::reuse::candidate(r, &conf);
    let (vswitch, id, block, reuse) = match reuse.filter(|_| !r.force_create) {
        Some((v, why)) => (
            PlannedVSwitch {
                cidr: v.cidr.to_string(),
                zone: v.zone.clone(),
                name: v.id.clone(),
            },
            v.id.clone(),
            v.cidr,
            Some(Reuse { id: v.id, why }),
        ),
        None => {
            let block = IpNet::V4(free_block(r, &conf)?);
            let cidr = block.to_string();
            (
                PlannedVSwitch {
                    name: vswitch_name(r.zone, &cidr),
                    cidr,
                    zone: r.zone.to_string(),
                },
                PLANNED_ID.to_string(),
                block,
                None,
            )
        }
    };

    let new_text = edit::append_vswitch(text, r.zone, &id)
        .ok_or_else(|| bad("its vswitches cannot be edited"))?;
    // Read as the daemon reads it: serde_json refuses what Go accepts (lone
    // surrogates, nesting past 128, `1e400` under an unknown key), and
    // repeated `vswitches` are merged (config::typed).
    let eni_conf = EniConf::parse(&new_text).map_err(|e| bad(&e.message))?;
    let eni_conf = Value::Object(eni_conf.doc().clone());
    let plan = Plan {
        zone: r.zone.to_string(),
        vswitch,
        reuse,
        rejected,
        snat: snat_for(r.view, &zone_ids),
        eni_conf,
        vpc_id: r.view.vpc.id.clone(),
        mode: crate::config::Mode::of(&conf),
        warnings: Vec::new(),
    };
    self_check(r, plan, &new_text, block)
}

/// The lowest free block of the requested size in the VPC.
fn free_block(r: &Request, conf: &EniConf) -> Result<ipnet::Ipv4Net, PlanError> {
    let service: Vec<IpNet> = conf
        .str("service_cidr")
        .and_then(fields_service_cidr)
        .unwrap_or_default();
    let taken: Vec<IpNet> = r
        .view
        .vswitches
        .iter()
        .map(|v| v.cidr)
        .chain(service)
        .collect();
    cidr::lowest_free(&r.view.vpc.cidrs, &taken, r.prefix_len).ok_or_else(|| PlanError::VpcFull {
        vpc: r.view.vpc.id.clone(),
        prefix: r.prefix_len,
        searched: r
            .view
            .vpc
            .cidrs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        smaller: (r.prefix_len + 1).min(29),
    })
}

/// One entry per SNAT table that already serves the zone's vSwitches, with
/// the same SNAT IP, so the new vSwitch reaches the internet the same way.
fn snat_for(view: &VpcView, zone_ids: &[String]) -> Vec<PlannedSnat> {
    let zone_cidrs: Vec<IpNet> = view
        .vswitches
        .iter()
        .filter(|v| zone_ids.contains(&v.id))
        .map(|v| v.cidr)
        .collect();
    let mut out: Vec<PlannedSnat> = Vec::new();
    for g in &view.nat_gateways {
        for e in &g.snat_entries {
            let serves = e
                .source_vswitch
                .as_ref()
                .is_some_and(|v| zone_ids.contains(v))
                || e.source_cidr
                    .is_some_and(|c| zone_cidrs.iter().any(|z| c.contains(z)));
            if serves && !out.iter().any(|p| p.snat_table_id == e.snat_table_id) {
                out.push(PlannedSnat {
                    snat_table_id: e.snat_table_id.clone(),
                    snat_ip: e.snat_ip.clone(),
                });
            }
        }
    }
    out
}

fn self_check(
    r: &Request,
    mut plan: Plan,
    new_text: &str,
    block: IpNet,
) -> Result<Plan, PlanError> {
    let mut facts = r.facts.clone();
    let planned = match &plan.reuse {
        Some(reuse) => r.view.vswitches.iter().find(|v| v.id == reuse.id).cloned(),
        None => None,
    }
    .unwrap_or_else(|| VSwitchFact {
        id: PLANNED_ID.to_string(),
        vpc: r.view.vpc.id.clone(),
        zone: r.zone.to_string(),
        cidr: block,
        available_ips: usable_ips(&block),
    });
    facts
        .vswitches
        .insert(planned.id.clone(), Lookup::Found(planned));
    if facts.cluster_vpc.is_none() {
        facts.cluster_vpc = Some(r.view.vpc.id.clone());
    }
    let mut new_cm = r.config.clone();
    new_cm
        .data
        .insert(ENI_CONF.to_string(), new_text.to_string());
    let v = verdict::judge(&Input {
        operation: Operation::Update,
        new: Some(&new_cm),
        old: Some(r.config),
        base: None,
        facts: Some(&facts),
        settings: r.settings,
    });
    if !v.allowed {
        let lines: Vec<String> = v
            .denials()
            .map(|f| format!("- [{}] {}: {}", f.rule, f.path, f.message))
            .collect();
        return Err(PlanError::SelfCheck(lines.join("\n")));
    }
    plan.warnings = v.warnings().cloned().collect();
    Ok(plan)
}

#[cfg(test)]
mod tests;
