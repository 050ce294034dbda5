//! The object an admission review carries, read as only what terway-guard
//! uses: kind, metadata and `data`. kube's `DynamicObject` would read it
//! whole through two `#[serde(flatten)]` fields, which buffer every key
//! before sorting them out; on the review path that was the largest cost of
//! decoding. Other fields (`binaryData`, `immutable`) are skipped unread:
//! the apiserver has validated them before any webhook sees the object.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{NamespaceResourceScope, Resource};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::config::ConfigObject;
use crate::config::manifest::ManifestError;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReviewedObject {
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Checked when read (a ConfigMap's is a map of strings), so a bad one
    /// is refused with a reason rather than as an undecodable review.
    #[serde(default)]
    pub data: Data,
}

/// `data` read straight into strings, without a `serde_json::Value` in
/// between. A value of another type does not fail the review: it is kept
/// as the first shape error, and the object is answered as unreadable.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Data {
    #[default]
    Absent,
    Strings(BTreeMap<String, String>),
    Bad(String),
}

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DataVisitor)
    }
}

struct DataVisitor;

fn not_a_map<E>(what: &str) -> Result<Data, E> {
    Ok(Data::Bad(format!(
        "data: invalid type: {what}, expected a map of strings"
    )))
}

impl<'de> Visitor<'de> for DataVisitor {
    type Value = Data;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of strings")
    }
    fn visit_unit<E>(self) -> Result<Data, E> {
        Ok(Data::Absent)
    }
    fn visit_none<E>(self) -> Result<Data, E> {
        Ok(Data::Absent)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Data, E> {
        not_a_map("a boolean")
    }
    fn visit_i64<E>(self, _: i64) -> Result<Data, E> {
        not_a_map("a number")
    }
    fn visit_u64<E>(self, _: u64) -> Result<Data, E> {
        not_a_map("a number")
    }
    fn visit_f64<E>(self, _: f64) -> Result<Data, E> {
        not_a_map("a number with a fraction or exponent")
    }
    fn visit_str<E>(self, _: &str) -> Result<Data, E> {
        not_a_map("a string")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Data, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        not_a_map("an array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Data, A::Error> {
        let mut strings = BTreeMap::new();
        let mut bad = None;
        while let Some(key) = map.next_key::<String>()? {
            match map.next_value::<Text>()? {
                Text::Str(s) => {
                    strings.insert(key, s);
                }
                Text::Other(what) => {
                    bad.get_or_insert_with(|| {
                        format!("data.{key}: invalid type: {what}, expected a string")
                    });
                }
            }
        }
        Ok(bad.map_or(Data::Strings(strings), Data::Bad))
    }
}

/// One value of `data`: a string, or the name of the type it is instead.
enum Text {
    Str(String),
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
        Ok(Text::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
        Ok(Text::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Text, E> {
        Ok(Text::Other("null"))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Text, E> {
        Ok(Text::Other("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Text, E> {
        Ok(Text::Other("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Text, E> {
        Ok(Text::Other("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Text, E> {
        Ok(Text::Other("a number with a fraction or exponent"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text::Other("an object"))
    }
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
        self.into_config_of("")
    }

    /// [`Self::into_config`], named `request_name` when its metadata has no
    /// name (generateName: the request names the object).
    pub fn into_config_of(self, request_name: &str) -> Result<ConfigObject, ManifestError> {
        let m = self.metadata;
        let parts = (m.name, m.namespace, m.annotations);
        config_from(self.kind, parts, self.data, request_name)
    }
}

/// A ConfigMap from the parts of an object the webhook reads (both decoders
/// of a review end here): metadata's name, namespace and annotations, with
/// `request_name` standing in for a name it lacks.
pub(super) fn config_from(
    kind: Option<String>,
    (name, namespace, annotations): (
        Option<String>,
        Option<String>,
        Option<BTreeMap<String, String>>,
    ),
    data: Data,
    request_name: &str,
) -> Result<ConfigObject, ManifestError> {
    match kind.as_deref() {
        Some("ConfigMap") | Some("") | None => {}
        Some(other) => return Err(ManifestError::WrongKind(other.to_string())),
    }
    let data = match data {
        Data::Absent => BTreeMap::new(),
        Data::Strings(strings) => strings,
        Data::Bad(why) => return Err(ManifestError::Shape(why)),
    };
    Ok(ConfigObject {
        name: name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| request_name.to_string()),
        namespace,
        annotations: annotations.unwrap_or_default(),
        data,
        parsed: Default::default(),
    })
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
            (
                serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"ok": "x", "n": 1.5, "m": {"a": 1}}}),
                "data.n: invalid type: a number with a fraction or exponent, expected a string",
            ),
            (
                serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"z": null}}),
                "data.z: invalid type: null, expected a string",
            ),
            (
                serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"o": {"a": [1, {"b": 2}]}}}),
                "data.o: invalid type: an object, expected a string",
            ),
            (
                serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": [1, 2]}),
                "data: invalid type: an array, expected a map of strings",
            ),
            (
                serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": true}),
                "data: invalid type: a boolean, expected a map of strings",
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
