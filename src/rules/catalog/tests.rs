//! The drift test of docs/rules.md: the rule tables are generated from
//! [`RULES`] so the documentation cannot fall behind the registry.

use super::*;

/// The rule tables of docs/rules.md, generated so they cannot drift: the rules backed
/// by a Terway failure or reinterpretation, then terway-guard's own controls.
fn markdown_table() -> String {
    const HEAD: &str = "| rule | severity | what | why | Terway source |\n|---|---|---|---|---|\n";
    let row = |r: &Rule| {
        format!(
            "| `{}` | {} | {} | {} | {} |\n",
            r.id, r.severity, r.what, r.why, r.source
        )
    };
    let mut out = String::from(HEAD);
    for r in RULES.iter().filter(|r| !OWN_CONTROLS.contains(&r.id)) {
        out.push_str(&row(r));
    }
    out.push_str("\n#### Own controls\n\nThese deny although no Terway component fails: terway-guard's own controls, each with its reason.\n\n");
    out.push_str(HEAD);
    for r in RULES.iter().filter(|r| OWN_CONTROLS.contains(&r.id)) {
        out.push_str(&row(r));
    }
    out
}

#[test]
fn ids_are_unique_and_the_readme_table_is_current() {
    let mut seen = std::collections::HashSet::new();
    for rule in RULES {
        assert!(seen.insert(rule.id), "duplicate id {}", rule.id);
        let denies = rule.severity.starts_with("deny");
        assert!(
            !denies || !rule.source.starts_with('—') || OWN_CONTROLS.contains(&rule.id),
            "deny rule {} names no Terway code path",
            rule.id
        );
        assert!(
            !OWN_CONTROLS.contains(&rule.id) || (denies && rule.source.starts_with("— (")),
            "own control {} must deny and give its reason after \"—\"",
            rule.id
        );
    }
    for own in OWN_CONTROLS {
        assert!(RULES.iter().any(|r| r.id == *own), "{own} is not in RULES");
    }
    let readme = include_str!("../../../docs/rules.md");
    let table = markdown_table();
    assert!(
        readme.contains(&table),
        "docs/rules.md's rule table is out of date; replace it with:\n{table}"
    );
}
