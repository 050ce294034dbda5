//! The verdict engine: pure functions from (old, new, base, facts) to findings.
//!
//! No I/O, no clock, no globals. The webhook, `check` and the planner all call
//! [`evaluate`]; every rule lives in exactly one function below.

mod catalog;
mod fields;
mod lifecycle;
mod pool;
mod service_cidr;
mod syntax;
mod vswitches;

use serde::Serialize;

use crate::config::{ConfigObject, EniConf, Path, Role};
use crate::inventory::Facts;

pub use catalog::{RULES, Rule, id};
pub use pool::idle_per_node;
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
        Finding {
            rule,
            severity,
            path: path.to_string(),
            message: message.into(),
        }
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
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_prefix_len: 19,
            budget_warn_ratio: 0.8,
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
}

/// Runs every rule that applies and returns the findings, denials first.
pub fn evaluate(input: &Input) -> Vec<Finding> {
    let mut out = Vec::new();
    if input.operation == Operation::Delete {
        if let Some(old) = input.old {
            lifecycle::delete(old, &mut out);
        }
        return out;
    }
    let Some(new) = input.new else { return out };
    let role = new.role();
    if role == Role::Other {
        return out;
    }
    let Some(own) = syntax::check(new, role, &mut out) else {
        return out;
    };
    let own_old = input.old.and_then(ConfigObject::eni_conf);
    fields::check(&own, &mut out);
    vswitches::check_listing(&own, &mut out);

    let base = input
        .base
        .filter(|_| role == Role::Dynamic)
        .and_then(ConfigObject::eni_conf);
    let dynamic = (role == Role::Dynamic).then_some(new.name.as_str());
    let doc = |new: &EniConf, old: Option<&EniConf>, out: &mut Vec<Finding>| {
        let d = Doc {
            op: input.operation,
            new,
            old,
            facts: input.facts,
            settings: input.settings,
            dynamic,
        };
        vswitches::check_doc(&d, out);
        pool::check(&d, out);
        fields::check_doc(&d, out);
    };
    match base {
        Some(base) => {
            // Judge the merge Terway will load, but only for what the dynamic
            // config brings: problems the base has alone are not this edit's.
            let merged_new = base.merged(&own);
            let merged_old = own_old.as_ref().map(|o| base.merged(o));
            let mut merged = Vec::new();
            doc(&merged_new, merged_old.as_ref(), &mut merged);
            let mut base_alone = Vec::new();
            doc(&base, Some(&base), &mut base_alone);
            out.extend(merged.into_iter().filter(|f| !base_alone.contains(f)));
        }
        None => doc(&own, own_old.as_ref(), &mut out),
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

fn dedup(out: &mut Vec<Finding>) {
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert(f.clone()));
}

#[cfg(test)]
pub(crate) mod testing;
