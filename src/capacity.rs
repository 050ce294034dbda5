//! Pod-IP capacity, per node and per zone: the one place that knows Terway's
//! formulas for each IPAM mode. The rules, `status`, `serve`'s gauges, the
//! planner and the controller all call it. Pure.

use serde::Serialize;

use crate::config::{EniConf, Mode};
use crate::inventory::{Facts, Lookup, NodeFact, NodeLimits, usable_ips};

/// What of a config the capacity formulas read, taken out once so that the
/// per-node work is plain arithmetic (5000 nodes per admission).
#[derive(Debug, Clone, Copy)]
pub struct Pool {
    mode: Mode,
    ratio: f64,
    shift: i64,
    max_eni: Option<i64>,
    erdma: bool,
    prefix: bool,
    min: u64,
    max: u64,
    min_eni: Option<u64>,
}

impl Pool {
    pub fn of(conf: &EniConf, mode: Mode) -> Pool {
        let flag = |k: &str| conf.get(k).and_then(|e| e.value.as_bool()).unwrap_or(false);
        Pool {
            mode,
            ratio: conf
                .get("eni_cap_ratio")
                .and_then(|e| e.value.as_f64())
                .filter(|r| *r != 0.0)
                .unwrap_or(1.0),
            shift: conf.int("eni_cap_shift").unwrap_or(0),
            max_eni: conf.int("max_eni").filter(|m| *m > 0),
            erdma: flag("enable_erdma"),
            prefix: flag("enable_ip_prefix"),
            min: conf.int("min_pool_size").unwrap_or(0).max(0) as u64,
            max: conf.int("max_pool_size").unwrap_or(0).max(0) as u64,
            min_eni: conf.int("min_eni").filter(|n| *n > 0).map(|n| n as u64),
        }
    }

    /// Pod IPs Terway can give out on `node`, or `None` if unknown.
    ///
    /// - Legacy IPAM (daemon/config.go getPoolConfig): usable ENIs =
    ///   `int(adapters × eni_cap_ratio) + eni_cap_shift − 1`, capped by
    ///   `max_eni`; × IPv4 per ENI; minus the ERDMA ENIs' IPs when
    ///   `enable_erdma` (daemon/builder.go setupENIManager, limit.go `ERDMARes`).
    /// - CRD IPAM (pkg/eni/node_reconcile.go flavors, pkg/controller/node/node.go
    ///   k8sAnno): `(adapters − 1 − an ERDMA ENI) × ipv4PerAdapter`; prefix
    ///   mode `(ipv4PerAdapter − 1) × 16 × (totalAdapters − 1)`.
    /// - Exclusive-ENI nodes: one pod per secondary ENI, `adapters − 1`.
    pub fn pod_ips(&self, node: &NodeFact) -> Option<u64> {
        let Some(l) = node.limits else {
            return node.max_pod_ips;
        };
        let secondary = l.adapters.saturating_sub(1);
        if node.exclusive_eni {
            return Some(secondary);
        }
        Some(match self.mode {
            Mode::Crd if self.prefix => l
                .ipv4_per_adapter
                .saturating_sub(1)
                .saturating_mul(16)
                .saturating_mul(l.total_adapters.max(l.adapters).saturating_sub(1)),
            Mode::Crd => {
                let erdma_eni = u64::from(self.erdma && l.erdma_adapters > 0 && secondary > 0);
                (secondary - erdma_eni).saturating_mul(l.ipv4_per_adapter)
            }
            Mode::Legacy => {
                // Saturating where Go's int arithmetic would wrap: a wrapped
                // capacity means nothing, and an edit must never panic the guard.
                let mut enis = ((l.adapters as f64 * self.ratio) as i64)
                    .saturating_add(self.shift)
                    .saturating_sub(1);
                if let Some(max) = self.max_eni.filter(|m| *m < enis) {
                    enis = max;
                }
                let enis = enis.max(0) as u64;
                let erdma_ips = if self.erdma {
                    erdma_res(&l).saturating_mul(l.ipv4_per_adapter)
                } else {
                    0
                };
                enis.saturating_mul(l.ipv4_per_adapter)
                    .saturating_sub(erdma_ips)
            }
        })
    }

    /// Idle IPs Terway keeps pre-allocated on `node`.
    ///
    /// Legacy: `min_pool_size` (replaced by `min_eni × IPs per ENI` when set),
    /// clamped to `max_pool_size` and the capacity (daemon/config.go
    /// getPoolConfig). CRD: `min_pool_size` is not clamped to the maximum
    /// (pkg/controller/multi-ip/node/pool.go), only to what the node holds;
    /// prefix mode and exclusive-ENI nodes keep no pool (pkg/eni/node_reconcile.go).
    pub fn idle(&self, node: &NodeFact) -> u64 {
        let cap = self.pod_ips(node).unwrap_or(u64::MAX);
        match self.mode {
            Mode::Crd if self.prefix || node.exclusive_eni => 0,
            Mode::Crd => self.min.min(cap),
            Mode::Legacy => {
                let min = match (self.min_eni, node.limits) {
                    (Some(n), Some(l)) => n.saturating_mul(l.ipv4_per_adapter),
                    _ => self.min,
                };
                min.min(self.max).min(cap)
            }
        }
    }
}

/// [`Pool::pod_ips`] for one node.
pub fn pod_ips(node: &NodeFact, conf: &EniConf, mode: Mode) -> Option<u64> {
    Pool::of(conf, mode).pod_ips(node)
}

/// ENIs Terway sets aside for ERDMA (pkg/aliyun/client/limit.go `ERDMARes`).
fn erdma_res(l: &NodeLimits) -> u64 {
    if l.erdma_adapters == 0 || l.adapters <= 2 {
        0
    } else if l.adapters >= 8 {
        l.erdma_adapters.min(2)
    } else {
        l.erdma_adapters.min(1)
    }
}

/// [`Pool::idle`] for one node; no config keeps nothing.
pub fn idle_per_node(conf: Option<&EniConf>, mode: Mode, node: &NodeFact) -> u64 {
    conf.map_or(0, |c| Pool::of(c, mode).idle(node))
}

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
                .iter()
                .filter(|l| l.zone == zone)
                .map(|l| l.id.clone())
                .collect();
            ids.dedup();
            let vswitches: Vec<VSwitchReport> =
                ids.iter().map(|id| vswitch(id, &zone, facts)).collect();
            let size: u64 = vswitches.iter().filter_map(|v| v.size).sum();
            let free: u64 = vswitches.iter().filter_map(|v| v.free).sum();
            let groups = facts.groups();
            let nodes: Vec<_> = groups
                .iter()
                .filter(|g| g.node.zone == zone && g.node.config.as_deref() == dynamic)
                .collect();
            let pool = Pool::of(conf, Mode::of(conf));
            let reserve: u64 = nodes
                .iter()
                .map(|g| pool.idle(&g.node) * g.count as u64)
                .sum();
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
                nodes: nodes.iter().map(|g| g.count).sum(),
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
mod tests;
