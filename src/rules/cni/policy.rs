//! The policy container's `terway-cli policy`: where it runs cilium
//! (datapathv2, ipvlan — which terway-cli turns into datapathv2 — or the
//! eBPF policy provider on veth with the cilium chainer), it decodes every
//! terway plugin of the written conflist into `CNIConfig` (`cilium_*`
//! strings, `host_stack_cidrs` strings) and parses each `host_stack_cidrs`
//! entry with `netip.ParsePrefix`, which unlike `net.ParseCIDR` refuses a
//! prefix length with a leading zero (cmd/terway-cli/policy.go initPolicy,
//! runCilium, policyConfig, at 89aadf8).

use serde_json::Value;

use crate::config::fields::{Kind, Member, m};

use super::terway_cli::Plugin;
use super::{Reader, Report, decode_as, folded, shown};

/// cmd/terway-cli/policy.go `CNIConfig`.
const CNI_CONFIG: &[Member] = &[
    m("cilium_enable_hubble", Kind::String),
    m("cilium_hubble_metrics", Kind::String),
    m("cilium_hubble_listen_address", Kind::String),
    m("cilium_hubble_metrics_server", Kind::String),
    m("cilium_args", Kind::String),
    m("host_stack_cidrs", Kind::List(&Kind::String)),
];

const SOURCE: &str = "cmd/terway-cli/policy.go policyConfig";

/// Whether the node runs cilium, as far as the config decides it.
fn runs_cilium(p: &Plugin) -> bool {
    // terway-cli has written the datapath it chose back into the plugin.
    let v2 = p.conf.get("eniip_virtual_type").and_then(Value::as_str) == Some("datapathv2");
    let ebpf = p
        .conf
        .get("network_policy_provider")
        .and_then(Value::as_str)
        == Some("ebpf");
    v2 || ebpf
}

pub(super) fn check(p: &Plugin, report: &mut Report) {
    if !runs_cilium(p) {
        return;
    }
    let reader = Reader::Policy;
    if !decode_as(
        &p.conf,
        Kind::Struct(CNI_CONFIG),
        &p.at,
        reader,
        "CNIConfig",
        SOURCE,
        report,
    ) {
        return;
    }
    let Some((key, Value::Array(cidrs))) = folded(&p.conf, "host_stack_cidrs") else {
        return;
    };
    for (i, v) in cidrs.iter().enumerate() {
        let s = v.as_str().unwrap_or_default();
        if let Err(e) = crate::config::strconv::parse_prefix(s) {
            report.deny(
                p.at.key(key).index(i),
                reader,
                format!("host_stack_cidrs entry {} is not a prefix to Go's netip.ParsePrefix; with datapathv2 or the eBPF policy provider, {} fails with \"netip.ParsePrefix({s:?}): {e}\" ({SOURCE}); {}. Write it like \"169.254.20.10/32\"", shown(v), reader.name(), reader.impact()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;

    #[test]
    fn policy() {
        table(
            "10-terway.conf",
            &[
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
                    &[
                        (
                            W,
                            r#"data["10-terway.conf"].eniip_virtual_type"#,
                            "datapathv2",
                        ),
                        (
                            D,
                            r#"data["10-terway.conf"].host_stack_cidrs[0]"#,
                            "bad bits after slash",
                        ),
                    ],
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
}
