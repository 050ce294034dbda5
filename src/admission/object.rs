//! The object an admission review carries, read as only what terway-guard
//! uses: kind, metadata and `data`. kube's `DynamicObject` would read it
//! whole through two `#[serde(flatten)]` fields, which buffer every key
//! before sorting them out; on the review path that was the largest cost of
//! decoding. Other fields (`binaryData`, `immutable`) are skipped unread:
//! the apiserver has validated them before any webhook sees the object.

use std::borrow::Cow;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{NamespaceResourceScope, Resource};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::ConfigObject;
use crate::config::manifest::ManifestError;

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ReviewedObject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Checked when read (a ConfigMap's is a map of strings), so a bad one
    /// is refused with a reason rather than as an undecodable review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl Resource for ReviewedObject {
    type DynamicType = ();
    type Scope = NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        "ConfigMap".into()
    }
    fn group(_: &()) -> Cow<'_, str> {
        "".into()
    }
    fn version(_: &()) -> Cow<'_, str> {
        "v1".into()
    }
    fn plural(_: &()) -> Cow<'_, str> {
        "configmaps".into()
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl ReviewedObject {
    /// The ConfigMap it is, taken apart in place (no copies of its text).
    pub fn into_config(self) -> Result<ConfigObject, ManifestError> {
        match self.kind.as_deref() {
            Some("ConfigMap") | Some("") | None => {}
            Some(other) => return Err(ManifestError::WrongKind(other.to_string())),
        }
        let data = match self.data {
            None | Some(Value::Null) => Default::default(),
            Some(Value::Object(map)) => map
                .into_iter()
                .map(|(k, v)| match v {
                    Value::String(s) => Ok((k, s)),
                    other => Err(ManifestError::Shape(format!(
                        "data.{k}: invalid type: {}, expected a string",
                        crate::config::eni_conf::type_name(&other)
                    ))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(ManifestError::Shape(format!(
                    "data: invalid type: {}, expected a map of strings",
                    crate::config::eni_conf::type_name(&other)
                )));
            }
        };
        let m = self.metadata;
        Ok(ConfigObject {
            name: m.name.unwrap_or_default(),
            namespace: m.namespace,
            annotations: m.annotations.unwrap_or_default(),
            data,
            parsed: Default::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(v: serde_json::Value) -> ReviewedObject {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_review_object_is_read_in_place() {
        let cm = object(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "eni-config", "namespace": "kube-system", "annotations": {"a": "b"}},
            "data": {"eni_conf": "{}"}, "binaryData": {"x": "AAAA"}, "immutable": false
        }))
        .into_config()
        .unwrap();
        assert_eq!(
            (
                cm.name.as_str(),
                cm.namespace.as_deref(),
                cm.annotations["a"].as_str(),
                cm.data["eni_conf"].as_str()
            ),
            ("eni-config", Some("kube-system"), "b", "{}")
        );
        let cases = [
            (
                serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}),
                "kind \"Secret\"",
            ),
            (
                serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": [1]}}),
                "data.a: invalid type: an array, expected a string",
            ),
            (
                serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": "text"}),
                "data: invalid type: a string, expected a map of strings",
            ),
        ];
        for (v, want) in cases {
            let err = object(v.clone()).into_config().unwrap_err().to_string();
            assert!(err.contains(want), "{v}: {err}");
        }
        let empty = object(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": null}))
            .into_config()
            .unwrap();
        assert!(empty.data.is_empty());
    }
}
