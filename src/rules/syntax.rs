//! Rules on the ConfigMap's data keys as text: is each one loadable at all.
//!
//! Terway's DaemonSet mounts `eni-config` whole at /etc/eni; terway-init reads
//! the keys as files (cmd/terway-cli/common.go getAllConfig) and the daemon
//! reads `/etc/eni/eni_conf` (charts/terway/templates/terwayd/daemonset.yaml).

use std::sync::Arc;

use super::{Finding, id};
use crate::config::{
    ConfigObject, DISABLE_NETWORK_POLICY, ENI_CONF, EniConf, Path, Role, path::quote_short,
};

/// Keys only the base is read for; in a dynamic config they do nothing.
const BASE_ONLY_KEYS: [&str; 4] = [
    "10-terway.conf",
    "10-terway.conflist",
    DISABLE_NETWORK_POLICY,
    "in_cluster_loadbalance",
];

/// Checks that `eni_conf` loads; returns it parsed when there is one to
/// judge, so it is parsed once.
pub(super) fn eni_conf(
    cm: &ConfigObject,
    role: Role,
    out: &mut Vec<Finding>,
) -> Option<Arc<EniConf>> {
    match cm.eni_conf_text() {
        None => {
            if role == Role::Base {
                out.push(Finding::deny(
                    id::ENI_CONF_JSON,
                    &Path::root("data").key(ENI_CONF),
                    "eni-config has no eni_conf key; terway-init and the daemon fail to start without it (cmd/terway-cli/common.go). Restore the eni_conf JSON document",
                ));
            }
            None
        }
        // An empty eni_conf in a dynamic config means "no dynamic config"
        // (types/daemon/config.go MergeConfigAndUnmarshal).
        Some(text) if role == Role::Dynamic && text.is_empty() => None,
        Some(_) => parse(cm, role, out),
    }
}

/// Checks the other data keys as terway-init reads them.
pub(super) fn keys(
    cm: &ConfigObject,
    old: Option<&ConfigObject>,
    role: Role,
    out: &mut Vec<Finding>,
) {
    match role {
        Role::Base => {
            super::cni::check(cm, old, out);
            disable_network_policy(cm, out);
        }
        _ => {
            for key in BASE_ONLY_KEYS {
                if cm.data.contains_key(key) {
                    out.push(Finding::warn(
                        id::DYNAMIC_BASE_ONLY,
                        &Path::root("data").key(key),
                        format!("{key} is read from eni-config only; in a dynamic config it has no effect"),
                    ));
                }
            }
        }
    }
}

fn parse(cm: &ConfigObject, role: Role, out: &mut Vec<Finding>) -> Option<Arc<EniConf>> {
    let conf = match cm.eni_conf_parsed()? {
        Ok(conf) => conf,
        Err(e) if e.not_object => {
            out.push(Finding::deny(
                id::ENI_CONF_JSON,
                &Path::root(ENI_CONF),
                format!(
                    "{}; the daemon decodes eni_conf into its Config struct (types/daemon/config.go) and fails to start. Write a JSON object",
                    e.message
                ),
            ));
            return None;
        }
        Err(e) => {
            out.push(Finding::deny(
                id::ENI_CONF_JSON,
                &Path::root(ENI_CONF),
                format!(
                    "eni_conf is not valid JSON at line {} column {}: {}. Terway decodes it with Go (types/daemon/config.go) and fails to start: no comments, no trailing commas, double quotes; fix the JSON",
                    e.line, e.column, e.message
                ),
            ));
            return None;
        }
    };
    if conf.is_null() && role == Role::Dynamic {
        // evanphx/json-patch v5.6.0 merge.go doMergePatch: a patch that
        // decodes to a nil map is ErrBadJSONPatch.
        out.push(Finding::deny(
            id::ENI_CONF_JSON,
            &Path::root(ENI_CONF),
            "eni_conf is null: the daemon merges a dynamic config onto the base with json-patch MergePatch, which refuses a null patch (\"Invalid JSON Patch\"), so LoadDynamicConfig fails (daemon/builder.go, types/daemon/config.go MergeConfigAndUnmarshal) and Terway does not start on any node labelled for this config. Write {} (or an empty eni_conf for no dynamic config)",
        ));
        return None;
    }
    // On the base, `null` decodes as "nothing set" (sigs.k8s.io/json, and
    // encoding/json in terway-init): judged as `{}` from here on.
    if role == Role::Base
        && let Some(jq) = conf.jq_refusal()
    {
        let fix = if jq.message.contains("surrogate") {
            "write the character itself, or a valid \\uD8xx\\uDCxx pair"
        } else {
            "nest the document less deeply"
        };
        out.push(Finding::deny(
            id::ENI_CONF_JSON,
            &Path::root(ENI_CONF),
            format!(
                "eni_conf at line {} column {} is JSON Go accepts but jq 1.7.1 does not (\"jq: parse error: {}\", src/jv_parse.c): terway-init runs `jq '.enable_erdma' -r </etc/eni/eni_conf` under `set -o errexit` (hack/init.sh), so it fails and Terway does not start on new or restarted nodes; {fix}",
                jq.line, jq.column, jq.message
            ),
        ));
    }
    Some(conf)
}

/// terway-init turns network policy on only for exactly `false`, `0` or an
/// empty value; anything else turns it off (cmd/terway-cli/common.go).
fn disable_network_policy(cm: &ConfigObject, out: &mut Vec<Finding>) {
    let Some(v) = cm.data.get(DISABLE_NETWORK_POLICY) else {
        return;
    };
    if v == "true" || v == "false" {
        return;
    }
    let path = Path::root("data").key(DISABLE_NETWORK_POLICY);
    let enables = matches!(v.as_str(), "false" | "0" | "");
    let shown = quote_short(v, 20);
    let norm = v.trim().to_ascii_lowercase();
    let reads_false = matches!(
        norm.as_str(),
        "false" | "no" | "n" | "off" | "f" | "0" | "disabled" | "disable" | "none"
    );
    if enables {
        out.push(Finding::warn(
            id::DISABLE_NETWORK_POLICY,
            &path,
            format!("disable_network_policy is {shown}: Terway keeps network policy on, as \"false\" would; write \"false\""),
        ));
    } else if reads_false {
        out.push(Finding::deny(
            id::DISABLE_NETWORK_POLICY,
            &path,
            format!("disable_network_policy is {shown}, which reads as \"keep network policy\", but terway-init turns network policy OFF for any value other than exactly \"false\", \"0\" or \"\" (cmd/terway-cli/common.go). Write \"false\" to keep it, or \"true\" to turn it off"),
        ));
    } else {
        out.push(Finding::warn(
            id::DISABLE_NETWORK_POLICY,
            &path,
            format!("disable_network_policy is {shown}: Terway turns network policy off for it, as \"true\" would; write \"true\" (or \"false\" to keep policy)"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::Operation;
    use crate::rules::testing::*;

    #[test]
    fn eni_conf_must_be_loadable() {
        type Case = (
            &'static [(&'static str, &'static str)],
            &'static [&'static str],
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            (&[("eni_conf", "{}")], &[], &[]),
            (
                &[("disable_network_policy", "true")],
                &["eni-conf-json"],
                &[],
            ),
            (&[("eni_conf", "{\"a\": 1,}")], &["eni-conf-json"], &[]),
            (&[("eni_conf", "")], &["eni-conf-json"], &[]),
            // Read as `{}` (the base needs none of its keys to start).
            (&[("eni_conf", "null")], &[], &[]),
            (&[("eni_conf", " null\n")], &[], &[]),
            // Go accepts what serde_json refuses: a lone surrogate, deep nesting.
            (
                &[("eni_conf", r#"{"x": "\udc00"}"#)],
                &[],
                &["unknown-field"],
            ),
            (&[("eni_conf", r#"{"x": 1e400}"#)], &[], &["unknown-field"]),
            // jq 1.7.1 (hack/init.sh) refuses a lone high surrogate.
            (
                &[("eni_conf", r#"{"x": "\ud800"}"#)],
                &["eni-conf-json"],
                &["unknown-field"],
            ),
        ];
        for (data, deny, warn) in cases {
            let f = create(&base_with_cni(data));
            assert_denies(&f, deny);
            assert_warns(&f, warn);
        }
    }

    #[test]
    fn disable_network_policy_as_terway_init_reads_it() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            ("true", &[], &[]),
            ("false", &[], &[]),
            ("0", &[], &["disable-network-policy"]),
            ("", &[], &["disable-network-policy"]),
            ("no", &["disable-network-policy"], &[]),
            ("False", &["disable-network-policy"], &[]),
            ("off", &["disable-network-policy"], &[]),
            ("false\n", &["disable-network-policy"], &[]),
            ("yes", &[], &["disable-network-policy"]),
            ("True", &[], &["disable-network-policy"]),
        ];
        for (value, deny, warn) in cases {
            let f = create(&base_with_cni(&[
                ("eni_conf", "{}"),
                ("disable_network_policy", value),
            ]));
            assert_denies(&f, deny);
            assert_warns(&f, warn);
        }
    }

    #[test]
    fn valid_json_is_never_called_invalid() {
        let cases: &[(&str, &str)] = &[
            ("[1]", "cannot unmarshal array into Go value"),
            ("\"x\"", "cannot unmarshal string into Go value"),
            (
                "{\"a\": 1,}",
                "not valid JSON at line 1 column 9: invalid character '}'",
            ),
        ];
        for (text, want) in cases {
            let f = create(&base(text));
            let msg = message(&f, "eni-conf-json");
            assert!(msg.contains(want), "{text}: {msg}");
            let valid = serde_json::from_str::<serde_json::Value>(text).is_ok();
            assert_eq!(msg.contains("not valid JSON"), !valid, "{text}: {msg}");
        }
    }

    #[test]
    fn null_breaks_only_a_dynamic_config() {
        let f = create(&dynamic("x", "null"));
        assert_denies(&f, &["eni-conf-json"]);
        assert!(message(&f, "eni-conf-json").contains("Invalid JSON Patch"));
        assert_denies(&create(&dynamic("x", "{}")), &[]);
    }

    #[test]
    fn a_null_base_refuses_every_dynamic_config_merged_onto_it() {
        // (base eni_conf, old dynamic eni_conf, new dynamic eni_conf, denied)
        let cases: [(&str, Option<&str>, &str, &[&str]); 6] = [
            ("null", None, r#"{"max_pool_size": 5}"#, &["eni-conf-json"]),
            ("null", None, "{}", &["eni-conf-json"]),
            // An empty eni_conf is not merged: the base alone decodes.
            ("null", None, "", &[]),
            // From "no dynamic config" to one: the edit is what breaks.
            ("null", Some(""), "{}", &["eni-conf-json"]),
            // Already merged (and refused) before: not this edit's doing.
            ("null", Some("{}"), r#"{"max_pool_size": 5}"#, &[]),
            ("{}", None, r#"{"max_pool_size": 5}"#, &[]),
        ];
        for (b, old, new, deny) in cases {
            let base = base(b);
            let new = dynamic("eni-config-node1", new);
            let old = old.map(|o| dynamic("eni-config-node1", o));
            let op = if old.is_some() {
                Operation::Update
            } else {
                Operation::Create
            };
            let f = run(op, Some(&new), old.as_ref(), Some(&base), None);
            assert_denies(&f, deny);
            if !deny.is_empty() {
                assert!(message(&f, "eni-conf-json").contains("Invalid JSON Document"));
            }
        }
    }

    #[test]
    fn nesting_as_go_and_jq_count_it() {
        // jq 1.7.1 refuses to open a container on a full parse stack of 256
        // entries (an array takes one, an object two: the key); Go stops past
        // 10000 containers.
        let arrays = |n: usize| format!(r#"{{"x": {}{}}}"#, "[".repeat(n), "]".repeat(n));
        let cases: &[(String, bool, &str)] = &[
            (arrays(254), false, ""),
            (arrays(255), true, "Exceeds depth limit"),
            (arrays(9_999), true, "Exceeds depth limit"),
            (arrays(10_000), true, "exceeded max depth"),
        ];
        for (text, denied, want) in cases {
            let f = create(&base(text));
            if *denied {
                assert_denies(&f, &["eni-conf-json"]);
                assert!(message(&f, "eni-conf-json").contains(want), "{want}");
            } else {
                assert_denies(&f, &[]);
            }
        }
    }

    #[test]
    fn empty_dynamic_config_means_none() {
        let f = create(&dynamic("empty", ""));
        assert!(f.iter().all(|f| f.rule == "inventory-missing"), "{f:#?}");
        let mut d = dynamic("x", "{}");
        d.data.insert("disable_network_policy".into(), "no".into());
        let f = create(&d);
        assert_denies(&f, &[]);
        assert_warns(&f, &["dynamic-base-only"]);
    }

    #[test]
    fn json_error_names_line_and_column() {
        let cm = base("{\n  \"version\": \"1\",  # version\n  \"max_pool_size\": 5\n}");
        let f = create(&cm);
        let msg = &f
            .iter()
            .find(|f| f.rule == "eni-conf-json")
            .unwrap()
            .message;
        assert!(msg.contains("line 2 column"), "{msg}");
        assert!(msg.contains("comments"), "{msg}");
    }
}
