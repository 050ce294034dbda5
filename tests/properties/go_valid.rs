//! Property (d): documents Go's decoders accept are never called "not valid
//! JSON", and the Go-valid edge cases every reader of `eni-config` accepts are
//! allowed.
//!
//! Readers (issue 21 D): the daemon decodes `eni_conf` with
//! k8s.io/apimachinery/pkg/util/json (sigs.k8s.io/json, a fork of
//! `encoding/json`; types/daemon/config.go MergeConfigAndUnmarshal at
//! 89aadf8), terway-init with `encoding/json` (cmd/terway-cli/node.go), and
//! hack/init.sh runs `jq '.enable_erdma' -r </etc/eni/eni_conf` under
//! `set -o errexit` (jq 1.7.1). What each accepts, from their sources:
//! - encoding/json: nesting up to 10000 (`maxNestingDepth`, scanner.go); a
//!   lone surrogate in `\uXXXX` becomes U+FFFD (decode.go `unquoteBytes`);
//!   a repeated key keeps the last value, but a type error in any
//!   occurrence fails the whole Unmarshal (decode.go `saveError`); the value
//!   of a key no struct field matches is scanned, never converted (decode.go
//!   `value`: `literalStore` only `if v.IsValid()`), so `1e400` there is fine;
//!   an integer field parses with `strconv.ParseInt` (`-0` is 0), a float32
//!   field with `strconv.ParseFloat(s, 32)` (`3.4028235e38` rounds to
//!   MaxFloat32 without error); `\/` is `/`.
//! - jq 1.7.1 src/jv_parse.c: "Exceeds depth limit for parsing" when a
//!   container opens while 256 stack entries are in use (`MAX_PARSING_DEPTH`);
//!   an object's pending key takes an entry too (`case ':'` pushes it), so
//!   nested arrays fail from depth 256 but nested objects from about 129; a
//!   high surrogate not followed by a low one is "Invalid \uXXXX\uXXXX
//!   surrogate pair escape"; a lone low surrogate is encoded as is and the
//!   invalid bytes become U+FFFD (src/jv.c `jv_string_sized`), no error.

use std::collections::BTreeMap;

use terway_guard::config::ConfigObject;
use terway_guard::rules::Operation;

use crate::Bench;
use crate::values::nest;

/// What Terway's readers make of an edge case.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Readers {
    /// Every reader decodes it and Terway runs: the guard must allow it.
    Run,
    /// Go decodes it but jq 1.7.1 in terway-init does not (errexit): a
    /// denial is due, and it must not call the document invalid JSON.
    JqFails,
    /// Go's decoder refuses it on a type (`UnmarshalTypeError`, not a
    /// `SyntaxError`: the JSON is valid): a denial is due, for the type.
    GoFails,
}

/// A config Terway runs, to which each case adds one member.
const BASE: &str = r#""max_pool_size": 5, "min_pool_size": 0, "service_cidr": "10.96.0.0/12", "vswitches": {"cn-hangzhou-g": ["vsw-xxx"]}"#;

fn cases() -> Vec<(&'static str, String, Readers)> {
    use Readers::*;
    vec![
        ("the base alone", String::new(), Run),
        ("lone low surrogate", r#""x_edge": "\udc00""#.into(), Run),
        (
            "lone low surrogate in a key",
            r#""x_\udc00": 1"#.into(),
            Run,
        ),
        ("surrogate pair", r#""x_edge": "\ud83d\ude00""#.into(), Run),
        (
            "lone high surrogate",
            r#""x_edge": "\ud800""#.into(),
            JqFails,
        ),
        (
            "lone high surrogate then text",
            r#""x_edge": "\ud800abc""#.into(),
            JqFails,
        ),
        (
            "nesting depth 200",
            format!(r#""x_edge": {}"#, nest(200)),
            Run,
        ),
        (
            "nesting depth 300",
            format!(r#""x_edge": {}"#, nest(300)),
            JqFails,
        ),
        (
            "120 nested objects",
            format!(r#""x_edge": {}"#, objects(120)),
            Run,
        ),
        (
            "140 nested objects",
            format!(r#""x_edge": {}"#, objects(140)),
            JqFails,
        ),
        ("-0 under an unknown key", r#""x_edge": -0"#.into(), Run),
        (
            "1e400 under an unknown key",
            r#""x_edge": 1e400"#.into(),
            Run,
        ),
        (
            "-1e400 under an unknown key",
            r#""x_edge": -1E+400"#.into(),
            Run,
        ),
        (
            "1e-400 under an unknown key",
            r#""x_edge": 1e-400"#.into(),
            Run,
        ),
        (
            "a 400-digit integer under an unknown key",
            format!(r#""x_edge": {}"#, "9".repeat(400)),
            Run,
        ),
        (
            "big exponents in a list",
            r#""x_edge": [1e308, 1e309, 2e-324]"#.into(),
            Run,
        ),
        ("unicode key", r#""x_ключ_鍵": "値""#.into(), Run),
        ("empty key", r#""": 1"#.into(), Run),
        ("escaped solidus", r#""x_edge": "a\/b""#.into(), Run),
        (
            "every short escape",
            r#""x_edge": "\"\\\/\b\f\n\r\t\u0000""#.into(),
            Run,
        ),
        (
            "repeated unknown key",
            r#""x_edge": 1, "x_edge": "two""#.into(),
            Run,
        ),
        (
            "repeated field, same value",
            r#""min_pool_size": 0"#.into(),
            Run,
        ),
        (
            "repeated field, both integers",
            r#""max_pool_size": 6"#.into(),
            Run,
        ),
        (
            "-0 as an integer field",
            r#""min_pool_size": -0"#.into(),
            Run,
        ),
        (
            "3.4028235e38 as a float32 field",
            r#""kube_client_qps": 3.4028235e38"#.into(),
            Run,
        ),
        (
            "escaped solidus in service_cidr",
            r#""service_cidr": "10.96.0.0\/12""#.into(),
            Run,
        ),
        (
            "repeated field, the first of the wrong type",
            r#""max_pool_size": "6", "max_pool_size": 6"#.into(),
            GoFails,
        ),
        (
            "1e400 as a float field",
            r#""eni_cap_ratio": 1e400"#.into(),
            GoFails,
        ),
        (
            "3.5e38 as a float32 field",
            r#""kube_client_qps": 3.5e38"#.into(),
            GoFails,
        ),
    ]
}

/// `depth` nested objects, each under the key `a`.
fn objects(depth: usize) -> String {
    format!("{}0{}", r#"{"a": "#.repeat(depth), "}".repeat(depth))
}

/// Whether a message says the document is not JSON at all.
pub fn calls_invalid_json(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "not valid json",
        "invalid json",
        "not json",
        "is not a json",
    ]
    .iter()
    .any(|p| m.contains(p))
}

fn base_with(eni_conf: String) -> ConfigObject {
    let data: BTreeMap<String, String> = [
        ("eni_conf".to_string(), eni_conf),
        (
            "10-terway.conf".to_string(),
            r#"{"cniVersion": "0.4.0", "name": "terway", "type": "terway"}"#.to_string(),
        ),
    ]
    .into();
    crate::corpus::object("eni-config", data)
}

#[test]
fn go_valid_documents_are_not_called_invalid_json() {
    let bench = Bench::load();
    let mut failures = Vec::new();
    for (name, member, readers) in cases() {
        let text = if member.is_empty() {
            format!("{{{BASE}}}")
        } else {
            format!("{{{BASE}, {member}}}")
        };
        let cm = base_with(text.clone());
        let v = bench.judge(Operation::Create, &cm, None, None, None);
        let mut why = Vec::new();
        if let Some(f) = v.findings.iter().find(|f| calls_invalid_json(&f.message)) {
            why.push(format!(
                "(d) [{}] calls a document Go's scanner accepts not valid JSON",
                f.rule
            ));
        }
        match readers {
            Readers::Run if !v.allowed => {
                why.push("(d) every reader accepts it and Terway runs, yet it is denied".into())
            }
            Readers::JqFails | Readers::GoFails if v.allowed => why.push(format!(
                "(d) allowed, but {} fails on it",
                if readers == Readers::JqFails {
                    "terway-init's jq 1.7.1"
                } else {
                    "Go's decoder"
                }
            )),
            _ => {}
        }
        if !why.is_empty() {
            let shown = crate::cut(&text, 300);
            failures.push(format!(
                "{name}: {}\n    eni_conf: {shown}\n      {}",
                why.join("; "),
                crate::show(&v).join("\n      ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} Go-valid edge cases misjudged:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
