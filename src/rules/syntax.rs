//! Rules on the ConfigMap's data keys as text: is each one loadable at all.
//!
//! Terway's DaemonSet mounts `eni-config` whole at /etc/eni; terway-init reads
//! the keys as files (cmd/terway-cli/common.go getAllConfig) and the daemon
//! reads `/etc/eni/eni_conf` (charts/terway/templates/terwayd/daemonset.yaml).

use std::sync::Arc;

use super::{Finding, Severity, id};
use crate::config::{
    ConfigObject, DISABLE_NETWORK_POLICY, ENI_CONF, EniConf, Path, Role, path::quote_short,
};
use crate::inventory::Facts;

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

/// A base `eni_conf` of `null` decodes alone, but evanphx/json-patch v5.6.0
/// MergePatch (merge.go doMergePatch) refuses a null document
/// ("Invalid JSON Document"), and the daemon and the controlplane merge every
/// non-empty dynamic config onto the base (types/daemon/config.go
/// MergeConfigAndUnmarshal, daemon/builder.go LoadDynamicConfig,
/// types/daemon/dynamicconfig.go ConfigFromConfigMap). Returns true when a
/// dynamic config cannot load at all, so nothing more is judged of it.
pub(super) fn null_base(
    role: Role,
    own: &EniConf,
    base: Option<&EniConf>,
    facts: Option<&Facts>,
    out: &mut Vec<Finding>,
) -> bool {
    const EFFECT: &str = "json-patch MergePatch refuses a null eni-config document (its ErrBadJSONDoc) when it merges a dynamic config onto it, so LoadDynamicConfig fails (daemon/builder.go, types/daemon/config.go MergeConfigAndUnmarshal) and Terway does not start on nodes labelled for one (in CRD mode their node reconcile fails too, types/daemon/dynamicconfig.go)";
    match role {
        Role::Dynamic if base.is_some_and(EniConf::is_null) => {
            out.push(Finding::deny(
                id::ENI_CONF_JSON,
                &Path::root(ENI_CONF),
                format!("eni-config's eni_conf is null: {EFFECT}. Write {{}} in eni-config, or leave this eni_conf empty"),
            ));
            true
        }
        Role::Base if own.is_null() => {
            // Which dynamic configs are non-empty is not known here; a node
            // carrying the label is taken to use one.
            let labelled: Vec<&str> = facts
                .map(|f| {
                    f.nodes
                        .iter()
                        .filter(|n| n.config.as_deref().is_some_and(|c| !c.is_empty()))
                        .map(|n| n.name.as_str())
                        .collect()
                })
                .unwrap_or_default();
            let (severity, who) = match (facts, labelled.as_slice()) {
                (None, _) => (
                    Severity::Warn,
                    "nodes labelled terway-config (not checked: no inventory)".to_string(),
                ),
                (Some(_), []) => return false,
                (Some(_), [first, ..]) => (
                    Severity::Deny,
                    format!(
                        "{} node(s) labelled terway-config (first: {first})",
                        labelled.len()
                    ),
                ),
            };
            out.push(Finding::new(
                id::ENI_CONF_JSON,
                severity,
                &Path::root(ENI_CONF),
                format!("eni_conf is null: {EFFECT}; that is {who}. Write {{}} instead"),
            ));
            false
        }
        _ => false,
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
    use crate::config::ConfigObject;
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
            // Read as `{}` (the base needs none of its keys to start), but no
            // dynamic config merges onto it: warned without an inventory.
            (&[("eni_conf", "null")], &[], &["eni-conf-json"]),
            (&[("eni_conf", " null\n")], &[], &["eni-conf-json"]),
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
                assert!(message(&f, "eni-conf-json").contains("ErrBadJSONDoc"));
            }
        }
    }

    #[test]
    fn a_null_base_breaks_the_nodes_labelled_for_a_dynamic_config() {
        let labelled = dynamic("eni-config-node1", "{}");
        let with_labels = facts_for(&[&labelled]);
        let mut without_labels = facts_for(&[]);
        let unlabelled: Vec<_> = without_labels
            .nodes
            .iter()
            .filter(|n| n.config.is_none())
            .cloned()
            .collect();
        without_labels.set_nodes(unlabelled);
        let was = base(r#"{"max_pool_size": 5}"#);
        let null = base("null");
        // (old, facts, denied, warned)
        type Case<'a> = (
            &'a ConfigObject,
            Option<&'a crate::inventory::Facts>,
            &'a [&'a str],
            &'a [&'a str],
        );
        let cases: [Case; 4] = [
            (&was, Some(&with_labels), &["eni-conf-json"], &[]),
            (&was, Some(&without_labels), &[], &[]),
            (&was, None, &[], &["eni-conf-json"]),
            // Null before as well: not this edit's doing.
            (&null, Some(&with_labels), &[], &["eni-conf-json"]),
        ];
        for (old, facts, deny, warn) in cases {
            let f = run(Operation::Update, Some(&null), Some(old), None, facts);
            let f: Vec<_> = f.into_iter().filter(|f| f.rule != "service-cidr").collect();
            assert_denies(&f, deny);
            assert_warns(&f, warn);
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
