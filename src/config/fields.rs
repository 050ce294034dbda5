//! The `eni_conf` fields Terway parses (types/daemon/config.go) and their Go types.

use serde_json::Value;

/// The JSON shape Go's `encoding/json` accepts for a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Int,
    Float,
    Bool,
    StringList,
    StringMap,
    /// zone → [vSwitch id]
    ZoneMap,
    IntMap,
    Object,
    Array,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::String => "a string",
            Kind::Int => "an integer",
            Kind::Float => "a number",
            Kind::Bool => "true or false",
            Kind::StringList => "a list of strings",
            Kind::StringMap => "an object of string values",
            Kind::ZoneMap => "an object mapping each zone to a list of vSwitch ids",
            Kind::IntMap => "an object of integer values",
            Kind::Object => "an object",
            Kind::Array => "an array",
        }
    }

    /// Whether Go would unmarshal `v` into this kind without error.
    /// `null` is always accepted (Go leaves the field at its zero value).
    pub fn accepts(self, v: &Value) -> bool {
        if v.is_null() {
            return true;
        }
        match self {
            Kind::String => v.is_string(),
            Kind::Int => is_go_int(v),
            Kind::Float => v.is_number(),
            Kind::Bool => v.is_boolean(),
            Kind::StringList => v
                .as_array()
                .is_some_and(|a| a.iter().all(|i| i.is_string() || i.is_null())),
            Kind::StringMap => v
                .as_object()
                .is_some_and(|m| m.values().all(|i| i.is_string() || i.is_null())),
            Kind::ZoneMap => v
                .as_object()
                .is_some_and(|m| m.values().all(|i| Kind::StringList.accepts(i))),
            Kind::IntMap => v
                .as_object()
                .is_some_and(|m| m.values().all(|i| is_go_int(i) || i.is_null())),
            Kind::Object => v.is_object(),
            Kind::Array => v.is_array(),
        }
    }
}

/// Go's `int` (64-bit) takes integer literals only: `80.0` and `1e2` fail.
fn is_go_int(v: &Value) -> bool {
    v.as_i64().is_some()
}

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    /// Never echo the value anywhere.
    pub secret: bool,
}

const fn f(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        secret: false,
    }
}

pub const FIELDS: &[Field] = &[
    f("version", Kind::String),
    Field {
        name: "access_key",
        kind: Kind::String,
        secret: true,
    },
    Field {
        name: "access_secret",
        kind: Kind::String,
        secret: true,
    },
    f("region_id", Kind::String),
    f("credential_path", Kind::String),
    f("service_cidr", Kind::String),
    f("vswitches", Kind::ZoneMap),
    f("eni_tags", Kind::StringMap),
    f("max_pool_size", Kind::Int),
    f("min_pool_size", Kind::Int),
    f("ip_warm_up_size", Kind::Int),
    f("idle_ip_reclaim_after", Kind::String),
    f("idle_ip_reclaim_interval", Kind::String),
    f("idle_ip_reclaim_batch_size", Kind::Int),
    f("idle_ip_reclaim_jitter_factor", Kind::String),
    f("min_eni", Kind::Int),
    f("max_eni", Kind::Int),
    f("prefix", Kind::String),
    f("security_group", Kind::String),
    f("security_groups", Kind::StringList),
    f("eni_cap_ratio", Kind::Float),
    f("eni_cap_shift", Kind::Int),
    f("vswitch_selection_policy", Kind::String),
    f("eni_selection_policy", Kind::String),
    f("ip_stack", Kind::String),
    f("enable_eni_trunking", Kind::Bool),
    f("enable_erdma", Kind::Bool),
    f("custom_stateful_workload_kinds", Kind::StringList),
    f("ipam_type", Kind::String),
    f("backoff_override", Kind::Object),
    f("extra_routes", Kind::Array),
    f("disable_device_plugin", Kind::Bool),
    f("eni_tag_filter", Kind::StringMap),
    f("eni_tag_block_list", Kind::StringList),
    f("kube_client_qps", Kind::Float),
    f("kube_client_burst", Kind::Int),
    f("resource_group_id", Kind::String),
    f("rate_limit", Kind::IntMap),
    f("enable_patch_pod_ips", Kind::Bool),
    f("ip_pool_sync_period", Kind::String),
    f("enable_ip_prefix", Kind::Bool),
    f("ipv4_prefix_count", Kind::Int),
    f("ipv6_prefix_count", Kind::Int),
];

/// The field Go would decode `key` into (exact or case-insensitive match).
pub fn lookup(key: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name.eq_ignore_ascii_case(key))
}

/// Whether a top-level key probably holds a credential, even if misspelt.
pub fn looks_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["secret", "access", "password", "token"]
        .iter()
        .any(|w| k.contains(w))
}

/// The closest known field name, for "did you mean" hints.
pub fn suggest(key: &str) -> Option<&'static str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['-', ' ', '.'], "_");
    let key = norm(key);
    let limit = if key.len() > 12 { 3 } else { 2 };
    FIELDS
        .iter()
        .map(|f| (levenshtein(&key, f.name), f.name))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_accept_what_go_accepts() {
        let cases = [
            (Kind::Int, json!(80), true),
            (Kind::Int, json!("80"), false),
            (Kind::Int, json!(80.0), false),
            (Kind::Int, json!(-3), true),
            (Kind::Int, json!(null), true),
            (Kind::Float, json!(0.5), true),
            (Kind::Float, json!("0.5"), false),
            (Kind::Bool, json!("true"), false),
            (Kind::StringList, json!(["a", null]), true),
            (Kind::StringList, json!(["a", 1]), false),
            (Kind::ZoneMap, json!({"z": ["vsw-1"]}), true),
            (Kind::ZoneMap, json!({"z": "vsw-1"}), false),
            (Kind::ZoneMap, json!(["vsw-1"]), false),
            (Kind::StringMap, json!({"k": 1}), false),
            (Kind::IntMap, json!({"k": 1}), true),
            (Kind::String, json!(1), false),
        ];
        for (kind, value, want) in cases {
            assert_eq!(kind.accepts(&value), want, "{kind:?} {value}");
        }
    }

    #[test]
    fn suggests_near_misses_only() {
        let cases = [
            ("max_pool_sise", Some("max_pool_size")),
            ("vswitchs", Some("vswitches")),
            ("max-pool-size", Some("max_pool_size")),
            ("security_group_ids", Some("security_groups")),
            ("cluster_domain_name", None),
            ("hello", None),
        ];
        for (key, want) in cases {
            assert_eq!(suggest(key), want, "{key}");
        }
    }

    #[test]
    fn secrets_are_recognised_even_misspelt() {
        assert!(looks_secret("access_secret"));
        assert!(looks_secret("acess_secret"));
        assert!(looks_secret("AccessKey"));
        assert!(!looks_secret("max_pool_size"));
    }
}
