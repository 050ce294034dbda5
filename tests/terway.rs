//! The Terway corpus: eni-configs re-typed from Terway's chart, docs, test
//! fixtures and code paths (tests/terway/*.yaml), each with its source, what
//! Terway does with it and the verdict expected, run through the engine that
//! `check` and the webhook use.
//!
//! Beyond the expected rule ids, every case is held to the two promises that
//! matter most: a config Terway runs is allowed unless the edit defeats its own
//! purpose (no false denials), and a config that breaks Terway is denied unless
//! it was already broken before the edit (no misses).

#[path = "common/corpus.rs"]
mod corpus;

use std::collections::BTreeSet;

use terway_guard::config::{ConfigObject, Version};
use terway_guard::inventory::{Facts, StaticInventory};
use terway_guard::rules::{Input, Operation, Settings};
use terway_guard::verdict;

use corpus::Object;

fn facts(inv: &StaticInventory, objects: &[&ConfigObject]) -> Facts {
    inv.snapshot(&terway_guard::inventory::query_for(objects.iter().copied()))
}

#[test]
fn the_corpus_agrees_with_terway() {
    let inv = corpus::inventory();
    let cases = corpus::load();
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
        let base = case.base.as_ref().map(corpus::Base::config);
        let objects: Vec<&ConfigObject> = [new.as_ref(), old.as_ref(), base.as_ref()]
            .into_iter()
            .flatten()
            .collect();
        let mut facts = facts(&inv, &objects);
        facts.kubeadm = corpus::kubeadm(case.kubeadm.as_deref());
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
    let cases = corpus::load();
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
