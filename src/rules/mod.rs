//! The verdict engine: pure functions from (old, new, base, facts) to findings.
//!
//! No I/O, no clock, no globals. The webhook, `check` and the planner all call
//! [`evaluate`]; every rule lives in exactly one function below.

mod backoff;
mod catalog;
mod cni;
mod eni_create;
mod fields;
mod kept;
mod lifecycle;
mod limits;
mod modes;
mod pool;
mod scope;
mod service_cidr;
mod syntax;
mod values;
mod vswitches;

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;

use crate::config::{ConfigObject, EniConf, Path, Role, Version};
use crate::inventory::Facts;
use scope::{Scope, raises};

pub use crate::config::Mode;
pub use catalog::{RULES, Rule, id};
pub use kept::{Kept, evaluate_given, judge_as_created, judge_keys_unchanged};
pub use service_cidr::parse_service_cidr as fields_service_cidr;
pub use vswitches::repeats;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Deny,
    Warn,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub path: String,
    pub message: String,
    /// What the finding is about, stable across edits that move it (a vSwitch
    /// id rather than its index): how a finding on the old object is matched.
    #[serde(skip)]
    pub subject: String,
}

impl Finding {
    pub fn deny(rule: &'static str, path: &Path, message: impl Into<String>) -> Self {
        Self::new(rule, Severity::Deny, path, message)
    }

    pub fn warn(rule: &'static str, path: &Path, message: impl Into<String>) -> Self {
        Self::new(rule, Severity::Warn, path, message)
    }

    pub fn new(
        rule: &'static str,
        severity: Severity,
        path: &Path,
        message: impl Into<String>,
    ) -> Self {
        let path = path.as_str().to_owned();
        Finding {
            rule,
            severity,
            subject: path.clone(),
            path,
            message: message.into(),
        }
    }

    /// Names what the finding is about when its path is not stable.
    pub fn about(mut self, subject: impl Into<String>) -> Self {
        self.subject = subject.into();
        self
    }

    pub fn is_deny(&self) -> bool {
        self.severity == Severity::Deny
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
}

/// Knobs an operator may turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// vSwitches added by an UPDATE must have a prefix this short or shorter.
    pub max_prefix_len: u8,
    /// Share of a zone's free IPs a pool change may take before it warns.
    pub budget_warn_ratio: f64,
    /// The Terway release to judge for (`--terway-version`); wins over the
    /// version the cluster reports. `None` and unknown: today's semantics.
    pub terway_version: Option<Version>,
    /// Most distinct vSwitch ids one object may list; beyond it the object is
    /// denied and nothing is looked up in the cloud.
    pub max_vswitch_ids: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_prefix_len: 19,
            budget_warn_ratio: 0.8,
            terway_version: None,
            max_vswitch_ids: 100,
        }
    }
}

/// Everything a verdict depends on.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub operation: Operation,
    pub new: Option<&'a ConfigObject>,
    pub old: Option<&'a ConfigObject>,
    /// The base `eni-config`, when judging a dynamic config and it is known.
    pub base: Option<&'a ConfigObject>,
    pub facts: Option<&'a Facts>,
    pub settings: &'a Settings,
}

/// What a document-level rule looks at.
pub(crate) struct Doc<'a> {
    pub op: Operation,
    pub new: &'a EniConf,
    pub old: Option<&'a EniConf>,
    pub facts: Option<&'a Facts>,
    pub settings: &'a Settings,
    /// Name of the dynamic config being judged; `None` for the base.
    pub dynamic: Option<&'a str>,
    /// `None` when judging a dynamic config without its base.
    pub mode: Option<Mode>,
    pub version: Option<Version>,
}

impl<'a> Doc<'a> {
    /// A map of `eni_conf` only the legacy daemon reads (`rate_limit`,
    /// `backoff_override`), with its entries: `None` in CRD mode, or when it
    /// is not an object (the field-type rule's finding).
    pub fn legacy_map(
        &self,
        key: &str,
    ) -> Option<(
        crate::config::eni_conf::Entry<'a>,
        &'a serde_json::Map<String, serde_json::Value>,
    )> {
        if self.mode == Some(Mode::Crd) {
            return None;
        }
        let e = self.new.get(key)?;
        Some((e, e.value.as_object()?))
    }

    /// " (Terway v1.16.4)" for messages that depend on the version.
    pub fn version_note(&self) -> String {
        self.version
            .map(|v| format!(" (Terway {v})"))
            .unwrap_or_default()
    }
}

/// The Terway version a verdict is for: the flag, else what the cluster runs.
pub fn version_of(settings: &Settings, facts: Option<&Facts>) -> Option<Version> {
    settings
        .terway_version
        .or_else(|| facts.and_then(|f| f.terway_version))
}

/// Runs every rule that applies and returns the findings, denials first.
///
/// An UPDATE is never denied for what it does not change: a denial that the
/// old object earns as well (as a denial, not a warning) becomes a warning.
pub fn evaluate(input: &Input) -> Vec<Finding> {
    evaluate_given(input, None)
}

fn evaluate_alone(input: &Input, scope: Scope, kept: Option<&dyn Kept>) -> Vec<Finding> {
    let mut out = Vec::new();
    let version = version_of(input.settings, input.facts);
    if input.operation == Operation::Delete {
        if let Some(old) = input.old {
            lifecycle::delete(old, input.base, input.facts, &mut out);
        }
        return out;
    }
    let Some(new) = input.new else { return out };
    let role = new.role();
    if role == Role::Other {
        return out;
    }
    // Always judged: every other group needs the parse (which is cached).
    let own = syntax::eni_conf(new, role, &mut out);
    scope.run(raises::KEYS, &mut out, |out| {
        kept::keys(new, input.old, role, kept, out)
    });
    let Some(own) = own else {
        return out;
    };
    let own_old = input.old.and_then(ConfigObject::eni_conf);
    // json-patch reads a dynamic config into Go maps (last of repeated
    // keys) before the daemon's typed decode merges anything.
    let as_patch = |c: Arc<EniConf>| match (role, c.as_merge_patch()) {
        (Role::Dynamic, Some(p)) => Arc::new(p),
        _ => c,
    };
    let own = as_patch(own);
    let own_old = own_old.map(as_patch);
    scope.run(raises::FIELDS, &mut out, |out| {
        fields::check(&own, role, version, out)
    });
    scope.run(raises::LISTING, &mut out, |out| {
        vswitches::check_listing(&own, input.settings, out)
    });

    let base = input
        .base
        .filter(|_| role == Role::Dynamic)
        .and_then(ConfigObject::eni_conf);
    if syntax::null_base(role, &own, base.as_deref(), input.facts, &mut out) {
        return out;
    }
    let dynamic = (role == Role::Dynamic).then_some(new.name.as_str());
    let mode = match role {
        Role::Dynamic => base.as_deref().map(Mode::of),
        _ => Some(Mode::of(&own)),
    };
    if role == Role::Dynamic {
        scope.run(raises::DYNAMIC, &mut out, |out| {
            modes::dynamic_only(&own, base.as_deref(), out)
        });
    }
    let doc = |new: &EniConf, old: Option<&EniConf>, out: &mut Vec<Finding>| {
        let d = Doc {
            op: input.operation,
            new,
            old,
            facts: input.facts,
            settings: input.settings,
            dynamic,
            mode,
            version,
        };
        scope.run(raises::VSWITCHES, out, |out| vswitches::check_doc(&d, out));
        scope.run(raises::POOL, out, |out| pool::check(&d, out));
        scope.run(raises::VALUES, out, |out| values::check(&d, out));
        scope.run(raises::MODES, out, |out| modes::check(&d, out));
        scope.run(raises::SECURITY_GROUPS, out, |out| {
            eni_create::security_group_count(&d, out);
            eni_create::crd_needs_a_security_group(&d, out);
        });
        scope.run(raises::SERVICE_CIDRS, out, |out| {
            service_cidr::check(&d, out)
        });
        scope.run(raises::LIMITS, out, |out| limits::check(&d, out));
    };
    match base {
        Some(base) => {
            // Judge the merge Terway will load, but only for what the dynamic
            // config brings: problems the base has alone are not this edit's.
            let merged_new = base.merged(&own);
            // An old dynamic config with an empty (or unreadable) eni_conf
            // gave the daemon the base alone (types/daemon/config.go
            // MergeConfigAndUnmarshal skips an empty patch): what the edit
            // adds is judged against that, as a CREATE of it would be.
            let merged_old = match (&own_old, input.old) {
                (Some(o), _) => Some(base.merged(o)),
                (None, Some(_)) => Some((*base).clone()),
                (None, None) => None,
            };
            let mut merged = Vec::new();
            doc(&merged_new, merged_old.as_ref(), &mut merged);
            let mut base_alone = Vec::new();
            doc(&base, Some(&base), &mut base_alone);
            out.extend(merged.into_iter().filter(|f| !base_alone.contains(f)));
        }
        None => doc(&own, own_old.as_deref(), &mut out),
    }
    if input.facts.is_none() {
        out.push(Finding::warn(
            id::INVENTORY_MISSING,
            &Path::root(crate::config::ENI_CONF),
            "no inventory: vSwitch existence, zone, VPC, size and the zone IP budget were not checked; pass --inventory",
        ));
    }
    dedup(&mut out);
    out.sort_by_key(|f| f.severity);
    out
}

/// Findings kept per rule and severity; the rest are counted in one more.
pub(crate) const MAX_PER_RULE: usize = 20;

/// Up to this many findings are deduplicated by comparing them pairwise.
const SMALL: usize = 32;

fn dedup(out: &mut Vec<Finding>) {
    // Marked first, then dropped: no finding is copied to be remembered.
    let keep: Vec<bool> = if out.len() <= SMALL {
        // A review's few findings: comparing them costs less than hashing
        // their messages.
        (0..out.len())
            .map(|i| !out[..i].contains(&out[i]))
            .collect()
    } else {
        let mut seen = HashSet::new();
        out.iter().map(|f| seen.insert(f)).collect()
    };
    let mut keep = keep.into_iter();
    out.retain(|_| keep.next().unwrap_or(true));
    // Bound the output whatever the input: a config with thousands of bad
    // entries gets the first few explained and the rest counted.
    let mut per: std::collections::HashMap<(&'static str, Severity), usize> =
        std::collections::HashMap::new();
    let mut extra: Vec<(&'static str, Severity, usize)> = Vec::new();
    out.retain(|f| {
        let n = per.entry((f.rule, f.severity)).or_default();
        *n += 1;
        *n <= MAX_PER_RULE || f.subject.starts_with("more:")
    });
    for ((rule, severity), n) in per {
        if n > MAX_PER_RULE
            && !out
                .iter()
                .any(|f| f.rule == rule && f.subject.starts_with("more:"))
        {
            extra.push((rule, severity, n - MAX_PER_RULE));
        }
    }
    extra.sort();
    for (rule, severity, n) in extra {
        out.push(
            Finding::new(
                rule,
                severity,
                &Path::root(crate::config::ENI_CONF),
                format!("… and {n} more {rule} findings like the ones above"),
            )
            .about(format!("more:{rule}")),
        );
    }
}

#[cfg(test)]
pub(crate) mod testing;
