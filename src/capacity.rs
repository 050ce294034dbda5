//! Per-zone capacity of an `eni_conf`: what `status` prints, what `serve`
//! exports as gauges, and what the expansion controller watches. Pure.

use serde::Serialize;

use crate::config::EniConf;
use crate::inventory::{Facts, Lookup, usable_ips};
use crate::rules::idle_per_node;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ok,
    Low,
    Exhausted,
    Unknown,
}

#[derive(Debug, Clone, Serialize)]
pub struct VSwitchReport {
    pub id: String,
    pub cidr: Option<String>,
    pub size: Option<u64>,
    pub free: Option<u64>,
    pub used_pct: Option<f64>,
    /// Why facts are missing (not found, lookup failed, other zone).
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ZoneReport {
    pub zone: String,
    pub vswitches: Vec<VSwitchReport>,
    pub size: u64,
    pub free: u64,
    pub used_pct: f64,
    pub nodes: usize,
    /// Idle IPs the zone's nodes keep pre-allocated at `min_pool_size`.
    pub reserve: u64,
    /// Free IPs left once every node's pool is topped up again.
    pub headroom: i64,
    pub state: State,
}

/// Share of a zone's addresses in use from which it counts as low, and as
/// exhausted (a few pod starts away from "has not enough IpAddress").
const LOW_USED_PCT: f64 = 80.0;
const EXHAUSTED_USED_PCT: f64 = 95.0;

pub fn report(conf: &EniConf, facts: &Facts, dynamic: Option<&str>) -> Vec<ZoneReport> {
    let mut zones: Vec<String> = Vec::new();
    for l in conf.vswitches() {
        if !zones.contains(&l.zone) {
            zones.push(l.zone.clone());
        }
    }
    zones
        .into_iter()
        .map(|zone| {
            let mut ids: Vec<String> = conf
                .vswitches()
                .into_iter()
                .filter(|l| l.zone == zone)
                .map(|l| l.id)
                .collect();
            ids.dedup();
            let vswitches: Vec<VSwitchReport> =
                ids.iter().map(|id| vswitch(id, &zone, facts)).collect();
            let size: u64 = vswitches.iter().filter_map(|v| v.size).sum();
            let free: u64 = vswitches.iter().filter_map(|v| v.free).sum();
            let nodes: Vec<_> = facts
                .nodes
                .iter()
                .filter(|n| n.zone == zone && n.config.as_deref() == dynamic)
                .collect();
            let reserve: u64 = nodes.iter().map(|n| idle_per_node(Some(conf), n)).sum();
            let headroom = free as i64 - reserve as i64;
            let used_pct = pct(size - free.min(size), size);
            let state = if vswitches.iter().all(|v| v.size.is_none()) {
                State::Unknown
            } else if free == 0 || headroom < 0 || used_pct >= EXHAUSTED_USED_PCT {
                State::Exhausted
            } else if used_pct >= LOW_USED_PCT {
                State::Low
            } else {
                State::Ok
            };
            ZoneReport {
                zone,
                vswitches,
                size,
                free,
                used_pct,
                nodes: nodes.len(),
                reserve,
                headroom,
                state,
            }
        })
        .collect()
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

fn vswitch(id: &str, zone: &str, facts: &Facts) -> VSwitchReport {
    let missing = |problem: String| VSwitchReport {
        id: id.to_string(),
        cidr: None,
        size: None,
        free: None,
        used_pct: None,
        problem: Some(problem),
    };
    match facts.vswitch(id) {
        Some(Lookup::Found(v)) if v.zone != zone => {
            missing(format!("in zone {}, not {zone}", v.zone))
        }
        Some(Lookup::Found(v)) => {
            let size = usable_ips(&v.cidr);
            VSwitchReport {
                id: id.to_string(),
                cidr: Some(v.cidr.to_string()),
                size: Some(size),
                free: Some(v.available_ips),
                used_pct: Some(pct(size - v.available_ips.min(size), size)),
                problem: None,
            }
        }
        Some(Lookup::NotFound) => missing("does not exist".into()),
        Some(Lookup::Failed(why)) => missing(format!("lookup failed: {why}")),
        None => missing("not looked up".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{base, facts_for};

    #[test]
    fn zones_add_up_and_stand_out() {
        let cm = base(
            r#"{"min_pool_size": 20, "max_pool_size": 30, "vswitches": {"cn-shanghai-f": ["vsw-f19", "vsw-f24"], "cn-shanghai-g": ["vsw-g19", "vsw-g19"], "cn-shanghai-x": ["vsw-nope"], "cn-shanghai-h": ["vsw-h19"]}}"#,
        );
        let facts = facts_for(&[&cm]);
        let r = report(&cm.eni_conf().unwrap(), &facts, None);
        assert_eq!(r.len(), 4);
        let f = &r[0];
        assert_eq!(
            (f.size, f.free, f.nodes, f.reserve),
            (8188 + 252, 8010, 2, 40)
        );
        assert_eq!(f.state, State::Ok);
        assert_eq!(f.vswitches[1].used_pct, Some(96.0));
        let g = &r[1];
        assert_eq!(g.vswitches.len(), 1, "repeats count once");
        assert_eq!((g.free, g.reserve, g.headroom), (100, 40, 60));
        assert_eq!(g.state, State::Exhausted, "98.8 % used");
        let h = &r[2];
        assert_eq!(h.state, State::Unknown);
        assert_eq!(h.vswitches[0].problem.as_deref(), Some("does not exist"));
        assert_eq!((r[3].used_pct, r[3].state), (87.8, State::Low));
        let tight = base(
            r#"{"min_pool_size": 60, "max_pool_size": 60, "vswitches": {"cn-shanghai-g": ["vsw-g19"]}}"#,
        );
        let r = report(&tight.eni_conf().unwrap(), &facts_for(&[&tight]), None);
        assert_eq!((r[0].headroom, r[0].state), (-20, State::Exhausted));
    }
}
