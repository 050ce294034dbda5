//! Rules on what Terway passes to CreateNetworkInterface for every ENI it
//! creates: the security groups and the ENI tags. The cloud refuses bad ones,
//! so no ENI, and no pod IP, can be had.

use super::{Doc, Finding, Mode, id};
use crate::config::path::quote_short;
use crate::config::{ENI_CONF, EniConf, Path, Version};

const MAX_TAG_LEN: usize = 128;
/// ECS allows 20 tags on an ENI; Terway adds its own `creator` tag
/// (types/aliyun.go, daemon/config.go getPoolConfig).
const MAX_USER_TAGS: usize = 19;
const CREATOR_TAG: &str = "creator";

fn is_sg(s: &str) -> bool {
    s.strip_prefix("sg-").is_some_and(|r| {
        !r.is_empty()
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

pub(super) fn security_group_ids(conf: &EniConf, out: &mut Vec<Finding>) {
    let mut check = |path: &dyn Fn() -> Path, s: &str| {
        if !is_sg(s) {
            out.push(Finding::deny(
                id::SECURITY_GROUP,
                &path(),
                format!(
                    "{} is not a security group id; Terway passes it to CreateNetworkInterface, which refuses it, so no ENI can be created. Ids look like \"sg-bp1a2b3c4d5e6f7g8h9i\"",
                    quote_short(s, 40)
                ),
            ).about(format!("sg:{s}")));
        }
    };
    if let Some(e) = conf.get("security_group")
        && let Some(s) = e.value.as_str()
        && !s.is_empty()
    {
        check(&|| e.path(), s);
    }
    if let Some(e) = conf.get("security_groups")
        && let Some(list) = e.value.as_array()
    {
        for (i, s) in list.iter().enumerate() {
            if let Some(s) = s.as_str() {
                check(&|| e.path().index(i), s);
            }
        }
    }
}

pub(super) fn eni_tags(conf: &EniConf, out: &mut Vec<Finding>) {
    let Some(e) = conf.get("eni_tags") else {
        return;
    };
    let Some(tags) = e.value.as_object() else {
        return;
    };
    let user = tags.keys().filter(|k| *k != CREATOR_TAG).count();
    if user > MAX_USER_TAGS {
        out.push(Finding::deny(
            id::ENI_TAGS,
            &e.path(),
            format!("{user} eni_tags; an ENI takes at most 20 tags and Terway adds its own \"creator\" tag (types/aliyun.go), so ENI creation would fail. Keep at most {MAX_USER_TAGS}"),
        ));
    }
    for (k, v) in tags {
        let path = || e.path().key(k);
        if k == CREATOR_TAG {
            out.push(Finding::warn(
                id::ENI_TAGS,
                &path(),
                "Terway sets the \"creator\" tag to \"terway\" itself (daemon/config.go getPoolConfig), replacing this value; use another key",
            ));
            continue;
        }
        let starts = |p: &str| k.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
        let problem = if k.is_empty() {
            Some("a tag key must not be empty".to_string())
        } else if k.chars().count() > MAX_TAG_LEN {
            Some(format!(
                "tag key {} is longer than {MAX_TAG_LEN} characters",
                quote_short(k, 30)
            ))
        } else if starts("aliyun") || starts("acs:") {
            Some(format!(
                "tag key {} starts with a prefix Alibaba Cloud reserves (aliyun, acs:); choose another key",
                quote_short(k, 40)
            ))
        } else if v.as_str().is_some_and(|v| v.chars().count() > MAX_TAG_LEN) {
            Some(format!(
                "the value of tag {} is longer than {MAX_TAG_LEN} characters",
                quote_short(k, 40)
            ))
        } else {
            None
        };
        if let Some(p) = problem {
            out.push(Finding::deny(
                id::ENI_TAGS,
                &path(),
                format!("{p}; Terway tags every ENI it creates with eni_tags and the cloud refuses this one, so ENI creation fails"),
            ));
        }
    }
}

/// Checks on the document Terway will load (after any merge).
/// How many security groups Terway will pass, by the version and mode it runs.
pub(super) fn security_group_count(d: &Doc, out: &mut Vec<Finding>) {
    // The daemon counts the list as written (types/daemon/config.go Validate;
    // 5 before v1.13.7); the controlplane and CRD-mode nodes count the union
    // with `security_group` (types/daemon/dynamicconfig.go ConfigFromConfigMap).
    let old_limit = d.version.is_some_and(|v| v < Version::new(1, 13, 7));
    let raw_limit = if old_limit { 5 } else { 10 };
    let list = d
        .new
        .get("security_groups")
        .and_then(|e| e.value.as_array().map(|a| (e, a)));
    let path = || list.map_or(Path::root(ENI_CONF), |(e, _)| e.path());
    let raw = list.map_or(0, |(_, a)| a.len());
    let mut union: Vec<&str> = list
        .map(|(_, a)| a.iter().map(|v| v.as_str().unwrap_or("")).collect())
        .unwrap_or_default();
    if let Some(s) = d.new.str("security_group").filter(|s| !s.is_empty()) {
        union.push(s);
    }
    union.sort_unstable();
    union.dedup();
    if raw > raw_limit {
        out.push(Finding::deny(
            id::SECURITY_GROUP,
            &path(),
            format!("{raw} entries in security_groups; the daemon refuses more than {raw_limit} and does not start (types/daemon/config.go Validate){}. Remove some", d.version_note()),
        ));
    } else if union.len() > 10 {
        let who = match d.mode {
            Some(Mode::Legacy) => "terway-controlplane",
            _ => "CRD-mode nodes and terway-controlplane",
        };
        out.push(Finding::deny(
            id::SECURITY_GROUP,
            &path(),
            format!("{} security groups in total (security_group + security_groups); {who} refuse more than 10 (types/daemon/dynamicconfig.go). Remove some", union.len()),
        ));
    }
}

/// CRD mode: the daemon's node reconcile writes the Node CR's
/// `spec.eni.securityGroupIDs` from eni_conf alone (pkg/eni/node_reconcile.go,
/// `GetSecurityGroups`: `security_group` plus `security_groups`, as the daemon
/// reads them: exact keys), the field is `omitempty`, and the Node CRD
/// requires it (pkg/apis/crds/network.alibabacloud.com_nodes.yaml, no
/// minItems): with none, the Node CR is refused and the node gets no pod IP.
/// Legacy mode falls back to the primary ENI's groups (daemon/builder.go
/// setupENIManager).
pub(super) fn crd_needs_a_security_group(d: &Doc, out: &mut Vec<Finding>) {
    if d.mode != Some(Mode::Crd) {
        return;
    }
    let single = d.new.str("security_group").is_some_and(|s| !s.is_empty());
    let list = d
        .new
        .get("security_groups")
        .and_then(|e| e.value.as_array())
        .is_some_and(|a| !a.is_empty());
    if single || list {
        return;
    }
    let path = d
        .new
        .get("security_groups")
        .map_or_else(|| Path::root(ENI_CONF).key("security_groups"), |e| e.path());
    out.push(
        Finding::deny(
            id::SECURITY_GROUP,
            &path,
            "CRD IPAM (ipam_type: crd) with no security group: the Node CR's spec.eni.securityGroupIDs is filled only from security_group/security_groups (pkg/eni/node_reconcile.go) and the Node CRD requires it (\"spec.eni.securityGroupIDs: Required value\", pkg/apis/crds/network.alibabacloud.com_nodes.yaml), so new nodes get no pod IPs. Set \"security_groups\" to the cluster's security group ids (only legacy IPAM falls back to the primary ENI's groups)",
        )
        .about("sg:none"),
    );
}

#[cfg(test)]
mod tests {
    use crate::config::ConfigObject;
    use crate::rules::Operation;
    use crate::rules::testing::*;

    #[test]
    fn crd_mode_needs_a_security_group() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"]}"#,
                &[],
                &[],
            ),
            (
                r#"{"ipam_type": "crd", "security_group": "sg-1"}"#,
                &[],
                &[],
            ),
            (
                r#"{"ipam_type": "crd", "security_group": "sg-1", "security_groups": []}"#,
                &[],
                &[],
            ),
            (r#"{"ipam_type": "crd"}"#, &["security-group"], &[]),
            (
                r#"{"ipam_type": "crd", "security_groups": []}"#,
                &["security-group"],
                &[],
            ),
            (
                r#"{"ipam_type": "crd", "security_groups": null}"#,
                &["security-group"],
                &[],
            ),
            (
                r#"{"ipam_type": "crd", "security_group": ""}"#,
                &["security-group"],
                &[],
            ),
            (
                r#"{"ipam_type": "crd", "security_group": null}"#,
                &["security-group"],
                &[],
            ),
            // The daemon matches keys exactly: a case variant is not read.
            (
                r#"{"ipam_type": "crd", "Security_Groups": ["sg-1"]}"#,
                &["security-group"],
                &["field-case"],
            ),
            // Legacy falls back to the primary ENI's groups.
            (r#"{}"#, &[], &[]),
            (r#"{"security_groups": []}"#, &[], &[]),
        ];
        assert_base_cases(cases);
    }

    #[test]
    fn crd_without_a_security_group_is_this_edits_doing_or_not() {
        let cases: &[(&str, &str, &[&str])] = &[
            // A switch to CRD of a config that has none.
            (r#"{}"#, r#"{"ipam_type": "crd"}"#, &["security-group"]),
            // Removing the only group.
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"]}"#,
                r#"{"ipam_type": "crd", "security_groups": []}"#,
                &["security-group"],
            ),
            // Already so: not this edit's doing.
            (
                r#"{"ipam_type": "crd"}"#,
                r#"{"ipam_type": "crd", "max_pool_size": 5}"#,
                &[],
            ),
        ];
        for (old, new, want) in cases {
            let f = update(&base(old), &base(new));
            assert_denies(&f, want);
        }
        // A dynamic config is judged merged onto its base.
        let with = base(r#"{"ipam_type": "crd", "security_groups": ["sg-1"]}"#);
        let without = base(r#"{"ipam_type": "crd"}"#);
        let cases: &[(&ConfigObject, &str, &[&str])] = &[
            (&with, r#"{"max_pool_size": 5}"#, &[]),
            (&with, r#"{"security_groups": null}"#, &["security-group"]),
            (&without, r#"{"max_pool_size": 5}"#, &[]),
            (&without, r#"{"security_groups": ["sg-2"]}"#, &[]),
        ];
        for (b, dyn_conf, want) in cases {
            let d = dynamic("big-pool", dyn_conf);
            let f = run(Operation::Create, Some(&d), None, Some(b), None);
            assert_denies(&f, want);
        }
    }
}
