//! Rules on the values of string settings Terway interprets: policies, the IP
//! stack, durations and the reclaim jitter.

use super::{Doc, Finding, Mode, Severity, id};
use crate::config::duration;
use crate::config::fields::levenshtein;
use crate::config::path::quote_short;

/// (field, values Terway treats specially, what everything else means).
/// daemon/config.go getENIConfig and pkg/eni/node_reconcile.go: only
/// `ordered` changes the vSwitch policy; only `least_ips` the ENI policy.
const POLICIES: &[(&str, &[&str], &str)] = &[
    ("vswitch_selection_policy", &["ordered", "random"], "random"),
    (
        "eni_selection_policy",
        &["least_ips", "most_ips"],
        "most_ips",
    ),
];

pub(super) fn check(d: &Doc, out: &mut Vec<Finding>) {
    policies(d, out);
    ip_stack(d, out);
    durations(d, out);
    jitter(d, out);
}

fn near(v: &str, allowed: &[&str]) -> String {
    allowed
        .iter()
        .find(|a| levenshtein(&v.to_ascii_lowercase(), a) <= 2)
        .map(|a| format!(" Did you mean {a:?}?"))
        .unwrap_or_default()
}

fn policies(d: &Doc, out: &mut Vec<Finding>) {
    for (field, special, otherwise) in POLICIES {
        if let Some(e) = d.new.get(field)
            && let Some(v) = e.value.as_str()
            && !v.is_empty()
            && !special.contains(&v)
        {
            out.push(Finding::warn(
                id::ENUM_VALUE,
                &e.path(),
                format!(
                    "{field} is {}; Terway accepts any value but treats everything except {} as {otherwise:?} (daemon/config.go getENIConfig).{}",
                    quote_short(v, 40),
                    special.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(" and "),
                    near(v, special)
                ),
            ));
        }
    }
}

/// The daemon accepts "", "ipv4" and "dual" and refuses anything else, "ipv6"
/// included (types/daemon/config.go Validate, called by daemon/builder.go
/// LoadDynamicConfig in both IPAM modes).
fn ip_stack(d: &Doc, out: &mut Vec<Finding>) {
    const OK: [&str; 3] = ["", "ipv4", "dual"];
    if let Some(e) = d.new.get("ip_stack")
        && let Some(v) = e.value.as_str()
        && !OK.contains(&v)
    {
        out.push(Finding::deny(
            id::ENUM_VALUE,
            &e.path(),
            format!(
                "ip_stack is {}; the daemon accepts only \"ipv4\" and \"dual\" and otherwise does not start (\"unsupported ipStack\", types/daemon/config.go Validate).{}",
                quote_short(v, 40),
                near(v, &OK[1..])
            ),
        ));
    }
}

/// Legacy mode parses both reclaim durations whenever they are set, the
/// interval defaulting to 10m only when absent (types/daemon/config.go
/// Populate, daemon/config.go getPoolConfig). CRD mode parses `after` when set
/// and `interval` only beside it and when non-empty (pkg/eni/node_reconcile.go).
fn durations(d: &Doc, out: &mut Vec<Finding>) {
    let after_set = d
        .new
        .get("idle_ip_reclaim_after")
        .is_some_and(|e| e.value.is_string());
    for field in ["idle_ip_reclaim_after", "idle_ip_reclaim_interval"] {
        let Some(e) = d.new.get(field) else { continue };
        let Some(v) = e.value.as_str() else { continue };
        let Err(why) = duration::parse(v) else {
            continue;
        };
        let crd_skips = field == "idle_ip_reclaim_interval" && (v.is_empty() || !after_set);
        let severity = match d.mode {
            Some(Mode::Crd) if crd_skips => {
                if v.is_empty() {
                    continue;
                }
                Severity::Warn
            }
            None if crd_skips => Severity::Warn,
            _ => Severity::Deny,
        };
        let effect = if severity == Severity::Deny {
            "Terway fails on it (legacy: the daemon does not start, daemon/config.go getPoolConfig; CRD: every node reconcile fails, pkg/eni/node_reconcile.go)"
        } else {
            "legacy-mode daemons fail to start on it; CRD mode ignores it without idle_ip_reclaim_after"
        };
        out.push(Finding::new(
            id::DURATION,
            severity,
            &e.path(),
            format!("{field}: {why}; {effect}. Use a Go duration such as \"10m\" or \"1h30m\" (units ns, us, ms, s, m, h), or remove the key"),
        ));
    }
    // Both modes fall back to a default on a bad period (types/daemon/config.go
    // GetIPPoolSYncPeriod; pkg/controller/multi-ip/node/pool.go poolSyncPeriod).
    if let Some(e) = d.new.get("ip_pool_sync_period")
        && let Some(v) = e.value.as_str()
        && !v.is_empty()
        && let Err(why) = duration::parse(v)
    {
        out.push(Finding::warn(
            id::DURATION,
            &e.path(),
            format!("ip_pool_sync_period: {why}; Terway silently uses its default period instead. Use a Go duration such as \"2m\""),
        ));
    }
}

/// Go's `strconv.ParseFloat`: no surrounding spaces, decimal or hex, `Inf`
/// and `NaN`; out of range is an error.
pub fn go_parse_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return s.parse::<f64>().ok().or(Some(f64::NAN));
    }
    if let Some(hex) = lower.strip_prefix("0x") {
        // Hex floats are rare here; accept their shape.
        let ok = hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b'p' | b'+' | b'-' | b'_'));
        return (ok && !hex.is_empty()).then_some(0.0);
    }
    if !body
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn jitter(d: &Doc, out: &mut Vec<Finding>) {
    let Some(e) = d.new.get("idle_ip_reclaim_jitter_factor") else {
        return;
    };
    let Some(v) = e.value.as_str() else { return };
    let shown = quote_short(v, 40);
    match go_parse_float(v) {
        None => {
            // Legacy parses it at start (daemon/config.go getPoolConfig); CRD
            // mode hands it to the controlplane, which ignores a parse error
            // and uses 0.1 (pkg/controller/multi-ip/node/pool.go).
            let (severity, effect) = match d.mode {
                Some(Mode::Crd) => (Severity::Warn, "CRD mode silently uses 0.1 instead"),
                None => (Severity::Warn, "legacy-mode daemons fail to start on it; CRD mode uses 0.1"),
                Some(Mode::Legacy) => (Severity::Deny, "the daemon fails to start on it (strconv.ParseFloat, daemon/config.go getPoolConfig)"),
            };
            out.push(Finding::new(
                id::JITTER_FACTOR,
                severity,
                &e.path(),
                format!("idle_ip_reclaim_jitter_factor is {shown}, not a number Go reads (no spaces); {effect}. Write e.g. \"0.1\""),
            ));
        }
        Some(f) if f.is_nan() || f <= 0.0 => out.push(Finding::warn(
            id::JITTER_FACTOR,
            &e.path(),
            format!("idle_ip_reclaim_jitter_factor is {shown}; Terway replaces a factor that is not above 0 (1.0 in legacy mode, 0.1 in CRD mode). Write e.g. \"0.1\""),
        )),
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::testing::*;

    #[test]
    fn values_as_terway_reads_them() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                r#"{"vswitch_selection_policy": "ordered", "eni_selection_policy": "least_ips", "ip_stack": "dual"}"#,
                &[],
                &[],
            ),
            (
                r#"{"vswitch_selection_policy": "orderd"}"#,
                &[],
                &["enum-value"],
            ),
            (
                r#"{"vswitch_selection_policy": "most"}"#,
                &[],
                &["enum-value"],
            ),
            (r#"{"eni_selection_policy": ""}"#, &[], &[]),
            (
                r#"{"eni_selection_policy": "fewest"}"#,
                &[],
                &["enum-value"],
            ),
            (r#"{"ip_stack": "ipv6"}"#, &["enum-value"], &[]),
            (r#"{"ip_stack": "IPv4"}"#, &["enum-value"], &[]),
            (r#"{"ip_stack": ""}"#, &[], &[]),
            (
                r#"{"idle_ip_reclaim_after": "10m", "idle_ip_reclaim_interval": "1h30m"}"#,
                &[],
                &[],
            ),
            (
                r#"{"idle_ip_reclaim_after": "10 minutes"}"#,
                &["duration"],
                &[],
            ),
            (r#"{"idle_ip_reclaim_after": ""}"#, &["duration"], &[]),
            (r#"{"idle_ip_reclaim_interval": "5"}"#, &["duration"], &[]),
            (r#"{"idle_ip_reclaim_interval": ""}"#, &["duration"], &[]),
            (
                r#"{"ipam_type": "crd", "idle_ip_reclaim_interval": ""}"#,
                &[],
                &[],
            ),
            (
                r#"{"ipam_type": "crd", "idle_ip_reclaim_interval": "5"}"#,
                &[],
                &["duration"],
            ),
            (
                r#"{"ipam_type": "crd", "idle_ip_reclaim_after": "1m", "idle_ip_reclaim_interval": "5"}"#,
                &["duration"],
                &[],
            ),
            (r#"{"ip_pool_sync_period": "2 min"}"#, &[], &["duration"]),
            (r#"{"idle_ip_reclaim_jitter_factor": "0.1"}"#, &[], &[]),
            (
                r#"{"idle_ip_reclaim_jitter_factor": "abc"}"#,
                &["jitter-factor"],
                &[],
            ),
            (
                r#"{"idle_ip_reclaim_jitter_factor": " 0.1"}"#,
                &["jitter-factor"],
                &[],
            ),
            (
                r#"{"idle_ip_reclaim_jitter_factor": ""}"#,
                &["jitter-factor"],
                &[],
            ),
            (
                r#"{"ipam_type": "crd", "idle_ip_reclaim_jitter_factor": "abc"}"#,
                &[],
                &["jitter-factor"],
            ),
            (
                r#"{"idle_ip_reclaim_jitter_factor": "-0.5"}"#,
                &[],
                &["jitter-factor"],
            ),
            (
                r#"{"idle_ip_reclaim_jitter_factor": 0.1}"#,
                &["field-type"],
                &[],
            ),
        ];
        assert_base_cases(cases);
    }

    #[test]
    fn go_floats() {
        use super::go_parse_float as p;
        assert_eq!(p("0.1"), Some(0.1));
        assert_eq!(p("1e-1"), Some(0.1));
        assert_eq!(p(".5"), Some(0.5));
        assert!(p("Inf").is_some());
        assert!(p("0x1p-2").is_some());
        for bad in ["", " 0.1", "0.1 ", "1e400", "abc", "1,5", "0.1f"] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }
}
