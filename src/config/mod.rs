//! The eni-config model: the ConfigMap, its `eni_conf` document, the CNI conf.

pub mod duration;
pub mod edit;
pub mod eni_conf;
pub mod fields;
pub mod manifest;
pub mod path;
pub mod spans;
pub mod version;

use std::collections::BTreeMap;

pub use eni_conf::EniConf;
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
    pub fn eni_conf(&self) -> Option<EniConf> {
        self.eni_conf_text().and_then(|t| EniConf::parse(t).ok())
    }

    /// The bypass reason, if the annotation is set to something non-blank.
    pub fn bypass_reason(&self) -> Option<&str> {
        self.annotations
            .get(BYPASS_ANNOTATION)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }
}
