//! kube-core's typed path, kept as the reference the fast path is held to:
//! the review decoded whole into `AdmissionReview<ReviewedObject>`, every
//! object read anew (no [`super::Memo`]), the old object re-judged per
//! review, and the answer serialized through kube-core's
//! `AdmissionResponse`. `tests/review_replay.rs` replays the Terway corpus
//! and the property edits through both and compares the bodies; the server
//! uses [`super::read`] and [`super::Answer::to_json`].

use kube::core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview};

use super::review::RequestInfo;
use super::{Answer, DecodeError, Prepared, ReviewedObject, Settings};

pub fn decode(body: &[u8]) -> Result<AdmissionRequest<ReviewedObject>, DecodeError> {
    let review: AdmissionReview<ReviewedObject> =
        serde_json::from_slice(body).map_err(|e| DecodeError::NotAReview(e.to_string()))?;
    if review.types.api_version != "admission.k8s.io/v1" {
        return Err(DecodeError::Version(review.types.api_version));
    }
    review.try_into().map_err(|_| DecodeError::NoRequest)
}

pub fn prepare(mut request: AdmissionRequest<ReviewedObject>, settings: &Settings) -> Prepared {
    let info = RequestInfo {
        api_version: request.types.api_version.clone(),
        review_kind: request.types.kind.clone(),
        uid: request.uid.clone(),
        name: request.name.clone(),
        namespace: request.namespace.clone(),
        operation: request.operation.clone(),
        username: request.user_info.username.clone(),
        groups: request.user_info.groups.clone().unwrap_or_default(),
        dry_run: request.dry_run,
    };
    let ours = super::ours(&request.kind.group, &request.kind.kind, &info, settings);
    let read = |o: Option<ReviewedObject>| {
        o.map(|o| o.into_config_of(&info.name).map_err(|e| e.to_string()))
    };
    let (new, old) = if ours {
        (read(request.object.take()), read(request.old_object.take()))
    } else {
        (None, None)
    };
    super::assemble(info, ours, new, old.map(|o| o.map(std::sync::Arc::new)))
}

/// The answer as kube-core's `AdmissionResponse` for the request `info`
/// describes, serialized by kube-core's own `Serialize`.
pub fn to_review_json(answer: Answer, info: &RequestInfo) -> Vec<u8> {
    let mut resp = AdmissionResponse::invalid("");
    resp.types.api_version = info.api_version.clone();
    resp.types.kind = info.review_kind.clone();
    resp.uid = info.uid.clone();
    resp.allowed = answer.allowed;
    resp.result = Default::default();
    resp.result.code = answer.code;
    resp.result.message = answer.message;
    resp.result.reason = answer.reason;
    if let Some(patch) = answer.patch {
        // Serializing a patch of strings cannot fail; if it did, send none.
        resp = resp.clone().with_patch(patch).unwrap_or(resp);
    }
    resp.audit_annotations = answer.audit_annotations.into_iter().collect();
    resp.warnings = answer.warnings;
    serde_json::to_vec(&resp.into_review()).unwrap_or_default()
}
