//! The byte-keeping edits of `eni_conf` (the webhook's repeated-id patch, the
//! expand append) on texts Go's decoder reads and serde_json does not: lone
//! surrogate escapes (decode.go unquote: U+FFFD) and nesting past serde's
//! 128 and jq's 256 levels, up to Go's 10000 (scanner.go maxNestingDepth).
//! Before config::spans decoded keys as Go does and scanned without
//! recursion, both edits silently did nothing on such a text.

use serde_json::{Value, json};
use terway_guard::config::{edit, manifest};
use terway_guard::verdict;

fn cm(eni_conf: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "eni-config", "namespace": "kube-system"},
           "data": {"eni_conf": eni_conf}})
}

/// `n` nested lists around `1`.
fn nest(n: usize) -> String {
    format!("{}1{}", "[".repeat(n), "]".repeat(n))
}

/// Members that only Go reads, each placed before a `vswitches` with a
/// repeated id.
fn members() -> Vec<(&'static str, String)> {
    vec![
        ("lone high surrogate key", r#""x_\ud800": 1"#.into()),
        ("lone low surrogate key", r#""\udc00": 1"#.into()),
        (
            "lone surrogate value",
            r#""x": "\ud800\u0041\udc00""#.into(),
        ),
        ("300 levels", format!(r#""x": {}"#, nest(300))),
        (
            "10000 levels with the root",
            format!(r#""x": {}"#, nest(9_999)),
        ),
    ]
}

#[test]
fn the_repeated_id_patch_applies_to_texts_only_go_reads() {
    for (name, member) in members() {
        for key in ["vswitches", r"vswitch\u0065s"] {
            let text = format!(r#"{{{member}, "{key}": {{"z": ["vsw-a", "vsw-b", "vsw-a"]}}}}"#);
            let v = cm(&text);
            let obj = manifest::from_value(v.clone()).unwrap();
            let patch = verdict::mutation(&obj);
            let once = verdict::apply(&v, &patch).unwrap();
            let got = once["data"]["eni_conf"].as_str().unwrap();
            let want = format!(r#"{{{member}, "{key}": {{"z": ["vsw-a", "vsw-b"]}}}}"#);
            assert!(got == want, "{name}, {key}: the repeat stays");
            let again = manifest::from_value(once.clone()).unwrap();
            assert!(
                verdict::mutation(&again).0.is_empty(),
                "{name}, {key}: a second pass patches again"
            );
        }
    }
}

#[test]
fn the_expand_append_applies_to_texts_only_go_reads() {
    for (name, member) in members() {
        let text = format!(r#"{{{member}, "vswitch\u0065s": {{"z": ["vsw-a"]}}}}"#);
        let got = edit::append_vswitch(&text, "z", "vsw-new");
        let want = format!(r#"{{{member}, "vswitch\u0065s": {{"z": ["vsw-a", "vsw-new"]}}}}"#);
        assert!(got.as_deref() == Some(want.as_str()), "{name}");
    }
    // One level more than Go allows: no edit of a text Terway cannot read.
    let text = format!(r#"{{"x": {}, "vswitches": {{}}}}"#, nest(10_000));
    assert_eq!(edit::append_vswitch(&text, "z", "vsw-new"), None);
}
