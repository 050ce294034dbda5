//! Property tests that need no oracle (issue 21): for every corpus config S
//! Terway runs (tests/terway/*.yaml) and many generated single-field edits
//! E(S) (tests/properties/edits.rs):
//!
//! (a) `S → S` (an UPDATE that changes nothing) is allowed, and so is `S`
//!     written another way Go reads the same (compact, pretty, keys
//!     reordered, `\/`, `\uXXXX` escapes), whose CREATE denies what the
//!     CREATE of `S` denies;
//! (b) every denial of `S → E(S)` is about the edited field or names a reason
//!     of the whole document (tests/properties/about.rs defines "about");
//! (c) CREATE and UPDATE agree on what the edit adds: a denial of the UPDATE
//!     `S → E(S)` is also one of the CREATE of `E(S)` (but for the UPDATE-only
//!     controls below), and a denial the CREATE of `E(S)` raises that the
//!     CREATE of `S` does not is raised by the UPDATE too; the same for a
//!     dynamic config going from `eni_conf: ""` to content;
//! (d) no finding calls a document Go's `encoding/json` accepts "not valid
//!     JSON" (tests/properties/go_valid.rs);
//! and on every judged edit: nothing panics, and no finding echoes a value
//! written to a secret key (DESIGN.md).
//!
//! Deterministic: the edits come from tables and a seeded generator. The
//! default sample keeps a debug run well under 30 s; `PROPERTIES_EDITS=all`
//! runs every edit of the table, `PROPERTIES_EDITS=N` N more per config at
//! random; `PROPERTIES_EXAMPLES=N` prints N examples of each failure class.

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
#[path = "properties/reencode.rs"]
mod reencode;
#[path = "common/corpus.rs"]
mod terway_corpus;
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
fn update_only(rule: &str, path: &str, old: &ConfigObject, new: &ConfigObject) -> bool {
    match rule {
        "service-cidr-change" | "zone-budget" => true,
        // Only for a vSwitch this object's own `eni_conf` adds: a dynamic
        // config is not answerable for the base's vSwitches (issue 21 A2).
        "vswitch-prefix" => {
            let ids = |o: &ConfigObject| -> Vec<(String, String)> {
                o.eni_conf()
                    .map(|c| {
                        c.vswitches()
                            .iter()
                            .map(|l| (l.id.clone(), l.path().as_str().to_string()))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let before = ids(old);
            ids(new)
                .iter()
                .any(|(id, at)| at == path && !before.iter().any(|(b, _)| b == id))
        }
        // Only the switch of mode; `"CRD"` is denied on CREATE as well.
        "ipam-type" => mode(old) != mode(new),
        _ => false,
    }
}

fn mode(o: &ConfigObject) -> Option<String> {
    o.eni_conf()
        .map(|c| c.str("ipam_type").unwrap_or("").to_string())
}

/// What one pair (old, new) is judged on: the properties it holds to.
struct Pair<'a> {
    start: &'a Start,
    old: &'a ConfigObject,
    /// The CREATE of `old`.
    before: &'a Verdict,
    /// Check (b) too (not for a whole new `eni_conf`).
    about: bool,
    /// Label for the failure's edit.
    label: String,
}

/// Judges `old → E` as UPDATE and `E` as CREATE against (b) and (c).
fn check_pair(bench: &Bench, p: &Pair, e: &Edit, failures: &mut Vec<Failure>) {
    let (s, old, base) = (p.start, p.old, p.start.base.as_ref());
    let new = corpus::object(&old.name, e.data.clone());
    let update = bench.judge(Operation::Update, &new, Some(old), base, s.version);
    let create = bench.judge(Operation::Create, &new, None, base, s.version);
    let fail = |property, rule: &str, v: &[&Verdict]| Failure {
        property,
        rule: rule.to_string(),
        class: e.class,
        start: s.name.clone(),
        old: shown_data(old),
        edit: p.label.clone(),
        new: shown_data(&new),
        field: e.field.clone(),
        findings: v
            .iter()
            .zip(["UPDATE ", "CREATE E ", "CREATE S "])
            .flat_map(|(v, op)| show(v).into_iter().map(move |l| format!("{op}{l}")))
            .collect(),
    };
    if let Some((v, f)) = [&update, &create]
        .into_iter()
        .find_map(|v| Some((v, v.findings.iter().find(|f| f.rule == PANIC)?)))
    {
        // One class per place that panics.
        let at = f.message.rsplit(" at ").next().unwrap_or_default();
        failures.push(fail(
            "no panic on any input",
            &format!("{PANIC} at {at}"),
            &[v],
        ));
        return;
    }
    // Every generated eni_conf is well-formed JSON (RFC 8259) no deeper than
    // Go's 10000 levels, so Go's scanner accepts it: (d) on every edit.
    if e.on_eni_conf()
        && let Some(f) = [&update, &create]
            .into_iter()
            .flat_map(|v| &v.findings)
            .find(|f| f.path.starts_with("eni_conf") && go_valid::calls_invalid_json(&f.message))
    {
        failures.push(fail(
            "(d) Go-valid eni_conf called invalid JSON",
            f.rule,
            &[&update, &create],
        ));
    }
    // DESIGN.md: inline credentials never reach a message.
    if let Some(f) = [&update, &create]
        .into_iter()
        .flat_map(|v| &v.findings)
        .find(|f| {
            f.message.contains(values::SECRET_MARKER) || f.path.contains(values::SECRET_MARKER)
        })
    {
        failures.push(fail("secrets never echoed", f.rule, &[&update, &create]));
    }
    let (u, c) = (denials(&update), denials(&create));
    for (rule, path) in &u {
        if p.about && !about::is_about(rule, path, e) {
            failures.push(fail("(b) denial about the edit", rule, &[&update]));
        }
        if !c.contains(&(rule.clone(), path.clone())) && !update_only(rule, path, old, &new) {
            failures.push(fail(
                "(c) UPDATE denial also a CREATE denial",
                rule,
                &[&update, &create],
            ));
        }
    }
    for (rule, path) in c.difference(&denials(p.before)) {
        if !u.contains(&(rule.clone(), path.clone())) {
            failures.push(fail(
                "(c) what CREATE adds, UPDATE denies",
                rule,
                &[&update, &create, p.before],
            ));
        }
    }
}

/// Judges one start config and its edits against (a), (b) and (c).
fn check_start(bench: &Bench, s: &Start, pick: &[Edit], failures: &mut Vec<Failure>) {
    let base = s.base.as_ref();
    let old = &s.new;
    let same = bench.judge(Operation::Update, old, Some(old), base, s.version);
    if let Some(d) = same.denials().next() {
        failures.push(Failure {
            property: "(a) S → S allowed",
            rule: d.rule.to_string(),
            class: "none",
            start: s.name.clone(),
            old: shown_data(old),
            edit: "nothing (S → S)".into(),
            new: shown_data(old),
            findings: show(&same),
            field: String::new(),
        });
    }
    let created_s = bench.judge(Operation::Create, old, None, base, s.version);
    let before = denials(&created_s);
    // (a) holds for S written any way Go reads the same: the UPDATE is
    // allowed and the CREATE denies exactly what the CREATE of S denies.
    for (how, data) in reencode::reencodings(&old.data) {
        let same = corpus::object(&old.name, data);
        let update = bench.judge(Operation::Update, &same, Some(old), base, s.version);
        let create = bench.judge(Operation::Create, &same, None, base, s.version);
        let created = denials(&create);
        let broken = update
            .denials()
            .next()
            .map(|d| d.rule.to_string())
            .or_else(|| {
                created
                    .symmetric_difference(&before)
                    .next()
                    .map(|d| d.0.clone())
            });
        if let Some(rule) = broken {
            failures.push(Failure {
                property: "(a) S → S re-encoded allowed, CREATE unchanged",
                rule,
                class: "re-encode",
                start: s.name.clone(),
                old: shown_data(old),
                edit: format!("eni_conf re-encoded: {how}"),
                new: shown_data(&same),
                findings: [("UPDATE ", &update), ("CREATE E ", &create)]
                    .into_iter()
                    .flat_map(|(op, v)| show(v).into_iter().map(move |l| format!("{op}{l}")))
                    .collect(),
                field: "eni_conf".into(),
            });
        }
    }
    for e in pick {
        let pair = Pair {
            start: s,
            old,
            before: &created_s,
            about: true,
            label: e.what.clone(),
        };
        check_pair(bench, &pair, e, failures);
    }
    // A dynamic config given content where it had `eni_conf: ""` ("no
    // dynamic config"): the UPDATE adds exactly what the CREATE would.
    if old.role() == Role::Dynamic && old.eni_conf_text().is_some_and(|t| !t.is_empty()) {
        let mut data = old.data.clone();
        data.insert("eni_conf".into(), String::new());
        let empty = corpus::object(&old.name, data);
        let before = bench.judge(Operation::Create, &empty, None, base, s.version);
        let content = Edit {
            base: false,
            class: "from-empty",
            field: "eni_conf".into(),
            keys: vec!["eni_conf".into()],
            what: "S".into(),
            data: old.data.clone(),
        };
        for e in std::iter::once(&content).chain(pick.iter().filter(|e| e.on_eni_conf())) {
            let e = Edit {
                class: "from-empty",
                ..e.clone()
            };
            let label = format!("eni_conf \"\" → E(S) where E: {}", e.what);
            let pair = Pair {
                start: s,
                old: &empty,
                before: &before,
                about: false,
                label,
            };
            check_pair(bench, &pair, &e, failures);
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
    if all.is_empty() {
        // A start whose eni_conf is not an object (`null`) has no fields to edit.
        return all;
    }
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

#[test]
fn update_only_exempts_only_what_the_update_itself_adds() {
    let obj = |name: &str, eni_conf: &str| {
        corpus::object(
            name,
            [("eni_conf".to_string(), eni_conf.to_string())].into(),
        )
    };
    let h24 = r#"eni_conf.vswitches["cn-hangzhou-h"][0]"#;
    let empty = obj("eni-config-node1", "");
    let own = obj(
        "eni-config-node1",
        r#"{"vswitches": {"cn-hangzhou-h": ["vsw-h24"]}}"#,
    );
    let other = obj("eni-config-node1", r#"{"max_pool_size": 5}"#);
    let crd = obj("eni-config", r#"{"ipam_type": "crd"}"#);
    let legacy = obj("eni-config", "{}");
    let cases = [
        ("vswitch-prefix", h24, &empty, &own, true),
        // The base's vSwitch, at the same path of the merged document.
        ("vswitch-prefix", h24, &empty, &other, false),
        ("vswitch-prefix", h24, &own, &own, false),
        ("ipam-type", "eni_conf.ipam_type", &legacy, &crd, true),
        ("ipam-type", "eni_conf.ipam_type", &crd, &crd, false),
        (
            "service-cidr-change",
            "eni_conf.service_cidr",
            &legacy,
            &crd,
            true,
        ),
        ("pool-order", "eni_conf.min_pool_size", &legacy, &crd, false),
    ];
    for (rule, path, old, new, want) in cases {
        assert_eq!(update_only(rule, path, old, new), want, "{rule} {path}");
    }
}
