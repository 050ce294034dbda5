use std::collections::BTreeSet;

use super::check;
use crate::rules::testing::*;
use crate::rules::{Finding, Operation, Severity};

const TERWAY: &str = r#"{"cniVersion":"0.4.0","name":"terway","type":"terway"}"#;

/// (severity, path, a piece of the message naming the reader or its error)
type Want = (Severity, &'static str, &'static str);
const D: Severity = Severity::Deny;
const W: Severity = Severity::Warn;

fn judge(data: &[(&str, &str)], old: Option<&[(&str, &str)]>) -> Vec<Finding> {
    let cm = base_with(data);
    let old = old.map(base_with);
    let mut out = Vec::new();
    check(&cm, old.as_ref(), &mut out);
    out
}

#[track_caller]
fn assert_findings(what: &str, got: &[Finding], want: &[Want]) {
    let paths = |fs: Vec<(Severity, String)>| fs.into_iter().collect::<BTreeSet<_>>();
    assert_eq!(
        paths(got.iter().map(|f| (f.severity, f.path.clone())).collect()),
        paths(want.iter().map(|(s, p, _)| (*s, p.to_string())).collect()),
        "{what}: {got:#?}"
    );
    for (s, p, piece) in want {
        let f = got
            .iter()
            .find(|f| f.severity == *s && f.path == *p)
            .unwrap();
        assert!(f.message.contains(piece), "{what}: {p}: {}", f.message);
    }
}

/// One conf (or conflist) text per case, judged alone.
#[track_caller]
fn table(key: &str, cases: &[(&str, &[Want])]) {
    for (text, want) in cases {
        let data: Vec<(&str, &str)> = if key == "10-terway.conf" {
            vec![("10-terway.conf", *text)]
        } else {
            vec![("10-terway.conf", TERWAY), (key, *text)]
        };
        let got: Vec<Finding> = judge(&data, Some(&data))
            .into_iter()
            .filter(|f| !f.subject.starts_with("unused"))
            .collect();
        assert_findings(text, &got, want);
    }
}

const CONF: &str = r#"data["10-terway.conf"]"#;

#[test]
fn terway_cli_cni() {
    table(
        "10-terway.conf",
        &[
            (TERWAY, &[]),
            (r#"{"type":"terway"}"#, &[]),
            (
                r#"{"cniVersion":"0.4.0"}"#,
                &[(D, r#"data["10-terway.conf"].type"#, "type not found")],
            ),
            ("{\"type\":", &[(D, CONF, "not valid JSON")]),
            ("[]", &[(D, CONF, "type not found")]),
            (r#"{"type":"terway","eniip_virtual_type":"IPVlan"}"#, &[]),
            (
                r#"{"type":"terway","eniip_virtual_type":"macvlan"}"#,
                &[(
                    D,
                    r#"data["10-terway.conf"].eniip_virtual_type"#,
                    "invalid datapath",
                )],
            ),
            (
                r#"{"type":"terway","eniip_virtual_type":7}"#,
                &[(
                    W,
                    r#"data["10-terway.conf"].eniip_virtual_type"#,
                    "as \"veth\"",
                )],
            ),
            (
                r#"{"type":"terway","network_policy_provider":1}"#,
                &[(
                    D,
                    r#"data["10-terway.conf"].network_policy_provider"#,
                    "network_policy_provider type error",
                )],
            ),
            (
                r#"{"type":"terway","network_policy_provider":null}"#,
                &[(
                    D,
                    r#"data["10-terway.conf"].network_policy_provider"#,
                    "network_policy_provider type error",
                )],
            ),
            (
                r#"{"type":"terway","auto_mtu":"true"}"#,
                &[(W, r#"data["10-terway.conf"].auto_mtu"#, "ignores it")],
            ),
            // Exact comparison: these leave no terway plugin.
            (
                r#"{"type":"Terway"}"#,
                &[(D, r#"data["10-terway.conf"].type"#, "compares it exactly")],
            ),
            (
                r#"{"type":" terway"}"#,
                &[(D, r#"data["10-terway.conf"].type"#, "compares it exactly")],
            ),
            (r#"{"type":"terwya"}"#, &[(D, CONF, "no Terway plugin")]),
            // terway-cli's bandwidth_mode and datapath overwrite the user's.
            (r#"{"type":"terway","bandwidth_mode":5}"#, &[]),
        ],
    );
}

const LIST: &str = r#"data["10-terway.conflist"]"#;

#[test]
fn terway_cli_plugins() {
    table(
        "10-terway.conflist",
        &[
            (
                r#"{"plugins":[{"type":"terway"},{"type":"portmap","capabilities":{"portMappings":true}}]}"#,
                &[],
            ),
            // gabs Children() takes an object's values.
            (r#"{"plugins":{"main":{"type":"terway"}}}"#, &[]),
            (
                r#"{"plugins":{"a":{"type":"terway"},"b":{"type":"portmap"}}}"#,
                &[(
                    W,
                    r#"data["10-terway.conflist"].plugins"#,
                    "random map order",
                )],
            ),
            (
                r#"{"plugins":[]}"#,
                &[(
                    D,
                    r#"data["10-terway.conflist"].plugins"#,
                    "no plugins in list",
                )],
            ),
            (
                r#"{"plugins":"terway"}"#,
                &[(
                    D,
                    r#"data["10-terway.conflist"].plugins"#,
                    "no plugins in list",
                )],
            ),
            (
                r#"{"plugins":null}"#,
                &[(
                    D,
                    r#"data["10-terway.conflist"].plugins"#,
                    "no plugins in list",
                )],
            ),
            (
                r#"{"plugins":[{"type":"terway"},"portmap"]}"#,
                &[(
                    D,
                    r#"data["10-terway.conflist"].plugins[1]"#,
                    "type not found",
                )],
            ),
            (
                r#"{"plugins":[{"type":"portmap"}]}"#,
                &[(D, LIST, "no Terway plugin")],
            ),
            (
                r#"{"plugins":[{"type":"TERWAY"},{"type":"portmap"}]}"#,
                &[(
                    D,
                    r#"data["10-terway.conflist"].plugins[0].type"#,
                    "exactly",
                )],
            ),
        ],
    );
}

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
                    "types.NetConf",
                )],
            ),
            (
                r#"{"plugins":[{"type":"terway","dns":[]}]}"#,
                &[(
                    D,
                    r#"data["10-terway.conflist"].plugins[0].dns"#,
                    "types.NetConf",
                )],
            ),
            (
                r#"{"plugins":[{"type":"terway","prevResult":"x"}]}"#,
                &[(
                    D,
                    r#"data["10-terway.conflist"].plugins[0].prevResult"#,
                    "types.NetConf",
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
                &[(D, r#"data["10-terway.conf"].mtu"#, "types.CNIConf")],
            ),
            (
                r#"{"type":"terway","mtu":1e21}"#,
                &[(D, r#"data["10-terway.conf"].mtu"#, "types.CNIConf")],
            ),
            (
                r#"{"type":"terway","MTU":"9000"}"#,
                &[(D, r#"data["10-terway.conf"].MTU"#, "types.CNIConf")],
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

#[test]
fn nodeconfig_and_policy() {
    table(
        "10-terway.conf",
        &[
            (
                r#"{"type":"terway","symmetric_routing_config":{"interface":"eth0","mark":16,"table_id":100}}"#,
                &[],
            ),
            (
                r#"{"type":"terway","symmetric_routing_config":"eth0"}"#,
                &[(
                    D,
                    r#"data["10-terway.conf"].symmetric_routing_config"#,
                    "failed to parse symmetric_routing_config",
                )],
            ),
            (
                r#"{"type":"terway","symmetric_routing":false,"symmetric_routing_config":{"mark":"0x10"}}"#,
                &[(
                    D,
                    r#"data["10-terway.conf"].symmetric_routing_config.mark"#,
                    "nodeconfig",
                )],
            ),
            (r#"{"type":"terway","symmetric_routing_config":null}"#, &[]),
            // Only the binary reads a case variant.
            (
                r#"{"type":"terway","Symmetric_Routing_Config":{"mark":"x"}}"#,
                &[(
                    D,
                    r#"data["10-terway.conf"].Symmetric_Routing_Config.mark"#,
                    "terway CNI binary",
                )],
            ),
            (
                r#"{"type":"terway","eniip_virtual_type":"datapathv2","cilium_args":"--foo"}"#,
                &[],
            ),
            (
                r#"{"type":"terway","eniip_virtual_type":"datapathv2","cilium_args":["--foo"]}"#,
                &[(D, r#"data["10-terway.conf"].cilium_args"#, "policy")],
            ),
            (
                r#"{"type":"terway","network_policy_provider":"ebpf","cilium_enable_hubble":true}"#,
                &[(
                    D,
                    r#"data["10-terway.conf"].cilium_enable_hubble"#,
                    "CNIConfig",
                )],
            ),
            (r#"{"type":"terway","cilium_args":["--foo"]}"#, &[]),
            (
                r#"{"type":"terway","eniip_virtual_type":"ipvlan","host_stack_cidrs":["10.0.0.0/08"]}"#,
                &[(
                    D,
                    r#"data["10-terway.conf"].host_stack_cidrs[0]"#,
                    "bad bits after slash",
                )],
            ),
            (
                r#"{"type":"terway","eniip_virtual_type":"datapathv2","host_stack_cidrs":["169.254.20.10"]}"#,
                &[(
                    D,
                    r#"data["10-terway.conf"].host_stack_cidrs[0]"#,
                    "terway CNI binary fails on it too",
                )],
            ),
        ],
    );
}

#[test]
fn a_missing_conf_blocks_only_its_removal() {
    let without = base_with(&[("eni_conf", "{}")]);
    let with = base_with(&[("eni_conf", "{}"), ("10-terway.conf", TERWAY)]);
    let f = run(Operation::Update, Some(&without), Some(&with), None, None);
    assert_denies(&f, &["cni-conf"]);
    assert!(message(&f, "cni-conf").contains("removes"));
    let f = run(
        Operation::Update,
        Some(&without),
        Some(&without),
        None,
        None,
    );
    assert_denies(&f, &[]);
    assert_warns(&f, &["cni-conf"]);
}

#[test]
fn removing_the_unused_conf_beside_a_conflist_is_denied() {
    // The old object's "not used" warning must not soften the removal.
    let list = r#"{"plugins":[{"type":"terway"}]}"#;
    let old = base_with(&[
        ("eni_conf", "{}"),
        ("10-terway.conf", "left over"),
        ("10-terway.conflist", list),
    ]);
    let new = base_with(&[("eni_conf", "{}"), ("10-terway.conflist", list)]);
    let f = run(Operation::Update, Some(&new), Some(&old), None, None);
    assert_denies(&f, &["cni-conf"]);
    assert!(message(&f, "cni-conf").contains("must exist"));
}

#[test]
fn a_broken_plugin_the_edit_keeps_does_not_block_it() {
    let bad = r#"{"type":"terway","mtu":"1500"}"#;
    let old = base_with(&[("eni_conf", "{}"), ("10-terway.conf", bad)]);
    let new = base_with(&[
        ("eni_conf", r#"{"max_pool_size":5}"#),
        ("10-terway.conf", bad),
    ]);
    let f = run(Operation::Update, Some(&new), Some(&old), None, None);
    assert_denies(&f, &[]);
    // The same key newly failing in another reader is this edit's.
    let worse = r#"{"type":"terway","mtu":"1500","capabilities":{"bandwidth":"yes"}}"#;
    let new = base_with(&[("eni_conf", "{}"), ("10-terway.conf", worse)]);
    let f = run(Operation::Update, Some(&new), Some(&old), None, None);
    assert_denies(&f, &["cni-conf"]);
    assert!(message(&f, "cni-conf").contains("libcni"));
}
