//! Rules on the ConfigMap's data keys as text: is each one loadable at all.

use serde_json::Value;

use super::{Finding, id};
use crate::config::{
    CNI_CONF_KEYS, ConfigObject, DISABLE_NETWORK_POLICY, ENI_CONF, EniConf, Path, Role,
    path::quote_short,
};

/// Checks the data keys; returns the parsed `eni_conf` when it is valid, so
/// it is parsed once.
pub(super) fn check(cm: &ConfigObject, role: Role, out: &mut Vec<Finding>) -> Option<EniConf> {
    let mut parsed = None;
    let data = Path::root("data");
    match cm.eni_conf_text() {
        None if role == Role::Base => out.push(Finding::deny(
            id::ENI_CONF_JSON,
            &data.key(ENI_CONF),
            "eni-config has no eni_conf key; Terway cannot start without it. Restore the eni_conf JSON document",
        )),
        None => {}
        Some(text) => match EniConf::parse(text) {
            Ok(conf) => parsed = Some(conf),
            Err(e) => {
                out.push(Finding::deny(
                    id::ENI_CONF_JSON,
                    &Path::root(ENI_CONF),
                    format!(
                        "eni_conf is not valid JSON at line {} column {}: {}. Terway reads it with Go's encoding/json (no comments, no trailing commas, double quotes); fix the JSON",
                        e.line, e.column, e.message
                    ),
                ));
            }
        },
    }
    for key in CNI_CONF_KEYS {
        if let Some(text) = cm.data.get(key) {
            cni_conf(key, text, out);
        }
    }
    if let Some(v) = cm.data.get(DISABLE_NETWORK_POLICY)
        && v != "true"
        && v != "false"
    {
        out.push(Finding::deny(
            id::DISABLE_NETWORK_POLICY,
            &data.key(DISABLE_NETWORK_POLICY),
            format!(
                "disable_network_policy is {}; write \"true\" or \"false\"",
                quote_short(v, 20)
            ),
        ));
    }
    parsed
}

fn cni_conf(key: &str, text: &str, out: &mut Vec<Finding>) {
    let path = Path::root("data").key(key);
    let doc = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(doc)) => doc,
        Ok(_) => {
            out.push(Finding::deny(
                id::CNI_CONF,
                &path,
                format!("{key} must be a JSON object"),
            ));
            return;
        }
        Err(e) => {
            out.push(Finding::deny(
                id::CNI_CONF,
                &path,
                format!(
                    "{key} is not valid JSON at line {} column {}: {e}; fix the JSON",
                    e.line(),
                    e.column()
                ),
            ));
            return;
        }
    };
    let mut required = vec!["cniVersion", "name"];
    if key.ends_with(".conf") {
        required.push("type");
    }
    for field in required {
        let ok = doc
            .get(field)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        if !ok {
            out.push(Finding::deny(
                id::CNI_CONF,
                &path.key(field),
                format!("{key} needs a non-empty string \"{field}\" (e.g. \"cniVersion\": \"0.3.1\", \"name\": \"terway\", \"type\": \"terway\")"),
            ));
        }
    }
    if key.ends_with(".conflist") {
        let plugins = doc.get("plugins").and_then(Value::as_array);
        let ok = plugins.is_some_and(|p| {
            !p.is_empty()
                && p.iter().all(|p| {
                    p.get("type")
                        .and_then(Value::as_str)
                        .is_some_and(|t| !t.is_empty())
                })
        });
        if !ok {
            out.push(Finding::deny(
                id::CNI_CONF,
                &path.key("plugins"),
                format!(
                    "{key} needs a non-empty \"plugins\" list whose entries each have a \"type\""
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    #[test]
    fn data_keys_must_be_loadable() {
        type Case = (
            &'static [(&'static str, &'static str)],
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            (&[("eni_conf", "{}")], &[]),
            (&[("disable_network_policy", "true")], &["eni-conf-json"]),
            (&[("eni_conf", "{\"a\": 1,}")], &["eni-conf-json"]),
            (
                &[("eni_conf", "{}"), ("disable_network_policy", "yes")],
                &["disable-network-policy"],
            ),
            (
                &[("eni_conf", "{}"), ("disable_network_policy", "false")],
                &[],
            ),
            (
                &[
                    ("eni_conf", "{}"),
                    (
                        "10-terway.conf",
                        "{\"cniVersion\":\"0.3.1\",\"name\":\"terway\",\"type\":\"terway\"}",
                    ),
                ],
                &[],
            ),
            (
                &[
                    ("eni_conf", "{}"),
                    (
                        "10-terway.conf",
                        "{\"cniVersion\":\"0.3.1\",\"name\":\"terway\"}",
                    ),
                ],
                &["cni-conf"],
            ),
            (
                &[
                    ("eni_conf", "{}"),
                    ("10-terway.conf", "{\"cniVersion\":\"0.3.1\","),
                ],
                &["cni-conf"],
            ),
            (
                &[
                    ("eni_conf", "{}"),
                    (
                        "10-terway.conflist",
                        "{\"cniVersion\":\"0.4.0\",\"name\":\"terway\",\"plugins\":[{\"type\":\"terway\"}]}",
                    ),
                ],
                &[],
            ),
            (
                &[
                    ("eni_conf", "{}"),
                    (
                        "10-terway.conflist",
                        "{\"cniVersion\":\"0.4.0\",\"name\":\"terway\",\"plugins\":[]}",
                    ),
                ],
                &["cni-conf"],
            ),
        ];
        for (data, want) in cases {
            let cm = base_with(data);
            assert_denies(&create(&cm), want);
        }
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
