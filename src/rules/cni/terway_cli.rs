//! terway-init's `terway-cli cni`: how it turns the CNI key into the conflist
//! it writes (cmd/terway-cli/cni.go processInput and mergeConfigList, gabs
//! v2.7.0, at 89aadf8).
//!
//! - `plugins` present (exact key): its children are the plugins. gabs
//!   `Children()` takes an array's items and an object's values (in Go's
//!   random map order); anything else has no children.
//! - Otherwise the whole document is the one plugin.
//! - Each plugin loses its exact `cniVersion` and `name`, needs a string
//!   `type` ("type not found"), and is kept whatever its type. Only a plugin
//!   whose `type` is exactly `"terway"` is Terway's: its
//!   `network_policy_provider` must be a string and its
//!   `eniip_virtual_type` a datapath terway-cli knows; terway-cli overwrites
//!   `eniip_virtual_type` and `bandwidth_mode` and drops a boolean
//!   `auto_mtu`.
//! - Everything goes through `interface{}` and back (`json.Unmarshal`,
//!   `json.Marshal`): every number becomes a float64 and is written in Go's
//!   float format, so `1500.0` is written `1500` and `1e21` stays `1e+21`.

use serde_json::{Map, Number, Value};

use super::{Reader, Report, shown};
use crate::config::Path;
use crate::config::path::quote_short;

const TERWAY: &str = "terway";
const SOURCE: &str = "cmd/terway-cli/cni.go mergeConfigList";

/// One plugin of the written conflist.
pub(super) struct Plugin {
    /// Where it came from in the ConfigMap.
    pub at: Path,
    /// As written (see the module doc).
    pub conf: Map<String, Value>,
    /// `type` is exactly "terway".
    pub terway: bool,
}

/// The plugins terway-cli writes, or `None` when it fails (reported).
pub(super) fn write(doc: &Value, at: &Path, report: &mut Report) -> Option<Vec<Plugin>> {
    let reader = Reader::TerwayCli;
    let entries: Vec<(Path, &Value)> = match doc.as_object().and_then(|o| o.get("plugins")) {
        None => vec![(at.clone(), doc)],
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (at.key("plugins").index(i), v))
            .collect(),
        Some(Value::Object(items)) => {
            if items.len() > 1 {
                report.warn(
                    at.key("plugins"),
                    reader,
                    "plugins is an object: terway-cli takes its values as the plugins (gabs Children), but in Go's random map order, so the chain order differs from node to node; write plugins as a list",
                );
            }
            items
                .iter()
                .map(|(k, v)| (at.key("plugins").key(k), v))
                .collect()
        }
        Some(_) => Vec::new(),
    };
    let mut failed = false;
    let mut near_miss = false;
    let mut plugins = Vec::new();
    for (at, v) in entries {
        let Some(p) = v.as_object() else {
            report.deny(
                at,
                reader,
                format!("a plugin must be a JSON object with a string \"type\"; {} fails with \"type not found\" ({SOURCE}); {}", reader.name(), reader.impact()),
            );
            failed = true;
            continue;
        };
        let Some(kind) = p.get("type").and_then(Value::as_str) else {
            report.deny(
                at.key("type"),
                reader,
                format!("a plugin needs a string \"type\" (e.g. \"terway\"); {} fails with \"type not found\" ({SOURCE}); {}", reader.name(), reader.impact()),
            );
            failed = true;
            continue;
        };
        let terway = kind == TERWAY;
        // One copy, written back in place below.
        let mut conf = p.clone();
        conf.shift_remove("cniVersion");
        conf.shift_remove("name");
        if terway {
            failed |= !terway_plugin(&mut conf, &at, report);
        } else if kind.trim().eq_ignore_ascii_case(TERWAY) {
            near_miss = true;
            report.deny(
                at.key("type"),
                reader,
                format!("type is {}, not exactly \"terway\": terway-cli compares it exactly ({SOURCE}) and does not set it up as Terway's, and containerd then looks for a CNI binary of that name, which does not exist, so every pod sandbox on a new node fails. Write \"terway\"", quote_short(kind, 30)),
            );
        }
        conf.values_mut().for_each(write_back);
        plugins.push(Plugin { at, conf, terway });
    }
    if failed {
        return None;
    }
    if plugins.is_empty() {
        report.deny(
            at.key("plugins"),
            Reader::Libcni,
            format!("plugins has no plugin in it, so terway-cli writes a conflist without plugins ({SOURCE}) and containerd's libcni refuses it (\"no plugins in list\", libcni/conf.go ConfListFromBytes): the node stays NetworkReady=false. List the plugins, the terway plugin first"),
        );
        return None;
    }
    if !near_miss && !plugins.iter().any(|p| p.terway) {
        report.deny(
            at.clone(),
            reader,
            format!("no plugin has \"type\": \"terway\" exactly, so the conflist terway-cli writes ({SOURCE}) has no Terway plugin and no pod on a new node gets a Terway network. Add {{\"type\": \"terway\"}}"),
        );
    }
    Some(plugins)
}

/// The terway plugin's keys terway-cli itself reads; `false` if it fails.
fn terway_plugin(conf: &mut Map<String, Value>, at: &Path, report: &mut Report) -> bool {
    let reader = Reader::TerwayCli;
    let mut ok = true;
    if let Some(v) = conf.get("network_policy_provider")
        && !v.is_string()
    {
        report.deny(
            at.key("network_policy_provider"),
            reader,
            format!("network_policy_provider is {}; it must be a string (\"iptables\" or \"ebpf\"): {} fails with \"network_policy_provider type error\" ({SOURCE}); {}", shown(v), reader.name(), reader.impact()),
        );
        ok = false;
    }
    // terway-cli requires kernel 5.10, so the eBPF branch always runs: the
    // datapath is decided and written back.
    let datapath = match conf.get("eniip_virtual_type") {
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "" | "veth" => "veth",
            "datapathv2" => "datapathv2",
            "ipvlan" => {
                report.warn(
                    at.key("eniip_virtual_type"),
                    reader,
                    format!("eniip_virtual_type is {}: terway-cli runs ipvlan as datapathv2 (cilium) where it can, and fails with \"ipvlan is unsupported\" on a node that still has a cilium_net link from before without datapathv2 recorded, or with the AutoDataPathV2 gate off ({SOURCE}; cmd/terway-cli/cni_linux.go switchDataPathV2); write \"datapathv2\"", quote_short(s, 30)),
                );
                "datapathv2"
            }
            _ => {
                report.deny(
                    at.key("eniip_virtual_type"),
                    reader,
                    format!("eniip_virtual_type is {}; terway-cli knows only veth, ipvlan and datapathv2 (any case) and fails with \"invalid datapath\" ({SOURCE}); {}", quote_short(s, 30), reader.impact()),
                );
                ok = false;
                "veth"
            }
        },
        Some(v) if !v.is_null() => {
            report.warn(
                at.key("eniip_virtual_type"),
                reader,
                format!("eniip_virtual_type is {}, not a string: terway-cli takes it as \"veth\" ({SOURCE}); write \"veth\", \"ipvlan\" or \"datapathv2\"", shown(v)),
            );
            "veth"
        }
        _ => "veth",
    };
    conf.insert("eniip_virtual_type".into(), Value::from(datapath));
    conf.insert("bandwidth_mode".into(), Value::from("tc"));
    match conf.get("auto_mtu") {
        Some(Value::Bool(_)) => {
            conf.shift_remove("auto_mtu");
        }
        Some(v) if !v.is_null() => report.warn(
            at.key("auto_mtu"),
            reader,
            format!("auto_mtu is {}, not true or false: terway-cli ignores it, so the MTU is not detected ({SOURCE}); write true or false", shown(v)),
        ),
        _ => {}
    }
    ok
}

/// A value made what terway-cli writes back, in place: through Go's
/// `interface{}`, every number is a float64 marshalled in Go's float format
/// (integral values below 1e21 without a fraction or exponent).
pub(super) fn write_back(v: &mut Value) {
    match v {
        Value::Number(n) => {
            let Some(f) = n.as_f64() else {
                return;
            };
            // 2^63: the first integral float64 outside i64.
            const I64_END: f64 = 9_223_372_036_854_775_808.0;
            *v = if f.fract() == 0.0 && (-I64_END..I64_END).contains(&f) {
                // In range by the check above: the cast is exact.
                Value::from(f as i64)
            } else {
                Number::from_f64(f).map_or(Value::Null, Value::Number)
            };
        }
        Value::Array(items) => items.iter_mut().for_each(write_back),
        Value::Object(map) => map.values_mut().for_each(write_back),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;

    #[test]
    fn terway_cli_cni() {
        table(
            "10-terway.conf",
            &[
                (TERWAY, &[]),
                (r#"{"type":"terway"}"#, &[]),
                (
                    r#"{"cniVersion":"0.4.0"}"#,
                    &[(D, r#"data["10-terway.conf"].type"#, "type not found")],
                ),
                ("{\"type\":", &[(D, CONF, "not valid JSON")]),
                ("[]", &[(D, CONF, "type not found")]),
                (
                    r#"{"type":"terway","eniip_virtual_type":"IPVlan"}"#,
                    &[(
                        W,
                        r#"data["10-terway.conf"].eniip_virtual_type"#,
                        "ipvlan is unsupported",
                    )],
                ),
                (
                    r#"{"type":"terway","eniip_virtual_type":"macvlan"}"#,
                    &[(
                        D,
                        r#"data["10-terway.conf"].eniip_virtual_type"#,
                        "invalid datapath",
                    )],
                ),
                (
                    r#"{"type":"terway","eniip_virtual_type":7}"#,
                    &[(
                        W,
                        r#"data["10-terway.conf"].eniip_virtual_type"#,
                        "as \"veth\"",
                    )],
                ),
                (
                    r#"{"type":"terway","network_policy_provider":1}"#,
                    &[(
                        D,
                        r#"data["10-terway.conf"].network_policy_provider"#,
                        "network_policy_provider type error",
                    )],
                ),
                (
                    r#"{"type":"terway","network_policy_provider":null}"#,
                    &[(
                        D,
                        r#"data["10-terway.conf"].network_policy_provider"#,
                        "network_policy_provider type error",
                    )],
                ),
                (
                    r#"{"type":"terway","auto_mtu":"true"}"#,
                    &[(W, r#"data["10-terway.conf"].auto_mtu"#, "ignores it")],
                ),
                // Exact comparison: these leave no terway plugin.
                (
                    r#"{"type":"Terway"}"#,
                    &[(D, r#"data["10-terway.conf"].type"#, "compares it exactly")],
                ),
                (
                    r#"{"type":" terway"}"#,
                    &[(D, r#"data["10-terway.conf"].type"#, "compares it exactly")],
                ),
                (r#"{"type":"terwya"}"#, &[(D, CONF, "no Terway plugin")]),
                // terway-cli's bandwidth_mode and datapath overwrite the user's.
                (r#"{"type":"terway","bandwidth_mode":5}"#, &[]),
            ],
        );
    }

    const LIST: &str = r#"data["10-terway.conflist"]"#;

    #[test]
    fn terway_cli_plugins() {
        table(
            "10-terway.conflist",
            &[
                (
                    r#"{"plugins":[{"type":"terway"},{"type":"portmap","capabilities":{"portMappings":true}}]}"#,
                    &[],
                ),
                // gabs Children() takes an object's values.
                (r#"{"plugins":{"main":{"type":"terway"}}}"#, &[]),
                (
                    r#"{"plugins":{"a":{"type":"terway"},"b":{"type":"portmap"}}}"#,
                    &[(
                        W,
                        r#"data["10-terway.conflist"].plugins"#,
                        "random map order",
                    )],
                ),
                (
                    r#"{"plugins":[]}"#,
                    &[(
                        D,
                        r#"data["10-terway.conflist"].plugins"#,
                        "no plugins in list",
                    )],
                ),
                (
                    r#"{"plugins":"terway"}"#,
                    &[(
                        D,
                        r#"data["10-terway.conflist"].plugins"#,
                        "no plugins in list",
                    )],
                ),
                (
                    r#"{"plugins":null}"#,
                    &[(
                        D,
                        r#"data["10-terway.conflist"].plugins"#,
                        "no plugins in list",
                    )],
                ),
                (
                    r#"{"plugins":[{"type":"terway"},"portmap"]}"#,
                    &[(
                        D,
                        r#"data["10-terway.conflist"].plugins[1]"#,
                        "type not found",
                    )],
                ),
                (
                    r#"{"plugins":[{"type":"portmap"}]}"#,
                    &[(D, LIST, "no Terway plugin")],
                ),
                (
                    r#"{"plugins":[{"type":"TERWAY"},{"type":"portmap"}]}"#,
                    &[(
                        D,
                        r#"data["10-terway.conflist"].plugins[0].type"#,
                        "exactly",
                    )],
                ),
            ],
        );
    }

    #[test]
    fn numbers_come_back_as_go_writes_a_float64() {
        use serde_json::json;
        let cases = [
            (json!(1500), json!(1500)),
            (json!(1500.0), json!(1500)),
            (json!(1.5e3), json!(1500)),
            (json!(-0.0), json!(0)),
            (json!(1500.5), json!(1500.5)),
            // 2^63 and 1e21 are not Go ints once written.
            (
                json!(9_223_372_036_854_775_807i64),
                json!(9.223_372_036_854_776e18),
            ),
            (json!(1e21), json!(1e21)),
            (json!({"a": [1.0, "x"]}), json!({"a": [1, "x"]})),
        ];
        for (v, want) in cases {
            let mut got = v.clone();
            super::write_back(&mut got);
            assert_eq!(got, want, "{v}");
        }
    }
}
