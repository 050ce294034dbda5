//! `service_cidr`: a valid range, never changed under a running cluster.

use ipnet::IpNet;

use super::{Doc, Finding, Operation, id};
use crate::config::path::{quote, quote_short};
use crate::config::{ENI_CONF, Path};

/// Parses `service_cidr`: one block, or a comma-separated IPv4/IPv6 pair.
pub fn parse_service_cidr(s: &str) -> Option<Vec<IpNet>> {
    s.split(',')
        .map(|p| p.trim().parse::<IpNet>().ok())
        .collect()
}

pub(super) fn check(d: &Doc, out: &mut Vec<Finding>) {
    let new = d.new.get("service_cidr");
    if let Some(e) = new
        && let Some(s) = e.value.as_str()
        && !s.is_empty()
        && parse_service_cidr(s).is_none()
    {
        out.push(Finding::deny(
            id::SERVICE_CIDR,
            &e.path(),
            format!("service_cidr is {}, not a CIDR block; write the cluster's service range, e.g. \"172.16.0.0/16\"", quote_short(s, 40)),
        ));
    }
    if d.op != Operation::Update {
        return;
    }
    let old = d
        .old
        .and_then(|o| o.str("service_cidr"))
        .filter(|s| !s.is_empty());
    let new_s = new.and_then(|e| e.value.as_str()).filter(|s| !s.is_empty());
    if let Some(old) = old {
        let same = match (new_s, parse_service_cidr(old)) {
            (Some(n), Some(o)) => parse_service_cidr(n).map_or(n == old, |n| n == o),
            (Some(n), None) => n == old,
            (None, _) => false,
        };
        if !same {
            let path = new.map_or(Path::root(ENI_CONF).key("service_cidr"), |e| e.path());
            let now = new_s.map_or("removed".to_string(), |n| {
                format!("changed to {}", quote_short(n, 40))
            });
            out.push(Finding::deny(
                id::SERVICE_CIDR_CHANGE,
                &path,
                format!("service_cidr was {} and is {now}; the cluster's service range cannot change under running pods. Restore {}", quote(old), quote(old)),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    #[test]
    fn service_cidr_cannot_change() {
        let old = base(r#"{"service_cidr": "172.16.0.0/16"}"#);
        let cases: &[(&str, &[&str])] = &[
            (r#"{"service_cidr": "172.16.0.0/16"}"#, &[]),
            (r#"{"service_cidr": "172.16.0.0/16 "}"#, &[]),
            (
                r#"{"service_cidr": "172.17.0.0/16"}"#,
                &["service-cidr-change"],
            ),
            (r#"{}"#, &["service-cidr-change"]),
        ];
        for (new, want) in cases {
            let f = run(
                crate::rules::Operation::Update,
                Some(&base(new)),
                Some(&old),
                None,
                None,
            );
            assert_denies(&f, want);
        }
        let f = run(
            crate::rules::Operation::Update,
            Some(&old),
            Some(&base("{}")),
            None,
            None,
        );
        assert_denies(&f, &[]);
    }
}
