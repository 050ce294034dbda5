//! Rules on single `eni_conf` fields: Go types, names, versions, inline credentials.

use serde_json::Value;

use super::{Finding, id};
use crate::config::fields::{self, Keys, Kind};
use crate::config::path::{quote, quote_short};
use crate::config::{ENI_CONF, EniConf, Path, Role, Version};

/// Checks on the document as the user wrote it.
pub(super) fn check(conf: &EniConf, role: Role, version: Option<Version>, out: &mut Vec<Finding>) {
    types_and_names(conf, role, version, out);
    super::eni_create::security_group_ids(conf, out);
    super::eni_create::eni_tags(conf, out);
    for field in ["access_key", "access_secret"] {
        if let Some(e) = conf.get(field)
            && e.value.as_str().is_some_and(|s| !s.is_empty())
        {
            out.push(Finding::warn(
                id::INLINE_CREDENTIALS,
                &e.path(),
                format!("{field} is set in the ConfigMap, readable by anyone who can read kube-system ConfigMaps; prefer credential_path or RRSA"),
            ));
        }
    }
}

fn types_and_names(conf: &EniConf, role: Role, version: Option<Version>, out: &mut Vec<Finding>) {
    let root = Path::root(ENI_CONF);
    // Unknown keys cost a did-you-mean each: describe the first few, count
    // the rest, so a document of junk keys costs little.
    let mut unknown = 0usize;
    for (key, value) in conf.doc() {
        // Each key is looked up once: exactly, then (only if that misses)
        // case-insensitively.
        let exact = fields::lookup(key);
        let folded = exact.or_else(|| fields::lookup_ignoring_case(key));
        if folded.is_none() && fields::removed(key).is_none() {
            unknown += 1;
            if unknown > super::MAX_PER_RULE {
                continue;
            }
        }
        // Built only when there is something to say about the key.
        let path = || root.key(key);
        let secret = || fields::looks_secret(key);
        // Earlier repeats fail the base's decoders; in a dynamic config
        // json-patch's MergePatch keeps only the last one before the daemon's
        // typed decode (evanphx/json-patch v5.6.0 merge.go, into Go maps), so
        // only what the last occurrence holds (an overflow) reaches it.
        let hidden = || {
            conf.hidden_under(key).filter(move |(steps, h)| {
                role == Role::Base || fields::survives_map_decode(value, steps, h)
            })
        };
        if let Some(field) = exact {
            if let Some(m) = field.kind.mismatch_with(value, hidden(), path, Keys::Exact) {
                out.push(type_finding(&m, field.secret || secret(), "the daemon (k8s.io/apimachinery/pkg/util/json, types/daemon/config.go) refuses it and Terway does not start"));
            } else if role == Role::Base
                && let Some(m) = field.kind.mismatch_with(value, hidden(), path, Keys::Fold)
            {
                out.push(type_finding(&m, field.secret || secret(), "terway-init decodes eni-config with encoding/json, which matches keys case-insensitively (cmd/terway-cli/node.go), and fails on it"));
            }
            if let (Some(since), Some(running)) = (field.since, version)
                && running < since
            {
                out.push(Finding::warn(
                    id::FIELD_VERSION,
                    &path(),
                    format!("{key} is read by Terway {since} and later; the cluster runs Terway {running}, which ignores it until it is upgraded"),
                ));
            }
            continue;
        }
        if let Some(field) = folded {
            out.push(Finding::warn(
                id::FIELD_CASE,
                &path(),
                format!(
                    "{} is ignored: the daemon matches keys exactly (k8s.io/apimachinery/pkg/util/json), so only {} is read; rename it",
                    quote_short(key, 60),
                    quote(field.name)
                ),
            ));
            if role == Role::Base
                && let Some(m) = field.kind.mismatch_with(value, hidden(), path, Keys::Fold)
            {
                out.push(type_finding(&m, field.secret || secret(), &format!("terway-init decodes eni-config with encoding/json, which reads this key as {} (cmd/terway-cli/node.go), and fails on it", field.name)));
            }
            continue;
        }
        if let Some(gone) = fields::removed(key) {
            out.push(Finding::warn(
                id::UNKNOWN_FIELD,
                &path(),
                format!("{key} was removed in Terway {gone} and is ignored; delete it"),
            ));
            continue;
        }
        let hint = fields::suggest(key)
            .map(|s| format!(" Did you mean {s:?}?"))
            .unwrap_or_default();
        out.push(Finding::warn(
            id::UNKNOWN_FIELD,
            &path(),
            format!(
                "{} is not a field Terway knows, so it is ignored.{hint}",
                quote_short(key, 60)
            ),
        ));
    }
    if unknown > super::MAX_PER_RULE {
        out.push(
            Finding::warn(
                id::UNKNOWN_FIELD,
                &root,
                format!(
                    "… and {} more keys Terway does not know",
                    unknown - super::MAX_PER_RULE
                ),
            )
            .about("more:unknown-field"),
        );
    }
}

fn type_finding(m: &fields::Mismatch, secret: bool, why: &str) -> Finding {
    let got = m.got;
    let shown = match m.literal {
        _ if secret => crate::config::eni_conf::type_name(got).to_string(),
        Some(literal) => format!(
            "the number {}, beyond float64 range (strconv.ParseFloat: value out of range)",
            quote_short(literal, 40)
        ),
        None => describe(got),
    };
    let fix = match (m.want, got) {
        (Kind::Int | Kind::Float | Kind::Float32, Value::String(s))
            if s.trim().parse::<f64>().is_ok() =>
        {
            format!("; write {} without quotes", s.trim())
        }
        (Kind::Bool, Value::String(s)) if s == "true" || s == "false" => {
            format!("; write {s} without quotes")
        }
        (Kind::Int, Value::Number(n)) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
            "; write a whole number without a fraction or exponent".to_string()
        }
        (Kind::Struct(members), _) => format!(
            "; write an object with {}",
            members
                .iter()
                .map(|m| quote(m.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => String::new(),
    };
    // Go decodes every occurrence of a repeated key and keeps the first
    // type error (encoding/json decode.go saveError), though the last wins.
    let which = if m.earlier {
        " in an earlier occurrence of this repeated key"
    } else {
        ""
    };
    Finding::deny(
        id::FIELD_TYPE,
        &m.path,
        format!(
            "{} must be {}, got {shown}{which}; {why}{fix}",
            m.path,
            m.want.describe()
        ),
    )
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string {}", quote_short(s, 40)),
        Value::Number(n) => format!("the number {n}"),
        Value::Bool(b) => format!("{b}"),
        other => crate::config::eni_conf::type_name(other).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Version;
    use crate::rules::testing::*;
    use crate::rules::{Input, Operation, Settings, evaluate};

    #[test]
    fn field_rules() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (r#"{"max_pool_size": 5}"#, &[], &[]),
            (r#"{"max_pool_size": "80"}"#, &["field-type"], &[]),
            (r#"{"max_pool_size": 8.5}"#, &["field-type"], &[]),
            (r#"{"enable_erdma": "true"}"#, &["field-type"], &[]),
            (r#"{"vswitches": {"cn-a": "vsw-1"}}"#, &["field-type"], &[]),
            (r#"{"eni_cap_ratio": 0.5, "kube_client_qps": 20}"#, &[], &[]),
            (r#"{"max_pool_sise": 5}"#, &[], &["unknown-field"]),
            (r#"{"eni_cap_policy": "x"}"#, &[], &["unknown-field"]),
            (r#"{"Max_Pool_Size": 5}"#, &[], &["field-case"]),
            // Go's decoders, not serde_json: an earlier wrong-typed repeat
            // fails (saveError); -0 is an int; float32 rounds before it
            // overflows; 1e400 fails a float64 only.
            (
                r#"{"max_pool_size": "5", "max_pool_size": 5}"#,
                &["field-type"],
                &[],
            ),
            (r#"{"max_pool_size": 5, "max_pool_size": 6}"#, &[], &[]),
            (r#"{"eni_tags": {"a": 1, "a": "x"}}"#, &["field-type"], &[]),
            (r#"{"max_pool_size": -0}"#, &[], &[]),
            (r#"{"max_pool_size": -0.0}"#, &["field-type"], &[]),
            (r#"{"kube_client_qps": 3.4028235e38}"#, &[], &[]),
            (r#"{"kube_client_qps": 3.5e38}"#, &["field-type"], &[]),
            (r#"{"eni_cap_ratio": 1e400}"#, &["field-type"], &[]),
            (r#"{"eni_cap_ratio": 1e308}"#, &[], &[]),
            (r#"{"junk": 1e400}"#, &[], &["unknown-field"]),
            (
                r#"{"backoff_override": {"x": {"Factor": 1e400}}}"#,
                &["field-type"],
                &[],
            ),
            // terway-init folds keys by Unicode rules: ſ is s, K is k.
            (
                r#"{"max_pool_\u017fize": "5"}"#,
                &["field-type"],
                &["field-case"],
            ),
            (r#"{"\u212aube_client_burst": 5}"#, &[], &["field-case"]),
            (
                r#"{"Max_Pool_Size": "5"}"#,
                &["field-type"],
                &["field-case"],
            ),
            (
                r#"{"eni_tag_block_list": [{"key": "k", "value": "v"}]}"#,
                &[],
                &[],
            ),
            (r#"{"eni_tag_block_list": ["k=v"]}"#, &["field-type"], &[]),
            (r#"{"extra_routes": [{"dst": "10.0.0.0/8"}]}"#, &[], &[]),
            (r#"{"extra_routes": [{"DST": 1}]}"#, &["field-type"], &[]),
            (
                r#"{"backoff_override": {"eni_ops": {"Duration": "1s"}}}"#,
                &["field-type"],
                &[],
            ),
            (
                r#"{"security_group": "sg-abc123", "security_groups": ["sg-def456"]}"#,
                &[],
                &[],
            ),
            (r#"{"security_group": "sgabc"}"#, &["security-group"], &[]),
            (
                r#"{"security_groups": ["sg-1","sg-2","sg-3","sg-4","sg-5","sg-6","sg-7","sg-8","sg-9","sg-10","sg-11"]}"#,
                &["security-group"],
                &[],
            ),
            (
                r#"{"security_group": "sg-1", "security_groups": ["sg-1","sg-2","sg-3","sg-4","sg-5","sg-6","sg-7","sg-8","sg-9","sg-10"]}"#,
                &[],
                &[],
            ),
            (
                r#"{"security_group": "sg-0", "security_groups": ["sg-1","sg-2","sg-3","sg-4","sg-5","sg-6","sg-7","sg-8","sg-9","sg-10"]}"#,
                &["security-group"],
                &[],
            ),
            (r#"{"eni_tags": {"team": "net"}}"#, &[], &[]),
            (r#"{"eni_tags": {"creator": "me"}}"#, &[], &["eni-tags"]),
            (r#"{"eni_tags": {"aliyun-x": "y"}}"#, &["eni-tags"], &[]),
            (r#"{"eni_tags": {"acs:x": "y"}}"#, &["eni-tags"], &[]),
            (r#"{"eni_tags": {"": "y"}}"#, &["eni-tags"], &[]),
            (
                r#"{"access_key": "AKID1234", "access_secret": "s3cr3t-value"}"#,
                &[],
                &["inline-credentials"],
            ),
        ];
        assert_base_cases(cases);
        let long_tag = format!(r#"{{"eni_tags": {{"k": "{}"}}}}"#, "v".repeat(129));
        assert_denies(&create(&base(&long_tag)), &["eni-tags"]);
        let tags: Vec<String> = (0..20).map(|i| format!("\"t{i}\": \"v\"")).collect();
        let many = format!(r#"{{"eni_tags": {{{}}}}}"#, tags.join(","));
        assert_denies(&create(&base(&many)), &["eni-tags"]);
    }

    #[test]
    fn junk_keys_cost_little_and_say_little() {
        let keys: Vec<String> = (0..5000).map(|i| format!("\"junk_{i}\": {i}")).collect();
        let f = create(&base(&format!("{{{}}}", keys.join(","))));
        let unknown: Vec<_> = f.iter().filter(|f| f.rule == "unknown-field").collect();
        assert_eq!(unknown.len(), 21, "20 explained and one count");
        assert!(
            unknown[20].message.contains("4980 more"),
            "{:?}",
            unknown[20]
        );
        let tags: Vec<String> = (0..300).map(|i| format!("\"aliyun{i}\": \"v\"")).collect();
        let f = create(&base(&format!(r#"{{"eni_tags": {{{}}}}}"#, tags.join(","))));
        let denied: Vec<_> = f.iter().filter(|f| f.rule == "eni-tags").collect();
        assert_eq!(denied.len(), 21, "{denied:#?}");
        assert!(denied[20].message.contains("more eni-tags findings"));
    }

    #[test]
    fn case_variants_only_break_the_base() {
        let f = create(&dynamic("x", r#"{"Max_Pool_Size": "5"}"#));
        assert_denies(&f, &[]);
        assert_warns(&f, &["field-case"]);
    }

    #[test]
    fn repeats_only_break_the_base() {
        // MergePatch decodes a dynamic config into Go maps first, which keep
        // the last repeat (evanphx/json-patch merge.go); a float64 overflow
        // still reaches the daemon's typed decode.
        let f = create(&dynamic(
            "x",
            r#"{"max_pool_size": "5", "max_pool_size": 5}"#,
        ));
        assert_denies(&f, &[]);
        let f = create(&base(r#"{"max_pool_size": "5", "max_pool_size": 5}"#));
        assert!(
            message(&f, "field-type").contains("earlier occurrence"),
            "{f:#?}"
        );
        let f = create(&dynamic("x", r#"{"eni_cap_ratio": 1e400}"#));
        assert_denies(&f, &["field-type"]);
        assert!(message(&f, "field-type").contains("1e400"), "{f:#?}");
        // An overflow reaches the daemon only from the occurrence MergePatch
        // keeps, the last one, at any depth.
        // (dynamic eni_conf, whether its last occurrence overflows)
        let cases = [
            (r#"{"eni_cap_ratio": 1e400, "eni_cap_ratio": 1}"#, false),
            (r#"{"eni_cap_ratio": 1, "eni_cap_ratio": 1e400}"#, true),
            (r#"{"eni_cap_ratio": 1e400, "eni_cap_ratio": 2e400}"#, true),
            (
                r#"{"backoff_override": {"x": {"Factor": 1e400, "Factor": 2}}}"#,
                false,
            ),
            (
                r#"{"backoff_override": {"x": {"Factor": 1e400}}, "backoff_override": {}}"#,
                false,
            ),
            (
                r#"{"backoff_override": {"x": {"Factor": 2, "Factor": 1e400}}}"#,
                true,
            ),
        ];
        for (conf, overflows) in cases {
            let deny: &[&str] = if overflows { &["field-type"] } else { &[] };
            assert_denies(&create(&dynamic("x", conf)), deny);
            // The base's own decoders read every occurrence.
            assert_denies(&create(&base(conf)), &["field-type"]);
        }
    }

    #[test]
    fn versions_shape_the_verdict() {
        let judge = |conf: &str, v: Option<Version>| {
            let settings = Settings {
                terway_version: v,
                ..Settings::default()
            };
            let cm = base(conf);
            evaluate(&Input {
                operation: Operation::Create,
                new: Some(&cm),
                old: None,
                base: None,
                facts: None,
                settings: &settings,
            })
        };
        let old = Some(Version::new(1, 13, 4));
        let new = Some(Version::new(1, 17, 1));
        let f = judge(r#"{"ip_warm_up_size": 5}"#, old);
        assert_warns(&f, &["field-version"]);
        assert!(message(&f, "field-version").contains("v1.16.4"));
        assert_warns(&judge(r#"{"ip_warm_up_size": 5}"#, new), &[]);
        assert_warns(&judge(r#"{"ip_warm_up_size": 5}"#, None), &[]);
        let six = r#"{"security_groups": ["sg-1","sg-2","sg-3","sg-4","sg-5","sg-6"]}"#;
        assert_denies(&judge(six, old), &["security-group"]);
        assert_denies(&judge(six, new), &[]);
    }

    #[test]
    fn messages_name_the_value_and_the_fix() {
        let f = create(&base(r#"{"max_pool_size": "80", "vswitchs": {}}"#));
        assert!(message(&f, "field-type").contains("write 80 without quotes"));
        assert!(message(&f, "unknown-field").contains("Did you mean \"vswitches\""));
        let f = create(&base(r#"{"extra_routes": [{"dst": 5}]}"#));
        assert!(
            message(&f, "field-type")
                .contains("eni_conf.extra_routes[0].dst must be a string, got the number 5")
        );
    }

    #[test]
    fn secret_values_are_never_echoed() {
        let f = create(&base(
            r#"{"access_key": 12345678, "acess_secret": "TOPSECRETVALUE", "Access_Secret": 87654321}"#,
        ));
        for finding in &f {
            assert!(!finding.message.contains("12345678"), "{finding:?}");
            assert!(!finding.message.contains("87654321"), "{finding:?}");
            assert!(!finding.message.contains("TOPSECRETVALUE"), "{finding:?}");
        }
        assert_denies(&f, &["field-type"]);
    }
}
