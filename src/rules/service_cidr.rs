//! `service_cidr`, read as the daemon reads it: split on `,` without
//! trimming, each part parsed by Go's `net.ParseCIDR`, unparsable parts
//! dropped, the last block of each family kept (pkg/k8s/k8s.go NewK8S,
//! types/types.go IPNetSet.SetIPNet). With no IPv4 block left the daemon asks
//! `kube-system/kubeadm-config`, which ACK clusters do not have, and fails.

use ipnet::IpNet;

use super::{Doc, Finding, Operation, id};
use crate::config::path::{quote, quote_short};
use crate::config::{ENI_CONF, Path};

/// The blocks the daemon keeps, in order (IPv4 and IPv6, the last of each).
pub fn parse_service_cidr(s: &str) -> Option<Vec<IpNet>> {
    let mut v4 = None;
    let mut v6 = None;
    for part in s.split(',') {
        match part.parse::<IpNet>() {
            Ok(n @ IpNet::V4(_)) => v4 = Some(n.trunc()),
            Ok(n @ IpNet::V6(_)) => v6 = Some(n.trunc()),
            Err(_) => {}
        }
    }
    let out: Vec<IpNet> = v4.into_iter().chain(v6).collect();
    (!out.is_empty()).then_some(out)
}

fn has_v4(s: &str) -> bool {
    parse_service_cidr(s).is_some_and(|n| n.iter().any(|n| matches!(n, IpNet::V4(_))))
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
    let v4 = !new_s.is_empty() && has_v4(new_s);
    if !new_s.is_empty() && !v4 {
        out.push(Finding::deny(
            id::SERVICE_CIDR,
            &path(),
            format!("service_cidr is {} and holds no IPv4 block Go can parse; the daemon then looks for kube-system/kubeadm-config, which ACK clusters do not have, and does not start (pkg/k8s/k8s.go). Write the cluster's service range, e.g. \"172.16.0.0/16\"", quote_short(new_s, 40)),
        ));
    } else if new_s.is_empty() && d.op == Operation::Create {
        out.push(Finding::warn(
            id::SERVICE_CIDR,
            &path(),
            "service_cidr is not set; the daemon then needs kube-system/kubeadm-config, which ACK clusters do not have (pkg/k8s/k8s.go). Set the cluster's service range",
        ));
    }
    let dropped: Vec<&str> = new_s
        .split(',')
        .filter(|p| !p.is_empty() && p.parse::<IpNet>().is_err())
        .collect();
    if v4 && !dropped.is_empty() {
        out.push(Finding::warn(
            id::SERVICE_CIDR,
            &path(),
            format!("service_cidr part(s) {} are not CIDR blocks to Go (no spaces allowed) and are silently dropped; write them as \"172.16.0.0/16,fd00::/120\"", dropped.iter().map(|p| quote_short(p, 40)).collect::<Vec<_>>().join(", ")),
        ));
    }
    if d.op != Operation::Update {
        return;
    }
    let old = d
        .old
        .and_then(|o| o.str("service_cidr"))
        .filter(|s| !s.is_empty());
    if let Some(old) = old {
        let same = new_s == old
            || match (parse_service_cidr(new_s), parse_service_cidr(old)) {
                (Some(n), Some(o)) => n == o,
                _ => false,
            };
        if !same {
            let now = if new_s.is_empty() {
                "removed".to_string()
            } else {
                format!("changed to {}", quote_short(new_s, 40))
            };
            out.push(Finding::deny(
                id::SERVICE_CIDR_CHANGE,
                &path(),
                format!("service_cidr was {} and is {now}; the cluster's service range cannot change under running pods (the daemon reads it once at start, pkg/k8s/k8s.go). Restore {}", quote(old), quote(old)),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::Operation;
    use crate::rules::testing::*;

    #[test]
    fn service_cidr_as_the_daemon_reads_it() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (r#"{"service_cidr": "172.16.0.0/16"}"#, &[], &[]),
            (r#"{"service_cidr": "172.16.0.0/16,fd00::/120"}"#, &[], &[]),
            (
                r#"{"service_cidr": "172.16.0.0/16, fd00::/120"}"#,
                &[],
                &["service-cidr"],
            ),
            (
                r#"{"service_cidr": "172.16.0.0/33"}"#,
                &["service-cidr"],
                &[],
            ),
            (
                r#"{"service_cidr": " 172.16.0.0/16"}"#,
                &["service-cidr"],
                &[],
            ),
            (r#"{"service_cidr": "fd00::/120"}"#, &["service-cidr"], &[]),
            (r#"{}"#, &[], &["service-cidr"]),
        ];
        assert_base_cases(cases);
    }

    #[test]
    fn service_cidr_cannot_change() {
        let old = base(r#"{"service_cidr": "172.16.0.0/16"}"#);
        let cases: &[(&str, &[&str])] = &[
            (r#"{"service_cidr": "172.16.0.0/16"}"#, &[]),
            (r#"{"service_cidr": "172.16.0.1/16"}"#, &[]),
            (
                r#"{"service_cidr": "172.17.0.0/16"}"#,
                &["service-cidr-change"],
            ),
            (r#"{}"#, &["service-cidr-change"]),
        ];
        for (new, want) in cases {
            let f = run(Operation::Update, Some(&base(new)), Some(&old), None, None);
            assert_denies(&f, want);
        }
        let f = run(Operation::Update, Some(&old), Some(&base("{}")), None, None);
        assert_denies(&f, &[]);
    }
}
