//! The controller's Prometheus metrics.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

#[derive(Default)]
struct Inner {
    /// (zone, outcome) → count; outcome is started, succeeded or failed.
    expansions: BTreeMap<(String, &'static str), u64>,
    last_expansion: BTreeMap<String, i64>,
    free: BTreeMap<String, u64>,
    /// Free IPs left after the idle pools the zone's nodes keep.
    headroom: BTreeMap<String, i64>,
    /// (zone, step) → seconds the step of the zone's last expansion took.
    steps: BTreeMap<(String, String), f64>,
    proposals: BTreeMap<String, u64>,
    /// (reason, zone) → Terway's events in the last hour.
    terway_events: BTreeMap<(&'static str, String), u64>,
}

#[derive(Default)]
pub struct ControllerMetrics(Mutex<Inner>);

impl ControllerMetrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn expansion(&self, zone: &str, outcome: &'static str) {
        self.with(|i| *i.expansions.entry((zone.to_string(), outcome)).or_default() += 1);
    }

    pub fn expanded_at(&self, zone: &str, at: i64) {
        self.with(|i| i.last_expansion.insert(zone.to_string(), at));
    }

    pub fn proposal(&self, zone: &str) {
        self.with(|i| *i.proposals.entry(zone.to_string()).or_default() += 1);
    }

    pub fn free(&self, zone: &str, free: u64, headroom: i64) {
        self.with(|i| {
            i.free.insert(zone.to_string(), free);
            i.headroom.insert(zone.to_string(), headroom);
        });
    }

    /// The steps of a zone's latest expansion and the seconds each took.
    pub fn steps(&self, zone: &str, took: &[(String, f64)]) {
        self.with(|i| {
            i.steps.retain(|(z, _), _| z != zone);
            for (step, secs) in took {
                i.steps.insert((zone.to_string(), step.clone()), *secs);
            }
        })
    }

    /// Replaces the counts of Terway's recent events.
    pub fn terway_events(&self, zones: &[crate::events::ZoneEvents]) {
        self.with(|i| {
            i.terway_events.clear();
            for z in zones {
                i.terway_events.insert(
                    (crate::events::CONFIG_ERROR, z.zone.clone()),
                    z.config_errors,
                );
                i.terway_events
                    .insert(("IpExhausted", z.zone.clone()), z.exhaustion);
            }
        })
    }

    pub fn render(&self) -> String {
        self.with(|i| {
            let mut out = String::new();
            out.push_str("# HELP terway_guard_expansions_total Expansions by zone and outcome.\n# TYPE terway_guard_expansions_total counter\n");
            for ((z, o), n) in &i.expansions {
                let _ = writeln!(out, "terway_guard_expansions_total{{zone=\"{z}\",outcome=\"{o}\"}} {n}");
            }
            out.push_str("# HELP terway_guard_expansion_proposals_total Plans proposed (mode plan).\n# TYPE terway_guard_expansion_proposals_total counter\n");
            for (z, n) in &i.proposals {
                let _ = writeln!(out, "terway_guard_expansion_proposals_total{{zone=\"{z}\"}} {n}");
            }
            out.push_str("# HELP terway_guard_last_expansion_timestamp_seconds When a zone was last expanded.\n# TYPE terway_guard_last_expansion_timestamp_seconds gauge\n");
            for (z, t) in &i.last_expansion {
                let _ = writeln!(out, "terway_guard_last_expansion_timestamp_seconds{{zone=\"{z}\"}} {t}");
            }
            out.push_str("# HELP terway_guard_zone_free_ips Free pod IPs of the vSwitches eni-config lists for a zone.\n# TYPE terway_guard_zone_free_ips gauge\n");
            for (z, n) in &i.free {
                let _ = writeln!(out, "terway_guard_zone_free_ips{{zone=\"{z}\"}} {n}");
            }
            out.push_str("# HELP terway_guard_zone_headroom_ips Free pod IPs of a zone left after the idle IPs its nodes keep (min_pool_size).\n# TYPE terway_guard_zone_headroom_ips gauge\n");
            for (z, n) in &i.headroom {
                let _ = writeln!(out, "terway_guard_zone_headroom_ips{{zone=\"{z}\"}} {n}");
            }
            out.push_str("# HELP terway_guard_expansion_step_seconds Seconds each step of a zone's last expansion took.\n# TYPE terway_guard_expansion_step_seconds gauge\n");
            for ((z, step), secs) in &i.steps {
                let _ = writeln!(out, "terway_guard_expansion_step_seconds{{zone=\"{z}\",step=\"{step}\"}} {secs}");
            }
            out.push_str("# HELP terway_guard_terway_events Terway's own events of the last hour by zone: ConfigError, and IpExhausted (AllocIPFailed/CreateENIFailed saying IPs ran out).\n# TYPE terway_guard_terway_events gauge\n");
            for ((r, z), n) in &i.terway_events {
                let _ = writeln!(out, "terway_guard_terway_events{{reason=\"{r}\",zone=\"{z}\"}} {n}");
            }
            out
        })
    }
}
