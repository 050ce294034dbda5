//! Prometheus text metrics, kept by hand: a counter and a latency histogram.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

/// endpoint, operation, decision, patched
type RequestKey = (&'static str, &'static str, &'static str, bool);

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<RequestKey, u64>>,
    latency: Mutex<BTreeMap<&'static str, Histogram>>,
    bad_requests: Mutex<BTreeMap<&'static str, u64>>,
    /// (rule, decision) → reviews in which the rule fired.
    rules: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// user → denied reviews (at most [`MAX_USERS`] users, then `other`).
    denials: Mutex<BTreeMap<String, u64>>,
}

/// Distinct users counted by name before the rest are counted as `other`:
/// a label of unbounded values would grow the series without end.
pub const MAX_USERS: usize = 100;

impl Metrics {
    pub fn observe(
        &self,
        endpoint: &'static str,
        operation: &'static str,
        decision: &'static str,
        patched: bool,
        took: Duration,
    ) {
        let mut r = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *r.entry((endpoint, operation, decision, patched))
            .or_default() += 1;
        drop(r);
        let secs = took.as_secs_f64();
        let mut l = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let h = l.entry(endpoint).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// What a validation found: each rule that fired, and who was denied.
    pub fn verdict(&self, decision: &'static str, rules: &[&'static str], user: &str) {
        let mut r = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        for rule in rules {
            *r.entry((rule, decision)).or_default() += 1;
        }
        drop(r);
        if decision == "denied" {
            let mut d = self.denials.lock().unwrap_or_else(|p| p.into_inner());
            // A user already counted costs no copy of the name.
            if let Some(n) = d.get_mut(user) {
                *n += 1;
            } else {
                let key = if d.len() < MAX_USERS { user } else { "other" };
                *d.entry(key.to_string()).or_default() += 1;
            }
        }
    }

    pub fn bad_request(&self, endpoint: &'static str) {
        *self
            .bad_requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(endpoint)
            .or_default() += 1;
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP terway_guard_admission_requests_total Admission reviews answered.\n# TYPE terway_guard_admission_requests_total counter\n");
        for ((e, op, d, p), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "terway_guard_admission_requests_total{{endpoint=\"{e}\",operation=\"{op}\",decision=\"{d}\",patched=\"{p}\"}} {n}"
            );
        }
        out.push_str("# HELP terway_guard_admission_bad_requests_total Requests refused as malformed.\n# TYPE terway_guard_admission_bad_requests_total counter\n");
        for (e, n) in self
            .bad_requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "terway_guard_admission_bad_requests_total{{endpoint=\"{e}\"}} {n}"
            );
        }
        out.push_str("# HELP terway_guard_admission_rule_findings_total Validations in which a rule fired, by the review's decision.\n# TYPE terway_guard_admission_rule_findings_total counter\n");
        for ((rule, d), n) in self.rules.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(
                out,
                "terway_guard_admission_rule_findings_total{{rule=\"{rule}\",decision=\"{d}\"}} {n}"
            );
        }
        out.push_str("# HELP terway_guard_admission_denials_total Denied validations by user.\n# TYPE terway_guard_admission_denials_total counter\n");
        for (u, n) in self
            .denials
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "terway_guard_admission_denials_total{{user=\"{}\"}} {n}",
                label(u)
            );
        }
        out.push_str("# HELP terway_guard_admission_duration_seconds Time to answer a review.\n# TYPE terway_guard_admission_duration_seconds histogram\n");
        for (e, h) in self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            for (b, c) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "terway_guard_admission_duration_seconds_bucket{{endpoint=\"{e}\",le=\"{b}\"}} {c}"
                );
            }
            let _ = writeln!(
                out,
                "terway_guard_admission_duration_seconds_bucket{{endpoint=\"{e}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "terway_guard_admission_duration_seconds_sum{{endpoint=\"{e}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "terway_guard_admission_duration_seconds_count{{endpoint=\"{e}\"}} {}",
                h.count
            );
        }
        out
    }
}

/// Gauges of free IPs per vSwitch and per zone, from what the inventory knows.
pub fn render_free_ips(known: &[crate::inventory::VSwitchFact]) -> String {
    let mut out = String::new();
    out.push_str("# HELP terway_guard_vswitch_available_ips Free IPs of a vSwitch.\n# TYPE terway_guard_vswitch_available_ips gauge\n");
    let mut zones: BTreeMap<&str, u64> = BTreeMap::new();
    let mut sorted: Vec<&crate::inventory::VSwitchFact> = known.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    for v in sorted {
        let _ = writeln!(
            out,
            "terway_guard_vswitch_available_ips{{vswitch=\"{}\",zone=\"{}\",vpc=\"{}\"}} {}",
            label(&v.id),
            label(&v.zone),
            label(&v.vpc),
            v.available_ips
        );
        *zones.entry(&v.zone).or_default() += v.available_ips;
    }
    out.push_str("# HELP terway_guard_zone_available_ips Free IPs of the known vSwitches of a zone.\n# TYPE terway_guard_zone_available_ips gauge\n");
    for (z, n) in zones {
        let _ = writeln!(
            out,
            "terway_guard_zone_available_ips{{zone=\"{}\"}} {n}",
            label(z)
        );
    }
    out
}

/// Failed lists, watches and GETs of the cluster, by resource and class.
pub fn render_watch_errors(health: &crate::kube::health::WatchHealth) -> String {
    let mut out = String::from(
        "# HELP terway_guard_watch_errors_total Failed lists, watches and GETs of the cluster, by resource and reason (each retried with back-off).\n# TYPE terway_guard_watch_errors_total counter\n",
    );
    for (resource, reason, n) in health.errors() {
        let _ = writeln!(
            out,
            "terway_guard_watch_errors_total{{resource=\"{}\",reason=\"{reason}\"}} {n}",
            label(resource)
        );
    }
    out
}

fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.observe(
            "validate",
            "UPDATE",
            "denied",
            false,
            Duration::from_micros(300),
        );
        m.observe(
            "validate",
            "UPDATE",
            "denied",
            false,
            Duration::from_millis(3),
        );
        m.bad_request("mutate");
        let text = m.render();
        assert!(text.contains("terway_guard_admission_requests_total{endpoint=\"validate\",operation=\"UPDATE\",decision=\"denied\",patched=\"false\"} 2"));
        assert!(text.contains("le=\"0.0005\"} 1"));
        assert!(text.contains("le=\"0.005\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert!(text.contains("terway_guard_admission_bad_requests_total{endpoint=\"mutate\"} 1"));
    }

    #[test]
    fn watch_errors_by_resource_and_reason() {
        use crate::kube::health::{Reason, WatchHealth};
        let h = WatchHealth::default();
        assert!(!render_watch_errors(&h).contains("_total{"));
        h.failed("terway-nodes", Reason::NotFound, &"404");
        h.failed("terway-nodes", Reason::NotFound, &"404");
        h.failed("nodes", Reason::Forbidden, &"403");
        let text = render_watch_errors(&h);
        for line in [
            "# TYPE terway_guard_watch_errors_total counter",
            "terway_guard_watch_errors_total{resource=\"terway-nodes\",reason=\"not_found\"} 2",
            "terway_guard_watch_errors_total{resource=\"nodes\",reason=\"forbidden\"} 1",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
    }

    #[test]
    fn rules_and_denials_by_user_with_a_bounded_user_label() {
        let m = Metrics::default();
        m.verdict("denied", &["vswitch-zone", "vswitch-prefix"], "alice");
        m.verdict("allowed", &["vswitch-prefix"], "bob");
        for i in 0..MAX_USERS + 5 {
            m.verdict("denied", &[], &format!("user-{i}"));
        }
        m.verdict("denied", &[], "alice");
        let text = m.render();
        for line in [
            "terway_guard_admission_rule_findings_total{rule=\"vswitch-prefix\",decision=\"allowed\"} 1",
            "terway_guard_admission_rule_findings_total{rule=\"vswitch-prefix\",decision=\"denied\"} 1",
            "terway_guard_admission_denials_total{user=\"alice\"} 2",
            "terway_guard_admission_denials_total{user=\"other\"} 6",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
        assert!(!text.contains("user=\"bob\""), "bob was allowed");
        let users = text
            .lines()
            .filter(|l| l.starts_with("terway_guard_admission_denials_total{"))
            .count();
        assert_eq!(users, MAX_USERS + 1);
    }
}
