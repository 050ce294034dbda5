//! The configs the properties start from: every case of tests/terway/*.yaml
//! that Terway runs and that has a `new` object, loaded as tests/terway.rs
//! loads them (read leniently here: only the fields a start point needs).

use std::collections::BTreeMap;

use serde::Deserialize;
use terway_guard::config::{ConfigObject, Version};

#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    terway_runs: bool,
    version: Option<String>,
    base: Option<Base>,
    new: Option<Object>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Base {
    Mode(String),
    Object(Object),
}

#[derive(Debug, Deserialize)]
struct Object {
    name: Option<String>,
    data: BTreeMap<String, String>,
}

/// A config Terway runs: the object, the base it merges onto when it is a
/// dynamic config, and the Terway version it is judged for.
#[derive(Debug, Clone)]
pub struct Start {
    pub name: String,
    pub new: ConfigObject,
    pub base: Option<ConfigObject>,
    pub version: Option<Version>,
}

pub fn object(name: &str, data: BTreeMap<String, String>) -> ConfigObject {
    ConfigObject {
        name: name.to_string(),
        namespace: Some("kube-system".into()),
        data,
        ..Default::default()
    }
}

/// tests/terway.rs's minimal base of an IPAM mode.
fn minimal_base(mode: &str) -> ConfigObject {
    let ipam = if mode == "crd" {
        r#""ipam_type": "crd", "#
    } else {
        ""
    };
    object(
        "eni-config",
        [
            (
                "eni_conf".to_string(),
                format!(
                    r#"{{{ipam}"max_pool_size": 5, "min_pool_size": 0, "service_cidr": "10.96.0.0/12", "vswitches": {{"cn-hangzhou-g": ["vsw-xxx"]}}}}"#
                ),
            ),
            ("10-terway.conf".to_string(), r#"{"type": "terway"}"#.to_string()),
        ]
        .into(),
    )
}

pub fn starts() -> Vec<Start> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/terway");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("tests/terway")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| !p.ends_with("inventory.yaml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("corpus file");
        let cases: Vec<Case> =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for c in cases.into_iter().filter(|c| c.terway_runs) {
            let Some(new) = &c.new else { continue };
            let name = new.name.clone().unwrap_or_else(|| "eni-config".into());
            out.push(Start {
                name: c.name.clone(),
                new: object(&name, new.data.clone()),
                base: c.base.as_ref().map(|b| match b {
                    Base::Mode(m) => minimal_base(m),
                    Base::Object(o) => {
                        object(o.name.as_deref().unwrap_or("eni-config"), o.data.clone())
                    }
                }),
                version: c.version.as_deref().map(|v| {
                    v.parse()
                        .unwrap_or_else(|_| panic!("{}: version {v}", c.name))
                }),
            });
        }
    }
    out.extend(
        out.iter()
            .filter_map(with_small_base_vswitch)
            .collect::<Vec<_>>(),
    );
    out
}

/// A dynamic start whose base also lists `vsw-h24`, a /24 vSwitch of the
/// inventory: a base Terway runs, whose state an edit of the dynamic
/// config must not be blamed for (issue 21 A2).
fn with_small_base_vswitch(s: &Start) -> Option<Start> {
    let base = s.base.as_ref()?;
    let text = base.eni_conf_text()?;
    let more = terway_guard::config::edit::append_vswitch(text, "cn-hangzhou-h", "vsw-h24")?;
    let mut data = base.data.clone();
    data.insert("eni_conf".into(), more);
    Some(Start {
        name: format!("{} (the base also lists the /24 vsw-h24)", s.name),
        base: Some(object(&base.name, data)),
        ..s.clone()
    })
}
