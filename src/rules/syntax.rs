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
mod tests;
