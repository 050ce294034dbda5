//! Property tests that need no oracle (issue 21): for every corpus config S
//! Terway runs (tests/terway/*.yaml) and many generated single-field edits
//! E(S) (tests/properties/edits.rs):
//!
//! (a) `S → S` (an UPDATE that changes nothing) is allowed;
//! (b) every denial of `S → E(S)` is about the edited field or names a reason
//!     of the whole document (tests/properties/about.rs defines "about");
//! (c) CREATE and UPDATE agree on what the edit adds: a denial of the UPDATE
//!     `S → E(S)` is also one of the CREATE of `E(S)` (but for the UPDATE-only
//!     controls below), and a denial the CREATE of `E(S)` raises that the
//!     CREATE of `S` does not is raised by the UPDATE too; the same for a
//!     dynamic config going from `eni_conf: ""` to content;
//! (d) no finding calls a document Go's `encoding/json` accepts "not valid
//!     JSON" (tests/properties/go_valid.rs).
//!
//! Deterministic: the edits come from tables and a seeded generator. The
//! default sample keeps a debug run well under 30 s; `PROPERTIES_EDITS=all`
//! runs every edit of the table, `PROPERTIES_EDITS=N` N per config.

#[path = "properties/about.rs"]
mod about;
#[path = "properties/bench.rs"]
mod bench;
#[path = "properties/corpus.rs"]
mod corpus;
#[path = "properties/edits.rs"]
mod edits;
#[path = "properties/go_valid.rs"]
mod go_valid;
#[path = "properties/values.rs"]
mod values;

use std::collections::BTreeSet;

use terway_guard::config::{ConfigObject, Role};
use terway_guard::rules::Operation;
use terway_guard::verdict::Verdict;

pub use bench::{Bench, Failure, PANIC, cut, report, show, shown_data};

use corpus::Start;
use edits::{Edit, Rng};

/// Every `STRIDE`-th edit of a start's table is judged, and `PER_START` more
/// drawn at random: about a quarter of the ~60,000 edits of the table, about
/// 10 s in a debug build on 2 shared cores (all of them: 30 s).
const STRIDE: usize = 4;
const PER_START: usize = 100;
const SEED: u64 = 0x07e1_24a7;

fn denials(v: &Verdict) -> BTreeSet<(String, String)> {
    v.denials()
        .map(|f| (f.rule.to_string(), f.path.clone()))
        .collect()
}

/// Denials an UPDATE may raise that a CREATE of the same object never does,
/// by design (src/rules/catalog.rs): terway-guard's own controls on what an
/// UPDATE adds or changes, and the zone budget, which is a cost relative to
/// the old pool and unknowable without one.
fn update_only(rule: &str, old: &ConfigObject, new: &ConfigObject) -> bool {
    match rule {
        "vswitch-prefix" | "service-cidr-change" | "zone-budget" => true,
        // Only the switch of mode; `"CRD"` is denied on CREATE as well.
        "ipam-type" => mode(old) != mode(new),
        _ => false,
    }
}

fn mode(o: &ConfigObject) -> Option<String> {
    o.eni_conf()
        .map(|c| c.str("ipam_type").unwrap_or("").to_string())
}

/// Judges one start config and its edits against (a), (b) and (c).
fn check_start(bench: &Bench, s: &Start, pick: &[Edit], failures: &mut Vec<Failure>) {
    let base = s.base.as_ref();
    let old = &s.new;
    let fail =
        |property, rule: &str, class, e: &Edit, new: &ConfigObject, v: &[&Verdict]| Failure {
            property,
            rule: rule.to_string(),
            class,
            start: s.name.clone(),
            old: shown_data(old),
            edit: e.what.clone(),
            new: shown_data(new),
            findings: v
                .iter()
                .enumerate()
                .flat_map(|(i, v)| {
                    show(v)
                        .into_iter()
                        .map(move |l| format!("{}{l}", ["UPDATE ", "CREATE E ", "CREATE S "][i]))
                })
                .collect(),
        };
    let same = bench.judge(Operation::Update, old, Some(old), base, s.version);
    if let Some(d) = same.denials().next() {
        let e = Edit {
            class: "none",
            field: String::new(),
            keys: vec![],
            what: "nothing (S → S)".into(),
            data: old.data.clone(),
        };
        failures.push(fail("(a) S → S allowed", d.rule, "none", &e, old, &[&same]));
    }
    let created_s = bench.judge(Operation::Create, old, None, base, s.version);
    let before = denials(&created_s);
    for e in pick {
        let new = corpus::object(&old.name, e.data.clone());
        let update = bench.judge(Operation::Update, &new, Some(old), base, s.version);
        let create = bench.judge(Operation::Create, &new, None, base, s.version);
        if let Some((v, p)) = [&update, &create]
            .into_iter()
            .find_map(|v| Some((v, v.findings.iter().find(|f| f.rule == PANIC)?)))
        {
            // One class per place that panics.
            let at = p.message.rsplit(" at ").next().unwrap_or_default();
            let rule = format!("{PANIC} at {at}");
            failures.push(fail("no panic on any input", &rule, e.class, e, &new, &[v]));
            continue;
        }
        let (u, c) = (denials(&update), denials(&create));
        for (rule, path) in &u {
            if !about::is_about(rule, path, e) {
                failures.push(fail(
                    "(b) denial about the edit",
                    rule,
                    e.class,
                    e,
                    &new,
                    &[&update],
                ));
            }
            if !c.contains(&(rule.clone(), path.clone())) && !update_only(rule, old, &new) {
                failures.push(fail(
                    "(c) UPDATE denial also a CREATE denial",
                    rule,
                    e.class,
                    e,
                    &new,
                    &[&update, &create],
                ));
            }
        }
        for (rule, path) in c.difference(&before) {
            if !u.contains(&(rule.clone(), path.clone())) {
                failures.push(fail(
                    "(c) what CREATE adds, UPDATE denies",
                    rule,
                    e.class,
                    e,
                    &new,
                    &[&update, &create, &created_s],
                ));
            }
        }
    }
    // A dynamic config given content where it had `eni_conf: ""` ("no
    // dynamic config"): the UPDATE adds exactly what the CREATE would.
    if old.role() == Role::Dynamic && old.eni_conf_text().is_some_and(|t| !t.is_empty()) {
        let mut empty = old.clone();
        empty.data.insert("eni_conf".into(), String::new());
        let empty = corpus::object(&old.name, empty.data);
        let content = Edit {
            class: "from-empty",
            field: "eni_conf".into(),
            keys: vec![],
            what: "eni_conf \"\" → S".into(),
            data: old.data.clone(),
        };
        for e in std::iter::once(&content).chain(pick.iter().filter(|e| e.on_eni_conf())) {
            let new = corpus::object(&old.name, e.data.clone());
            let update = bench.judge(Operation::Update, &new, Some(&empty), base, s.version);
            let create = bench.judge(Operation::Create, &new, None, base, s.version);
            if denials(&update) != denials(&create) {
                let rule = denials(&update)
                    .symmetric_difference(&denials(&create))
                    .next()
                    .map(|d| d.0.clone())
                    .unwrap_or_default();
                let mut f = fail(
                    "(c) \"\" → content: UPDATE = CREATE",
                    &rule,
                    "from-empty",
                    e,
                    &new,
                    &[&update, &create],
                );
                f.old = shown_data(&empty);
                f.edit = format!("eni_conf \"\" → E(S) where E: {}", e.what);
                failures.push(f);
            }
        }
    }
}

/// The edits judged for start number `i`: every `STRIDE`-th row of its table
/// (offset `i`, so neighbouring starts cover different rows and every row
/// is judged on many configs) and a seeded sample of the rest.
fn pick(all: Vec<Edit>, i: usize, rng: &mut Rng) -> Vec<Edit> {
    let budget = match std::env::var("PROPERTIES_EDITS").as_deref() {
        Ok("all") => return all,
        Ok(n) => n.parse().unwrap_or(PER_START),
        Err(_) => PER_START,
    };
    let mut chosen: BTreeSet<usize> = (i % STRIDE..all.len()).step_by(STRIDE).collect();
    for _ in 0..budget {
        chosen.insert(rng.below(all.len()));
    }
    chosen.into_iter().map(|j| all[j].clone()).collect()
}

#[test]
fn edits_of_configs_terway_runs_keep_the_properties() {
    let bench = Bench::load();
    let starts = corpus::starts();
    assert!(starts.len() >= 30, "only {} start configs", starts.len());
    let mut rng = Rng::new(SEED);
    let mut failures = Vec::new();
    let mut judged = 0;
    let clock = std::time::Instant::now();
    for (i, s) in starts.iter().enumerate() {
        let all = edits::all_edits(&s.new.data, s.new.role() == Role::Base);
        let chosen = pick(all, i, &mut rng);
        judged += chosen.len();
        check_start(&bench, s, &chosen, &mut failures);
    }
    eprintln!(
        "{judged} edits of {} configs judged in {:?}",
        starts.len(),
        clock.elapsed()
    );
    assert!(failures.is_empty(), "{}", report(&failures));
}
