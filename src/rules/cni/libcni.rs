//! containerd loading the written conflist with libcni
//! (containernetworking/cni v1.1.2, the version in Terway's go.mod; later
//! releases keep these fields): `ConfListFromBytes` wants `name` and
//! `plugins` — terway-cli always writes `"name": "terway-chainer"` and
//! `"cniVersion": "0.4.0"` — and decodes each plugin with `ConfFromBytes`
//! into `types.NetConf` (`encoding/json`, keys matched case-insensitively),
//! which also needs a non-empty `type`.

use crate::config::fields::{Kind, Member, m};

use super::terway_cli::Plugin;
use super::{Reader, Report, decode_as, folded};

pub(super) const STRINGS: Kind = Kind::List(&Kind::String);

/// `map[string]interface{}`: any object, no member typed.
pub(super) const ANY_OBJECT: Kind = Kind::Struct(&[]);

/// pkg/types/types.go `NetConf` (v1.1.2), plus v1.2's GC attachments.
pub(super) const NET_CONF: &[Member] = &[
    m("cniVersion", Kind::String),
    m("name", Kind::String),
    m("type", Kind::String),
    m("capabilities", Kind::Map(&Kind::Bool)),
    m("ipam", Kind::Struct(&[m("type", Kind::String)])),
    m(
        "dns",
        Kind::Struct(&[
            m("nameservers", STRINGS),
            m("domain", Kind::String),
            m("search", STRINGS),
            m("options", STRINGS),
        ]),
    ),
    m("prevResult", ANY_OBJECT),
    m(
        "cni.dev/valid-attachments",
        Kind::List(&Kind::Struct(&[
            m("containerID", Kind::String),
            m("ifname", Kind::String),
        ])),
    ),
];

const SOURCE: &str =
    "containernetworking/cni libcni/conf.go ConfFromBytes, pkg/types/types.go NetConf";

pub(super) fn check(p: &Plugin, report: &mut Report) {
    let reader = Reader::Libcni;
    let typed = decode_as(
        &p.conf,
        Kind::Struct(NET_CONF),
        &p.at,
        reader,
        "NetConf",
        SOURCE,
        report,
    );
    if !typed {
        return;
    }
    let kind = p
        .conf
        .iter()
        .filter(|(k, v)| k.eq_ignore_ascii_case("type") && !v.is_null())
        .max_by(|a, b| a.0.cmp(b.0))
        .and_then(|(_, v)| v.as_str());
    if kind.is_none_or(str::is_empty) {
        let at = folded(&p.conf, "type").map_or_else(|| p.at.key("type"), |(k, _)| p.at.key(k));
        report.deny(
            at,
            reader,
            format!("the plugin's type is empty; {} fails with \"error parsing configuration: missing 'type'\" ({SOURCE}); {}. Name the plugin binary, e.g. \"terway\"", reader.name(), reader.impact()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;

    #[test]
    fn libcni() {
        table(
            "10-terway.conflist",
            &[
                (
                    r#"{"plugins":[{"type":"terway","capabilities":{"bandwidth":true}}]}"#,
                    &[],
                ),
                (
                    r#"{"plugins":[{"type":"terway","capabilities":{"bandwidth":"true"}}]}"#,
                    &[(
                        D,
                        r#"data["10-terway.conflist"].plugins[0].capabilities.bandwidth"#,
                        "containerd (libcni)",
                    )],
                ),
                (
                    r#"{"plugins":[{"type":"terway","capabilities":["bandwidth"]}]}"#,
                    &[(
                        D,
                        r#"data["10-terway.conflist"].plugins[0].capabilities"#,
                        "NetworkReady=false",
                    )],
                ),
                (
                    r#"{"plugins":[{"type":"terway"},{"type":"portmap","ipam":"host-local"}]}"#,
                    &[(
                        D,
                        r#"data["10-terway.conflist"].plugins[1].ipam"#,
                        "NetConf.",
                    )],
                ),
                (
                    r#"{"plugins":[{"type":"terway","dns":[]}]}"#,
                    &[(
                        D,
                        r#"data["10-terway.conflist"].plugins[0].dns"#,
                        "NetConf.",
                    )],
                ),
                (
                    r#"{"plugins":[{"type":"terway","prevResult":"x"}]}"#,
                    &[(
                        D,
                        r#"data["10-terway.conflist"].plugins[0].prevResult"#,
                        "NetConf.",
                    )],
                ),
                // Folded keys: encoding/json matches "Capabilities" too.
                (
                    r#"{"plugins":[{"type":"terway","Capabilities":{"bandwidth":1}}]}"#,
                    &[(
                        D,
                        r#"data["10-terway.conflist"].plugins[0].Capabilities.bandwidth"#,
                        "libcni",
                    )],
                ),
                // Exact name and cniVersion are dropped by terway-cli; "Name" is not.
                (
                    r#"{"plugins":[{"type":"terway","name":1,"cniVersion":2}]}"#,
                    &[],
                ),
                (
                    r#"{"plugins":[{"type":"terway","Name":1}]}"#,
                    &[(D, r#"data["10-terway.conflist"].plugins[0].Name"#, "libcni")],
                ),
                (
                    r#"{"plugins":[{"type":"terway"},{"type":""}]}"#,
                    &[(
                        D,
                        r#"data["10-terway.conflist"].plugins[1].type"#,
                        "missing 'type'",
                    )],
                ),
            ],
        );
    }
}
