//! The Terway corpus: eni-configs re-typed from Terway's chart, docs, test
//! fixtures and code paths (tests/terway/*.yaml), each with its source, what
//! Terway does with it and the verdict expected, run through the engine that
//! `check` and the webhook use.
//!
//! Beyond the expected rule ids, every case is held to the two promises that
//! matter most: a config Terway runs is allowed unless the edit defeats its own
//! purpose (no false denials), and a config that breaks Terway is denied unless
//! it was already broken before the edit (no misses).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use terway_guard::config::{ConfigObject, Version};
use terway_guard::inventory::{Facts, KubeadmServiceCidr, StaticInventory};
use terway_guard::rules::{Input, Operation, Settings};
use terway_guard::verdict;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    source: String,
    terway: String,
    terway_runs: bool,
    #[serde(default)]
    defeats_purpose: bool,
    #[serde(default)]
    broken_before: bool,
    op: String,
    version: Option<String>,
    /// kube-system/kubeadm-config as the watched cluster has it: `absent`
    /// (ACK, the default), `offline` (not watched), `no-subnet`, or its
    /// networking.serviceSubnet.
    kubeadm: Option<String>,
    base: Option<Base>,
    old: Option<Object>,
    new: Option<Object>,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Base {
    /// `crd` or `legacy`: a minimal valid base of that IPAM mode.
    Mode(String),
    Object(Object),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Object {
    name: Option<String>,
    data: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    deny: Vec<String>,
    warn: Vec<String>,
}

impl Object {
    fn config(&self) -> ConfigObject {
        ConfigObject {
            name: self.name.clone().unwrap_or_else(|| "eni-config".into()),
            namespace: Some("kube-system".into()),
            annotations: BTreeMap::new(),
            data: self.data.clone(),
            ..Default::default()
        }
    }
}

fn minimal_base(mode: &str) -> ConfigObject {
    let ipam = match mode {
        "crd" => r#""ipam_type": "crd", "security_groups": ["sg-xxx"], "#,
        "legacy" => "",
        other => panic!("base {other:?}: use crd, legacy or an object"),
    };
    ConfigObject {
        name: "eni-config".into(),
        namespace: Some("kube-system".into()),
        annotations: BTreeMap::new(),
        data: [
            (
                "eni_conf".to_string(),
                format!(
                    r#"{{{ipam}"max_pool_size": 5, "min_pool_size": 0, "service_cidr": "10.96.0.0/12", "vswitches": {{"cn-hangzhou-g": ["vsw-xxx"]}}}}"#
                ),
            ),
            (
                "10-terway.conf".to_string(),
                r#"{"type": "terway"}"#.to_string(),
            ),
        ]
        .into(),
        ..Default::default()
    }
}

fn corpus() -> Vec<(String, Case)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/terway");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| !p.ends_with("inventory.yaml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let cases: Vec<Case> =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let file = f.file_name().unwrap().to_string_lossy().to_string();
        out.extend(cases.into_iter().map(|c| (file.clone(), c)));
    }
    out
}

fn kubeadm(state: &str) -> Option<KubeadmServiceCidr> {
    Some(match state {
        "offline" => return None,
        "absent" => KubeadmServiceCidr::Unusable("configmaps \"kubeadm-config\" not found".into()),
        "no-subnet" => KubeadmServiceCidr::Unusable("it has no networking.serviceSubnet".into()),
        subnet => KubeadmServiceCidr::Usable(subnet.into()),
    })
}

fn facts(inv: &StaticInventory, objects: &[&ConfigObject]) -> Facts {
    inv.snapshot(&terway_guard::inventory::query_for(objects.iter().copied()))
}

#[test]
fn the_corpus_agrees_with_terway() {
    let inv = StaticInventory::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/terway/inventory.yaml"
    ))
    .unwrap();
    let cases = corpus();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    let mut names = BTreeSet::new();
    for (file, case) in &cases {
        let at = format!("{file}: {}", case.name);
        assert!(names.insert(&case.name), "{at}: duplicate name");
        assert!(
            !case.source.trim().is_empty() && !case.terway.trim().is_empty(),
            "{at}: every case names its Terway source and what Terway does"
        );
        let operation = match case.op.as_str() {
            "create" => Operation::Create,
            "update" => Operation::Update,
            "delete" => Operation::Delete,
            other => panic!("{at}: op {other:?}"),
        };
        let new = case.new.as_ref().map(Object::config);
        let old = case.old.as_ref().map(Object::config);
        let base = case.base.as_ref().map(|b| match b {
            Base::Mode(m) => minimal_base(m),
            Base::Object(o) => o.config(),
        });
        let objects: Vec<&ConfigObject> = [new.as_ref(), old.as_ref(), base.as_ref()]
            .into_iter()
            .flatten()
            .collect();
        let mut facts = facts(&inv, &objects);
        facts.kubeadm = kubeadm(case.kubeadm.as_deref().unwrap_or("absent"));
        let settings = Settings {
            terway_version: case
                .version
                .as_deref()
                .map(|v| v.parse::<Version>().unwrap()),
            ..Settings::default()
        };
        let v = verdict::judge(&Input {
            operation,
            new: new.as_ref(),
            old: old.as_ref(),
            base: base.as_ref(),
            facts: Some(&facts),
            settings: &settings,
        });
        let deny: BTreeSet<&str> = v.denials().map(|f| f.rule).collect();
        let warn: BTreeSet<&str> = v.warnings().map(|f| f.rule).collect();
        let want_deny: BTreeSet<&str> = case.expect.deny.iter().map(String::as_str).collect();
        let want_warn: BTreeSet<&str> = case.expect.warn.iter().map(String::as_str).collect();
        let mut why = Vec::new();
        if deny != want_deny {
            why.push(format!("deny {deny:?}, expected {want_deny:?}"));
        }
        if warn != want_warn {
            why.push(format!("warn {warn:?}, expected {want_warn:?}"));
        }
        if v.allowed != deny.is_empty() {
            why.push("allowed disagrees with the denials".into());
        }
        if case.terway_runs && !case.defeats_purpose && !v.allowed {
            why.push("a false denial: Terway runs this config".into());
        }
        if !case.terway_runs && !case.broken_before && v.allowed {
            why.push("a miss: this config breaks Terway".into());
        }
        if !why.is_empty() {
            let findings: Vec<String> = v
                .findings
                .iter()
                .map(|f| format!("    [{}] {}: {}", f.rule, f.path, f.message))
                .collect();
            failures.push(format!(
                "{at}\n  {}\n{}",
                why.join("\n  "),
                findings.join("\n")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn the_corpus_covers_both_kinds_of_mistake() {
    let cases = corpus();
    let runs = cases.iter().filter(|(_, c)| c.terway_runs).count();
    let breaks = cases.iter().filter(|(_, c)| !c.terway_runs).count();
    assert!(runs >= 20 && breaks >= 15, "runs {runs}, breaks {breaks}");
    for op in ["create", "update", "delete"] {
        assert!(cases.iter().any(|(_, c)| c.op == op), "no {op} case");
    }
    assert!(
        cases
            .iter()
            .any(|(_, c)| c.base.is_some() && c.op == "create")
    );
}
