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
    // Read as Terway reads it: serde_json refuses what Go accepts (lone
    // surrogates, nesting past 128, `1e400` under an unknown key).
    let eni_conf: Value = crate::config::go_json::decode(&new_text)
        .map_err(|e| bad(&e.message))?
        .value;
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
mod tests {
    use super::*;
    use crate::inventory::{NatGatewayFact, SnatEntryFact, StaticInventory, VpcFact};
    use crate::rules::Settings;
    use crate::rules::testing::base;

    const INV: &str = r#"
region: cn-shanghai
vpcs:
  - {id: vpc-1, cidrs: ["192.168.0.0/16", "10.10.0.0/16"]}
vswitches:
  - {id: vsw-f1, vpc: vpc-1, zone: cn-shanghai-f, cidr: 192.168.0.0/24, available_ips: 0}
  - {id: vsw-g1, vpc: vpc-1, zone: cn-shanghai-g, cidr: 192.168.64.0/19, available_ips: 5000}
  - {id: vsw-x, vpc: vpc-1, zone: cn-shanghai-g, cidr: 192.168.40.0/22, available_ips: 100}
nodes:
  - {name: f-1, zone: cn-shanghai-f, max_pod_ips: 30}
nat_gateways:
  - id: ngw-1
    vpc: vpc-1
    snat_table_ids: [stb-1, stb-2]
    snat_entries:
      - {snat_table_id: stb-1, source_vswitch: vsw-f1, snat_ip: "47.100.1.1"}
      - {snat_table_id: stb-1, source_vswitch: vsw-g1, snat_ip: "47.100.1.2"}
      - {snat_table_id: stb-2, source_cidr: 192.168.0.0/16, snat_ip: "47.100.9.9"}
"#;

    const CONF: &str = "{\n  \"service_cidr\": \"172.16.0.0/16\",\n  \"vswitches\": {\"cn-shanghai-f\": [\"vsw-f1\"], \"cn-shanghai-g\": [\"vsw-g1\"]},\n  \"min_pool_size\": 5, \"max_pool_size\": 30\n}";

    fn run(conf: &str, prefix: u8, mutate: impl FnOnce(&mut VpcView)) -> Result<Plan, PlanError> {
        run_with(conf, prefix, mutate, &[], false)
    }

    fn run_with(
        conf: &str,
        prefix: u8,
        mutate: impl FnOnce(&mut VpcView),
        dynamic_listed: &[(String, Vec<String>)],
        force_create: bool,
    ) -> Result<Plan, PlanError> {
        let inv = StaticInventory::parse(INV).unwrap();
        let mut view = inv.vpc_view("vpc-1").unwrap();
        mutate(&mut view);
        let cm = base(conf);
        let query = cm.eni_conf().map(|c| c.vswitch_ids()).unwrap_or_default();
        let facts = inv.snapshot(&query);
        plan(&Request {
            zone: "cn-shanghai-f",
            prefix_len: prefix,
            view: &view,
            config: &cm,
            facts: &facts,
            settings: &Settings::default(),
            dynamic_listed,
            force_create,
        })
    }

    fn vsw(id: &str, cidr: &str, free: u64) -> VSwitchFact {
        VSwitchFact {
            id: id.into(),
            vpc: "vpc-1".into(),
            zone: "cn-shanghai-f".into(),
            cidr: cidr.parse().unwrap(),
            available_ips: free,
        }
    }

    #[test]
    fn reuses_the_largest_unlisted_nearly_empty_vswitch_and_says_why_not_the_others() {
        let add = |v: &mut VpcView| {
            v.vswitches.extend([
                vsw("vsw-small", "192.168.200.0/24", 252),
                vsw("vsw-busy", "192.168.160.0/19", 4000),
                vsw("vsw-dyn", "192.168.192.0/19", 8188),
                vsw("vsw-ok", "192.168.224.0/19", 8100),
                vsw("vsw-big", "10.10.0.0/18", 16380),
            ]);
        };
        let dynamic = [("big-pool".to_string(), vec!["vsw-dyn".to_string()])];
        let p = run_with(CONF, 19, add, &dynamic, false).unwrap();
        let reuse = p.reuse.clone().expect("reuse");
        assert_eq!(reuse.id, "vsw-big", "the largest suitable one");
        assert!(
            reuse.why.contains("listed in no Terway config"),
            "{}",
            reuse.why
        );
        assert_eq!(p.vswitch.cidr, "10.10.0.0/18");
        assert_eq!(
            p.eni_conf["vswitches"]["cn-shanghai-f"],
            serde_json::json!(["vsw-f1", "vsw-big"])
        );
        let why: Vec<(&str, &str)> = p
            .rejected
            .iter()
            .map(|r| (r.id.as_str(), r.why.as_str()))
            .collect();
        assert_eq!(
            why,
            [
                ("vsw-f1", "already listed in eni-config"),
                ("vsw-small", "/24 is smaller than the /19 asked for"),
                (
                    "vsw-busy",
                    "only 4000 of 8188 IPs free (49 %): something already uses it"
                ),
                ("vsw-dyn", "listed in dynamic config big-pool"),
                (
                    "vsw-ok",
                    "also suitable, but smaller (or later by id) than the one chosen"
                ),
            ]
        );
        // --create: a new block, whatever exists.
        let p = run_with(CONF, 19, add, &dynamic, true).unwrap();
        assert!(p.reuse.is_none());
        assert_eq!(p.eni_conf["vswitches"]["cn-shanghai-f"][1], PLANNED_ID);
        // Nothing suitable: a new block.
        let p = run_with(CONF, 19, |_| {}, &[], false).unwrap();
        assert!(p.reuse.is_none());
        assert_eq!(p.vswitch.cidr, "192.168.96.0/19");
    }

    #[test]
    fn plans_cidr_snat_and_config() {
        let p = run(CONF, 19, |_| {}).unwrap();
        assert_eq!(
            p.vswitch.cidr, "192.168.96.0/19",
            "0-63 has vsw-f1 and vsw-x, 64-95 vsw-g1"
        );
        assert_eq!(p.vswitch.name, "terway-guard-cn-shanghai-f-192-168-96-0-19");
        assert_eq!(
            p.snat,
            [
                PlannedSnat {
                    snat_table_id: "stb-1".into(),
                    snat_ip: "47.100.1.1".into()
                },
                PlannedSnat {
                    snat_table_id: "stb-2".into(),
                    snat_ip: "47.100.9.9".into()
                },
            ]
        );
        assert_eq!(
            p.eni_conf["vswitches"]["cn-shanghai-f"],
            serde_json::json!(["vsw-f1", PLANNED_ID])
        );
        let keys: Vec<&String> = p.eni_conf.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "service_cidr",
                "vswitches",
                "min_pool_size",
                "max_pool_size"
            ],
            "key order kept"
        );
        let json = serde_json::to_value(&p).unwrap();
        let top: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(top, ["zone", "vswitch", "rejected", "snat", "eni_conf"]);
    }

    #[test]
    fn full_primary_uses_secondary_and_full_vpc_says_what_to_do() {
        let p = run(CONF, 16, |_| {}).unwrap();
        assert_eq!(p.vswitch.cidr, "10.10.0.0/16");
        let e = run(CONF, 16, |v| v.vpc.cidrs.truncate(1)).unwrap_err();
        assert!(matches!(e, PlanError::VpcFull { .. }));
        let msg = e.to_string();
        assert!(
            msg.contains("VPC vpc-1 has no free /16 block")
                && msg.contains("secondary CIDR block")
                && msg.contains("--prefix-len 17"),
            "{msg}"
        );
    }

    #[test]
    fn refuses_what_it_cannot_do_safely() {
        assert_eq!(run(CONF, 30, |_| {}).unwrap_err(), PlanError::Prefix(30));
        assert!(matches!(run("{,", 19, |_| {}), Err(PlanError::Config(..))));
        // A planned /24 is smaller than the rules let an edit add.
        match run(CONF, 24, |_| {}) {
            Err(PlanError::SelfCheck(why)) => assert!(why.contains("[vswitch-prefix]"), "{why}"),
            other => panic!("{other:?}"),
        }
        // A problem the live config already has never blocks an expansion
        // mid-incident: it is carried as a warning.
        let bad = CONF.replace("[\"vsw-f1\"]", "[\"vsw-f1\", \"vsw-x\"]");
        let p = run(&bad, 19, |_| {}).unwrap();
        assert!(p.warnings.iter().any(|w| w.rule == "vswitch-zone"), "{p:?}");
    }

    #[test]
    fn snat_follows_source_cidrs_too() {
        let view = VpcView {
            vpc: VpcFact {
                id: "v".into(),
                cidrs: vec![],
            },
            vswitches: vec![VSwitchFact {
                id: "vsw-a".into(),
                vpc: "v".into(),
                zone: "z".into(),
                cidr: "10.0.1.0/24".parse().unwrap(),
                available_ips: 0,
            }],
            nat_gateways: vec![NatGatewayFact {
                id: "ngw".into(),
                vpc: "v".into(),
                snat_table_ids: vec!["stb".into()],
                snat_entries: vec![SnatEntryFact {
                    snat_table_id: "stb".into(),
                    source_vswitch: None,
                    source_cidr: Some("10.0.0.0/8".parse().unwrap()),
                    snat_ip: "1.2.3.4".into(),
                }],
            }],
        };
        assert_eq!(snat_for(&view, &["vsw-a".into()]).len(), 1);
        assert!(snat_for(&view, &["vsw-other".into()]).is_empty());
    }
}
