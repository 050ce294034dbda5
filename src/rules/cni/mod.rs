//! The CNI config keys of `eni-config`, judged by every program that reads
//! them, in the order a node meets them:
//!
//! 1. terway-init's `terway-cli cni` reads `10-terway.conf` (which must exist)
//!    and, when present, parses `10-terway.conflist` instead; it writes
//!    `/etc/cni/net.d/10-terway.conflist` ([`terway_cli`]);
//! 2. terway-init's `terway-cli nodeconfig` reads that written file
//!    ([`nodeconfig`]);
//! 3. containerd loads it with libcni ([`libcni`]);
//! 4. the policy container's `terway-cli policy` reads it on datapathv2 nodes
//!    ([`policy`]);
//! 5. the terway CNI binary decodes its plugin's part on every pod ADD, DEL
//!    and CHECK ([`plugin`]).
//!
//! Sources: AliyunContainerService/terway at commit 89aadf8, and
//! containernetworking/cni v1.1.2 (Terway's go.mod) for libcni.

mod libcni;
mod nodeconfig;
mod plugin;
mod policy;
mod terway_cli;

use serde_json::{Map, Value};

use super::{Finding, id};
use crate::config::fields::{Keys, Kind, Mismatch};
use crate::config::go_json::{self, Hidden};
use crate::config::path::quote_short;
use crate::config::{ConfigObject, Path};

const CONF: &str = "10-terway.conf";
const CONFLIST: &str = "10-terway.conflist";

/// A program that reads the CNI config, with what its failure costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Reader {
    TerwayCli,
    NodeConfig,
    Libcni,
    Policy,
    Plugin,
}

impl Reader {
    fn name(self) -> &'static str {
        match self {
            Reader::TerwayCli => "terway-init (terway-cli cni)",
            Reader::NodeConfig => "terway-init (terway-cli nodeconfig)",
            Reader::Libcni => "containerd (libcni)",
            Reader::Policy => "the policy container (terway-cli policy)",
            Reader::Plugin => "the terway CNI binary",
        }
    }

    fn impact(self) -> &'static str {
        match self {
            Reader::TerwayCli | Reader::NodeConfig => {
                "terway-init fails on every node where Terway starts or restarts"
            }
            Reader::Libcni => {
                "containerd cannot load the node's CNI config, so the node stays NetworkReady=false"
            }
            Reader::Policy => "the policy container fails on every datapathv2 node",
            Reader::Plugin => {
                "every pod sandbox fails on the nodes that get this config (every ADD decodes it)"
            }
        }
    }
}

/// What the readers found, before it becomes findings.
#[derive(Default)]
pub(super) struct Report {
    items: Vec<Item>,
}

struct Item {
    at: Path,
    reader: Reader,
    deny: bool,
    text: String,
}

impl Report {
    pub(super) fn deny(&mut self, at: Path, reader: Reader, text: impl Into<String>) {
        self.push(at, reader, true, text.into());
    }

    pub(super) fn warn(&mut self, at: Path, reader: Reader, text: impl Into<String>) {
        self.push(at, reader, false, text.into());
    }

    fn push(&mut self, at: Path, reader: Reader, deny: bool, text: String) {
        self.items.push(Item {
            at,
            reader,
            deny,
            text,
        });
    }

    /// A Go type error as `encoding/json` raises it, with the reader's cost.
    /// `field` is the struct field it decodes into (`CNIConf.mtu`).
    pub(super) fn mismatch(&mut self, m: &Mismatch, reader: Reader, field: &str, source: &str) {
        let text = format!(
            "{} is {}; {} decodes it as {} ({source}) and fails with \"json: cannot unmarshal {} into Go struct field {field} of type {}\"; {}. Write {}",
            last_segment(m.path.as_str()),
            shown(m.got),
            reader.name(),
            m.want.describe(),
            json_kind(m.got),
            go_type(m.want, field),
            reader.impact(),
            m.want.describe(),
        );
        self.deny(m.path.clone(), reader, text);
    }

    /// The findings: one per path, from the first reader that fails on it
    /// (the others are named), so a repeated type error is one finding.
    fn into_findings(mut self, out: &mut Vec<Finding>) {
        self.items
            .sort_by(|a, b| (b.deny, &a.at, a.reader).cmp(&(a.deny, &b.at, b.reader)));
        let mut i = 0;
        while i < self.items.len() {
            let first = &self.items[i];
            let mut j = i + 1;
            let mut also: Vec<&str> = Vec::new();
            while j < self.items.len()
                && self.items[j].deny == first.deny
                && self.items[j].at == first.at
            {
                let name = self.items[j].reader.name();
                if self.items[j].reader != first.reader && !also.contains(&name) {
                    also.push(name);
                }
                j += 1;
            }
            let mut text = first.text.clone();
            if !also.is_empty() {
                text.push_str(&format!(" ({} fails on it too)", also.join(", ")));
            }
            // The reader is part of what the finding is about: the same key
            // failing in a reader that did not fail before is a new denial.
            let subject = format!("{} {:?}", first.at, first.reader);
            let f = if first.deny {
                Finding::deny(id::CNI_CONF, &first.at, text)
            } else {
                Finding::warn(id::CNI_CONF, &first.at, text)
            };
            out.push(f.about(subject));
            i = j;
        }
    }
}

/// Why the CNI text does not decode.
pub(super) enum Undecodable {
    /// Not JSON to Go's scanner.
    Syntax(go_json::SyntaxError),
    /// A number beyond float64 range, as written.
    Overflow(String),
}

/// The one place the CNI text is decoded: terway-cli's `gabs.ParseJSON`,
/// i.e. `encoding/json` into `interface{}` (Go's syntax, `crate::config::go_json`).
/// Into `interface{}` every number is a float64, so one beyond its range fails
/// the decode (`UnmarshalTypeError`); earlier copies of a repeated key are
/// dropped there and never reach libcni or the binary, which read the file
/// terway-cli writes.
fn decode(text: &str) -> Result<Value, Undecodable> {
    let decoded = go_json::decode(text).map_err(Undecodable::Syntax)?;
    let overflow = decoded.notes.into_iter().find_map(|n| match n.what {
        Hidden::Overflow { literal, .. } => Some(literal),
        Hidden::Earlier(_) => None,
    });
    match overflow {
        Some(literal) => Err(Undecodable::Overflow(literal)),
        None => Ok(decoded.value),
    }
}

pub(super) fn check(cm: &ConfigObject, old: Option<&ConfigObject>, out: &mut Vec<Finding>) {
    let data = || Path::root("data");
    let Some(conf) = cm.data.get(CONF) else {
        let had = old.is_some_and(|o| o.data.contains_key(CONF));
        let what = if had { "removes" } else { "lacks" };
        out.push(Finding::deny(
            id::CNI_CONF,
            &data().key(CONF),
            format!("this eni-config {what} {CONF}; terway-init reads it as a file that must exist (cmd/terway-cli/common.go getAllConfig, even when {CONFLIST} is present) and fails on every node it starts on. Add it back, e.g. {{\"cniVersion\": \"0.4.0\", \"name\": \"terway\", \"type\": \"terway\"}}"),
        ));
        return;
    };
    // With a conflist present, only the conflist is parsed (cni.go processInput).
    let (key, text) = match cm.data.get(CONFLIST) {
        Some(list) => {
            if old.is_none_or(|o| o.data.get(CONF) != Some(conf)) {
                // Its own subject: this warning on the old object must never
                // soften a denial of the key's removal.
                out.push(
                    Finding::warn(
                        id::CNI_CONF,
                        &data().key(CONF),
                        format!("{CONF} is not used while {CONFLIST} exists (cmd/terway-cli/cni.go processInput), though it must still exist; edit {CONFLIST} instead"),
                    )
                    .about(format!("unused {CONF}")),
                );
            }
            (CONFLIST, list)
        }
        None => (CONF, conf),
    };
    let at = data().key(key);
    let doc = match decode(text) {
        Ok(doc) => doc,
        Err(e) => {
            out.push(Finding::deny(
                id::CNI_CONF,
                &at,
                match e {
                    Undecodable::Syntax(e) => format!(
                        "{key} is not valid JSON at line {} column {}: {}; terway-init (terway-cli cni, gabs.ParseJSON) fails to parse it on every node. Fix the JSON",
                        e.line, e.column, e.message
                    ),
                    Undecodable::Overflow(literal) => format!(
                        "{key} holds the number {}, beyond float64 range; terway-init (terway-cli cni, gabs.ParseJSON into interface{{}}) fails with \"cannot unmarshal number into Go value of type float64\" on every node. Write a smaller number",
                        quote_short(&literal, 30)
                    ),
                },
            ));
            return;
        }
    };
    let mut report = Report::default();
    if let Some(plugins) = terway_cli::write(&doc, &at, &mut report) {
        for p in &plugins {
            libcni::check(p, &mut report);
        }
        let terway: Vec<&terway_cli::Plugin> = plugins.iter().filter(|p| p.terway).collect();
        if let Some(first) = terway.first() {
            nodeconfig::check(first, &mut report);
        }
        for p in &terway {
            policy::check(p, &mut report);
            plugin::check(p, &mut report);
        }
    }
    report.into_findings(out);
}

/// Checks `conf`'s entries against a Go struct as `encoding/json` decodes it (keys
/// matched case-insensitively), reporting every key with a type error;
/// `false` if there was one.
pub(super) fn decode_as<'v>(
    conf: impl IntoIterator<Item = (&'v String, &'v Value)>,
    schema: Kind,
    at: &Path,
    reader: Reader,
    into: &str,
    source: &str,
    report: &mut Report,
) -> bool {
    let Kind::Struct(members) = schema else {
        return true;
    };
    // Each key checked on its own so that every bad key is reported, not
    // only the first one Go stops at: a key the edit breaks must not hide
    // behind one that was already broken. Which keys match a member is
    // `Keys::member`'s business (`Keys::Fold`), as in `Kind::mismatch`;
    // each value is checked in place, never copied.
    let mut ok = true;
    for (k, v) in conf {
        let Some(member) = Keys::Fold.member(members, k) else {
            continue;
        };
        if let Some(bad) = member.kind.mismatch(v, || at.key(k), Keys::Fold) {
            let name = members
                .iter()
                .find(|m| go_json::fold_eq(m.name, k))
                .map_or(k.as_str(), |m| m.name);
            report.mismatch(&bad, reader, &format!("{into}.{name}"), source);
            ok = false;
        }
    }
    ok
}

/// The value `encoding/json` ends up with for a struct field: keys that fold
/// to `name` all decode into it and the last one wins; the written file's
/// keys are sorted (Go's `json.Marshal` of a map), so "last" is the greatest.
pub(super) fn folded<'a>(conf: &'a Map<String, Value>, name: &str) -> Option<(&'a str, &'a Value)> {
    conf.iter()
        .filter(|(k, _)| go_json::fold_eq(k, name))
        .max_by(|a, b| a.0.cmp(b.0))
        .map(|(k, v)| (k.as_str(), v))
}

/// A value for a message, cut short.
pub(super) fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => quote_short(s, 40),
        other => {
            let s = other.to_string();
            if s.chars().count() > 40 {
                format!("{}…", s.chars().take(40).collect::<String>())
            } else {
                s
            }
        }
    }
}

/// The last key or index of a path, to name the value in a message whose
/// finding already carries the whole path.
fn last_segment(path: &str) -> &str {
    let at = if path.ends_with(']') {
        path.rfind('[')
    } else {
        path.rfind('.').map(|i| i + 1)
    };
    at.map_or(path, |i| &path[i..])
}

/// How Go's `UnmarshalTypeError` names a JSON value.
pub(super) fn json_kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(n) => format!("number {n}"),
        Value::String(_) => "string".into(),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
    }
}

/// The Go type Go names in a type error; structs by the field they fill.
fn go_type(kind: Kind, field: &str) -> String {
    const STRUCTS: &[(&str, &str)] = &[
        ("NetConf.ipam", "types.IPAM"),
        ("NetConf.dns", "types.DNS"),
        ("CNIConf.ipam", "types.IPAM"),
        ("CNIConf.dns", "types.DNS"),
        ("CNIConf.runtimeConfig", "cni.RuntimeConfig"),
        (
            "CNIConf.symmetric_routing_config",
            "types.SymmetricRoutingConfig",
        ),
        ("symmetric_routing_config", "types.SymmetricRoutingConfig"),
    ];
    match kind {
        Kind::String => "string".into(),
        Kind::Int => "int".into(),
        Kind::Float => "float64".into(),
        Kind::Float32 => "float32".into(),
        Kind::Bool => "bool".into(),
        Kind::List(k) => format!("[]{}", go_type(*k, "")),
        Kind::Map(k) => format!("map[string]{}", go_type(*k, "")),
        Kind::Struct([]) => "map[string]interface {}".into(),
        Kind::Struct(_) => STRUCTS
            .iter()
            .find(|(f, _)| *f == field)
            .map_or("struct", |(_, t)| t)
            .into(),
    }
}

#[cfg(test)]
mod tests;
