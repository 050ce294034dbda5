//! Single-field edits of a config, generated from Terway's field table
//! (src/config/fields.rs) and a table of edge values, drawn by a small seeded
//! generator so every run sees the same edits.
//!
//! An edit is written as text, not through serde_json: repeated keys, lone
//! surrogates, `-0` and `1e400` must reach the guard exactly as an operator
//! could type them.

use std::collections::BTreeMap;

use serde_json::Value;
use terway_guard::config::fields::FIELDS;

use crate::values::{RETYPES, edge_values, nest, renames, values_for};

/// splitmix64: tiny, seedable, good enough to spread choices.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One generated edit and the object it produces.
#[derive(Debug, Clone)]
pub struct Edit {
    /// What kind of edit: set, retype, edge, delete, rename, duplicate,
    /// unknown-key, cni, policy.
    pub class: &'static str,
    /// The `eni_conf` field or the data key the edit is about.
    pub field: String,
    /// Whether the edited object is the base `eni-config` (not a dynamic config).
    pub base: bool,
    /// Every key the edit writes or removes, as written (a rename names both).
    pub keys: Vec<String>,
    /// Human summary, e.g. `max_pool_size = -0`.
    pub what: String,
    pub data: BTreeMap<String, String>,
}

impl Edit {
    pub fn on_eni_conf(&self) -> bool {
        !matches!(self.class, "cni" | "policy")
    }
}

/// `eni_conf` as (key, raw JSON value) pairs in document order; `None` when
/// it is not a JSON object serde can read (the edit then starts from `{}`
/// only if the text is empty or `null`).
pub fn entries(text: &str) -> Option<Vec<(String, String)>> {
    if text.trim().is_empty() || text.trim() == "null" {
        return Some(Vec::new());
    }
    // Read as Go reads it (`-0` is the integer 0; serde_json would make it
    // -0.0, which Go refuses for an int, and blame the edit for it).
    let Value::Object(map) = terway_guard::config::go_json::decode(text).ok()?.value else {
        return None;
    };
    Some(map.into_iter().map(|(k, v)| (k, v.to_string())).collect())
}

pub fn render(entries: &[(String, String)]) -> String {
    let body: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("{}: {v}", serde_json::to_string(k).unwrap_or_default()))
        .collect();
    format!("{{{}}}", body.join(", "))
}

/// Every edit of the table for one config, before sampling.
pub fn all_edits(data: &BTreeMap<String, String>, base_role: bool) -> Vec<Edit> {
    let mut out = Vec::new();
    if let Some(doc) = data.get("eni_conf").and_then(|t| entries(t)) {
        eni_conf_edits(data, &doc, base_role, &mut out);
    }
    if base_role {
        data_edits(data, &mut out);
    }
    out
}

fn eni_conf_edits(
    data: &BTreeMap<String, String>,
    doc: &[(String, String)],
    base: bool,
    out: &mut Vec<Edit>,
) {
    let with = |class: &'static str,
                field: &str,
                keys: Vec<String>,
                what: String,
                doc: Vec<(String, String)>| {
        let mut data = data.clone();
        data.insert("eni_conf".into(), render(&doc));
        Edit {
            class,
            base,
            field: field.to_string(),
            keys,
            what,
            data,
        }
    };
    let set = |key: &str, raw: &str| {
        let mut d = doc.to_vec();
        match d.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = raw.to_string(),
            None => d.push((key.to_string(), raw.to_string())),
        }
        d
    };
    for f in FIELDS {
        let name = f.name;
        let current = doc.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let one = vec![name.to_string()];
        for raw in values_for(name, f.kind) {
            out.push(with(
                "set",
                name,
                one.clone(),
                format!("{name} = {raw}"),
                set(name, raw),
            ));
        }
        for raw in RETYPES {
            out.push(with(
                "retype",
                name,
                one.clone(),
                format!("{name} = {raw}"),
                set(name, raw),
            ));
        }
        for raw in edge_values() {
            let shown = if raw.len() > 40 {
                format!("<nesting {}>", raw.len() / 2)
            } else {
                raw.clone()
            };
            out.push(with(
                "edge",
                name,
                one.clone(),
                format!("{name} = {shown}"),
                set(name, &raw),
            ));
        }
        let Some(current) = current else {
            // Absent: a repeated key still matters (the first one is wrong).
            let d = [
                doc.to_vec(),
                vec![
                    (name.into(), r#"{"x": []}"#.into()),
                    (name.into(), values_for(name, f.kind)[0].into()),
                ],
            ]
            .concat();
            out.push(with(
                "duplicate",
                name,
                one.clone(),
                format!("{name} twice, the first of the wrong type"),
                d,
            ));
            continue;
        };
        out.push(with(
            "delete",
            name,
            one.clone(),
            format!("delete {name}"),
            doc.iter().filter(|(k, _)| k != name).cloned().collect(),
        ));
        if let Some(s) = current.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            for ws in [
                format!("\" {s}\""),
                format!("\"{s} \""),
                format!("\"{s}\\n\""),
                format!("\"{}\"", s.replace('/', "\\/")),
            ] {
                out.push(with(
                    "edge",
                    name,
                    one.clone(),
                    format!("{name} = {ws}"),
                    set(name, &ws),
                ));
            }
        }
        for new_key in renames(name) {
            let d = doc
                .iter()
                .map(|(k, v)| {
                    if k == name {
                        (new_key.clone(), v.clone())
                    } else {
                        (k.clone(), v.clone())
                    }
                })
                .collect();
            out.push(with(
                "rename",
                name,
                vec![name.to_string(), new_key.clone()],
                format!("rename {name} to {new_key:?}"),
                d,
            ));
        }
        let at = doc.iter().position(|(k, _)| k == name).unwrap_or(0);
        for (label, first, second) in [
            (
                "the first of the wrong type",
                r#"{"x": []}"#.to_string(),
                current.clone(),
            ),
            ("the same value twice", current.clone(), current.clone()),
            (
                "a second value appended",
                current.clone(),
                values_for(name, f.kind)[0].to_string(),
            ),
        ] {
            let mut d = doc.to_vec();
            d[at].1 = first;
            d.insert(at + 1, (name.to_string(), second));
            out.push(with(
                "duplicate",
                name,
                one.clone(),
                format!("{name} twice, {label}"),
                d,
            ));
        }
    }
    for (key, raw) in [
        ("x_unknown", "1e400"),
        ("x_unknown", "-0"),
        ("x_unknown", r#""\ud800""#),
        ("x_unknown", r#""\udc00""#),
        ("x_unknown", nest(200).as_str()),
        ("x_unknown", nest(300).as_str()),
        ("", "1"),
        ("max_pool_sise", "5"),
        ("acess_secret", r#""LTAI5tSECRETmarker""#),
        ("enable_eip_pool", "true"),
        ("\u{212a}ube_client_burst", "1"),
    ] {
        let d = set(key, raw);
        out.push(with(
            "unknown-key",
            key,
            vec![key.to_string()],
            format!(
                "add {key:?} = {}",
                if raw.len() > 40 { "<nesting>" } else { raw }
            ),
            d,
        ));
    }
}

const CONF: &str = "10-terway.conf";
const CONFLIST: &str = "10-terway.conflist";

fn data_edits(data: &BTreeMap<String, String>, out: &mut Vec<Edit>) {
    let t = |extra: &str| {
        format!(r#"{{"cniVersion": "0.4.0", "name": "terway", "type": "terway"{extra}}}"#)
    };
    let mut conf: Vec<Option<String>> = [
        r#"{"type": "Terway"}"#,
        r#"{"type": " terway"}"#,
        r#"{"type": "terwey"}"#,
        r#"{"type": "bridge"}"#,
        r#"{}"#,
        r#"{"type": 1}"#,
        "not json",
        r#"[]"#,
        r#""""#,
    ]
    .iter()
    .map(|s| Some(s.to_string()))
    .collect();
    for extra in [
        r#", "mtu": 1500"#,
        r#", "mtu": "1500""#,
        r#", "capabilities": {"bandwidth": true}"#,
        r#", "capabilities": {"bandwidth": "true"}"#,
        r#", "capabilities": ["bandwidth"]"#,
        r#", "host_stack_cidrs": ["169.254.20.10/32"]"#,
        r#", "host_stack_cidrs": ["169.254.20.10"]"#,
        r#", "host_stack_cidrs": "169.254.20.10/32""#,
        r#", "ipam": "host-local""#,
        r#", "dns": []"#,
        r#", "runtimeConfig": []"#,
        r#", "debug": "true""#,
        r#", "disable_host_peer": 1"#,
        r#", "enable_network_priority": "true""#,
        r#", "veth_prefix": 1"#,
        r#", "vlan_strip_type": 1"#,
        r#", "symmetric_routing_config": "x""#,
        r#", "cilium_args": 1"#,
        r#", "network_policy_provider": 1"#,
        r#", "eniip_virtual_type": "ipvlan""#,
        r#", "eniip_virtual_type": "nope""#,
        r#", "prevResult": 1"#,
    ] {
        conf.push(Some(t(extra)));
    }
    conf.push(None);
    for v in conf {
        edit_key(data, "cni", CONF, v, out);
    }
    let list = |plugins: &str| {
        format!(r#"{{"cniVersion": "0.4.0", "name": "terway-chainer", "plugins": {plugins}}}"#)
    };
    let mut lists: Vec<Option<String>> = [
        r#"[{"type": "terway"}, {"type": "cilium-cni"}]"#,
        r#"{"a": {"type": "terway"}}"#,
        r#"[]"#,
        r#"[{"type": "Terway"}]"#,
        r#"[{"type": "terway", "capabilities": {"bandwidth": "true"}}]"#,
        r#"[{"type": "terway", "mtu": "1500"}]"#,
        r#"[{"type": "terway"}, {"type": "portmap", "capabilities": {"portMappings": true}}]"#,
        r#""x""#,
    ]
    .iter()
    .map(|p| Some(list(p)))
    .collect();
    lists.push(None);
    for v in lists {
        edit_key(data, "cni", CONFLIST, v, out);
    }
    for v in [
        "true", "false", "0", "", "no", "False", "off", "yes", "false\n", " false",
    ] {
        edit_key(
            data,
            "policy",
            "disable_network_policy",
            Some(v.to_string()),
            out,
        );
    }
    edit_key(data, "policy", "disable_network_policy", None, out);
    // terway-init turns in-cluster load balancing on only for exactly "true"
    // (cmd/terway-cli/common.go getAllConfig).
    for v in ["true", "false", "True", "yes", ""] {
        edit_key(
            data,
            "policy",
            "in_cluster_loadbalance",
            Some(v.to_string()),
            out,
        );
    }
    edit_key(data, "policy", "in_cluster_loadbalance", None, out);
}

fn edit_key(
    data: &BTreeMap<String, String>,
    class: &'static str,
    key: &str,
    value: Option<String>,
    out: &mut Vec<Edit>,
) {
    if data.get(key) == value.as_ref() {
        return;
    }
    let mut d = data.clone();
    let what = match &value {
        Some(v) => {
            d.insert(key.to_string(), v.clone());
            format!("data[{key:?}] = {v:?}")
        }
        None => {
            d.remove(key);
            format!("delete data[{key:?}]")
        }
    };
    out.push(Edit {
        class,
        base: true,
        field: key.to_string(),
        keys: vec![key.to_string()],
        what,
        data: d,
    });
}
