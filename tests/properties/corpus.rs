//! The configs the properties start from: every case of tests/terway/*.yaml
//! that Terway runs and that has a `new` object, read by the corpus reader
//! tests/terway.rs uses (tests/common/corpus.rs).

use std::collections::BTreeMap;

use terway_guard::config::{ConfigObject, Version};

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

pub fn starts() -> Vec<Start> {
    let mut out = Vec::new();
    for (_, c) in crate::terway_corpus::load() {
        if !c.terway_runs {
            continue;
        }
        let Some(new) = &c.new else { continue };
        out.push(Start {
            name: c.name.clone(),
            new: new.config(),
            base: c.base.as_ref().map(crate::terway_corpus::Base::config),
            version: c.version.as_deref().map(|v| {
                v.parse()
                    .unwrap_or_else(|_| panic!("{}: version {v}", c.name))
            }),
        });
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
