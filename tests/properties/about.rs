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
//!    edit of `max_pool_size` can raise it). `ipam_type` chooses the IPAM
//!    mode, so every rule whose verdict depends on the mode reads it; or
//! 3. it names a reason of the whole document: the document does not load
//!    at all (`eni-conf-json`).
//!
//! Nothing else: a denial elsewhere blames the edit for state it did not
//! change, which DESIGN.md forbids.

use terway_guard::config::Path;

use crate::edits::Edit;

/// Rules whose inputs include fields other than the one at their path.
const READS: &[(&str, &[&str])] = &[
    (
        "pool-order",
        &["min_pool_size", "max_pool_size", "min_eni", "ipam_type"],
    ),
    (
        "pool-size",
        &[
            "min_pool_size",
            "max_pool_size",
            "ip_warm_up_size",
            "ipam_type",
        ],
    ),
    (
        "pool-capacity",
        &[
            "max_pool_size",
            "max_eni",
            "eni_cap_ratio",
            "eni_cap_shift",
            "enable_erdma",
            "enable_ip_prefix",
            "ipam_type",
        ],
    ),
    (
        "zone-budget",
        &[
            "min_pool_size",
            "max_pool_size",
            "ip_warm_up_size",
            "min_eni",
            "max_eni",
            "vswitches",
            "ipam_type",
            "enable_ip_prefix",
        ],
    ),
    ("vswitch-overlap", &["vswitches", "service_cidr"]),
    (
        "security-group",
        &["security_group", "security_groups", "ipam_type"],
    ),
    (
        "duration",
        &[
            "idle_ip_reclaim_after",
            "idle_ip_reclaim_interval",
            "ip_pool_sync_period",
            "ipam_type",
        ],
    ),
    (
        "jitter-factor",
        &["idle_ip_reclaim_jitter_factor", "ipam_type"],
    ),
    (
        "prefix-mode",
        &[
            "enable_ip_prefix",
            "ipv4_prefix_count",
            "ipv6_prefix_count",
            "ipam_type",
        ],
    ),
    ("ipam-type", &["ipam_type"]),
];

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
        && READS
            .iter()
            .any(|(r, fields)| *r == rule && fields.contains(&edit.field.as_str()))
}

#[test]
fn about_is_neither_too_wide_nor_too_narrow() {
    let edit = |field: &str, keys: &[&str]| Edit {
        class: "set",
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
    ];
    for (rule, path, e, want) in cases {
        assert_eq!(is_about(rule, path, &e), want, "{rule} {path} {:?}", e.keys);
    }
}
