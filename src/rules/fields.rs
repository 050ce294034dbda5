//! Rules on single `eni_conf` fields: Go types, names, versions, ids, tags.

use serde_json::Value;

use super::{Doc, Finding, Mode, id};
use crate::config::fields::{self, Keys, Kind};
use crate::config::path::{quote, quote_short};
use crate::config::{ENI_CONF, EniConf, Path, Role, Version};

const MAX_TAG_LEN: usize = 128;
/// ECS allows 20 tags on an ENI; Terway adds its own `creator` tag
/// (types/aliyun.go, daemon/config.go getPoolConfig).
const MAX_USER_TAGS: usize = 19;
const CREATOR_TAG: &str = "creator";

/// Checks on the document as the user wrote it.
pub(super) fn check(conf: &EniConf, role: Role, version: Option<Version>, out: &mut Vec<Finding>) {
    types_and_names(conf, role, version, out);
    security_group_ids(conf, out);
    eni_tags(conf, out);
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
        if fields::lookup_folded(key).is_none() && fields::removed(key).is_none() {
            unknown += 1;
            if unknown > super::MAX_PER_RULE {
                continue;
            }
        }
        // Built only when there is something to say about the key.
        let path = || root.key(key);
        let secret = || fields::looks_secret(key);
        if let Some(field) = fields::lookup(key) {
            if let Some(m) = field.kind.mismatch(value, path, Keys::Exact) {
                out.push(type_finding(&m, field.secret || secret(), "the daemon (k8s.io/apimachinery/pkg/util/json, types/daemon/config.go) refuses it and Terway does not start"));
            } else if role == Role::Base
                && let Some(m) = field.kind.mismatch(value, path, Keys::Fold)
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
        if let Some(field) = fields::lookup_folded(key) {
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
                && let Some(m) = field.kind.mismatch(value, path, Keys::Fold)
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
    let shown = if secret {
        crate::config::eni_conf::type_name(got).to_string()
    } else {
        describe(got)
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
    Finding::deny(
        id::FIELD_TYPE,
        &m.path,
        format!(
            "{} must be {}, got {shown}; {why}{fix}",
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

fn is_sg(s: &str) -> bool {
    s.strip_prefix("sg-").is_some_and(|r| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

fn security_group_ids(conf: &EniConf, out: &mut Vec<Finding>) {
    let mut check = |path: &dyn Fn() -> Path, s: &str| {
        if !is_sg(s) {
            out.push(Finding::deny(
                id::SECURITY_GROUP,
                &path(),
                format!(
                    "{} is not a security group id; Terway passes it to CreateNetworkInterface, which refuses it, so no ENI can be created. Ids look like \"sg-bp1a2b3c4d5e6f7g8h9i\"",
                    quote_short(s, 40)
                ),
            ).about(format!("sg:{s}")));
        }
    };
    if let Some(e) = conf.get("security_group")
        && let Some(s) = e.value.as_str()
        && !s.is_empty()
    {
        check(&|| e.path(), s);
    }
    if let Some(e) = conf.get("security_groups")
        && let Some(list) = e.value.as_array()
    {
        for (i, s) in list.iter().enumerate() {
            if let Some(s) = s.as_str() {
                check(&|| e.path().index(i), s);
            }
        }
    }
}

fn eni_tags(conf: &EniConf, out: &mut Vec<Finding>) {
    let Some(e) = conf.get("eni_tags") else {
        return;
    };
    let Some(tags) = e.value.as_object() else {
        return;
    };
    let user = tags.keys().filter(|k| *k != CREATOR_TAG).count();
    if user > MAX_USER_TAGS {
        out.push(Finding::deny(
            id::ENI_TAGS,
            &e.path(),
            format!("{user} eni_tags; an ENI takes at most 20 tags and Terway adds its own \"creator\" tag (types/aliyun.go), so ENI creation would fail. Keep at most {MAX_USER_TAGS}"),
        ));
    }
    for (k, v) in tags {
        let path = || e.path().key(k);
        if k == CREATOR_TAG {
            out.push(Finding::warn(
                id::ENI_TAGS,
                &path(),
                "Terway sets the \"creator\" tag to \"terway\" itself (daemon/config.go getPoolConfig), replacing this value; use another key",
            ));
            continue;
        }
        let starts = |p: &str| k.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
        let problem = if k.is_empty() {
            Some("a tag key must not be empty".to_string())
        } else if k.chars().count() > MAX_TAG_LEN {
            Some(format!(
                "tag key {} is longer than {MAX_TAG_LEN} characters",
                quote_short(k, 30)
            ))
        } else if starts("aliyun") || starts("acs:") {
            Some(format!(
                "tag key {} starts with a prefix Alibaba Cloud reserves (aliyun, acs:); choose another key",
                quote_short(k, 40)
            ))
        } else if v.as_str().is_some_and(|v| v.chars().count() > MAX_TAG_LEN) {
            Some(format!(
                "the value of tag {} is longer than {MAX_TAG_LEN} characters",
                quote_short(k, 40)
            ))
        } else {
            None
        };
        if let Some(p) = problem {
            out.push(Finding::deny(
                id::ENI_TAGS,
                &path(),
                format!("{p}; Terway tags every ENI it creates with eni_tags and the cloud refuses this one, so ENI creation fails"),
            ));
        }
    }
}

/// Checks on the document Terway will load (after any merge).
pub(super) fn check_doc(d: &Doc, out: &mut Vec<Finding>) {
    // The daemon counts the list as written (types/daemon/config.go Validate;
    // 5 before v1.13.7); the controlplane and CRD-mode nodes count the union
    // with `security_group` (types/daemon/dynamicconfig.go ConfigFromConfigMap).
    let old_limit = d.version.is_some_and(|v| v < Version::new(1, 13, 7));
    let raw_limit = if old_limit { 5 } else { 10 };
    let list = d
        .new
        .get("security_groups")
        .and_then(|e| e.value.as_array().map(|a| (e, a)));
    let path = || list.map_or(Path::root(ENI_CONF), |(e, _)| e.path());
    let raw = list.map_or(0, |(_, a)| a.len());
    let mut union: Vec<&str> = list
        .map(|(_, a)| a.iter().map(|v| v.as_str().unwrap_or("")).collect())
        .unwrap_or_default();
    if let Some(s) = d.new.str("security_group").filter(|s| !s.is_empty()) {
        union.push(s);
    }
    union.sort_unstable();
    union.dedup();
    if raw > raw_limit {
        out.push(Finding::deny(
            id::SECURITY_GROUP,
            &path(),
            format!("{raw} entries in security_groups; the daemon refuses more than {raw_limit} and does not start (types/daemon/config.go Validate){}. Remove some", d.version_note()),
        ));
    } else if union.len() > 10 {
        let who = match d.mode {
            Some(Mode::Legacy) => "terway-controlplane",
            _ => "CRD-mode nodes and terway-controlplane",
        };
        out.push(Finding::deny(
            id::SECURITY_GROUP,
            &path(),
            format!("{} security groups in total (security_group + security_groups); {who} refuse more than 10 (types/daemon/dynamicconfig.go). Remove some", union.len()),
        ));
    }
    super::service_cidr::check(d, out);
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
