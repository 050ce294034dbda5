//! The Terway corpus files (tests/terway/*.yaml) as data: read by
//! tests/terway.rs, which judges every case, and by tests/properties.rs, which
//! starts its generated edits from the cases Terway runs. One reader, so the
//! two never disagree on a case or on the minimal bases.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Deserialize;
use terway_guard::config::ConfigObject;
use terway_guard::inventory::{KubeadmServiceCidr, StaticInventory};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub source: String,
    pub terway: String,
    pub terway_runs: bool,
    #[serde(default)]
    pub defeats_purpose: bool,
    #[serde(default)]
    pub broken_before: bool,
    pub op: String,
    pub version: Option<String>,
    /// kube-system/kubeadm-config as the watched cluster has it: `absent`
    /// (ACK, the default), `offline` (not watched), `no-subnet`, or its
    /// networking.serviceSubnet.
    pub kubeadm: Option<String>,
    pub base: Option<Base>,
    pub old: Option<Object>,
    pub new: Option<Object>,
    pub expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Base {
    /// `crd` or `legacy`: a minimal valid base of that IPAM mode.
    Mode(String),
    Object(Object),
}

impl Base {
    pub fn config(&self) -> ConfigObject {
        match self {
            Base::Mode(m) => minimal_base(m),
            Base::Object(o) => o.config(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Object {
    pub name: Option<String>,
    pub data: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub deny: Vec<String>,
    pub warn: Vec<String>,
}

impl Object {
    pub fn config(&self) -> ConfigObject {
        ConfigObject {
            name: self.name.clone().unwrap_or_else(|| "eni-config".into()),
            namespace: Some("kube-system".into()),
            annotations: BTreeMap::new(),
            data: self.data.clone(),
            ..Default::default()
        }
    }
}

pub fn minimal_base(mode: &str) -> ConfigObject {
    let ipam = match mode {
        "crd" => r#""ipam_type": "crd", "security_groups": ["sg-xxx"], "#,
        "legacy" => "",
        other => panic!("base {other:?}: use crd, legacy or an object"),
    };
    ConfigObject {
        name: "eni-config".into(),
        namespace: Some("kube-system".into()),
        annotations: BTreeMap::new(),
        data: [
            (
                "eni_conf".to_string(),
                format!(
                    r#"{{{ipam}"max_pool_size": 5, "min_pool_size": 0, "service_cidr": "10.96.0.0/12", "vswitches": {{"cn-hangzhou-g": ["vsw-xxx"]}}}}"#
                ),
            ),
            (
                "10-terway.conf".to_string(),
                r#"{"type": "terway"}"#.to_string(),
            ),
        ]
        .into(),
        ..Default::default()
    }
}

/// The inventory the corpus cases are judged against (tests/terway/inventory.yaml).
pub fn inventory() -> StaticInventory {
    StaticInventory::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/terway/inventory.yaml"
    ))
    .expect("tests/terway/inventory.yaml")
}

/// What the kubeadm-config watch reports for a case's `kubeadm` state
/// (`absent` when the case names none); `None` while it is `offline`.
pub fn kubeadm(state: Option<&str>) -> Option<KubeadmServiceCidr> {
    Some(match state.unwrap_or("absent") {
        "offline" => return None,
        "absent" => KubeadmServiceCidr::Unusable("configmaps \"kubeadm-config\" not found".into()),
        "no-subnet" => KubeadmServiceCidr::Unusable("it has no networking.serviceSubnet".into()),
        subnet => KubeadmServiceCidr::Usable(subnet.into()),
    })
}

/// Every case, with the name of the file it is in, files in name order.
pub fn load() -> Vec<(String, Case)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/terway");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| !p.ends_with("inventory.yaml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let cases: Vec<Case> =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let file = f.file_name().unwrap().to_string_lossy().to_string();
        out.extend(cases.into_iter().map(|c| (file.clone(), c)));
    }
    out
}
