//! Helpers for the table-driven rule tests.

use std::collections::BTreeSet;

use super::{Finding, Input, Operation, Settings, Severity, evaluate};
use crate::config::ConfigObject;
use crate::inventory::{Facts, Query, StaticInventory};

pub const INVENTORY: &str = r#"
region: cn-shanghai
cluster_vpc: vpc-main
vpcs:
  - {id: vpc-main, cidrs: ["192.168.0.0/16"]}
  - {id: vpc-other, cidrs: ["10.0.0.0/8"]}
vswitches:
  - {id: vsw-f19, vpc: vpc-main, zone: cn-shanghai-f, cidr: 192.168.0.0/19, available_ips: 8000}
  - {id: vsw-f24, vpc: vpc-main, zone: cn-shanghai-f, cidr: 192.168.32.0/24, available_ips: 10}
  - {id: vsw-g19, vpc: vpc-main, zone: cn-shanghai-g, cidr: 192.168.64.0/19, available_ips: 100}
  - {id: vsw-g18, vpc: vpc-main, zone: cn-shanghai-g, cidr: 192.168.128.0/18, available_ips: 16000}
  - {id: vsw-other, vpc: vpc-other, zone: cn-shanghai-f, cidr: 10.0.0.0/19, available_ips: 8000}
  - {id: vsw-inside, vpc: vpc-main, zone: cn-shanghai-f, cidr: 192.168.0.0/18, available_ips: 4000}
  - {id: vsw-h19, vpc: vpc-main, zone: cn-shanghai-h, cidr: 192.168.96.0/19, available_ips: 1000}
  - {id: vsw-svc, vpc: vpc-main, zone: cn-shanghai-f, cidr: 172.16.0.0/19, available_ips: 8000}
nodes:
  - {name: f-1, zone: cn-shanghai-f, max_pod_ips: 30, terway_node: true}
  - {name: f-2, zone: cn-shanghai-f, max_pod_ips: 30, terway_node: true}
  - {name: g-1, zone: cn-shanghai-g, max_pod_ips: 60, terway_node: true}
  - {name: g-2, zone: cn-shanghai-g, max_pod_ips: 60, terway_node: true}
  - {name: g-dyn, zone: cn-shanghai-g, max_pod_ips: 60, config: big-pool, terway_node: true}
"#;

pub fn base_with(data: &[(&str, &str)]) -> ConfigObject {
    ConfigObject {
        name: "eni-config".into(),
        namespace: Some("kube-system".into()),
        data: data
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    }
}

/// The CNI conf every base needs (cmd/terway-cli/common.go).
pub const CNI_CONF: &str = r#"{"cniVersion": "0.4.0", "name": "terway", "type": "terway"}"#;

/// A base with `data`, plus a valid `10-terway.conf` unless `data` has one.
pub fn base_with_cni(data: &[(&str, &str)]) -> ConfigObject {
    let mut cm = base_with(data);
    cm.data
        .entry("10-terway.conf".into())
        .or_insert_with(|| CNI_CONF.into());
    cm
}

pub fn base(eni_conf: &str) -> ConfigObject {
    base_with_cni(&[("eni_conf", eni_conf)])
}

pub fn dynamic(name: &str, eni_conf: &str) -> ConfigObject {
    ConfigObject {
        name: name.into(),
        ..base_with(&[("eni_conf", eni_conf)])
    }
}

pub fn facts_for(objs: &[&ConfigObject]) -> Facts {
    let inv = StaticInventory::parse(INVENTORY).unwrap();
    let query: Query = crate::inventory::query_for(objs.iter().copied());
    inv.snapshot(&query)
}

pub fn run(
    op: Operation,
    new: Option<&ConfigObject>,
    old: Option<&ConfigObject>,
    base: Option<&ConfigObject>,
    facts: Option<&Facts>,
) -> Vec<Finding> {
    evaluate(&Input {
        operation: op,
        new,
        old,
        base,
        facts,
        settings: &Settings::default(),
    })
}

pub fn create(new: &ConfigObject) -> Vec<Finding> {
    run(Operation::Create, Some(new), None, None, None)
}

/// An UPDATE judged offline.
pub fn update(old: &ConfigObject, new: &ConfigObject) -> Vec<Finding> {
    run(Operation::Update, Some(new), Some(old), None, None)
}

/// An UPDATE judged with the test inventory.
pub fn update_with_facts(old: &ConfigObject, new: &ConfigObject) -> Vec<Finding> {
    let facts = facts_for(&[old, new]);
    run(Operation::Update, Some(new), Some(old), None, Some(&facts))
}

pub fn create_with_facts(new: &ConfigObject) -> Vec<Finding> {
    let facts = facts_for(&[new]);
    run(Operation::Create, Some(new), None, None, Some(&facts))
}

fn ids(findings: &[Finding], severity: Severity) -> BTreeSet<&'static str> {
    findings
        .iter()
        .filter(|f| f.severity == severity)
        .map(|f| f.rule)
        .collect()
}

#[track_caller]
pub fn assert_denies(findings: &[Finding], want: &[&str]) {
    let want: BTreeSet<&str> = want.iter().copied().collect();
    assert_eq!(
        ids(findings, Severity::Deny),
        want,
        "findings: {findings:#?}"
    );
}

#[track_caller]
pub fn assert_warns(findings: &[Finding], want: &[&str]) {
    let want: BTreeSet<&str> = want.iter().copied().collect();
    let mut got = ids(findings, Severity::Warn);
    got.remove("inventory-missing");
    // Most cases are minimal configs without service_cidr; only the
    // service_cidr cases ask for that warning.
    let unset_only = findings
        .iter()
        .filter(|f| f.rule == "service-cidr")
        .all(|f| f.message.contains("is not set"));
    if unset_only && !want.contains("service-cidr") {
        got.remove("service-cidr");
    }
    assert_eq!(got, want, "findings: {findings:#?}");
}

/// Table-driven CREATEs of a base `eni-config`: (eni_conf, denied rule ids,
/// warned rule ids).
#[track_caller]
pub fn assert_base_cases(cases: &[(&str, &[&str], &[&str])]) {
    for (conf, deny, warn) in cases {
        let f = create(&base(conf));
        let got = |s: Severity| ids(&f, s);
        assert!(
            got(Severity::Deny) == deny.iter().copied().collect(),
            "{conf}: denies {:?}, want {deny:?}: {f:#?}",
            got(Severity::Deny)
        );
        assert_warns(&f, warn);
    }
}

pub fn message<'a>(findings: &'a [Finding], rule: &str) -> &'a str {
    &findings
        .iter()
        .find(|f| f.rule == rule)
        .unwrap_or_else(|| panic!("no {rule} in {findings:#?}"))
        .message
}
