//! AdmissionReview in, AdmissionResponse out. No HTTP here: the server reads
//! the body, asks the inventory, and calls [`validate`] or [`mutate`].

pub mod object;
pub mod redact;
mod response;

use kube::core::admission::{
    AdmissionRequest, AdmissionResponse, AdmissionReview, Operation as KubeOp,
};

use crate::config::{ConfigObject, Role};
use crate::inventory::{Facts, Query};
use crate::rules::{self, Operation};
pub use object::ReviewedObject;

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
    pub request: AdmissionRequest<ReviewedObject>,
    pub operation: Option<Operation>,
    pub new: Option<ConfigObject>,
    pub old: Option<ConfigObject>,
    /// `Some(reason)` when the object is a ConfigMap we cannot read.
    pub unreadable: Option<String>,
    pub terway: bool,
}

pub fn decode(body: &[u8]) -> Result<AdmissionRequest<ReviewedObject>, DecodeError> {
    let review: AdmissionReview<ReviewedObject> =
        serde_json::from_slice(body).map_err(|e| DecodeError::NotAReview(e.to_string()))?;
    if review.types.api_version != "admission.k8s.io/v1" {
        return Err(DecodeError::Version(review.types.api_version));
    }
    review.try_into().map_err(|_| DecodeError::NoRequest)
}

pub fn prepare(request: AdmissionRequest<ReviewedObject>, settings: &Settings) -> Prepared {
    let is_configmap = request.kind.group.is_empty() && request.kind.kind == "ConfigMap";
    let in_namespace = settings.terway_namespace.is_empty()
        || request.namespace.as_deref() == Some(settings.terway_namespace.as_str());
    let operation = match request.operation {
        KubeOp::Create => Some(Operation::Create),
        KubeOp::Update => Some(Operation::Update),
        KubeOp::Delete => Some(Operation::Delete),
        KubeOp::Connect => None,
    };
    let mut request = request;
    let mut unreadable = None;
    // Moved out of the request: nothing after this reads the raw objects.
    let mut read = |o: Option<ReviewedObject>| match o?.into_config() {
        Ok(mut cm) => {
            // The request names the object even when metadata lacks it (generateName).
            if cm.name.is_empty() {
                cm.name = request.name.clone();
            }
            Some(cm)
        }
        Err(e) => {
            unreadable = Some(e.to_string());
            None
        }
    };
    let (new, old) = if is_configmap && in_namespace {
        (read(request.object.take()), read(request.old_object.take()))
    } else {
        (None, None)
    };
    let terway = is_configmap
        && in_namespace
        && operation.is_some()
        && (unreadable.is_some()
            || [&new, &old]
                .iter()
                .any(|o| o.as_ref().is_some_and(|o| o.role() != Role::Other)));
    Prepared {
        request,
        operation,
        new,
        old,
        unreadable,
        terway,
    }
}

/// The live config's `eni_conf` as last parsed. Every review of an edit
/// carries the live object as `oldObject`, and it stays the same until an
/// edit lands: it is parsed once, not once per review. One entry, keyed by
/// the exact text; a new object is always parsed.
#[derive(Default)]
pub struct LiveParse(std::sync::Mutex<Option<(String, std::sync::Arc<crate::config::EniConf>)>>);

/// Texts above this are parsed per review and not kept (a real `eni_conf`
/// is a few KiB; a kept parse costs about ten times its text).
const LIVE_PARSE_MAX: usize = 64 * 1024;

impl LiveParse {
    /// Gives `old` the kept parse when its text matches, else parses it and
    /// keeps that.
    pub fn apply(&self, old: Option<&ConfigObject>) {
        let Some(old) = old else { return };
        let Some(text) = old.eni_conf_text().filter(|t| t.len() <= LIVE_PARSE_MAX) else {
            return;
        };
        let kept = {
            let slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
            slot.as_ref()
                .filter(|(t, _)| t == text)
                .map(|(_, conf)| conf.clone())
        };
        match kept {
            Some(conf) => old.reuse_parse(text, &conf),
            None => {
                if let Some(conf) = old.eni_conf() {
                    *self.0.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some((text.to_string(), conf));
                }
            }
        }
    }
}

/// The vSwitch ids to look up, each object's `eni_conf` parsed once; `None`
/// when either object lists more than `max` (the rules deny it, and nothing
/// of it is looked up).
pub fn query_within(p: &Prepared, max: usize) -> Option<Query> {
    let too_many = p
        .new
        .iter()
        .chain(p.old.iter())
        .filter_map(ConfigObject::eni_conf)
        .any(|conf| conf.vswitch_count() > max);
    (!too_many).then(|| query(p))
}

/// The vSwitch ids the inventory must answer for.
pub fn query(p: &Prepared) -> Query {
    crate::inventory::query_for(p.new.iter().chain(p.old.iter()))
}

/// The validating webhook's answer. `base` is the live `eni-config`, when
/// known, to judge a dynamic config merged onto it.
pub fn validate(
    p: &Prepared,
    facts: Option<&Facts>,
    base: Option<&ConfigObject>,
    settings: &Settings,
) -> (AdmissionResponse, Outcome) {
    response::validate(p, facts, base, settings)
}

/// The mutating webhook's answer: always allowed, sometimes with a patch.
pub fn mutate(p: &Prepared) -> (AdmissionResponse, Outcome) {
    response::mutate(p)
}

/// Serializes a response as the AdmissionReview the apiserver expects.
pub fn to_review_json(resp: AdmissionResponse) -> Vec<u8> {
    serde_json::to_vec(&resp.into_review()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::rules::testing::base;

    #[test]
    fn the_live_config_is_parsed_once_across_reviews() {
        let live = LiveParse::default();
        let text = r#"{"version": "1", "vswitches": {"cn-shanghai-f": ["vsw-a"]}}"#;
        let (first, second) = (base(text), base(text));
        live.apply(Some(&first));
        live.apply(Some(&second));
        let (a, b) = (first.eni_conf().unwrap(), second.eni_conf().unwrap());
        assert!(
            Arc::ptr_eq(&a, &b),
            "the second review reuses the first parse"
        );
        assert_eq!(*b, crate::config::EniConf::parse(text).unwrap());

        // A landed edit changes the text: parsed anew, and kept instead.
        let edited = base(r#"{"version": "1", "vswitches": {"cn-shanghai-f": ["vsw-b"]}}"#);
        live.apply(Some(&edited));
        let c = edited.eni_conf().unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(c.vswitches()[0].id, "vsw-b");
        let again = base(r#"{"version": "1", "vswitches": {"cn-shanghai-f": ["vsw-b"]}}"#);
        live.apply(Some(&again));
        assert!(Arc::ptr_eq(&c, &again.eni_conf().unwrap()));

        // Huge texts are not kept; invalid ones are not kept either.
        let huge = base(&format!(
            r#"{{"version": "1", "x": "{}"}}"#,
            "a".repeat(LIVE_PARSE_MAX)
        ));
        live.apply(Some(&huge));
        let bad = base("{not json");
        live.apply(Some(&bad));
        assert!(bad.eni_conf().is_none());
        let kept = live.0.lock().unwrap();
        assert_eq!(kept.as_ref().map(|(t, _)| t.contains("vsw-b")), Some(true));
    }
}
