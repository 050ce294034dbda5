//! Client rate limits in `eni_conf`: the daemon's cloud API limits
//! (`rate_limit`) and its Kubernetes client's burst. Both end in a
//! `golang.org/x/time/rate` limiter whose `Wait` fails outright when its
//! burst is below 1 ("rate: Wait(n=1) exceeds limiter's burst 0"), so every
//! call behind it fails.

use super::{Doc, Finding, Mode, Severity, id};
use crate::config::fields::levenshtein;
use crate::config::path::quote_short;

/// What a `rate_limit` entry of 0 or less breaks in the legacy daemon, by the
/// API name Terway waits on (pkg/aliyun/client/ratelimit.go: the value is
/// the burst, and QPS is value/60; the names are pkg/aliyun/client's API*
/// constants). `None`: only releases and cleanup fail (warn).
const RATE_LIMITED: &[(&str, Option<&str>)] = &[
    (
        "DescribeNetworkInterfaces",
        Some(
            "the daemon calls it at start for the primary ENI's security groups or the attached ENIs' attributes (daemon/builder.go setupENIManager) and after creating each ENI (pkg/factory/aliyun/aliyun.go), so no new ENI becomes usable and a new node allocates no pod IP",
        ),
    ),
    (
        "CreateNetworkInterface",
        Some(
            "no new ENI can be created, so a node without a free secondary IP (every new node) allocates no pod IP",
        ),
    ),
    (
        "AttachNetworkInterface",
        Some(
            "no new ENI can be attached, so a node without a free secondary IP (every new node) allocates no pod IP",
        ),
    ),
    (
        "AssignPrivateIpAddresses",
        Some("no secondary IP can be assigned to an ENI, so pod IP allocation fails"),
    ),
    (
        "DescribeVSwitches",
        Some(
            "no vSwitch can be looked up before an ENI is created (pkg/vswitch/vswitch.go GetOne), so no new ENI and no pod IP on a full node",
        ),
    ),
    ("AssignIpv6Addresses", None),
    ("DeleteNetworkInterface", None),
    ("DetachNetworkInterface", None),
    ("UnassignPrivateIpAddresses", None),
    ("UnassignIpv6Addresses", None),
    ("DescribeNetworkInterfaceAttribute", None),
    (
        "DescribeInstanceTypes",
        Some(
            "the daemon looks up its instance type's ENI and IP limits at every start unless the node carries the alibabacloud.com/instance-type-info annotation, which Terway never sets (daemon/builder.go initInstanceLimit, pkg/aliyun/client/limit.go GetLimit), so it does not start (\"upable get instance limit\")",
        ),
    ),
];

/// Names in Terway's default table the legacy ECS daemon never waits on
/// (LINGJUN/EFLO and the catch-all ""): accepted, without effect here.
const OTHER_KNOWN: &[&str] = &[
    "",
    "AssignLeniPrivateIpAddress",
    "AttachElasticNetworkInterface",
    "DetachElasticNetworkInterface",
    "ListElasticNetworkInterfaces",
    "CreateElasticNetworkInterface",
    "DeleteElasticNetworkInterface",
    "CreateHighDensityElasticNetworkInterface",
    "DeleteHighDensityElasticNetworkInterface",
    "AttachHighDensityElasticNetworkInterface",
    "DetachHighDensityElasticNetworkInterface",
    "ListHighDensityElasticNetworkInterfaces",
    "GetNodeInfoForPod",
];

pub(super) fn check(d: &Doc, out: &mut Vec<Finding>) {
    rate_limit(d, out);
    kube_client_burst(d, out);
    super::backoff::check(d, out);
}

/// Read only by the legacy daemon (daemon/builder.go setupAliyunClient);
/// CRD mode leaves cloud calls to terway-controlplane, which has its own
/// limits.
fn rate_limit(d: &Doc, out: &mut Vec<Finding>) {
    let Some((e, limits)) = d.legacy_map("rate_limit") else {
        return;
    };
    let dual = d.new.str("ip_stack") == Some("dual");
    for (name, value) in limits {
        let path = || e.path().key(name);
        let known = RATE_LIMITED.iter().find(|(n, _)| n == name);
        if known.is_none() && !OTHER_KNOWN.contains(&name.as_str()) {
            let near = RATE_LIMITED
                .iter()
                .find(|(n, _)| {
                    n.eq_ignore_ascii_case(name)
                        || levenshtein(&n.to_ascii_lowercase(), &name.to_ascii_lowercase()) <= 3
                })
                .map(|(n, _)| format!(" Did you mean {n:?}?"))
                .unwrap_or_default();
            out.push(Finding::warn(
                id::RATE_LIMIT,
                &path(),
                format!("rate_limit has {}, a name Terway never waits on (names are exact API names, pkg/aliyun/client/ratelimit.go), so the entry has no effect.{near}", quote_short(name, 40)),
            ));
            continue;
        }
        // Go decodes a null map value as the element's zero value: 0.
        let n = if value.is_null() {
            Some(0)
        } else {
            value.as_i64()
        };
        let Some(n) = n.filter(|n| *n <= 0) else {
            continue;
        };
        let Some((_, breaks)) = known else { continue };
        let breaks = match (breaks, name.as_str()) {
            (Some(b), _) => Some(*b),
            (None, "AssignIpv6Addresses") if dual => Some(
                "no IPv6 address can be assigned to an ENI, so dual-stack pod IP allocation fails",
            ),
            _ => None,
        };
        let (severity, effect) = match (breaks, d.mode) {
            (Some(b), Some(Mode::Legacy)) => (Severity::Deny, b.to_string()),
            (Some(b), _) => (
                Severity::Warn,
                format!("in legacy IPAM {b}; CRD mode does not read it"),
            ),
            (None, _) => (
                Severity::Warn,
                format!(
                    "every {name} call fails, so Terway cannot release or inspect ENIs and IPs it no longer needs"
                ),
            ),
        };
        out.push(Finding::new(
            id::RATE_LIMIT,
            severity,
            &path(),
            format!("rate_limit {name} is {n}: the legacy daemon makes it the burst of the call's limiter, and a burst below 1 fails every wait (\"rate: Wait(n=1) exceeds limiter's burst {n}\", pkg/aliyun/client/ratelimit.go); {effect}. Use a positive number of calls per minute or remove the entry"),
        ));
    }
}

/// The daemon builds its Kubernetes client with `kube_client_qps` and
/// `kube_client_burst` from the base config (pkg/k8s/k8s.go NewK8S). client-go
/// replaces a QPS of 0 by 5 and a burst of 0 by 10, and puts a token bucket in
/// front of every request only when the QPS is above 0 (rest.RESTClientFor):
/// then a negative burst fails every request, the daemon's first read of its
/// Node included, in both IPAM modes.
fn kube_client_burst(d: &Doc, out: &mut Vec<Finding>) {
    if d.dynamic.is_some() {
        // Read from the base only; dynamic configs get a warning elsewhere.
        return;
    }
    let Some(e) = d.new.get("kube_client_burst") else {
        return;
    };
    let Some(burst) = e.value.as_i64().filter(|b| *b < 0) else {
        return;
    };
    let qps = d
        .new
        .get("kube_client_qps")
        .and_then(|q| q.value.as_f64())
        .unwrap_or(0.0);
    // Decoded as a float32: a negative value too small for one becomes -0,
    // which client-go treats as unset (5).
    if (qps as f32) < 0.0 {
        // No limiter at all: the burst is never consulted.
        return;
    }
    out.push(Finding::deny(
        id::KUBE_CLIENT_BURST,
        &e.path(),
        format!("kube_client_burst is {burst}: client-go's token bucket fails every request with a negative burst (\"rate: Wait(n=1) exceeds limiter's burst {burst}\"), so the daemon cannot read its Node and does not start (\"error retrieving node spec\", pkg/k8s/k8s.go NewK8S). Use a positive burst, or 0 for client-go's default of 10"),
    ));
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    #[test]
    fn client_limits_as_terway_applies_them() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                r#"{"rate_limit": {"DescribeNetworkInterfaces": 600}}"#,
                &[],
                &[],
            ),
            (
                r#"{"rate_limit": {"DescribeNetworkInterfaces": 0}}"#,
                &["rate-limit"],
                &[],
            ),
            (
                r#"{"rate_limit": {"CreateNetworkInterface": -1}}"#,
                &["rate-limit"],
                &[],
            ),
            (
                r#"{"rate_limit": {"AssignPrivateIpAddresses": 0}}"#,
                &["rate-limit"],
                &[],
            ),
            (
                r#"{"rate_limit": {"AttachNetworkInterface": 0}}"#,
                &["rate-limit"],
                &[],
            ),
            (
                r#"{"rate_limit": {"CreateNetworkInterface": null}}"#,
                &["rate-limit"],
                &[],
            ),
            (
                r#"{"rate_limit": {"DescribeVSwitches": 0}}"#,
                &["rate-limit"],
                &[],
            ),
            (
                r#"{"rate_limit": {"UnassignPrivateIpAddresses": 0}}"#,
                &[],
                &["rate-limit"],
            ),
            (
                r#"{"rate_limit": {"DescribeInstanceTypes": 0}}"#,
                &["rate-limit"],
                &[],
            ),
            (r#"{"rate_limit": {"DescribeInstanceTypes": 1}}"#, &[], &[]),
            (
                r#"{"rate_limit": {"AssignIpv6Addresses": 0}}"#,
                &[],
                &["rate-limit"],
            ),
            (
                r#"{"ip_stack": "dual", "rate_limit": {"AssignIpv6Addresses": 0}}"#,
                &["rate-limit"],
                &[],
            ),
            // Unknown names are never looked up, whatever their value.
            (
                r#"{"rate_limit": {"describeNetworkInterfaces": 0}}"#,
                &[],
                &["rate-limit"],
            ),
            (r#"{"rate_limit": {"CreateENI": 5}}"#, &[], &["rate-limit"]),
            (r#"{"rate_limit": {"": 0}}"#, &[], &[]),
            (r#"{"rate_limit": {"GetNodeInfoForPod": 0}}"#, &[], &[]),
            // CRD mode leaves cloud calls to terway-controlplane.
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "rate_limit": {"CreateNetworkInterface": 0}}"#,
                &[],
                &[],
            ),
            (r#"{"kube_client_burst": 0}"#, &[], &[]),
            (r#"{"kube_client_burst": 30}"#, &[], &[]),
            (r#"{"kube_client_burst": -1}"#, &["kube-client-burst"], &[]),
            (
                r#"{"kube_client_qps": 0, "kube_client_burst": -1}"#,
                &["kube-client-burst"],
                &[],
            ),
            (
                r#"{"kube_client_qps": 20, "kube_client_burst": -5}"#,
                &["kube-client-burst"],
                &[],
            ),
            (
                r#"{"kube_client_qps": -1, "kube_client_burst": -5}"#,
                &[],
                &[],
            ),
            (
                r#"{"kube_client_qps": -1e-46, "kube_client_burst": -5}"#,
                &["kube-client-burst"],
                &[],
            ),
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "kube_client_burst": -1}"#,
                &["kube-client-burst"],
                &[],
            ),
        ];
        assert_base_cases(cases);
    }
}
