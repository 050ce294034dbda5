//! The bench the properties run on: the corpus inventory, a judge that turns
//! a panic into a finding, and the failure report.

use std::collections::{BTreeMap, BTreeSet};

use terway_guard::config::{ConfigObject, Version};
use terway_guard::inventory::StaticInventory;
use terway_guard::rules::{Input, Operation, Settings};
use terway_guard::verdict::{Verdict, judge};

pub struct Bench {
    inv: StaticInventory,
}

impl Bench {
    pub fn load() -> Self {
        quiet_panics();
        Bench {
            inv: crate::terway_corpus::inventory(),
        }
    }

    pub fn judge(
        &self,
        operation: Operation,
        new: &ConfigObject,
        old: Option<&ConfigObject>,
        base: Option<&ConfigObject>,
        version: Option<Version>,
    ) -> Verdict {
        let objects = [Some(new), old, base];
        let facts = self.inv.snapshot(&terway_guard::inventory::query_for(
            objects.into_iter().flatten(),
        ));
        let settings = Settings {
            terway_version: version,
            ..Settings::default()
        };
        let input = Input {
            operation,
            new: Some(new),
            old,
            base,
            facts: Some(&facts),
            settings: &settings,
        };
        // A panic is a finding of its own ("no panics on any input"): it is
        // reported with the edit that caused it, and the run goes on.
        CATCHING.set(true);
        let verdict = std::panic::catch_unwind(|| judge(&input));
        CATCHING.set(false);
        verdict.unwrap_or_else(|_| Verdict {
            allowed: false,
            findings: vec![terway_guard::rules::Finding::deny(
                PANIC,
                &terway_guard::config::Path::root("panic"),
                PANICKED.take(),
            )],
            patch: json_patch_empty(),
        })
    }
}

/// The rule id a verdict gets when judging it panicked.
pub const PANIC: &str = "PANIC";

thread_local! {
    static CATCHING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static PANICKED: std::cell::Cell<String> = const { std::cell::Cell::new(String::new()) };
}

/// Panics inside [`Bench::judge`] are recorded, not printed; any other goes
/// to the default hook.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CATCHING.get() {
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                PANICKED.set(format!("{msg}{at}"));
            } else {
                default(info);
            }
        }));
    });
}

fn json_patch_empty() -> json_patch::Patch {
    json_patch::Patch(Vec::new())
}

/// One broken property, with what it takes to reproduce it.
pub struct Failure {
    pub property: &'static str,
    pub rule: String,
    pub class: &'static str,
    pub start: String,
    pub old: String,
    pub edit: String,
    pub new: String,
    pub findings: Vec<String>,
    /// The field or data key edited.
    pub field: String,
}

impl Failure {
    fn key(&self) -> (&'static str, String, &'static str) {
        (self.property, self.rule.clone(), self.class)
    }
}

pub fn show(v: &Verdict) -> Vec<String> {
    v.findings
        .iter()
        .map(|f| {
            format!(
                "{} [{}] {}: {}",
                if f.is_deny() { "DENY" } else { "warn" },
                f.rule,
                f.path,
                f.message
            )
        })
        .collect()
}

/// `s`, or its first `n` characters and how long it was.
pub fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!(
            "{}… ({} bytes)",
            s.chars().take(n).collect::<String>(),
            s.len()
        )
    }
}

pub fn shown_data(o: &ConfigObject) -> String {
    let mut s = String::new();
    for (k, v) in &o.data {
        let v = cut(v, 400);
        s.push_str(&format!("\n        {k}: {v}"));
    }
    s
}

/// Failures grouped by (property, rule, edit class), the smallest examples
/// of each first, a few per group: enough to see the cause, not a flood.
pub fn report(failures: &[Failure]) -> String {
    // `PROPERTIES_EXAMPLES=N` shows more of each class.
    let examples = std::env::var("PROPERTIES_EXAMPLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let mut groups: BTreeMap<_, Vec<&Failure>> = BTreeMap::new();
    for f in failures {
        groups.entry(f.key()).or_default().push(f);
    }
    let mut out = format!(
        "{} property failures in {} classes\n",
        failures.len(),
        groups.len()
    );
    for ((property, rule, class), mut list) in groups {
        list.sort_by_key(|f| f.new.len() + f.old.len());
        let fields: BTreeSet<&str> = list.iter().map(|f| f.field.as_str()).collect();
        out.push_str(&format!(
            "\n== property {property}, rule {rule}, {class} edits: {} (fields: {:?})\n",
            list.len(),
            fields
        ));
        for f in list.iter().take(examples) {
            out.push_str(&format!(
                "  - start {:?}\n    S:{}\n    E: {}\n    E(S):{}\n    findings:\n      {}\n",
                f.start,
                f.old,
                f.edit,
                f.new,
                f.findings.join("\n      ")
            ));
        }
    }
    out
}
