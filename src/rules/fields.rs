//! Rules on single `eni_conf` fields: types, names, enumerations, formats.

use serde_json::Value;

use super::{Doc, Finding, id};
use crate::config::fields::{self, Kind};
use crate::config::path::{quote, quote_short};
use crate::config::{ENI_CONF, EniConf, Path, duration};

const ENUMS: &[(&str, &[&str])] = &[
    ("vswitch_selection_policy", &["ordered", "random", "most"]),
    ("eni_selection_policy", &["most_ips", "least_ips"]),
    ("ip_stack", &["ipv4", "dual"]),
];
const DURATIONS: &[&str] = &["idle_ip_reclaim_after", "idle_ip_reclaim_interval"];
const MAX_SECURITY_GROUPS: usize = 10;
const MAX_TAG_LEN: usize = 128;

/// Checks on the document as the user wrote it.
pub(super) fn check(conf: &EniConf, out: &mut Vec<Finding>) {
    types_and_names(conf, out);
    for (field, allowed) in ENUMS {
        if let Some(e) = conf.get(field)
            && let Some(v) = e.value.as_str()
            && !v.is_empty()
            && !allowed.contains(&v)
        {
            let near = allowed
                .iter()
                .find(|a| fields::levenshtein(&v.to_ascii_lowercase(), a) <= 2)
                .map(|a| format!(" Did you mean {a:?}?"))
                .unwrap_or_default();
            out.push(Finding::deny(
                id::ENUM_VALUE,
                &e.path(),
                format!(
                    "{field} is {}; Terway accepts {}.{near}",
                    quote_short(v, 40),
                    allowed.join(", ")
                ),
            ));
        }
    }
    for field in DURATIONS {
        if let Some(e) = conf.get(field)
            && let Some(v) = e.value.as_str()
            && !v.is_empty()
            && let Err(why) = duration::parse(v)
        {
            out.push(Finding::deny(
                id::DURATION,
                &e.path(),
                format!("{field}: {why}; Terway fails to start on it. Use a Go duration such as \"10m\" or \"1h30m\" (units ns, us, ms, s, m, h)"),
            ));
        }
    }
    if let Some(e) = conf.get("idle_ip_reclaim_jitter_factor")
        && let Some(v) = e.value.as_str()
        && !v.is_empty()
        && !v
            .trim()
            .parse::<f64>()
            .is_ok_and(|f| f.is_finite() && f >= 0.0)
    {
        out.push(Finding::deny(
            id::JITTER_FACTOR,
            &e.path(),
            format!("idle_ip_reclaim_jitter_factor is {}; write a non-negative number in a string, e.g. \"0.1\"", quote_short(v, 40)),
        ));
    }
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

fn types_and_names(conf: &EniConf, out: &mut Vec<Finding>) {
    let root = Path::root(ENI_CONF);
    for (key, value) in &conf.doc {
        let path = root.key(key);
        let Some(field) = fields::lookup(key) else {
            let hint = fields::suggest(key)
                .map(|s| format!(" Did you mean {s:?}?"))
                .unwrap_or_default();
            out.push(Finding::warn(
                id::UNKNOWN_FIELD,
                &path,
                format!(
                    "{} is not a field Terway knows, so it is ignored.{hint}",
                    quote_short(key, 60)
                ),
            ));
            continue;
        };
        if key != field.name {
            out.push(Finding::warn(
                id::FIELD_CASE,
                &path,
                format!(
                    "{} is read as {} (Go matches keys case-insensitively); write it as {}",
                    quote_short(key, 60),
                    field.name,
                    quote(field.name)
                ),
            ));
        }
        if !field.kind.accepts(value) {
            let shown = if field.secret || fields::looks_secret(key) {
                super::super::config::eni_conf::type_name(value).to_string()
            } else {
                describe(value)
            };
            let fix = match (field.kind, value) {
                (Kind::Int | Kind::Float, Value::String(s)) if s.trim().parse::<f64>().is_ok() => {
                    format!("; write {} without quotes", s.trim())
                }
                (Kind::Bool, Value::String(s)) if s == "true" || s == "false" => {
                    format!("; write {s} without quotes")
                }
                (Kind::Int, Value::Number(n)) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
                    "; write a whole number without a fraction or exponent".to_string()
                }
                _ => String::new(),
            };
            out.push(Finding::deny(
                id::FIELD_TYPE,
                &path,
                format!("{} must be {}, got {shown}; Go's decoder would refuse it and Terway would not start{fix}", field.name, field.kind.describe()),
            ));
        }
    }
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
    let mut check = |path: Path, s: &str| {
        if !is_sg(s) {
            out.push(Finding::deny(
                id::SECURITY_GROUP,
                &path,
                format!(
                    "{} is not a security group id; ids look like \"sg-bp1a2b3c4d5e6f7g8h9i\"",
                    quote_short(s, 40)
                ),
            ));
        }
    };
    if let Some(e) = conf.get("security_group")
        && let Some(s) = e.value.as_str()
        && !s.is_empty()
    {
        check(e.path(), s);
    }
    if let Some(e) = conf.get("security_groups")
        && let Some(list) = e.value.as_array()
    {
        for (i, s) in list.iter().enumerate() {
            if let Some(s) = s.as_str() {
                check(e.path().index(i), s);
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
    for (k, v) in tags {
        let path = e.path().key(k);
        let lower = k.to_ascii_lowercase();
        let problem = if k.is_empty() {
            Some("a tag key must not be empty".to_string())
        } else if k.chars().count() > MAX_TAG_LEN {
            Some(format!(
                "tag key {} is longer than {MAX_TAG_LEN} characters",
                quote_short(k, 30)
            ))
        } else if lower.starts_with("aliyun") || lower.starts_with("acs:") {
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
                &path,
                format!("{p}; the cloud would refuse to create ENIs with it"),
            ));
        }
    }
}

/// Checks on the document Terway will load (after any merge).
pub(super) fn check_doc(d: &Doc, out: &mut Vec<Finding>) {
    let mut groups: Vec<&str> = Vec::new();
    if let Some(s) = d.new.str("security_group").filter(|s| !s.is_empty()) {
        groups.push(s);
    }
    if let Some(list) = d
        .new
        .get("security_groups")
        .and_then(|e| e.value.as_array())
    {
        groups.extend(
            list.iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty()),
        );
    }
    groups.sort_unstable();
    groups.dedup();
    if groups.len() > MAX_SECURITY_GROUPS {
        let path = d
            .new
            .get("security_groups")
            .map_or(Path::root(ENI_CONF), |e| e.path());
        out.push(Finding::deny(
            id::SECURITY_GROUP,
            &path,
            format!("{} security groups in total (security_group + security_groups); Terway accepts at most {MAX_SECURITY_GROUPS}. Remove some", groups.len()),
        ));
    }
    super::service_cidr::check(d, out);
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

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
            (r#"{"Max_Pool_Size": 5}"#, &[], &["field-case"]),
            (
                r#"{"vswitch_selection_policy": "orderd"}"#,
                &["enum-value"],
                &[],
            ),
            (
                r#"{"vswitch_selection_policy": "most", "eni_selection_policy": "least_ips", "ip_stack": "dual"}"#,
                &[],
                &[],
            ),
            (r#"{"ip_stack": "ipv6"}"#, &["enum-value"], &[]),
            (r#"{"eni_selection_policy": ""}"#, &[], &[]),
            (
                r#"{"idle_ip_reclaim_after": "10m", "idle_ip_reclaim_interval": "1h30m"}"#,
                &[],
                &[],
            ),
            (
                r#"{"idle_ip_reclaim_after": "10 minutes"}"#,
                &["duration"],
                &[],
            ),
            (r#"{"idle_ip_reclaim_interval": "5"}"#, &["duration"], &[]),
            (r#"{"idle_ip_reclaim_jitter_factor": "0.1"}"#, &[], &[]),
            (
                r#"{"idle_ip_reclaim_jitter_factor": "abc"}"#,
                &["jitter-factor"],
                &[],
            ),
            (
                r#"{"idle_ip_reclaim_jitter_factor": 0.1}"#,
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
            (r#"{"eni_tags": {"team": "net"}}"#, &[], &[]),
            (r#"{"eni_tags": {"aliyun-x": "y"}}"#, &["eni-tags"], &[]),
            (r#"{"eni_tags": {"acs:x": "y"}}"#, &["eni-tags"], &[]),
            (r#"{"eni_tags": {"": "y"}}"#, &["eni-tags"], &[]),
            (r#"{"service_cidr": "172.16.0.0/16"}"#, &[], &[]),
            (
                r#"{"service_cidr": "172.16.0.0/33"}"#,
                &["service-cidr"],
                &[],
            ),
            (r#"{"service_cidr": "172.16.0.0/16,fd00::/120"}"#, &[], &[]),
            (
                r#"{"access_key": "AKID1234", "access_secret": "s3cr3t-value"}"#,
                &[],
                &["inline-credentials"],
            ),
        ];
        for (conf, deny, warn) in cases {
            let f = create(&base(conf));
            assert_denies(&f, deny);
            assert_warns(&f, warn);
        }
        let long_tag = format!(r#"{{"eni_tags": {{"k": "{}"}}}}"#, "v".repeat(129));
        assert_denies(&create(&base(&long_tag)), &["eni-tags"]);
    }

    #[test]
    fn messages_name_the_value_and_the_fix() {
        let f = create(&base(r#"{"max_pool_size": "80", "vswitchs": {}}"#));
        assert!(message(&f, "field-type").contains("write 80 without quotes"));
        assert!(message(&f, "unknown-field").contains("Did you mean \"vswitches\""));
        let f = create(&base(r#"{"vswitch_selection_policy": "orderd"}"#));
        assert!(message(&f, "enum-value").contains("Did you mean \"ordered\""));
    }

    #[test]
    fn secret_values_are_never_echoed() {
        let f = create(&base(
            r#"{"access_key": 12345678, "acess_secret": "TOPSECRETVALUE"}"#,
        ));
        for finding in &f {
            assert!(!finding.message.contains("12345678"), "{finding:?}");
            assert!(!finding.message.contains("TOPSECRETVALUE"), "{finding:?}");
        }
        assert_denies(&f, &["field-type"]);
    }
}
