//! The terway CNI binary: on every ADD, DEL and CHECK it decodes its stdin
//! (the terway plugin as written, with libcni's `name` and `cniVersion`)
//! into `types.CNIConf` with `encoding/json` (plugin/terway/cni_linux.go
//! getCmdArgs, "failed to parse network config"), and on ADD parses each
//! `host_stack_cidrs` entry with `net.ParseCIDR` (plugin/terway/cni.go
//! parseSetupConf). Sources at 89aadf8.

use serde_json::Value;

use crate::config::fields::{Kind, Member, m};

use super::libcni::{NET_CONF, STRINGS};
use super::terway_cli::Plugin;
use super::{Reader, Report, decode_as, folded, shown};

/// plugin/terway/cni/runtime_config.go `RuntimeConfig`.
const RUNTIME_CONFIG: Kind = Kind::Struct(&[
    m(
        "dns",
        Kind::Struct(&[
            m("servers", STRINGS),
            m("searches", STRINGS),
            m("options", STRINGS),
        ]),
    ),
    m(
        "portMappings",
        Kind::List(&Kind::Struct(&[
            m("hostPort", Kind::Int),
            m("containerPort", Kind::Int),
            m("protocol", Kind::String),
            m("hostIP", Kind::String),
        ])),
    ),
    m(
        "bandwidth",
        Kind::Struct(&[
            m("ingressRate", Kind::Int),
            m("ingressBurst", Kind::Int),
            m("egressRate", Kind::Int),
            m("egressBurst", Kind::Int),
        ]),
    ),
]);

/// plugin/driver/types/types.go `SymmetricRoutingConfig`.
pub(super) const SYMMETRIC_ROUTING: Kind = Kind::Struct(&[
    m("interface", Kind::String),
    m("mark", Kind::Int),
    m("mask", Kind::Int),
    m("table_id", Kind::Int),
    m("rule_priority", Kind::Int),
    m("comment", Kind::String),
    m("backend", Kind::String),
]);

/// plugin/driver/types/types.go `CNIConf`, without the embedded NetConf.
const OWN: &[Member] = &[
    m("veth_prefix", Kind::String),
    m("eniip_virtual_type", Kind::String),
    m("host_stack_cidrs", STRINGS),
    m("disable_host_peer", Kind::Bool),
    m("vlan_strip_type", Kind::String),
    m("mtu", Kind::Int),
    m("runtimeConfig", RUNTIME_CONFIG),
    m("bandwidth_mode", Kind::String),
    m("enable_network_priority", Kind::Bool),
    m("debug", Kind::Bool),
    m("symmetric_routing_config", SYMMETRIC_ROUTING),
];

const SOURCE: &str = "plugin/terway/cni_linux.go getCmdArgs, plugin/driver/types/types.go CNIConf";

/// Whether libcni replaces the plugin's own `runtimeConfig` on every call:
/// it does for a declared capability the runtime passes (libcni/api.go
/// injectRuntimeConfig), and containerd's CRI passes `portMappings` for
/// every pod on setup and teardown (empty or not). A static
/// `runtimeConfig` then never reaches the binary; other keys that fold to
/// it are not replaced.
fn runtime_config_injected(p: &Plugin) -> bool {
    folded(&p.conf, "capabilities")
        .and_then(|(_, v)| v.as_object())
        .and_then(|caps| caps.get("portMappings"))
        .and_then(Value::as_bool)
        == Some(true)
}

pub(super) fn check(p: &Plugin, report: &mut Report) {
    let reader = Reader::Plugin;
    // The embedded NetConf's fields are CNIConf's too: containerd's libcni
    // has judged them already, and the first reader to fail is the one named.
    // An injected runtimeConfig never reaches the binary: it is left out by
    // a filter, not by copying the plugin's map on every review.
    let injected = runtime_config_injected(p);
    let conf = || {
        p.conf
            .iter()
            .filter(move |(k, _)| !(injected && k.as_str() == "runtimeConfig"))
    };
    let a = decode_as(
        conf(),
        Kind::Struct(NET_CONF),
        &p.at,
        reader,
        "CNIConf",
        SOURCE,
        report,
    );
    let b = decode_as(
        conf(),
        Kind::Struct(OWN),
        &p.at,
        reader,
        "CNIConf",
        SOURCE,
        report,
    );
    if !(a && b) {
        return;
    }
    let Some((key, Value::Array(cidrs))) = folded(&p.conf, "host_stack_cidrs") else {
        return;
    };
    for (i, v) in cidrs.iter().enumerate() {
        // A null item decodes to "" (null into a string is a no-op).
        let s = v.as_str().unwrap_or_default();
        if crate::config::strconv::parse_cidr(s).is_none() {
            let e = format!("invalid CIDR address: {s}");
            report.deny(
                p.at.key(key).index(i),
                reader,
                format!("host_stack_cidrs entry {} is not a CIDR to Go's net.ParseCIDR; {} fails every pod ADD with \"host_stack_cidrs({s}) is invaild: {e}\" (plugin/terway/cni.go parseSetupConf); {}. Write a block with its mask, e.g. \"169.254.20.10/32\"", shown(v), reader.name(), reader.impact()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;

    #[test]
    fn terway_plugin() {
        table(
            "10-terway.conf",
            &[
                (
                    r#"{"type":"terway","mtu":1500,"debug":true,"host_stack_cidrs":["169.254.20.10/32"]}"#,
                    &[],
                ),
                // gabs writes 1500.0 back as 1500.
                (r#"{"type":"terway","mtu":1500.0}"#, &[]),
                (r#"{"type":"terway","mtu":1.5e3}"#, &[]),
                (
                    r#"{"type":"terway","mtu":"1500"}"#,
                    &[(D, r#"data["10-terway.conf"].mtu"#, "terway CNI binary")],
                ),
                (
                    r#"{"type":"terway","mtu":1500.5}"#,
                    &[(D, r#"data["10-terway.conf"].mtu"#, "CNIConf.")],
                ),
                (
                    r#"{"type":"terway","mtu":1e21}"#,
                    &[(D, r#"data["10-terway.conf"].mtu"#, "CNIConf.")],
                ),
                (
                    r#"{"type":"terway","MTU":"9000"}"#,
                    &[(D, r#"data["10-terway.conf"].MTU"#, "CNIConf.")],
                ),
                (
                    r#"{"type":"terway","debug":"true"}"#,
                    &[(D, r#"data["10-terway.conf"].debug"#, "every pod sandbox")],
                ),
                (
                    r#"{"type":"terway","disable_host_peer":1}"#,
                    &[(D, r#"data["10-terway.conf"].disable_host_peer"#, "CNIConf")],
                ),
                (
                    r#"{"type":"terway","enable_network_priority":"yes"}"#,
                    &[(
                        D,
                        r#"data["10-terway.conf"].enable_network_priority"#,
                        "CNIConf",
                    )],
                ),
                (
                    r#"{"type":"terway","veth_prefix":1}"#,
                    &[(D, r#"data["10-terway.conf"].veth_prefix"#, "CNIConf")],
                ),
                (
                    r#"{"type":"terway","vlan_strip_type":true}"#,
                    &[(D, r#"data["10-terway.conf"].vlan_strip_type"#, "CNIConf")],
                ),
                // containerd passes port mappings for every pod: libcni
                // replaces the static runtimeConfig before the binary sees it.
                (
                    r#"{"type":"terway","capabilities":{"portMappings":true},"runtimeConfig":[]}"#,
                    &[],
                ),
                (
                    r#"{"type":"terway","runtimeConfig":[]}"#,
                    &[(D, r#"data["10-terway.conf"].runtimeConfig"#, "CNIConf")],
                ),
                (
                    r#"{"type":"terway","runtimeConfig":{"bandwidth":{"egressRate":"1M"}}}"#,
                    &[(
                        D,
                        r#"data["10-terway.conf"].runtimeConfig.bandwidth.egressRate"#,
                        "CNIConf",
                    )],
                ),
                (
                    r#"{"type":"terway","host_stack_cidrs":"169.254.20.10/32"}"#,
                    &[(D, r#"data["10-terway.conf"].host_stack_cidrs"#, "CNIConf")],
                ),
                (
                    r#"{"type":"terway","host_stack_cidrs":["169.254.20.10"]}"#,
                    &[(
                        D,
                        r#"data["10-terway.conf"].host_stack_cidrs[0]"#,
                        "invalid CIDR address: 169.254.20.10",
                    )],
                ),
                (
                    r#"{"type":"terway","host_stack_cidrs":[null]}"#,
                    &[(
                        D,
                        r#"data["10-terway.conf"].host_stack_cidrs[0]"#,
                        "net.ParseCIDR",
                    )],
                ),
                // net.ParseCIDR takes a leading zero in the length; without the
                // eBPF datapath nothing else reads it.
                (
                    r#"{"type":"terway","host_stack_cidrs":["10.0.0.0/08"]}"#,
                    &[],
                ),
                // A plugin that is not terway's is not decoded by the terway binary.
                (
                    r#"{"plugins":[{"type":"terway"},{"type":"portmap","mtu":"x"}]}"#,
                    &[],
                ),
            ],
        );
    }
}
