//! When a denial is "about" an edit, for property (b).
//!
//! A denial of `S → E` is about the edit when
//! 1. its path is the edited key's path or lies inside it
//!    (`eni_conf.vswitches` covers `eni_conf.vswitches["z"][0]`), for any key
//!    the edit writes or removes (a rename: the old and the new name; the two
//!    CNI files count as one, since terway-cli reads the conflist instead of
//!    the conf when both exist); or
//! 2. its rule reads the edited field (the table below, from each rule's
//!    "what" in src/rules/catalog.rs): a rule reports at one place but
//!    compares several fields (`pool-order` sits on `min_pool_size` but an
//!    edit of `max_pool_size` can raise it); or
//! 3. the edit is of the base's `ipam_type`: it chooses which Terway code
//!    reads every other field (the legacy pool, daemon/builder.go
//!    setupENIManager, or the CRD IPAM, PostInitForCRDV2), so a field that
//!    was fine in one mode and fails in the other fails because of the edit.
//!    In a dynamic config `ipam_type` is not read (daemon/builder.go
//!    LoadGlobalConfig reads it from the base), so there it is about nothing
//!    but its own path; or
//! 4. it names a reason of the whole document: the document does not load
//!    at all (`eni-conf-json`).
//!
//! Nothing else: a denial elsewhere blames the edit for state it did not
//! change, which DESIGN.md forbids.

use terway_guard::config::Path;

use crate::edits::Edit;

/// What a node's pod-IP capacity depends on (src/capacity.rs, after
/// daemon/config.go getPoolConfig): rules that clamp to it read these too.
const CAPACITY: [&str; 5] = [
    "max_eni",
    "eni_cap_ratio",
    "eni_cap_shift",
    "enable_erdma",
    "enable_ip_prefix",
];

/// Rules whose inputs include fields other than the one at their path.
fn reads(rule: &str) -> Vec<&'static str> {
    let (own, capacity): (&[&str], bool) = match rule {
        // CRD prefix mode zeroes the Node CR's pool sizes
        // (pkg/eni/node_reconcile.go), so both read enable_ip_prefix.
        "pool-order" => (
            &[
                "min_pool_size",
                "max_pool_size",
                "min_eni",
                "enable_ip_prefix",
            ],
            false,
        ),
        "pool-size" => (
            &[
                "min_pool_size",
                "max_pool_size",
                "ip_warm_up_size",
                "enable_ip_prefix",
            ],
            false,
        ),
        "pool-capacity" => (&["max_pool_size"], true),
        "zone-budget" => (
            &[
                "min_pool_size",
                "max_pool_size",
                "ip_warm_up_size",
                "min_eni",
                "vswitches",
            ],
            true,
        ),
        "vswitch-overlap" => (&["vswitches", "service_cidr"], false),
        "security-group" => (&["security_group", "security_groups"], false),
        "duration" => (
            &[
                "idle_ip_reclaim_after",
                "idle_ip_reclaim_interval",
                "ip_pool_sync_period",
            ],
            false,
        ),
        "prefix-mode" => (
            &["enable_ip_prefix", "ipv4_prefix_count", "ipv6_prefix_count"],
            false,
        ),
        _ => (&[], false),
    };
    let extra: &[&str] = if capacity { &CAPACITY } else { &[] };
    own.iter().chain(extra).copied().collect()
}

/// Reasons that concern the document as a whole.
pub const WHOLE_DOCUMENT: &[&str] = &["eni-conf-json"];

const CNI_FILES: [&str; 2] = ["10-terway.conf", "10-terway.conflist"];

fn inside(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

pub fn is_about(rule: &str, path: &str, edit: &Edit) -> bool {
    if WHOLE_DOCUMENT.contains(&rule) {
        return true;
    }
    let mut prefixes = Vec::new();
    if edit.on_eni_conf() {
        for k in &edit.keys {
            prefixes.push(Path::root("eni_conf").key(k));
        }
    } else if CNI_FILES.contains(&edit.field.as_str()) {
        prefixes.extend(CNI_FILES.map(|k| Path::root("data").key(k)));
    } else {
        prefixes.push(Path::root("data").key(&edit.field));
    }
    if prefixes.iter().any(|p| inside(path, p.as_str())) {
        return true;
    }
    edit.on_eni_conf()
        && ((edit.base && edit.field == "ipam_type") || reads(rule).contains(&edit.field.as_str()))
}

#[test]
fn about_is_neither_too_wide_nor_too_narrow() {
    let edit = |field: &str, keys: &[&str]| Edit {
        class: "set",
        base: true,
        field: field.into(),
        keys: keys.iter().map(|k| k.to_string()).collect(),
        what: String::new(),
        data: Default::default(),
    };
    let cases = [
        (
            "field-type",
            "eni_conf.vswitches[\"z\"][0]",
            edit("vswitches", &["vswitches"]),
            true,
        ),
        (
            "field-type",
            "eni_conf.vswitches_x",
            edit("vswitches", &["vswitches"]),
            false,
        ),
        (
            "pool-order",
            "eni_conf.min_pool_size",
            edit("max_pool_size", &["max_pool_size"]),
            true,
        ),
        (
            "pool-order",
            "eni_conf.min_pool_size",
            edit("service_cidr", &["service_cidr"]),
            false,
        ),
        (
            "field-type",
            "eni_conf.MAX_POOL_SIZE",
            edit("max_pool_size", &["max_pool_size", "MAX_POOL_SIZE"]),
            true,
        ),
        (
            "eni-conf-json",
            "eni_conf",
            edit("version", &["version"]),
            true,
        ),
        (
            "service-cidr",
            "eni_conf.service_cidr",
            edit("version", &["version"]),
            false,
        ),
        (
            "jitter-factor",
            "eni_conf.idle_ip_reclaim_jitter_factor",
            edit("ipam_type", &["ipam_type"]),
            true,
        ),
        (
            "jitter-factor",
            "eni_conf.idle_ip_reclaim_jitter_factor",
            Edit {
                base: false,
                ..edit("ipam_type", &["ipam_type"])
            },
            false,
        ),
        (
            "zone-budget",
            "eni_conf.min_pool_size",
            edit("eni_cap_ratio", &["eni_cap_ratio"]),
            true,
        ),
    ];
    for (rule, path, e, want) in cases {
        assert_eq!(is_about(rule, path, &e), want, "{rule} {path} {:?}", e.keys);
    }
}
