//! The `eni_conf` fields Terway parses and their Go types, with the Terway
//! version that introduced (or removed) each one.
//!
//! Source: AliyunContainerService/terway types/daemon/config.go (`Config`), at
//! commit 89aadf8 (v1.17.2-42); versions from the same file at each release tag.

use super::go_json::fold_eq;
use super::go_types::{Kind, Member, m};
use super::version::Version;

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    /// Never echo the value anywhere.
    pub secret: bool,
    /// The first Terway release whose daemon reads it; `None` = every release
    /// terway-guard knows of (v1.4.3 and later).
    pub since: Option<Version>,
    /// Typed as a pointer in `daemon.Config` (`*int`, `*string`, `*bool`):
    /// a `null` resets it to nil, where a plain field keeps what an earlier
    /// occurrence of its key wrote (`super::typed`).
    pub pointer: bool,
}

const fn f(name: &'static str, kind: Kind) -> Field {
    Field {
        name,
        kind,
        secret: false,
        since: None,
        pointer: false,
    }
}

const fn since(name: &'static str, kind: Kind, v: Version) -> Field {
    Field {
        name,
        kind,
        secret: false,
        since: Some(v),
        pointer: false,
    }
}

const fn secret(name: &'static str) -> Field {
    Field {
        name,
        kind: Kind::String,
        secret: true,
        since: None,
        pointer: false,
    }
}

/// `field`, typed as a pointer in types/daemon/config.go (89aadf8).
const fn pointer(field: Field) -> Field {
    Field {
        pointer: true,
        ..field
    }
}

/// backoff.ExtendedBackoff (pkg/backoff/backoff.go): `InitialDelay` plus the
/// embedded k8s `wait.Backoff`, whose fields have no json tags, so the keys
/// are the Go field names. Durations are integer nanoseconds.
pub const BACKOFF_MEMBERS: &[Member] = &[
    m("InitialDelay", Kind::Int),
    m("Duration", Kind::Int),
    m("Factor", Kind::Float),
    m("Jitter", Kind::Float),
    m("Steps", Kind::Int),
    m("Cap", Kind::Int),
];
const BACKOFF: Kind = Kind::Struct(BACKOFF_MEMBERS);
/// route.Route (types/route/route.go).
const ROUTE: Kind = Kind::Struct(&[m("dst", Kind::String)]);
/// v1beta1.ENITagBlockListItem (pkg/apis/network.alibabacloud.com/v1beta1/node_types.go).
const TAG_ITEM: Kind = Kind::Struct(&[m("key", Kind::String), m("value", Kind::String)]);

const fn v(major: u16, minor: u16, patch: u16) -> Version {
    Version::new(major, minor, patch)
}

pub const FIELDS: &[Field] = &[
    f("version", Kind::String),
    secret("access_key"),
    secret("access_secret"),
    since("region_id", Kind::String, v(1, 5, 7)),
    f("credential_path", Kind::String),
    f("service_cidr", Kind::String),
    f("vswitches", Kind::Map(&Kind::List(&Kind::String))),
    f("eni_tags", Kind::Map(&Kind::String)),
    f("max_pool_size", Kind::Int),
    f("min_pool_size", Kind::Int),
    pointer(since("ip_warm_up_size", Kind::Int, v(1, 16, 4))),
    pointer(since("idle_ip_reclaim_after", Kind::String, v(1, 16, 0))),
    pointer(since("idle_ip_reclaim_interval", Kind::String, v(1, 16, 0))),
    since("idle_ip_reclaim_batch_size", Kind::Int, v(1, 16, 0)),
    pointer(since(
        "idle_ip_reclaim_jitter_factor",
        Kind::String,
        v(1, 16, 0),
    )),
    f("min_eni", Kind::Int),
    f("max_eni", Kind::Int),
    f("prefix", Kind::String),
    f("security_group", Kind::String),
    f("security_groups", Kind::List(&Kind::String)),
    f("eni_cap_ratio", Kind::Float),
    f("eni_cap_shift", Kind::Int),
    f("vswitch_selection_policy", Kind::String),
    since("eni_selection_policy", Kind::String, v(1, 9, 6)),
    f("ip_stack", Kind::String),
    f("enable_eni_trunking", Kind::Bool),
    since("enable_erdma", Kind::Bool, v(1, 7, 0)),
    f("custom_stateful_workload_kinds", Kind::List(&Kind::String)),
    f("ipam_type", Kind::String),
    f("backoff_override", Kind::Map(&BACKOFF)),
    f("extra_routes", Kind::List(&ROUTE)),
    f("disable_device_plugin", Kind::Bool),
    since("eni_tag_filter", Kind::Map(&Kind::String), v(1, 5, 5)),
    // Added after v1.17.5 (commit 30479a54); not in a release tag yet.
    since("eni_tag_block_list", Kind::List(&TAG_ITEM), v(1, 17, 6)),
    f("kube_client_qps", Kind::Float32),
    f("kube_client_burst", Kind::Int),
    since("resource_group_id", Kind::String, v(1, 8, 0)),
    since("rate_limit", Kind::Map(&Kind::Int), v(1, 10, 0)),
    pointer(since("enable_patch_pod_ips", Kind::Bool, v(1, 13, 4))),
    since("ip_pool_sync_period", Kind::String, v(1, 15, 0)),
    since("enable_ip_prefix", Kind::Bool, v(1, 17, 1)),
    since("ipv4_prefix_count", Kind::Int, v(1, 17, 1)),
    since("ipv6_prefix_count", Kind::Int, v(1, 17, 1)),
];

/// Fields Terway once read and dropped, with the release that dropped them.
pub const REMOVED: &[(&str, Version)] = &[
    ("enable_eip_pool", v(1, 9, 6)),
    ("allow_eip_rob", v(1, 9, 6)),
    ("wait_trunk_eni", v(1, 9, 6)),
    ("disable_security_group_check", v(1, 9, 6)),
    ("enable_eip_migrate", v(1, 9, 6)),
    ("eni_cap_policy", v(1, 11, 1)),
];

/// The field the daemon decodes `key` into: exact names only.
pub fn lookup(key: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name == key)
}

/// The field `encoding/json` would match `key` to (also case-insensitively).
pub fn lookup_folded(key: &str) -> Option<&'static Field> {
    lookup(key).or_else(|| lookup_ignoring_case(key))
}

/// The field `encoding/json` matches `key` to by case folding alone (Go's
/// `foldName`, Unicode simple folding: `ſ` ~ `s`, Kelvin sign ~ `k`); the
/// exact match first is [`lookup_folded`]'s job.
pub fn lookup_ignoring_case(key: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| fold_eq(key, f.name))
}

/// The release that dropped `key`, if it is a field Terway once read.
pub fn removed(key: &str) -> Option<Version> {
    REMOVED.iter().find(|(n, _)| *n == key).map(|(_, v)| *v)
}

/// Whether a top-level key probably holds a credential, even if misspelt.
pub fn looks_secret(key: &str) -> bool {
    const WORDS: [&[u8]; 4] = [b"secret", b"access", b"password", b"token"];
    // Asked for every key of every review, several times: a plain scan, no
    // lowercased copy and no substring searcher.
    let k = key.as_bytes();
    (0..k.len()).any(|i| {
        let first = k[i].to_ascii_lowercase();
        WORDS.iter().any(|w| {
            w[0] == first
                && k.get(i..i + w.len())
                    .is_some_and(|s| s.eq_ignore_ascii_case(w))
        })
    })
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

    #[test]
    fn every_secret_field_looks_secret_in_any_case() {
        // EniConf::secret_entries relies on it: looks_secret alone decides.
        for f in FIELDS.iter().filter(|f| f.secret) {
            for name in [f.name.to_string(), f.name.to_ascii_uppercase()] {
                assert!(looks_secret(&name), "{name}");
            }
        }
        assert!(FIELDS.iter().any(|f| f.secret));
    }

    #[test]
    fn the_table_is_terways_config_struct() {
        // The json tags of types/daemon/config.go `Config` at 89aadf8, in
        // struct order: every one is typed here, and nothing else is.
        const GO_TAGS: [&str; 43] = [
            "version",
            "access_key",
            "access_secret",
            "region_id",
            "credential_path",
            "service_cidr",
            "vswitches",
            "eni_tags",
            "max_pool_size",
            "min_pool_size",
            "ip_warm_up_size",
            "idle_ip_reclaim_after",
            "idle_ip_reclaim_batch_size",
            "idle_ip_reclaim_interval",
            "idle_ip_reclaim_jitter_factor",
            "min_eni",
            "max_eni",
            "prefix",
            "security_group",
            "security_groups",
            "eni_cap_ratio",
            "eni_cap_shift",
            "vswitch_selection_policy",
            "eni_selection_policy",
            "ip_stack",
            "enable_eni_trunking",
            "enable_erdma",
            "custom_stateful_workload_kinds",
            "ipam_type",
            "backoff_override",
            "extra_routes",
            "disable_device_plugin",
            "eni_tag_filter",
            "eni_tag_block_list",
            "kube_client_qps",
            "kube_client_burst",
            "resource_group_id",
            "rate_limit",
            "enable_patch_pod_ips",
            "ip_pool_sync_period",
            "enable_ip_prefix",
            "ipv4_prefix_count",
            "ipv6_prefix_count",
        ];
        let mut ours: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        let mut go = GO_TAGS.to_vec();
        ours.sort_unstable();
        go.sort_unstable();
        assert_eq!(ours, go);
        // Named and pointer types decode as their underlying type: no
        // UnmarshalJSON on secret.Secret, types.IPAMType, time.Duration; a
        // pointer only adds that null leaves it nil, which every kind allows.
        let cases = [
            ("access_key", Kind::String),            // secret.Secret
            ("ipam_type", Kind::String),             // types.IPAMType
            ("ip_warm_up_size", Kind::Int),          // *int
            ("idle_ip_reclaim_after", Kind::String), // *string
            ("enable_patch_pod_ips", Kind::Bool),    // *bool
            ("kube_client_qps", Kind::Float32),      // float32
            ("eni_cap_ratio", Kind::Float),          // float64
            ("rate_limit", Kind::Map(&Kind::Int)),   // map[string]int
        ];
        for (name, kind) in cases {
            assert_eq!(lookup(name).map(|f| f.kind), Some(kind), "{name}");
        }
        // Config's pointer fields at 89aadf8, in struct order.
        let pointers: Vec<&str> = FIELDS
            .iter()
            .filter(|f| f.pointer)
            .map(|f| f.name)
            .collect();
        assert_eq!(
            pointers,
            [
                "ip_warm_up_size",
                "idle_ip_reclaim_after",
                "idle_ip_reclaim_interval",
                "idle_ip_reclaim_jitter_factor",
                "enable_patch_pod_ips",
            ]
        );
        let Some(Kind::Map(Kind::Struct(backoff))) = lookup("backoff_override").map(|f| f.kind)
        else {
            panic!("backoff_override is map[string]backoff.ExtendedBackoff");
        };
        // InitialDelay, then wait.Backoff's promoted fields (no json tags);
        // the embedded type's own name is not a key.
        let names: Vec<&str> = backoff.iter().map(|m| m.name).collect();
        assert_eq!(
            names,
            [
                "InitialDelay",
                "Duration",
                "Factor",
                "Jitter",
                "Steps",
                "Cap"
            ]
        );
        assert!(!names.contains(&"Backoff"));
    }

    #[test]
    fn lookups() {
        assert!(lookup("Max_Pool_Size").is_none());
        assert_eq!(
            lookup_folded("Max_Pool_Size").unwrap().name,
            "max_pool_size"
        );
        // Go folds Unicode simply, not ASCII only (encoding/json fold.go).
        assert_eq!(
            lookup_folded("max_pool_ſize").unwrap().name,
            "max_pool_size"
        );
        assert_eq!(
            lookup_folded("\u{212A}ube_client_qps").unwrap().name,
            "kube_client_qps"
        );
        assert!(lookup_folded("max_pool_\u{15F}ize").is_none());
        assert_eq!(removed("eni_cap_policy"), Some(Version::new(1, 11, 1)));
        assert!(removed("max_pool_size").is_none());
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
        assert!(looks_secret("ram_PASSWORD"));
        assert!(looks_secret("token"));
        assert!(!looks_secret("max_pool_size"));
        assert!(!looks_secret("tok"));
        assert!(!looks_secret(""));
        // Longer than the stack buffer, and not ASCII.
        assert!(looks_secret(&format!("{}_Token", "x".repeat(80))));
        assert!(!looks_secret(&"é".repeat(40)));
    }
}
