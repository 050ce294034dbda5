//! Building the AdmissionResponse: message, warnings, audit annotations.

use std::collections::BTreeSet;

use kube::core::admission::AdmissionResponse;

use super::{Prepared, Secrets, Settings};
use crate::config::{ConfigObject, EniConf};
use crate::inventory::Facts;
use crate::rules::{Finding, Input, Operation};
use crate::verdict;

/// What happened, for logs and metrics (never carries a secret).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub decision: &'static str,
    pub rules: Vec<&'static str>,
    pub patched: bool,
}

impl Outcome {
    fn passed() -> Self {
        Outcome {
            decision: "allowed",
            rules: Vec::new(),
            patched: false,
        }
    }
}

/// Warnings over 256 characters may be truncated by the apiserver.
const MAX_WARNING: usize = 250;

pub(super) fn validate(
    p: &Prepared,
    facts: Option<&Facts>,
    base: Option<&ConfigObject>,
    settings: &Settings,
) -> (AdmissionResponse, Outcome) {
    let mut resp = AdmissionResponse::from(&p.request);
    let (Some(operation), true) = (p.operation, p.terway) else {
        return (resp, Outcome::passed());
    };
    // Each object's eni_conf is parsed once here and shared below.
    let new_conf = p.new.as_ref().and_then(ConfigObject::eni_conf);
    let old_conf = p.old.as_ref().and_then(ConfigObject::eni_conf);
    let secrets = Secrets::of_confs(new_conf.iter().chain(old_conf.iter()));
    if let Some(why) = &p.unreadable {
        let msg = secrets.scrub(&format!("terway-guard cannot read this ConfigMap: {why}"));
        resp = resp.deny(msg);
        resp.result.code = 400;
        resp.audit_annotations
            .insert("decision".into(), "denied".into());
        return (
            resp,
            Outcome {
                decision: "denied",
                rules: Vec::new(),
                patched: false,
            },
        );
    }
    // Validation needs the findings only; the patch is the mutating webhook's.
    let findings = crate::rules::evaluate(&Input {
        operation,
        new: p.new.as_ref(),
        old: p.old.as_ref(),
        base,
        facts,
        settings: &settings.rules,
    });
    let rules: Vec<&'static str> = unique(findings.iter().map(|f| f.rule));
    let mut warnings: Vec<String> = findings
        .iter()
        .filter(|f| !f.is_deny())
        .map(|f| short(&secrets.scrub(&line(f))))
        .collect();
    let annotations = &mut resp.audit_annotations;
    if !rules.is_empty() {
        annotations.insert("rules".into(), rules.join(","));
    }
    let (added, removed) = vswitch_changes(old_conf.as_ref(), new_conf.as_ref());
    if !added.is_empty() {
        annotations.insert("vswitches-added".into(), added.join(","));
    }
    if !removed.is_empty() {
        annotations.insert("vswitches-removed".into(), removed.join(","));
    }
    if let Some(conf) = &new_conf {
        annotations.insert("eni-conf-sha256".into(), conf.normalized_sha256());
    }
    let denials: Vec<&Finding> = findings.iter().filter(|f| f.is_deny()).collect();
    let decision = if denials.is_empty() {
        "allowed"
    } else {
        // DELETE carries the object only as oldObject.
        let subject = if operation == Operation::Delete {
            p.old.as_ref()
        } else {
            p.new.as_ref()
        };
        let reason = subject.and_then(ConfigObject::bypass_reason);
        let user = &p.request.user_info;
        let permitted = user
            .groups
            .iter()
            .flatten()
            .any(|g| settings.bypass_groups.iter().any(|b| b == g));
        let denied_ids: Vec<&str> = unique(denials.iter().map(|f| f.rule));
        match reason {
            Some(reason) if permitted => {
                let reason = secrets.scrub(reason);
                warnings.insert(
                    0,
                    short(&format!("terway-guard: BYPASSED {} (reason: {reason}); remove the terway-guard.io/bypass annotation when done", denied_ids.join(","))),
                );
                annotations.insert("bypass-reason".into(), short(&reason));
                annotations.insert("bypassed-rules".into(), denied_ids.join(","));
                "bypassed"
            }
            _ => {
                let name = p
                    .new
                    .as_ref()
                    .or(p.old.as_ref())
                    .map_or("", |o| o.name.as_str());
                let mut msg = format!(
                    "terway-guard denied this change to ConfigMap {name} ({} problem(s)):",
                    denials.len()
                );
                for f in &denials {
                    msg.push_str("\n- ");
                    msg.push_str(&line(f));
                }
                if reason.is_some() {
                    let who = user.username.as_deref().unwrap_or("this user");
                    msg.push_str(&format!(
                        "\n- the terway-guard.io/bypass annotation is set, but {who} is not in a group allowed to bypass ({})",
                        settings.bypass_groups.join(", ")
                    ));
                }
                let msg = secrets.scrub(&msg);
                resp = resp.deny(msg);
                resp.result.code = 403;
                resp.result.reason = "Forbidden".into();
                "denied"
            }
        }
    };
    resp.audit_annotations
        .insert("decision".into(), decision.into());
    if !warnings.is_empty() {
        resp.warnings = Some(warnings);
    }
    for value in resp.audit_annotations.values_mut() {
        *value = secrets.scrub(value);
    }
    (
        resp,
        Outcome {
            decision,
            rules,
            patched: false,
        },
    )
}

pub(super) fn mutate(p: &Prepared) -> (AdmissionResponse, Outcome) {
    let resp = AdmissionResponse::from(&p.request);
    let mutable = matches!(p.operation, Some(Operation::Create | Operation::Update));
    let Some(new) = p.new.as_ref().filter(|_| p.terway && mutable) else {
        return (resp, Outcome::passed());
    };
    let patch = verdict::mutation(new);
    if patch.0.is_empty() {
        return (resp, Outcome::passed());
    }
    match resp.clone().with_patch(patch) {
        Ok(mut r) => {
            r.audit_annotations
                .insert("mutation".into(), "eni-conf-sha256".into());
            (
                r,
                Outcome {
                    decision: "allowed",
                    rules: Vec::new(),
                    patched: true,
                },
            )
        }
        // Serializing a patch of strings cannot fail; if it did, send none.
        Err(_) => (resp, Outcome::passed()),
    }
}

fn line(f: &Finding) -> String {
    format!("[{}] {}: {}", f.rule, f.path, f.message)
}

fn short(s: &str) -> String {
    if s.chars().count() <= MAX_WARNING {
        s.to_string()
    } else {
        let mut cut: String = s.chars().take(MAX_WARNING - 1).collect();
        cut.push('…');
        cut
    }
}

fn unique<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = BTreeSet::new();
    ids.filter(|i| seen.insert(*i)).collect()
}

/// vSwitch ids the new object lists and the old did not, and the reverse.
pub fn vswitch_changes(old: Option<&EniConf>, new: Option<&EniConf>) -> (Vec<String>, Vec<String>) {
    let ids = |c: Option<&EniConf>| -> BTreeSet<String> {
        c.map(|c| c.vswitch_ids()).unwrap_or_default()
    };
    let (old, new) = (ids(old), ids(new));
    (
        new.difference(&old).cloned().collect(),
        old.difference(&new).cloned().collect(),
    )
}
