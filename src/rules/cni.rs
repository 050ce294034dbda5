//! The CNI config keys of `eni-config`, as terway-init reads them
//! (cmd/terway-cli/common.go getAllConfig, cmd/terway-cli/cni.go processInput
//! and mergeConfigList).

use serde_json::{Map, Value};

use super::{Finding, id};
use crate::config::path::quote_short;
use crate::config::{ConfigObject, Path};

const CONF: &str = "10-terway.conf";
const CONFLIST: &str = "10-terway.conflist";
/// `eniip_virtual_type` values terway-init maps to a datapath (compared
/// lower-cased); any other string fails with "invalid datapath".
const DATAPATHS: [&str; 4] = ["", "veth", "ipvlan", "datapathv2"];

pub(super) fn check(cm: &ConfigObject, old: Option<&ConfigObject>, out: &mut Vec<Finding>) {
    let data = || Path::root("data");
    let Some(conf) = cm.data.get(CONF) else {
        let had = old.is_some_and(|o| o.data.contains_key(CONF));
        let what = if had { "removes" } else { "lacks" };
        out.push(Finding::deny(
            id::CNI_CONF,
            &data().key(CONF),
            format!("this eni-config {what} {CONF}; terway-init reads it as a file that must exist (cmd/terway-cli/common.go) and fails on every node it starts on. Add it back, e.g. {{\"cniVersion\": \"0.4.0\", \"name\": \"terway\", \"type\": \"terway\"}}"),
        ));
        return;
    };
    // With a conflist present, only the conflist is parsed (cni.go processInput).
    let (key, text) = match cm.data.get(CONFLIST) {
        Some(list) => {
            if old.is_none_or(|o| o.data.get(CONF) != Some(conf)) {
                out.push(Finding::warn(
                    id::CNI_CONF,
                    &data().key(CONF),
                    format!("{CONF} is not used while {CONFLIST} exists (cmd/terway-cli/cni.go processInput); edit {CONFLIST} instead"),
                ));
            }
            (CONFLIST, list)
        }
        None => (CONF, conf),
    };
    let path = || data().key(key);
    let doc = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(doc)) => doc,
        Ok(_) => {
            out.push(Finding::deny(
                id::CNI_CONF,
                &path(),
                format!("{key} must be a JSON object; terway-init cannot find a plugin \"type\" in anything else"),
            ));
            return;
        }
        Err(e) => {
            out.push(Finding::deny(
                id::CNI_CONF,
                &path(),
                format!(
                    "{key} is not valid JSON at line {} column {}: {e}; terway-init fails to parse it on every new node. Fix the JSON",
                    e.line(),
                    e.column()
                ),
            ));
            return;
        }
    };
    match doc.get("plugins") {
        None => plugin(&doc, &path, key, out),
        Some(Value::Array(list)) if !list.is_empty() => {
            for (i, p) in list.iter().enumerate() {
                let at = || path().key("plugins").index(i);
                match p.as_object() {
                    Some(p) => plugin(p, &at, key, out),
                    None => out.push(Finding::deny(
                        id::CNI_CONF,
                        &at(),
                        format!("each entry of {key} \"plugins\" must be an object with a \"type\""),
                    )),
                }
            }
        }
        Some(_) => out.push(Finding::deny(
            id::CNI_CONF,
            &path().key("plugins"),
            format!("{key} \"plugins\" must be a non-empty list; without a plugin, new nodes get a CNI config with no network plugin"),
        )),
    }
}

/// One plugin as mergeConfigList reads it: `type` must be a string; the
/// terway plugin's `network_policy_provider` a string; `eniip_virtual_type`
/// a datapath it knows.
fn plugin(p: &Map<String, Value>, path: &dyn Fn() -> Path, key: &str, out: &mut Vec<Finding>) {
    let Some(kind) = p.get("type").and_then(Value::as_str) else {
        out.push(Finding::deny(
            id::CNI_CONF,
            &path().key("type"),
            format!("a {key} plugin needs a string \"type\" (e.g. \"terway\"); terway-init fails with \"type not found\" (cmd/terway-cli/cni.go)"),
        ));
        return;
    };
    if kind != "terway" {
        return;
    }
    if let Some(v) = p.get("network_policy_provider")
        && !v.is_string()
    {
        out.push(Finding::deny(
            id::CNI_CONF,
            &path().key("network_policy_provider"),
            "network_policy_provider must be a string (\"iptables\" or \"ebpf\"); terway-init fails with \"network_policy_provider type error\"",
        ));
    }
    if let Some(v) = p.get("eniip_virtual_type").and_then(Value::as_str)
        && !DATAPATHS.contains(&v.to_ascii_lowercase().as_str())
    {
        out.push(Finding::deny(
            id::CNI_CONF,
            &path().key("eniip_virtual_type"),
            format!("eniip_virtual_type is {}; terway-init knows only veth, ipvlan and datapathv2 and fails with \"invalid datapath\" (cmd/terway-cli/cni.go)", quote_short(v, 30)),
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::Operation;
    use crate::rules::testing::*;

    const TERWAY: &str = r#"{"cniVersion":"0.4.0","name":"terway","type":"terway"}"#;

    #[test]
    fn cni_keys_as_terway_init_reads_them() {
        type Case = (
            &'static [(&'static str, &'static str)],
            &'static [&'static str],
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            (&[("10-terway.conf", TERWAY)], &[], &[]),
            (&[("10-terway.conf", r#"{"type":"terway"}"#)], &[], &[]),
            (&[], &["cni-conf"], &[]),
            (
                &[("10-terway.conf", r#"{"cniVersion":"0.4.0"}"#)],
                &["cni-conf"],
                &[],
            ),
            (&[("10-terway.conf", "{\"type\":")], &["cni-conf"], &[]),
            (
                &[(
                    "10-terway.conf",
                    r#"{"type":"terway","eniip_virtual_type":"IPVlan"}"#,
                )],
                &[],
                &[],
            ),
            (
                &[(
                    "10-terway.conf",
                    r#"{"type":"terway","eniip_virtual_type":"macvlan"}"#,
                )],
                &["cni-conf"],
                &[],
            ),
            (
                &[(
                    "10-terway.conf",
                    r#"{"type":"terway","network_policy_provider":1}"#,
                )],
                &["cni-conf"],
                &[],
            ),
            (
                &[
                    ("10-terway.conf", "not json: unused"),
                    (
                        "10-terway.conflist",
                        r#"{"plugins":[{"type":"terway"},{"type":"portmap"}]}"#,
                    ),
                ],
                &[],
                &["cni-conf"],
            ),
            (
                &[
                    ("10-terway.conf", TERWAY),
                    ("10-terway.conflist", r#"{"plugins":[]}"#),
                ],
                &["cni-conf"],
                &["cni-conf"],
            ),
            (
                &[("10-terway.conflist", r#"{"plugins":[{"type":"terway"}]}"#)],
                &["cni-conf"],
                &[],
            ),
        ];
        for (cni, deny, warn) in cases {
            let mut data = vec![("eni_conf", "{}")];
            data.extend_from_slice(cni);
            let f = create(&base_with(&data));
            assert_denies(&f, deny);
            assert_warns(&f, warn);
        }
    }

    #[test]
    fn a_missing_conf_blocks_only_its_removal() {
        let without = base_with(&[("eni_conf", "{}")]);
        let with = base_with(&[("eni_conf", "{}"), ("10-terway.conf", TERWAY)]);
        let f = run(Operation::Update, Some(&without), Some(&with), None, None);
        assert_denies(&f, &["cni-conf"]);
        assert!(message(&f, "cni-conf").contains("removes"));
        let f = run(
            Operation::Update,
            Some(&without),
            Some(&without),
            None,
            None,
        );
        assert_denies(&f, &[]);
        assert_warns(&f, &["cni-conf"]);
    }
}
