//! The `eni_conf` JSON document, read the way Terway's Go code reads it.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::go_json::{self, Hidden, JqRefusal, Note, Step};
pub use super::parse_error::ParseError;
use super::parse_error::{go_type_name, hint};
use super::path::Path;

/// A parsed `eni_conf`: a JSON object, key order kept, decoded as Go decodes
/// it ([`go_json`]). Immutable once parsed, so what is derived from it (the
/// vSwitch listing) is derived once.
#[derive(Debug, Clone, PartialEq)]
pub struct EniConf {
    /// The daemon's typed decode (unlabelled nodes): for a repeated key, the
    /// occurrences merged as Go merges them ([`super::typed`]).
    doc: Map<String, Value>,
    /// Set when the text repeats a key: the Go-map views that then differ.
    repeated: Option<Box<Repeated>>,
    /// What Go's typed decode sees beyond `doc`: earlier repeats, overflows.
    notes: Vec<Note>,
    /// Why jq 1.7.1 (hack/init.sh) refuses the text Go accepts.
    jq: Option<JqRefusal>,
    /// The text was `null`: Go decodes it into a struct as "nothing set".
    null: bool,
    listed: Derived<Vec<Listed>>,
    secret_keys: Derived<Vec<String>>,
}

/// The views of a text that repeats a key where they differ from the daemon's.
#[derive(Debug, Clone, PartialEq)]
struct Repeated {
    /// Last of repeated keys at every level: json-patch's view of a dynamic
    /// config (merge.go `pruneNulls`/`mergeDocs` decode every object it
    /// reaches into a Go map), and what the hash is taken of.
    last_wins: Map<String, Value>,
    /// json-patch's view of a base ([`super::typed::Views::merge_base`]).
    merge_base: Map<String, Value>,
}

/// A value computed from the document on first use; not part of equality.
#[derive(Clone, Default)]
struct Derived<T>(OnceLock<T>);

impl<T> PartialEq for Derived<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> std::fmt::Debug for Derived<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("..")
    }
}

/// A top-level entry as Terway would see it: the key actually written and its value.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub key: &'a str,
    pub value: &'a Value,
}

impl Entry<'_> {
    pub fn path(&self) -> Path {
        Path::root(super::ENI_CONF).key(self.key)
    }
}

/// One vSwitch id as listed: its zone, its position and where it sits.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub zone: String,
    pub index: usize,
    pub id: String,
    /// The key written for `vswitches`.
    pub key: String,
}

impl Listed {
    /// Built only when a finding needs it: listing is on the hot path.
    pub fn path(&self) -> Path {
        Path::root(super::ENI_CONF)
            .key(&self.key)
            .key(&self.zone)
            .index(self.index)
    }
}

impl EniConf {
    fn of(doc: Map<String, Value>) -> Self {
        EniConf {
            doc,
            repeated: None,
            notes: Vec::new(),
            jq: None,
            null: false,
            listed: Derived::default(),
            secret_keys: Derived::default(),
        }
    }

    /// The top-level entries, in document order.
    pub fn doc(&self) -> &Map<String, Value> {
        &self.doc
    }

    /// Parses as Go decodes it (strict JSON, an object at the top; `null`
    /// decodes into the daemon's struct as an empty document does).
    pub fn parse(text: &str) -> Result<EniConf, ParseError> {
        match go_json::decode(text) {
            Ok(decoded) => {
                let null = decoded.value.is_null();
                let doc = match decoded.value {
                    Value::Object(doc) => doc,
                    Value::Null => Map::new(),
                    other => {
                        return Err(ParseError {
                            line: 1,
                            column: 1,
                            message: format!(
                                "eni_conf must be a JSON object ({{...}}), not {} (Go: json: cannot unmarshal {} into Go value of type daemon.Config)",
                                type_name(&other),
                                go_type_name(&other)
                            ),
                            not_object: true,
                        });
                    }
                };
                let repeated = decoded
                    .notes
                    .iter()
                    .any(|n| matches!(n.what, Hidden::Earlier(_)))
                    .then(|| super::typed::views(text, &doc))
                    .flatten();
                let (doc, repeated) = match repeated {
                    Some(v) => (
                        v.daemon,
                        Some(Box::new(Repeated {
                            last_wins: doc,
                            merge_base: v.merge_base,
                        })),
                    ),
                    None => (doc, None),
                };
                Ok(EniConf {
                    notes: decoded.notes,
                    jq: decoded.jq,
                    null,
                    repeated,
                    ..EniConf::of(doc)
                })
            }
            Err(e) => Err(ParseError {
                line: e.line,
                column: e.column,
                message: format!("{}{}", e.message, hint(text, e.line, &e.message)),
                not_object: false,
            }),
        }
    }

    /// Whether the text was `null` (read as `{}` by a plain decode; refused
    /// as a merge patch by json-patch).
    pub fn is_null(&self) -> bool {
        self.null
    }

    /// Why jq 1.7.1, which hack/init.sh runs on the base, refuses the text.
    pub fn jq_refusal(&self) -> Option<&JqRefusal> {
        self.jq.as_ref()
    }

    /// Earlier occurrences of repeated keys and out-of-range numbers.
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }

    /// The notes under top-level key `key`, relative to its value (for
    /// [`super::go_types::Kind::mismatch_with`]).
    pub fn hidden_under<'a>(
        &'a self,
        key: &'a str,
    ) -> impl Iterator<Item = (&'a [Step], &'a Hidden)> + 'a {
        super::go_types::notes_under(&self.notes, key)
    }

    /// The entry the daemon uses for `field`. It decodes with
    /// `k8s.io/apimachinery/pkg/util/json`, which matches keys exactly
    /// (types/daemon/config.go); a repeated key holds its occurrences merged
    /// as that typed decode merges them ([`super::typed`]).
    pub fn get(&self, field: &str) -> Option<Entry<'_>> {
        // The rules ask for dozens of fields per review; for a document of a
        // few keys, comparing them is cheaper than hashing the name.
        let found = if self.doc.len() <= 24 {
            self.doc.iter().find(|(k, _)| k.as_str() == field)
        } else {
            self.doc.get_key_value(field)
        };
        found.map(|(key, value)| Entry { key, value })
    }

    pub fn str(&self, field: &str) -> Option<&str> {
        self.get(field).and_then(|e| e.value.as_str())
    }

    /// An integer field as Go's `int` reads it (no fraction, no exponent).
    pub fn int(&self, field: &str) -> Option<i64> {
        self.get(field).and_then(|e| e.value.as_i64())
    }

    /// Every listed vSwitch id, in document order. Non-string items are
    /// skipped here (the type rule reports them).
    pub fn vswitches(&self) -> &[Listed] {
        self.listed.0.get_or_init(|| {
            let Some(entry) = self.get("vswitches") else {
                return Vec::new();
            };
            let Some(zones) = entry.value.as_object() else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for (zone, ids) in zones {
                let Some(ids) = ids.as_array() else { continue };
                for (index, id) in ids.iter().enumerate() {
                    if let Some(id) = id.as_str() {
                        out.push(Listed {
                            zone: zone.clone(),
                            index,
                            id: id.to_string(),
                            key: entry.key.to_string(),
                        });
                    }
                }
            }
            out
        })
    }

    /// How many distinct vSwitch ids are listed.
    pub fn vswitch_count(&self) -> usize {
        let ids: std::collections::BTreeSet<&str> =
            self.vswitches().iter().map(|l| l.id.as_str()).collect();
        ids.len()
    }

    /// Whether credentials sit in the document (`access_key`, `access_secret`,
    /// or any key that looks like one), so no output may carry its text.
    pub fn has_inline_credentials(&self) -> bool {
        self.secret_entries()
            .any(|(_, v)| !v.is_null() && v.as_str() != Some(""))
    }

    /// The top-level entries that hold, or look like they hold, credentials
    /// (`access_key`, `access_secret`, misspellings, any `*token*`...),
    /// earlier occurrences of a repeated key included: the text still holds
    /// them, so every output must mask them too.
    pub fn secret_entries(&self) -> impl Iterator<Item = (&str, &Value)> {
        let keys = self.secret_keys.0.get_or_init(|| {
            self.doc
                .keys()
                // Every secret field's name looks secret too (a test in
                // config::fields holds that), so one scan per key decides.
                .filter(|k| super::fields::looks_secret(k))
                .cloned()
                .collect()
        });
        let current = keys
            .iter()
            .filter_map(|k| self.doc.get(k).map(|v| (k.as_str(), v)));
        let earlier = self
            .notes
            .iter()
            .filter_map(|n| match (n.path.first(), &n.what) {
                (Some(Step::Key(k)), Hidden::Earlier(v)) if super::fields::looks_secret(k) => {
                    Some((k.as_str(), v))
                }
                _ => None,
            });
        current.chain(earlier)
    }

    /// The distinct vSwitch ids the document lists, in any zone.
    pub fn vswitch_ids(&self) -> std::collections::BTreeSet<String> {
        self.vswitches().iter().map(|l| l.id.clone()).collect()
    }

    /// This document as json-patch reads a dynamic config: the last of
    /// repeated keys at every level; `None` when that is [`Self::doc`].
    pub fn as_merge_patch(&self) -> Option<EniConf> {
        let r = self.repeated.as_ref()?;
        Some(EniConf {
            doc: r.last_wins.clone(),
            repeated: None,
            notes: self.notes.clone(),
            jq: self.jq.clone(),
            null: self.null,
            listed: Derived::default(),
            secret_keys: Derived::default(),
        })
    }

    /// RFC 7396 merge of `patch` onto this document (how Terway applies a
    /// dynamic config onto the base: json-patch `MergePatch`, whose Go maps
    /// keep the last of repeated keys of the patch, and of the base's top
    /// level; nested repeats in a base value the patch leaves alone reach
    /// the daemon's typed decode). Known gap: where the patch reaches into a
    /// base object, json-patch resolves that object's repeats last-wins,
    /// here they stay merged.
    pub fn merged(&self, patch: &EniConf) -> EniConf {
        let base = self.repeated.as_ref().map_or(&self.doc, |r| &r.merge_base);
        let own = patch.repeated.as_ref().map_or(&patch.doc, |r| &r.last_wins);
        let mut target = Value::Object(base.clone());
        super::canonical::merge_patch(&mut target, &Value::Object(own.clone()));
        match target {
            Value::Object(doc) => EniConf::of(doc),
            _ => unreachable!("merging two objects yields an object"),
        }
    }

    /// Hex SHA-256 of the document with keys sorted and no whitespace, so
    /// formatting and key order do not change it.
    pub fn normalized_sha256(&self) -> String {
        // Of the last-wins value, as before repeats were merged: the hash is
        // stamped on objects and must not change between releases.
        let doc = self.repeated.as_ref().map_or(&self.doc, |r| &r.last_wins);
        let mut canon = Vec::with_capacity(512);
        super::canonical::canonical_map(doc, &mut canon);
        let digest = ring::digest::digest(&ring::digest::SHA256, &canon);
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = String::with_capacity(64);
        for b in digest.as_ref() {
            hex.push(HEX[usize::from(b >> 4)] as char);
            hex.push(HEX[usize::from(b & 15)] as char);
        }
        hex
    }
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number with a fraction or exponent",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests;
