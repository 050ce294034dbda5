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
