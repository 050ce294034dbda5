//! Building the AdmissionResponse: message, warnings, audit annotations.

use std::collections::BTreeSet;

use super::answer::Answer;
use super::{Prepared, Secrets, Settings};
use crate::config::BYPASS_ANNOTATION;
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
/// Findings listed in a denial message or as warnings; the rest are counted.
const MAX_LISTED: usize = 20;
/// Longest denial message (kubectl prints it whole).
const MAX_MESSAGE: usize = 8 * 1024;
/// Longest audit annotation value (it lands in every audit log line).
const MAX_ANNOTATION: usize = 1024;

/// `items` joined by commas, cut to [`MAX_ANNOTATION`] with a count of what
/// was left out.
fn cap_list<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        let item = item.as_ref();
        let sep = if out.is_empty() { "" } else { "," };
        let left = items.len() - i;
        // Room for ",(+N more)" is kept while more items follow; it is
        // written only when it is needed.
        let tail_len = if left == 1 {
            0
        } else {
            ",(+ more)".len() + left.checked_ilog10().unwrap_or(0) as usize + 1
        };
        if out.len() + sep.len() + item.len() + tail_len > MAX_ANNOTATION {
            let tail = format!(",(+{left} more)");
            out.push_str(&tail[usize::from(out.is_empty())..]);
            return out;
        }
        out.push_str(sep);
        out.push_str(item);
    }
    out
}

/// Appends "\n- line" for each line, at most [`MAX_LISTED`] of them and
/// [`MAX_MESSAGE`] bytes, then "… and N more".
fn append_capped(msg: &mut String, lines: impl ExactSizeIterator<Item = String>) {
    let total = lines.len();
    for (i, l) in lines.enumerate() {
        if i >= MAX_LISTED || msg.len() + l.len() + 3 > MAX_MESSAGE {
            msg.push_str(&format!(
                "\n- … and {} more; run terway-guard check on the object for all of them",
                total - i
            ));
            return;
        }
        msg.push_str("\n- ");
        msg.push_str(&l);
    }
}

pub(super) fn validate(
    p: &Prepared,
    facts: Option<&Facts>,
    base: Option<&ConfigObject>,
    settings: &Settings,
) -> (Answer, Outcome) {
    let mut resp = Answer::allow();
    let (Some(operation), true) = (p.operation, p.terway) else {
        return (resp, Outcome::passed());
    };
    // Each object's eni_conf is parsed once here and shared below.
    let new_conf = p.new.as_ref().and_then(ConfigObject::eni_conf);
    let old_conf = p.old.as_deref().and_then(ConfigObject::eni_conf);
    let secrets = Secrets::of_confs(new_conf.as_deref().into_iter().chain(old_conf.as_deref()));
    if let Some(why) = &p.unreadable {
        let msg = secrets.scrub(&format!("terway-guard cannot read this ConfigMap: {why}"));
        resp.deny(400, "", msg);
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
    let input = Input {
        operation,
        new: p.new.as_ref(),
        old: p.old.as_deref(),
        base,
        facts,
        settings: &settings.rules,
    };
    // The old object's own judgement is kept with it across reviews.
    let kept = p.old_memo.as_deref().map(|o| o as &dyn crate::rules::Kept);
    let findings = crate::rules::evaluate_given(&input, kept);
    let rules: Vec<&'static str> = unique(findings.iter().map(|f| f.rule));
    let all_warnings: Vec<&Finding> = findings.iter().filter(|f| !f.is_deny()).collect();
    let mut warnings: Vec<String> = all_warnings
        .iter()
        .take(MAX_LISTED)
        .map(|f| short(&secrets.scrub(&line(f))))
        .collect();
    if all_warnings.len() > MAX_LISTED {
        warnings.push(format!(
            "terway-guard: … and {} more warning(s); run terway-guard check for all of them",
            all_warnings.len() - MAX_LISTED
        ));
    }
    let annotations = &mut resp.audit_annotations;
    if !rules.is_empty() {
        annotations.insert("rules".into(), cap_list(&rules));
    }
    let (added, removed) = vswitch_changes(old_conf.as_deref(), new_conf.as_deref());
    if !added.is_empty() {
        annotations.insert("vswitches-added".into(), cap_list(&added));
    }
    if !removed.is_empty() {
        annotations.insert("vswitches-removed".into(), cap_list(&removed));
    }
    if let Some(conf) = &new_conf {
        annotations.insert("eni-conf-sha256".into(), conf.normalized_sha256());
    }
    let denials: Vec<&Finding> = findings.iter().filter(|f| f.is_deny()).collect();
    // A bypass is an act of the request that carries it: honoured only when
    // this request sets or changes the annotation, and only for members of
    // the bypass groups. Anyone else setting it is refused, so it cannot be
    // planted for a later edit; one left from an earlier edit does nothing
    // (and the mutating webhook removes it).
    let reason = p.new.as_ref().and_then(ConfigObject::bypass_reason);
    let before = p.old.as_deref().and_then(ConfigObject::bypass_reason);
    let set_now = reason.is_some() && reason != before;
    let user = &p.request;
    let permitted = user
        .groups
        .iter()
        .any(|g| settings.bypass_groups.iter().any(|b| b == g));
    let planted = set_now && !permitted;
    let decision = if denials.is_empty() && !planted {
        "allowed"
    } else if set_now && permitted {
        let denied_ids: Vec<&str> = unique(denials.iter().map(|f| f.rule));
        let reason = secrets.scrub(reason.unwrap_or_default());
        warnings.insert(
            0,
            short(&format!("terway-guard: BYPASSED {} (reason: {reason}); the annotation is removed at the next edit", denied_ids.join(","))),
        );
        annotations.insert("bypass-reason".into(), short(&reason));
        annotations.insert("bypassed-rules".into(), cap_list(&denied_ids));
        "bypassed"
    } else {
        let name = p
            .new
            .as_ref()
            .or(p.old.as_deref())
            .map_or("", |o| o.name.as_str());
        let count = denials.len() + usize::from(planted);
        let mut msg =
            format!("terway-guard denied this change to ConfigMap {name} ({count} problem(s)):");
        append_capped(&mut msg, denials.iter().map(|f| line(f)));
        if planted {
            let who = user.username.as_deref().unwrap_or("this user");
            msg.push_str(&format!(
                "\n- [bypass-annotation] metadata.annotations[\"{BYPASS_ANNOTATION}\"]: {who} may not set the bypass annotation; remove it (a cluster administrator can bypass a denial)"
            ));
            annotations.insert("bypass-refused".into(), "true".into());
        } else if reason.is_some() {
            msg.push_str(&format!(
                "\n- the {BYPASS_ANNOTATION} annotation was set by an earlier edit and does not apply to this one; change its reason to bypass this edit"
            ));
        }
        let msg = secrets.scrub(&msg);
        resp.deny(403, "Forbidden", msg);
        "denied"
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

pub(super) fn mutate(p: &Prepared, now: &str) -> (Answer, Outcome) {
    let mut resp = Answer::allow();
    let mutable = matches!(p.operation, Some(Operation::Create | Operation::Update));
    let Some(new) = p.new.as_ref().filter(|_| p.terway && mutable) else {
        return (resp, Outcome::passed());
    };
    let mut patch = verdict::mutation_from(new, p.old.as_deref());
    let user = p.request.username.as_deref().unwrap_or("unknown");
    verdict::stamp_edit(&mut patch, user, now);
    if patch.0.is_empty() {
        return (resp, Outcome::passed());
    }
    resp.patch = Some(patch);
    resp.audit_annotations
        .insert("mutation".into(), "eni-conf-sha256".into());
    (
        resp,
        Outcome {
            decision: "allowed",
            rules: Vec::new(),
            patched: true,
        },
    )
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
/// The vSwitch ids an edit adds and removes, borrowed from the documents.
fn vswitch_changes<'a>(
    old: Option<&'a EniConf>,
    new: Option<&'a EniConf>,
) -> (Vec<&'a str>, Vec<&'a str>) {
    let ids = |c: Option<&'a EniConf>| -> BTreeSet<&'a str> {
        c.map(|c| c.vswitches().iter().map(|l| l.id.as_str()).collect())
            .unwrap_or_default()
    };
    let (old, new) = (ids(old), ids(new));
    (
        new.difference(&old).copied().collect(),
        old.difference(&new).copied().collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_cut_with_an_exact_count_of_the_rest() {
        let ids = |n: usize, len: usize| -> Vec<String> {
            (0..n).map(|i| format!("{i:0len$}")).collect()
        };
        for (items, whole) in [
            (ids(2, 3), true),
            // 93 items of 10 bytes and their commas: 1022 bytes, all listed;
            // one more and a count of the rest takes the room of the last few.
            (ids(93, 10), true),
            (ids(94, 10), false),
            (ids(200, 10), false),
            // 1024 bytes exactly fit only if nothing is left out.
            (vec!["x".repeat(1024)], true),
            (vec!["x".repeat(1025)], false),
        ] {
            let out = cap_list(&items);
            assert!(out.len() <= MAX_ANNOTATION, "{}", out.len());
            if whole {
                assert_eq!(out, items.join(","));
                continue;
            }
            let (listed, tail) = out.rsplit_once("(+").expect("a count of the rest");
            let listed = listed.split(',').filter(|s| !s.is_empty()).count();
            let rest: usize = tail.trim_end_matches(" more)").parse().expect("a number");
            assert_eq!(listed + rest, items.len(), "{out}");
            // Nothing more would have fit beside the tail.
            let next = items[listed].len() + 1;
            assert!(out.len() + next > MAX_ANNOTATION, "{out}");
        }
    }
}
