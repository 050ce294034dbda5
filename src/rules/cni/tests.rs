use std::collections::BTreeSet;

use super::check;
use crate::rules::testing::*;
use crate::rules::{Finding, Severity};

pub(super) const TERWAY: &str = r#"{"cniVersion":"0.4.0","name":"terway","type":"terway"}"#;

/// (severity, path, a piece of the message naming the reader or its error)
pub(super) type Want = (Severity, &'static str, &'static str);
pub(super) const D: Severity = Severity::Deny;
pub(super) const W: Severity = Severity::Warn;

fn judge(data: &[(&str, &str)], old: Option<&[(&str, &str)]>) -> Vec<Finding> {
    let cm = base_with(data);
    let old = old.map(base_with);
    let mut out = Vec::new();
    check(&cm, old.as_ref(), &mut out);
    out
}

#[track_caller]
fn assert_findings(what: &str, got: &[Finding], want: &[Want]) {
    let paths = |fs: Vec<(Severity, String)>| fs.into_iter().collect::<BTreeSet<_>>();
    assert_eq!(
        paths(got.iter().map(|f| (f.severity, f.path.clone())).collect()),
        paths(want.iter().map(|(s, p, _)| (*s, p.to_string())).collect()),
        "{what}: {got:#?}"
    );
    for (s, p, piece) in want {
        let f = got
            .iter()
            .find(|f| f.severity == *s && f.path == *p)
            .unwrap();
        assert!(f.message.contains(piece), "{what}: {p}: {}", f.message);
    }
}

/// One conf (or conflist) text per case, judged alone.
#[track_caller]
pub(super) fn table(key: &str, cases: &[(&str, &[Want])]) {
    for (text, want) in cases {
        let data: Vec<(&str, &str)> = if key == "10-terway.conf" {
            vec![("10-terway.conf", *text)]
        } else {
            vec![("10-terway.conf", TERWAY), (key, *text)]
        };
        let got: Vec<Finding> = judge(&data, Some(&data))
            .into_iter()
            .filter(|f| !f.subject.starts_with("unused"))
            .collect();
        assert_findings(text, &got, want);
    }
}

pub(super) const CONF: &str = r#"data["10-terway.conf"]"#;

#[test]
fn a_missing_conf_blocks_only_its_removal() {
    let without = base_with(&[("eni_conf", "{}")]);
    let with = base_with(&[("eni_conf", "{}"), ("10-terway.conf", TERWAY)]);
    let f = update(&with, &without);
    assert_denies(&f, &["cni-conf"]);
    assert!(message(&f, "cni-conf").contains("removes"));
    let f = update(&without, &without);
    assert_denies(&f, &[]);
    assert_warns(&f, &["cni-conf"]);
}

#[test]
fn removing_the_unused_conf_beside_a_conflist_is_denied() {
    // The old object's "not used" warning must not soften the removal.
    let list = r#"{"plugins":[{"type":"terway"}]}"#;
    let old = base_with(&[
        ("eni_conf", "{}"),
        ("10-terway.conf", "left over"),
        ("10-terway.conflist", list),
    ]);
    let new = base_with(&[("eni_conf", "{}"), ("10-terway.conflist", list)]);
    let f = update(&old, &new);
    assert_denies(&f, &["cni-conf"]);
    assert!(message(&f, "cni-conf").contains("must exist"));
}

#[test]
fn a_broken_plugin_the_edit_keeps_does_not_block_it() {
    let bad = r#"{"type":"terway","mtu":"1500"}"#;
    let old = base_with(&[("eni_conf", "{}"), ("10-terway.conf", bad)]);
    let new = base_with(&[
        ("eni_conf", r#"{"max_pool_size":5}"#),
        ("10-terway.conf", bad),
    ]);
    let f = update(&old, &new);
    assert_denies(&f, &[]);
    // The same key newly failing in another reader is this edit's.
    let worse = r#"{"type":"terway","mtu":"1500","capabilities":{"bandwidth":"yes"}}"#;
    let new = base_with(&[("eni_conf", "{}"), ("10-terway.conf", worse)]);
    let f = update(&old, &new);
    assert_denies(&f, &["cni-conf"]);
    assert!(message(&f, "cni-conf").contains("libcni"));
}

#[test]
fn messages_name_the_last_segment() {
    let cases = [
        ("data.x.mtu", "mtu"),
        (r#"data["10-terway.conf"].plugins[1]"#, "[1]"),
        (
            r#"a.b["cni.dev/valid-attachments"]"#,
            r#"["cni.dev/valid-attachments"]"#,
        ),
        ("plain", "plain"),
    ];
    for (path, want) in cases {
        assert_eq!(super::last_segment(path), want, "{path}");
    }
}

#[test]
fn the_cni_text_is_decoded_as_go_decodes_it() {
    // gabs.ParseJSON is encoding/json into interface{}: Go's syntax, a lone
    // surrogate read as U+FFFD, every number a float64.
    table(
        "10-terway.conf",
        &[
            (r#"{"type":"terway","name":"\ud800x"}"#, &[]),
            (r#"{"type":"terway","mtu":-0}"#, &[]),
            (
                r#"{"type":"terway","x_unused":1e400}"#,
                &[(D, CONF, "beyond float64 range")],
            ),
            (
                r#"{"type":"terway",}"#,
                &[(D, CONF, "is not valid JSON at line 1")],
            ),
        ],
    );
}
