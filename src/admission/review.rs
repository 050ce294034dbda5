//! The AdmissionReview as the webhook reads it: borrowed from the body and
//! typed, with no tree of the whole review. kube-core's `AdmissionReview`
//! flattens its `TypeMeta`, so serde first buffers the entire review (both
//! objects included) into a generic tree and then reads the tree; on the
//! review path that was the largest cost of decoding. Here the review's own
//! fields are read in one pass, strings borrowed where they hold no escape,
//! the new object read as only what terway-guard uses, and `oldObject` kept
//! raw JSON: it is read only when the memo does not have it (see
//! [`super::Memo`]). `reference.rs` keeps kube-core's path, and
//! `tests/review_replay.rs` holds both to the same answers.

use std::borrow::Cow;
use std::collections::BTreeMap;

use kube::core::admission::Operation as KubeOp;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::DecodeError;
use super::object::Data;
use crate::config::ConfigObject;
use crate::config::manifest::ManifestError;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Review<'a> {
    // Both required, as in kube-core's TypeMeta.
    #[serde(borrow)]
    pub api_version: Cow<'a, str>,
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
    #[serde(borrow, default)]
    pub request: Option<Request<'a>>,
}

/// The request's fields kube-core requires, read; the rest skipped.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Request<'a> {
    #[serde(borrow)]
    pub uid: Cow<'a, str>,
    #[serde(borrow)]
    pub kind: GroupVersionKind<'a>,
    // Required by kube-core; read only to refuse a review without it.
    #[allow(dead_code)]
    #[serde(borrow)]
    pub resource: GroupVersionResource<'a>,
    #[serde(borrow, default)]
    pub name: Cow<'a, str>,
    #[serde(borrow, default)]
    pub namespace: Option<Cow<'a, str>>,
    pub operation: KubeOp,
    #[serde(borrow)]
    pub user_info: UserInfo<'a>,
    /// Read in this pass: it is different in every review.
    #[serde(default)]
    pub object: Option<ObjectView>,
    #[serde(borrow, default)]
    pub old_object: Option<&'a RawValue>,
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Deserialize)]
pub(super) struct GroupVersionKind<'a> {
    #[serde(borrow)]
    pub group: Cow<'a, str>,
    #[allow(dead_code)]
    #[serde(borrow)]
    pub version: Cow<'a, str>,
    #[serde(borrow)]
    pub kind: Cow<'a, str>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
pub(super) struct GroupVersionResource<'a> {
    #[serde(borrow)]
    group: Cow<'a, str>,
    #[serde(borrow)]
    version: Cow<'a, str>,
    #[serde(borrow)]
    resource: Cow<'a, str>,
}

#[derive(Deserialize, Default)]
pub(super) struct UserInfo<'a> {
    #[serde(borrow, default)]
    pub username: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub groups: Option<Vec<Cow<'a, str>>>,
}

/// What a webhook must answer with, and what the log line names: the few
/// owned strings kept from a review once its body is gone.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestInfo {
    /// The review's `apiVersion` and `kind`, echoed in the answer.
    pub api_version: String,
    pub review_kind: String,
    pub uid: String,
    pub name: String,
    pub namespace: Option<String>,
    pub operation: KubeOp,
    pub username: Option<String>,
    pub groups: Vec<String>,
    pub dry_run: bool,
}

pub(super) fn decode(body: &[u8]) -> Result<Review<'_>, DecodeError> {
    let review: Review =
        serde_json::from_slice(body).map_err(|e| DecodeError::NotAReview(e.to_string()))?;
    if review.api_version != "admission.k8s.io/v1" {
        return Err(DecodeError::Version(review.api_version.into_owned()));
    }
    Ok(review)
}

impl Request<'_> {
    pub(super) fn info(&self, review: &Review) -> RequestInfo {
        RequestInfo {
            api_version: review.api_version.to_string(),
            review_kind: review.kind.to_string(),
            uid: self.uid.to_string(),
            name: self.name.to_string(),
            namespace: self.namespace.as_deref().map(str::to_string),
            operation: self.operation.clone(),
            username: self.user_info.username.as_deref().map(str::to_string),
            groups: self
                .user_info
                .groups
                .iter()
                .flatten()
                .map(|g| g.to_string())
                .collect(),
            dry_run: self.dry_run,
        }
    }
}

/// An object of a review read as only what terway-guard uses: kind, the
/// metadata's name, namespace and annotations, and `data`. The rest of the
/// metadata (managedFields can be most of an object) is skipped unread.
#[derive(Deserialize)]
pub(super) struct ObjectView {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: MetaView,
    #[serde(default)]
    data: Data,
}

#[derive(Deserialize, Default)]
struct MetaView {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

/// Reads a raw object (the old one, when the memo does not have it) as
/// [`config_from`] does. A body that is not an object of this shape is a
/// malformed review, as kube-core would refuse it.
pub(super) fn config_of(
    raw: &RawValue,
    request_name: &str,
) -> Result<Result<ConfigObject, ManifestError>, DecodeError> {
    let view: ObjectView = serde_json::from_str(raw.get())
        .map_err(|e| DecodeError::NotAReview(format!("oldObject: {e}")))?;
    Ok(config_from(view, request_name))
}

/// An object as a ConfigMap, named by the request when its metadata is not.
pub(super) fn config_from(
    view: ObjectView,
    request_name: &str,
) -> Result<ConfigObject, ManifestError> {
    let m = view.metadata;
    let parts = (m.name, m.namespace, m.annotations);
    super::object::config_from(view.kind, parts, view.data, request_name)
}
