//! Judging with what a caller keeps of the old object. Every review of an
//! edit carries the same stored object until an edit lands, so two of its
//! judgements are the same for each of them and the webhook keeps them
//! (`admission::Memo`): the old object judged whole as if created (what
//! softens an edit's denials), and its data keys other than `eni_conf`
//! judged as an unchanged edit (what an edit of `eni_conf` alone gets for
//! them). The engine stays pure: it asks a [`Kept`] for them, and in debug
//! builds (every test) checks each against judging anew.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use super::scope::Scope;
use super::{Finding, Input, Operation, Severity, evaluate_alone, syntax};
use crate::config::{ConfigObject, ENI_CONF, Role};

/// What a caller keeps per stored object; both answer for `input.old`.
pub trait Kept {
    /// [`judge_as_created`] of the input.
    fn as_created(&self, input: &Input) -> Arc<Vec<Finding>>;
    /// [`judge_keys_unchanged`] of `old`.
    fn keys_unchanged(&self, old: &ConfigObject) -> Arc<Vec<Finding>>;
}

/// The old object of an UPDATE judged whole, as if created.
pub fn judge_as_created(input: &Input) -> Vec<Finding> {
    match input.old {
        Some(old) => evaluate_alone(&as_created(input, old), Scope::All, None),
        None => Vec::new(),
    }
}

/// The data keys other than `eni_conf` of `old` judged as an edit that
/// leaves them as they are: what any edit that changes only `eni_conf` gets
/// for them (those rules read no facts and no settings).
pub fn judge_keys_unchanged(old: &ConfigObject) -> Vec<Finding> {
    let mut out = Vec::new();
    syntax::keys(old, Some(old), old.role(), &mut out);
    out
}

fn as_created<'a>(input: &Input<'a>, old: &'a ConfigObject) -> Input<'a> {
    Input {
        operation: Operation::Create,
        new: Some(old),
        old: None,
        ..*input
    }
}

/// The key rules of `new`, from `kept` when the edit leaves every data key
/// but `eni_conf` (and the object's role) as it was.
pub(super) fn keys(
    new: &ConfigObject,
    old: Option<&ConfigObject>,
    role: Role,
    kept: Option<&dyn Kept>,
    out: &mut Vec<Finding>,
) {
    let (Some(kept), Some(old)) = (kept, old) else {
        return syntax::keys(new, old, role, out);
    };
    let unchanged = old.role() == role
        && new
            .data
            .iter()
            .filter(|(k, _)| *k != ENI_CONF)
            .eq(old.data.iter().filter(|(k, _)| *k != ENI_CONF));
    if !unchanged {
        return syntax::keys(new, Some(old), role, out);
    }
    let findings = kept.keys_unchanged(old);
    #[cfg(debug_assertions)]
    {
        let mut fresh = Vec::new();
        syntax::keys(new, Some(old), role, &mut fresh);
        assert_eq!(
            *findings, fresh,
            "kept key findings differ from judging anew"
        );
    }
    out.extend(findings.iter().cloned());
}

/// [`super::evaluate`], with what the caller keeps of the old object.
pub fn evaluate_given(input: &Input, kept: Option<&dyn Kept>) -> Vec<Finding> {
    let mut out = evaluate_alone(input, Scope::All, kept);
    let Some(old) = input.old else { return out };
    if input.operation != Operation::Update || !out.iter().any(Finding::is_deny) {
        return out;
    }
    let as_created = as_created(input, old);
    // Without a kept judgement, only the groups that can raise one of these
    // denials judge the old object again: the rest cannot change the answer.
    let whole = kept.map(|k| k.as_created(input));
    let before: std::borrow::Cow<[Finding]> = match &whole {
        Some(all) => std::borrow::Cow::Borrowed(all.as_slice()),
        None => {
            let denied: BTreeSet<&'static str> =
                out.iter().filter(|f| f.is_deny()).map(|f| f.rule).collect();
            std::borrow::Cow::Owned(evaluate_alone(&as_created, Scope::Only(&denied), None))
        }
    };
    // Only what the old object was itself denied for softens: a warning
    // there (a value Terway reinterprets) says nothing about whether the
    // new value breaks Terway.
    let had: HashSet<(&str, &str)> = before
        .iter()
        .filter(|f| f.is_deny())
        .map(|f| (f.rule, f.subject.as_str()))
        .collect();
    #[cfg(debug_assertions)]
    {
        // Every debug run (all tests) proves the scoped pass, and any kept
        // judgement, agree with judging the old object whole now.
        let now = evaluate_alone(&as_created, Scope::All, None);
        if let Some(kept) = &whole {
            assert_eq!(**kept, now, "a kept judgement of the old object is stale");
        }
        for f in out.iter().filter(|f| f.is_deny()) {
            let key = (f.rule, f.subject.as_str());
            let in_whole = now
                .iter()
                .any(|w| w.is_deny() && (w.rule, w.subject.as_str()) == key);
            assert_eq!(
                had.contains(&key),
                in_whole,
                "scoped re-judging differs on {key:?}"
            );
        }
    }
    for f in out.iter_mut().filter(|f| f.is_deny()) {
        if had.contains(&(f.rule, f.subject.as_str())) {
            f.severity = Severity::Warn;
            f.message
                .push_str(" (already so before this edit, so it does not block it)");
        }
    }
    out.sort_by_key(|f| f.severity);
    out
}
