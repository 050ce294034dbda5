//! The eni-config model: the ConfigMap, its `eni_conf` document, the CNI conf.

pub mod canonical;
pub mod duration;
pub mod edit;
pub mod eni_conf;
pub mod field_table;
pub mod fields;
pub mod go_json;
pub mod go_types;
pub mod json_escape;
pub mod manifest;
pub mod mode;
pub mod parse_error;
pub mod path;
pub mod redact;
pub mod spans;
pub mod strconv;
pub mod typed;
pub mod version;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

pub use eni_conf::EniConf;
pub use mode::Mode;
pub use path::Path;
pub use version::Version;

/// Name of the base config ConfigMap.
pub const BASE_NAME: &str = "eni-config";
/// Data key holding Terway's daemon config.
pub const ENI_CONF: &str = "eni_conf";
pub const CNI_CONF_KEYS: [&str; 2] = ["10-terway.conf", "10-terway.conflist"];
pub const DISABLE_NETWORK_POLICY: &str = "disable_network_policy";
/// Annotation the mutation stamps with the hash of the normalized `eni_conf`.
pub const HASH_ANNOTATION: &str = "terway-guard.io/eni-conf-sha256";
/// Annotation that asks for a denied edit to be let through (with a reason).
pub const BYPASS_ANNOTATION: &str = "terway-guard.io/bypass";

/// The parts of a ConfigMap that terway-guard reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigObject {
    pub name: String,
    pub namespace: Option<String>,
    pub annotations: BTreeMap<String, String>,
    pub data: BTreeMap<String, String>,
    /// `eni_conf` as parsed the first time it was asked for.
    pub parsed: Parsed,
}

type ParseResult = Result<Arc<EniConf>, eni_conf::ParseError>;

/// The parsed `eni_conf`, kept with the text it was parsed from: a review
/// reads each object's document in several places (lookups, rules, secrets,
/// audit annotations) and it is parsed once. If `data` changes afterwards,
/// the text no longer matches and the new text is parsed instead.
#[derive(Default, Clone)]
pub struct Parsed(OnceLock<(String, ParseResult)>);

impl PartialEq for Parsed {
    /// A cache: two objects are equal or not by their fields alone.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for Parsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "Parsed(..)"
        } else {
            "Parsed(-)"
        })
    }
}

/// What a ConfigMap is to Terway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `eni-config`: read by every Terway daemon.
    Base,
    /// Any other ConfigMap with an `eni_conf` key: merged onto the base for
    /// nodes labelled `terway-config: <name>`.
    Dynamic,
    /// Not a Terway config: passes untouched.
    Other,
}

impl ConfigObject {
    pub fn from_configmap(cm: &k8s_openapi::api::core::v1::ConfigMap) -> Self {
        ConfigObject {
            name: cm.metadata.name.clone().unwrap_or_default(),
            namespace: cm.metadata.namespace.clone(),
            annotations: cm.metadata.annotations.clone().unwrap_or_default(),
            data: cm.data.clone().unwrap_or_default(),
            parsed: Parsed::default(),
        }
    }

    pub fn role(&self) -> Role {
        if self.name == BASE_NAME {
            Role::Base
        } else if self.data.contains_key(ENI_CONF) {
            Role::Dynamic
        } else {
            Role::Other
        }
    }

    pub fn eni_conf_text(&self) -> Option<&str> {
        self.data.get(ENI_CONF).map(String::as_str)
    }

    /// The parsed `eni_conf`, if present and valid.
    pub fn eni_conf(&self) -> Option<Arc<EniConf>> {
        self.eni_conf_parsed()?.ok()
    }

    /// `eni_conf` parsed, or why it does not parse; `None` without one.
    /// Parsed once per object (see [`Parsed`]).
    pub fn eni_conf_parsed(&self) -> Option<ParseResult> {
        let text = self.eni_conf_text()?;
        let parse = |t: &str| EniConf::parse(t).map(Arc::new);
        let (seen, result) = self
            .parsed
            .0
            .get_or_init(|| (text.to_string(), parse(text)));
        Some(if seen == text {
            result.clone()
        } else {
            parse(text)
        })
    }

    /// The bypass reason, if the annotation is set to something non-blank.
    pub fn bypass_reason(&self) -> Option<&str> {
        self.annotations
            .get(BYPASS_ANNOTATION)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eni_conf_is_parsed_once_and_follows_a_changed_text() {
        let mut cm = ConfigObject {
            name: BASE_NAME.into(),
            data: [(ENI_CONF.to_string(), r#"{"max_pool_size": 5}"#.to_string())].into(),
            ..Default::default()
        };
        let first = cm.eni_conf().unwrap();
        assert!(
            Arc::ptr_eq(&first, &cm.eni_conf().unwrap()),
            "the second read is the first parse"
        );
        // A clone shares the parse; a change of the text is seen.
        let copy = cm.clone();
        assert!(Arc::ptr_eq(&first, &copy.eni_conf().unwrap()));
        cm.data
            .insert(ENI_CONF.to_string(), r#"{"max_pool_size": 7}"#.to_string());
        assert_eq!(cm.eni_conf().unwrap().int("max_pool_size"), Some(7));
        cm.data.insert(ENI_CONF.to_string(), "{,".to_string());
        assert!(cm.eni_conf().is_none());
        assert!(cm.eni_conf_parsed().unwrap().is_err());
        // Equality is the fields', not the cache's.
        let fresh = ConfigObject {
            parsed: Parsed::default(),
            ..copy.clone()
        };
        assert_eq!(fresh, copy);
    }
}
