//! Rules on the values of string settings Terway interprets: policies, the IP
//! stack, durations and the reclaim jitter.

use super::{Doc, Finding, Mode, Severity, id};
use crate::config::fields::levenshtein;
use crate::config::path::quote_short;
use crate::config::{duration, strconv};

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

fn jitter(d: &Doc, out: &mut Vec<Finding>) {
    let Some(e) = d.new.get("idle_ip_reclaim_jitter_factor") else {
        return;
    };
    let Some(v) = e.value.as_str() else { return };
    let shown = quote_short(v, 40);
    match strconv::parse_float(v) {
        Err(err) => {
            // Legacy parses it at start (daemon/config.go getPoolConfig); CRD
            // mode hands it to the controlplane, which ignores a parse error
            // and uses 0.1 (pkg/controller/multi-ip/node/pool.go).
            let (severity, effect) = match d.mode {
                // The controlplane keeps what ParseFloat returns beside the
                // error: 0 for bad syntax (so 0.1), ±Inf on overflow.
                Some(Mode::Crd) if err == strconv::FloatError::Range => (Severity::Warn, "CRD mode takes a positive overflow as an infinite jitter, a negative one as 0.1".to_string()),
                Some(Mode::Crd) => (Severity::Warn, "CRD mode silently uses 0.1 instead".to_string()),
                None => (Severity::Warn, "legacy-mode daemons fail to start on it; CRD mode uses 0.1".to_string()),
                Some(Mode::Legacy) => (Severity::Deny, format!("the daemon fails to start on it (\"strconv.ParseFloat: parsing {}: {err}\", daemon/config.go getPoolConfig)", quote_short(v, 40))),
            };
            out.push(Finding::new(
                id::JITTER_FACTOR,
                severity,
                &e.path(),
                format!("idle_ip_reclaim_jitter_factor is {shown}, not a number Go's strconv.ParseFloat reads (no spaces, \".\" as the decimal point, at most about 1.8e308); {effect}. Write e.g. \"0.1\""),
            ));
        }
        Ok(f) if f.is_nan() || f <= 0.0 => out.push(Finding::warn(
            id::JITTER_FACTOR,
            &e.path(),
            format!("idle_ip_reclaim_jitter_factor is {shown}; Terway replaces a factor that is not above 0 (1.0 in legacy mode, 0.1 in CRD mode). Write e.g. \"0.1\""),
        )),
        Ok(_) => {}
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
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "idle_ip_reclaim_interval": ""}"#,
                &[],
                &[],
            ),
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "idle_ip_reclaim_interval": "5"}"#,
                &[],
                &["duration"],
            ),
            (
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "idle_ip_reclaim_after": "1m", "idle_ip_reclaim_interval": "5"}"#,
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
                r#"{"ipam_type": "crd", "security_groups": ["sg-1"], "idle_ip_reclaim_jitter_factor": "abc"}"#,
                &[],
                &["jitter-factor"],
            ),
            (
                r#"{"idle_ip_reclaim_jitter_factor": "-0.5"}"#,
                &[],
                &["jitter-factor"],
            ),
            // strconv.ParseFloat: Go literal syntax, `_` between digits, hex, specials.
            (r#"{"idle_ip_reclaim_jitter_factor": "1_0"}"#, &[], &[]),
            (r#"{"idle_ip_reclaim_jitter_factor": "0x1p-3"}"#, &[], &[]),
            (r#"{"idle_ip_reclaim_jitter_factor": "Inf"}"#, &[], &[]),
            (
                r#"{"idle_ip_reclaim_jitter_factor": "NaN"}"#,
                &[],
                &["jitter-factor"],
            ),
            (
                r#"{"idle_ip_reclaim_jitter_factor": "0,1"}"#,
                &["jitter-factor"],
                &[],
            ),
            (
                r#"{"idle_ip_reclaim_jitter_factor": "1e400"}"#,
                &["jitter-factor"],
                &[],
            ),
            (
                r#"{"idle_ip_reclaim_jitter_factor": "1__0"}"#,
                &["jitter-factor"],
                &[],
            ),
            (
                r#"{"idle_ip_reclaim_jitter_factor": "+nan"}"#,
                &["jitter-factor"],
                &[],
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
    fn only_an_old_denial_softens_a_new_one() {
        let jitter = |v: &str| base(&format!(r#"{{"idle_ip_reclaim_jitter_factor": "{v}"}}"#));
        // (old value, new value, denied, softened to a warning)
        let cases: &[(&str, &str, &[&str], &[&str])] = &[
            // The old value was only warned (Terway reinterprets it).
            ("-0.1", "0,1", &["jitter-factor"], &[]),
            ("NaN", "abc", &["jitter-factor"], &[]),
            // The old value was denied as well: not this edit's doing.
            ("0,1", "abc", &[], &["jitter-factor"]),
            ("0.1", "0.2", &[], &[]),
        ];
        for (old, new, deny, warn) in cases {
            let f = update(&jitter(old), &jitter(new));
            assert_denies(&f, deny);
            assert_warns(&f, warn);
        }
    }
}
