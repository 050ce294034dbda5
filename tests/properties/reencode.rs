//! `S` written another way Go's decoder (and jq) reads the same: for
//! property (a), which must then hold unchanged.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::edits::render;

/// `eni_conf` written differently but read identically by Go's decoder (and
/// jq): compact, pretty, keys in reverse order, `/` as `\/`, every string
/// character as a `\uXXXX` escape. Empty when it is not a JSON object, or
/// when it repeats a key in a way the daemon's typed decode merges (its
/// view differs from the last-wins one json-patch and jq read): then no text
/// without the repeat reads the same for all of them.
pub fn reencodings(
    data: &BTreeMap<String, String>,
) -> Vec<(&'static str, BTreeMap<String, String>)> {
    let Some(text) = data.get("eni_conf") else {
        return Vec::new();
    };
    let Some(Value::Object(map)) = terway_guard::config::go_json::decode(text)
        .ok()
        .map(|d| d.value)
    else {
        return Vec::new();
    };
    let merged_differently = terway_guard::config::EniConf::parse(text)
        .ok()
        .and_then(|c| c.as_merge_patch().map(|p| p.doc() != c.doc()))
        .unwrap_or(false);
    if merged_differently {
        return Vec::new();
    }
    let compact = Value::Object(map.clone()).to_string();
    let mut reversed: Vec<(String, String)> = map
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    reversed.reverse();
    let variants = [
        ("compact", compact.clone()),
        (
            "pretty",
            serde_json::to_string_pretty(&map).unwrap_or_default(),
        ),
        ("keys in reverse order", render(&reversed)),
        // `/` only occurs inside strings in JSON.
        ("\\/ for /", compact.replace('/', "\\/")),
        ("\\u escapes", escaped(&Value::Object(map))),
    ];
    variants
        .into_iter()
        .filter(|(_, t)| t != text)
        .map(|(label, t)| {
            let mut d = data.clone();
            d.insert("eni_conf".into(), t);
            (label, d)
        })
        .collect()
}

/// `v` as JSON with every character of every string (keys too) escaped.
fn escaped(v: &Value) -> String {
    let s = |s: &str| {
        let mut out = String::from("\"");
        for u in s.encode_utf16() {
            out.push_str(&format!("\\u{u:04x}"));
        }
        out.push('"');
        out
    };
    match v {
        Value::String(x) => s(x),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(escaped).collect::<Vec<_>>().join(",")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}:{}", s(k), escaped(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}
