//! AdmissionReview in, AdmissionReview out. No HTTP here: the server reads
//! the body, asks the inventory, and calls [`read`], then [`validate`] or
//! [`mutate`], and sends [`Answer::to_json`].
//!
//! [`read`] is the fast path (`review.rs`: borrowed, typed, objects kept raw
//! until read; [`Memo`]: the stored object read and judged once);
//! [`reference`] is kube-core's typed path, which the replay test holds the
//! fast path's answers to, byte for byte.

mod answer;
mod memo;
pub mod object;
pub mod redact;
pub mod reference;
mod response;
mod review;

use std::sync::Arc;

use kube::core::admission::Operation as KubeOp;

use crate::config::{ConfigObject, Role};
use crate::inventory::{Facts, Query};
use crate::rules::{self, Operation};
pub use answer::Answer;
pub use memo::Memo;
pub use object::ReviewedObject;
pub use review::RequestInfo;

pub use redact::Secrets;
pub use response::Outcome;

/// How the webhook is configured (flags of `serve`).
#[derive(Debug, Clone)]
pub struct Settings {
    pub rules: rules::Settings,
    /// Groups whose members may let a denied edit through with the bypass annotation.
    pub bypass_groups: Vec<String>,
    /// Terway's namespace; ConfigMaps elsewhere pass untouched. Empty = any.
    pub terway_namespace: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rules: rules::Settings::default(),
            bypass_groups: vec!["system:masters".to_string()],
            terway_namespace: "kube-system".to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("body is not an AdmissionReview: {0}")]
    NotAReview(String),
    #[error("AdmissionReview has no request")]
    NoRequest,
    #[error("unsupported AdmissionReview apiVersion {0:?}; use admission.k8s.io/v1")]
    Version(String),
}

/// A decoded request, with its ConfigMaps read into the model.
pub struct Prepared {
    pub request: RequestInfo,
    pub operation: Option<Operation>,
    pub new: Option<ConfigObject>,
    /// Shared with the [`Memo`] when it came from there.
    pub old: Option<Arc<ConfigObject>>,
    /// `Some(reason)` when the object is a ConfigMap we cannot read.
    pub unreadable: Option<String>,
    pub terway: bool,
    /// The old object as the memo keeps it, with its judgement.
    old_memo: Option<Arc<memo::OldObject>>,
}

/// Reads a review: the request's fields, and of its objects only a
/// ConfigMap in Terway's namespace; the old object from `memo` when it is
/// the one the memo keeps.
pub fn read(body: &[u8], settings: &Settings, memo: &Memo) -> Result<Prepared, DecodeError> {
    let mut review = review::decode(body)?;
    let Some(mut request) = review.request.take() else {
        return Err(DecodeError::NoRequest);
    };
    let info = request.info(&review);
    let ours = ours(&request.kind.group, &request.kind.kind, &info, settings);
    let (mut new, mut old, mut old_memo) = (None, None, None);
    if ours {
        new = request
            .object
            .take()
            .map(|view| review::config_from(view, &info.name));
        if let Some(raw) = request.old_object {
            let kept = memo.old(raw.get(), &info.name, || {
                Ok::<_, DecodeError>(review::config_of(raw, &info.name)?.map_err(|e| e.to_string()))
            })?;
            old = Some(kept.object.clone());
            old_memo = Some(kept);
        }
    }
    let new = new.map(|n| n.map_err(|e| e.to_string()));
    let mut p = assemble(info, ours, new, old);
    p.old_memo = old_memo.filter(|_| p.old.is_some());
    Ok(p)
}

/// Whether the request is about a ConfigMap in Terway's namespace.
fn ours(group: &str, kind: &str, info: &RequestInfo, settings: &Settings) -> bool {
    group.is_empty()
        && kind == "ConfigMap"
        && (settings.terway_namespace.is_empty()
            || info.namespace.as_deref() == Some(settings.terway_namespace.as_str()))
}

fn assemble(
    request: RequestInfo,
    ours: bool,
    new: Option<Result<ConfigObject, String>>,
    old: Option<Result<Arc<ConfigObject>, String>>,
) -> Prepared {
    let operation = match request.operation {
        KubeOp::Create => Some(Operation::Create),
        KubeOp::Update => Some(Operation::Update),
        KubeOp::Delete => Some(Operation::Delete),
        KubeOp::Connect => None,
    };
    let mut unreadable = None;
    let mut why = |r: String| unreadable = Some(r);
    // The old object's reason wins when both are unreadable, as it always has.
    let new = new.and_then(|n| n.map_err(&mut why).ok());
    let old = old.and_then(|o| o.map_err(&mut why).ok());
    let terway = ours
        && operation.is_some()
        && (unreadable.is_some()
            || new.iter().any(|o| o.role() != Role::Other)
            || old.iter().any(|o| o.role() != Role::Other));
    Prepared {
        request,
        operation,
        new,
        old,
        unreadable,
        terway,
        old_memo: None,
    }
}

/// The vSwitch ids to look up, each object's `eni_conf` parsed once; `None`
/// when either object lists more than `max` (the rules deny it, and nothing
/// of it is looked up).
pub fn query_within(p: &Prepared, max: usize) -> Option<Query> {
    let too_many = p
        .new
        .iter()
        .chain(p.old.as_deref())
        .filter_map(ConfigObject::eni_conf)
        .any(|conf| conf.vswitch_count() > max);
    (!too_many).then(|| query(p))
}

/// The vSwitch ids the inventory must answer for.
pub fn query(p: &Prepared) -> Query {
    crate::inventory::query_for(p.new.iter().chain(p.old.as_deref()))
}

/// The validating webhook's answer. `base` is the live `eni-config`, when
/// known, to judge a dynamic config merged onto it.
pub fn validate(
    p: &Prepared,
    facts: Option<&Facts>,
    base: Option<&ConfigObject>,
    settings: &Settings,
) -> (Answer, Outcome) {
    response::validate(p, facts, base, settings)
}

/// The mutating webhook's answer: always allowed, sometimes with a patch.
pub fn mutate(p: &Prepared) -> (Answer, Outcome) {
    mutate_at(
        p,
        &crate::cloud::time::iso8601(std::time::SystemTime::now()),
    )
}

/// [`mutate`] at the time `now` (RFC 3339), which the patch records as
/// the time of the edit.
pub fn mutate_at(p: &Prepared, now: &str) -> (Answer, Outcome) {
    response::mutate(p, now)
}
