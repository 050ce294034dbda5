//! `service_cidr`, read as the daemon reads it: split on `,` without
//! trimming, each part parsed by Go's `net.ParseCIDR` (config::strconv),
//! unparsable parts dropped, the last block of each family kept (pkg/k8s/k8s.go
//! NewK8S, types/types.go IPNetSet.SetIPNet). With no IPv4 block left the
//! daemon reads `networking.serviceSubnet` from `kube-system/kubeadm-config`
//! (pkg/k8s/k8s.go setSvcCIDR, serviceCidrFromAPIServer) and does not start
//! when that fails: ACK clusters have no kubeadm-config.

use ipnet::IpNet;

use super::{Doc, Finding, Operation, Severity, id};
use crate::config::path::{quote, quote_short};
use crate::config::strconv::parse_cidr;
use crate::config::{ENI_CONF, Path};
use crate::inventory::KubeadmServiceCidr;

/// `service_cidr` read once, part by part: the blocks the daemon keeps, in
/// order (IPv4 and IPv6, the last of each), and the non-empty parts Go's
/// `net.ParseCIDR` refuses, which the daemon drops.
struct Read<'a> {
    blocks: Vec<IpNet>,
    dropped: Vec<&'a str>,
}

fn read(s: &str) -> Read<'_> {
    let mut v4 = None;
    let mut v6 = None;
    let mut dropped = Vec::new();
    for part in s.split(',') {
        match parse_cidr(part) {
            Some(n @ IpNet::V4(_)) => v4 = Some(n),
            Some(n @ IpNet::V6(_)) => v6 = Some(n),
            None if !part.is_empty() => dropped.push(part),
            None => {}
        }
    }
    Read {
        blocks: v4.into_iter().chain(v6).collect(),
        dropped,
    }
}

/// The blocks the daemon keeps, in order (IPv4 and IPv6, the last of each).
pub fn parse_service_cidr(s: &str) -> Option<Vec<IpNet>> {
    let blocks = read(s).blocks;
    (!blocks.is_empty()).then_some(blocks)
}

pub(super) fn check(d: &Doc, out: &mut Vec<Finding>) {
    if d.dynamic.is_some() {
        // Read from the base only; dynamic configs get a warning elsewhere.
        return;
    }
    let new = d.new.get("service_cidr");
    let new_s = new.and_then(|e| e.value.as_str()).unwrap_or_default();
    // Built only for a finding.
    let path = || new.map_or_else(|| Path::root(ENI_CONF).key("service_cidr"), |e| e.path());
    let read = read(new_s);
    let v4 = read.blocks.iter().any(|n| matches!(n, IpNet::V4(_)));
    if !v4 {
        no_ipv4(d, new_s, &path, out);
    }
    if v4 && !read.dropped.is_empty() {
        out.push(Finding::warn(
            id::SERVICE_CIDR,
            &path(),
            format!("service_cidr part(s) {} are not CIDR blocks to Go's net.ParseCIDR (no spaces, no leading zeros) and are silently dropped; write them as \"172.16.0.0/16,fd00::/120\"", read.dropped.iter().map(|p| quote_short(p, 40)).collect::<Vec<_>>().join(", ")),
        ));
    }
    if d.op == Operation::Update {
        change(d, new_s, &read.blocks, &path, out);
    }
}

/// No IPv4 block: the daemon asks kubeadm-config. Watched, we know whether
/// that works; offline we only say that it is needed.
fn no_ipv4(d: &Doc, new_s: &str, path: &dyn Fn() -> Path, out: &mut Vec<Finding>) {
    let what = if new_s.is_empty() {
        "service_cidr is not set".to_string()
    } else {
        format!(
            "service_cidr is {} and holds no IPv4 block Go's net.ParseCIDR reads (no spaces, no leading zeros such as \"172.016.0.0\")",
            quote_short(new_s, 40)
        )
    };
    let (severity, then) = match d.facts.and_then(|f| f.kubeadm.as_ref()) {
        Some(KubeadmServiceCidr::Usable(subnet)) => {
            if new_s.is_empty() {
                return;
            }
            (
                Severity::Warn,
                format!(
                    "the daemon uses kube-system/kubeadm-config's serviceSubnet {} instead",
                    quote_short(subnet, 40)
                ),
            )
        }
        Some(KubeadmServiceCidr::Unusable(why)) => (
            Severity::Deny,
            format!(
                "the daemon falls back to kube-system/kubeadm-config, but {why}, so it does not start (\"error init k8s: error retrieving service cidr\", pkg/k8s/k8s.go setSvcCIDR)"
            ),
        ),
        None => {
            if new_s.is_empty() && d.op != Operation::Create {
                return;
            }
            (
                Severity::Warn,
                "the daemon then needs networking.serviceSubnet in kube-system/kubeadm-config, which ACK clusters do not have, or it does not start (pkg/k8s/k8s.go serviceCidrFromAPIServer); the cluster was not watched, so this was not checked".to_string(),
            )
        }
    };
    out.push(Finding::new(
        id::SERVICE_CIDR,
        severity,
        &path(),
        format!("{what}; {then}. Set the cluster's service range, e.g. \"172.16.0.0/16\""),
    ));
}

/// terway-guard's own control: the daemon reads service_cidr once at start,
/// so a change splits the cluster between old and new ranges. Adding the
/// other family's block (dual stack) keeps every block the daemon had.
fn change(d: &Doc, new_s: &str, has: &[IpNet], path: &dyn Fn() -> Path, out: &mut Vec<Finding>) {
    let Some(old) = d
        .old
        .and_then(|o| o.str("service_cidr"))
        .filter(|s| !s.is_empty())
    else {
        return;
    };
    if new_s == old {
        return;
    }
    let had = parse_service_cidr(old).unwrap_or_default();
    let same_family = |a: &IpNet, b: &IpNet| a.addr().is_ipv4() == b.addr().is_ipv4();
    let kept = had
        .iter()
        .all(|o| has.iter().any(|n| same_family(o, n) && n == o));
    if kept {
        return;
    }
    let now = if new_s.is_empty() {
        "removed".to_string()
    } else {
        format!("changed to {}", quote_short(new_s, 40))
    };
    out.push(Finding::deny(
        id::SERVICE_CIDR_CHANGE,
        &path(),
        format!("service_cidr was {} and is {now}; the cluster's service range cannot change under running pods (the daemon reads it once at start, pkg/k8s/k8s.go; terway-guard's own control). Keep {} (adding the other IP family's block for dual stack is fine)", quote(old), quote(old)),
    ));
}

#[cfg(test)]
mod tests {
    use crate::inventory::{Facts, KubeadmServiceCidr};
    use crate::rules::Operation;
    use crate::rules::testing::*;

    fn kubeadm(state: &str) -> Option<Facts> {
        let k = match state {
            "offline" => return None,
            "absent" => {
                KubeadmServiceCidr::Unusable("configmaps \"kubeadm-config\" not found".into())
            }
            subnet => KubeadmServiceCidr::Usable(subnet.into()),
        };
        Some(Facts {
            kubeadm: Some(k),
            ..Facts::default()
        })
    }

    #[test]
    fn service_cidr_as_the_daemon_reads_it() {
        // (eni_conf, kubeadm-config: offline / absent / its serviceSubnet, deny, warn)
        let cases: &[(&str, &str, &[&str], &[&str])] = &[
            (r#"{"service_cidr": "172.16.0.0/16"}"#, "absent", &[], &[]),
            (
                r#"{"service_cidr": "172.16.0.0/16,fd00::/120"}"#,
                "absent",
                &[],
                &[],
            ),
            (
                r#"{"service_cidr": "172.16.0.0/16, fd00::/120"}"#,
                "absent",
                &[],
                &["service-cidr"],
            ),
            (
                r#"{"service_cidr": "172.16.0.0/16,172.016.1.0/24"}"#,
                "absent",
                &[],
                &["service-cidr"],
            ),
            (
                r#"{"service_cidr": "172.16.0.0/33"}"#,
                "absent",
                &["service-cidr"],
                &[],
            ),
            (
                r#"{"service_cidr": " 172.16.0.0/16"}"#,
                "absent",
                &["service-cidr"],
                &[],
            ),
            (
                r#"{"service_cidr": "fd00::/120"}"#,
                "absent",
                &["service-cidr"],
                &[],
            ),
            // Go's net.ParseCIDR refuses leading zeros (ipnet's parser does not).
            (
                r#"{"service_cidr": "172.016.0.0/16"}"#,
                "absent",
                &["service-cidr"],
                &[],
            ),
            (
                r#"{"service_cidr": "172.016.0.0/16"}"#,
                "offline",
                &[],
                &["service-cidr"],
            ),
            (
                r#"{"service_cidr": "172.016.0.0/16"}"#,
                "10.96.0.0/12",
                &[],
                &["service-cidr"],
            ),
            (r#"{}"#, "absent", &["service-cidr"], &[]),
            (r#"{}"#, "offline", &[], &["service-cidr"]),
            (r#"{}"#, "10.96.0.0/12", &[], &[]),
            (r#"{"service_cidr": ""}"#, "absent", &["service-cidr"], &[]),
        ];
        for (conf, state, deny, warn) in cases {
            let facts = kubeadm(state);
            let f = run(
                Operation::Create,
                Some(&base(conf)),
                None,
                None,
                facts.as_ref(),
            );
            let at = format!("{conf} with kubeadm-config {state}");
            let got = |sev| {
                f.iter()
                    .filter(|x| x.severity == sev && x.rule == "service-cidr")
                    .count()
            };
            assert_eq!(
                got(crate::rules::Severity::Deny),
                deny.len(),
                "{at}: {f:#?}"
            );
            assert_eq!(
                got(crate::rules::Severity::Warn),
                warn.len(),
                "{at}: {f:#?}"
            );
        }
        let f = run(
            Operation::Create,
            Some(&base("{}")),
            None,
            None,
            kubeadm("absent").as_ref(),
        );
        assert!(
            message(&f, "service-cidr").contains("kubeadm-config"),
            "{f:#?}"
        );
        let f = create(&base(r#"{"service_cidr": "172.016.0.0/16"}"#));
        assert!(
            message(&f, "service-cidr").contains("kubeadm-config"),
            "{f:#?}"
        );
    }

    #[test]
    fn service_cidr_cannot_change_but_may_gain_the_other_family() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("172.16.0.0/16", "172.16.0.0/16", &[]),
            ("172.16.0.0/16", "172.16.0.1/16", &[]),
            ("172.16.0.0/16", "172.17.0.0/16", &["service-cidr-change"]),
            ("172.16.0.0/16", "", &["service-cidr-change"]),
            ("172.16.0.0/16", "172.16.0.0/16,fd00::/120", &[]),
            ("172.16.0.0/16", "fd00::/120,172.16.0.0/16", &[]),
            (
                "172.16.0.0/16",
                "172.17.0.0/16,fd00::/120",
                &["service-cidr-change"],
            ),
            (
                "172.16.0.0/16,fd00::/120",
                "172.16.0.0/16",
                &["service-cidr-change"],
            ),
            (
                "172.16.0.0/16,fd00::/120",
                "172.16.0.0/16,fd01::/120",
                &["service-cidr-change"],
            ),
            ("fd00::/120", "172.16.0.0/16,fd00::/120", &[]),
            // Nothing the daemon read is lost when the old value never parsed.
            ("172.016.0.0/16", "172.16.0.0/16", &[]),
        ];
        for (old, new, want) in cases {
            let cidr = |s: &str| {
                if s.is_empty() {
                    base("{}")
                } else {
                    base(&format!(r#"{{"service_cidr": "{s}"}}"#))
                }
            };
            let facts = kubeadm("10.96.0.0/12");
            let f = run(
                Operation::Update,
                Some(&cidr(new)),
                Some(&cidr(old)),
                None,
                facts.as_ref(),
            );
            let got: Vec<&str> = f.iter().filter(|f| f.is_deny()).map(|f| f.rule).collect();
            assert_eq!(&got, want, "{old:?} -> {new:?}: {f:#?}");
        }
    }
}
