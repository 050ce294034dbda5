//! The controller's decisions, as a pure function of what it observed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::capacity::ZoneReport;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Propose: an Event on eni-config with the plan and the command.
    Plan,
    /// Carry the expansion out.
    Auto,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub mode: Mode,
    /// Expand a zone whose free IPs fall below this many...
    pub min_free: u64,
    /// ...or below this share of its addresses (percent).
    pub min_free_pct: f64,
    /// At most one expansion per zone within this many seconds.
    pub cooldown_secs: i64,
    /// Never grow a zone past this many listed vSwitches.
    pub max_vswitches_per_zone: usize,
    /// On drift alone, restart Terway (else only propose it).
    pub restart_on_drift: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::Plan,
            min_free: 64,
            min_free_pct: 5.0,
            cooldown_secs: 3600,
            max_vswitches_per_zone: 5,
            restart_on_drift: false,
        }
    }
}

/// What the controller remembers between ticks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Memory {
    /// Zone → when its last expansion started (epoch seconds).
    pub last_expansion: BTreeMap<String, i64>,
    /// A zone whose expansion is unfinished.
    pub in_progress: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Decision {
    Expand { zone: String, reason: String },
    Propose { zone: String, reason: String },
    Hold { zone: String, reason: String },
    Restart,
    ProposeRestart,
}

/// Why a zone needs more addresses, if it does.
fn trigger(z: &ZoneReport, exhausted: &BTreeSet<String>, p: &Policy) -> Option<String> {
    if exhausted.contains(&z.zone) {
        return Some(format!(
            "pods in {} failed to get an IP (vSwitches have {} free)",
            z.zone, z.free
        ));
    }
    if z.size > 0 && z.free < p.min_free {
        return Some(format!(
            "{} free IPs in {}, below {}",
            z.free, z.zone, p.min_free
        ));
    }
    let pct = if z.size == 0 {
        100.0
    } else {
        z.free as f64 * 100.0 / z.size as f64
    };
    (z.size > 0 && pct < p.min_free_pct).then(|| {
        format!(
            "{pct:.1} % of {}'s addresses are free, below {} %",
            z.zone, p.min_free_pct
        )
    })
}

pub fn decide(
    zones: &[ZoneReport],
    exhausted: &BTreeSet<String>,
    drift: bool,
    mem: &Memory,
    p: &Policy,
    now: i64,
) -> Vec<Decision> {
    let mut out = Vec::new();
    let mut expanding = mem.in_progress.clone();
    // An expansion killed half-way is finished before anything else.
    if let (Some(zone), Mode::Auto) = (&mem.in_progress, p.mode) {
        out.push(Decision::Expand {
            zone: zone.clone(),
            reason: format!("finishing the unfinished expansion of {zone}"),
        });
    }
    for z in zones
        .iter()
        .filter(|z| !(p.mode == Mode::Auto && mem.in_progress.as_ref() == Some(&z.zone)))
    {
        let Some(reason) = trigger(z, exhausted, p) else {
            continue;
        };
        let zone = z.zone.clone();
        let hold = |why: String| Decision::Hold {
            zone: zone.clone(),
            reason: format!("{reason}; holding: {why}"),
        };
        if let Some(other) = &expanding {
            out.push(hold(format!(
                "the expansion of {other} is not finished; one at a time"
            )));
        } else if let Some(last) = mem
            .last_expansion
            .get(&zone)
            .filter(|t| now - **t < p.cooldown_secs)
        {
            out.push(hold(format!(
                "cool-down: last expansion {}s ago, next allowed in {}s",
                now - last,
                p.cooldown_secs - (now - last)
            )));
        } else if z.vswitches.len() >= p.max_vswitches_per_zone {
            out.push(hold(format!("{} already lists {} vSwitches (cap {}); raise --max-vswitches-per-zone or clean up", zone, z.vswitches.len(), p.max_vswitches_per_zone)));
        } else if p.mode == Mode::Auto {
            expanding = Some(zone.clone());
            out.push(Decision::Expand { zone, reason });
        } else {
            out.push(Decision::Propose { zone, reason });
        }
    }
    if drift && !out.iter().any(|d| matches!(d, Decision::Expand { .. })) {
        out.push(if p.restart_on_drift && p.mode == Mode::Auto {
            Decision::Restart
        } else {
            Decision::ProposeRestart
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capacity::{State, VSwitchReport};

    fn zone(name: &str, free: u64, size: u64, vswitches: usize) -> ZoneReport {
        let v = VSwitchReport {
            id: "vsw-x".into(),
            cidr: None,
            size: Some(size),
            free: Some(free),
            used_pct: None,
            problem: None,
        };
        ZoneReport {
            zone: name.into(),
            vswitches: vec![v; vswitches],
            size,
            free,
            used_pct: 0.0,
            nodes: 0,
            reserve: 0,
            headroom: 0,
            state: State::Ok,
        }
    }

    fn kinds(d: &[Decision]) -> Vec<String> {
        d.iter()
            .map(|d| match d {
                Decision::Expand { zone, .. } => format!("expand {zone}"),
                Decision::Propose { zone, .. } => format!("propose {zone}"),
                Decision::Hold { zone, .. } => format!("hold {zone}"),
                Decision::Restart => "restart".into(),
                Decision::ProposeRestart => "propose-restart".into(),
            })
            .collect()
    }

    #[test]
    fn triggers_and_guard_rails() {
        let auto = Policy {
            mode: Mode::Auto,
            ..Policy::default()
        };
        let none = BTreeSet::new();
        let f: BTreeSet<String> = ["f".to_string()].into();
        let fresh = Memory::default();
        let plan = Policy::default();
        let restart = Policy {
            restart_on_drift: true,
            ..auto.clone()
        };
        /// (zones, exhausted zones, drift, memory, policy, expected decisions)
        type Case<'a> = (
            Vec<ZoneReport>,
            &'a BTreeSet<String>,
            bool,
            Memory,
            &'a Policy,
            Vec<&'a str>,
        );
        let cases: Vec<Case> = vec![
            (
                vec![zone("f", 5000, 8188, 1)],
                &none,
                false,
                fresh.clone(),
                &auto,
                vec![],
            ),
            (
                vec![zone("f", 10, 8188, 1)],
                &none,
                false,
                fresh.clone(),
                &auto,
                vec!["expand f"],
            ),
            (
                vec![zone("f", 300, 8188, 1)],
                &none,
                false,
                fresh.clone(),
                &auto,
                vec!["expand f"],
            ),
            (
                vec![zone("f", 5000, 8188, 1)],
                &f,
                false,
                fresh.clone(),
                &auto,
                vec!["expand f"],
            ),
            (
                vec![zone("f", 10, 8188, 1)],
                &none,
                false,
                fresh.clone(),
                &plan,
                vec!["propose f"],
            ),
            (
                vec![zone("f", 10, 8188, 1), zone("g", 1, 252, 1)],
                &none,
                false,
                fresh.clone(),
                &auto,
                vec!["expand f", "hold g"],
            ),
            (
                vec![zone("f", 10, 8188, 1)],
                &none,
                false,
                Memory {
                    last_expansion: [("f".into(), 900)].into(),
                    in_progress: None,
                },
                &auto,
                vec!["hold f"],
            ),
            (
                vec![zone("f", 10, 8188, 1)],
                &none,
                false,
                Memory {
                    last_expansion: [("f".into(), -3000)].into(),
                    in_progress: None,
                },
                &auto,
                vec!["expand f"],
            ),
            (
                vec![zone("f", 10, 8188, 1)],
                &none,
                false,
                Memory {
                    in_progress: Some("g".into()),
                    ..Default::default()
                },
                &auto,
                vec!["expand g", "hold f"],
            ),
            (
                vec![zone("f", 10, 8188, 1)],
                &none,
                false,
                Memory {
                    in_progress: Some("f".into()),
                    ..Default::default()
                },
                &auto,
                vec!["expand f"],
            ),
            (
                vec![zone("f", 10, 8188, 1)],
                &none,
                false,
                Memory {
                    in_progress: Some("f".into()),
                    ..Default::default()
                },
                &plan,
                vec!["hold f"],
            ),
            (
                vec![zone("f", 10, 8188, 5)],
                &none,
                false,
                fresh.clone(),
                &auto,
                vec!["hold f"],
            ),
            (
                vec![],
                &none,
                true,
                fresh.clone(),
                &auto,
                vec!["propose-restart"],
            ),
            (
                vec![],
                &none,
                true,
                fresh.clone(),
                &restart,
                vec!["restart"],
            ),
            (
                vec![zone("f", 10, 8188, 1)],
                &none,
                true,
                fresh.clone(),
                &restart,
                vec!["expand f"],
            ),
        ];
        for (zones, ex, drift, mem, policy, want) in cases {
            assert_eq!(
                kinds(&decide(&zones, ex, drift, &mem, policy, 1000)),
                want,
                "{mem:?} {policy:?}"
            );
        }
    }

    #[test]
    fn reasons_say_why() {
        let d = decide(
            &[zone("f", 10, 8188, 5)],
            &BTreeSet::new(),
            false,
            &Memory::default(),
            &Policy {
                mode: Mode::Auto,
                ..Policy::default()
            },
            0,
        );
        let Decision::Hold { reason, .. } = &d[0] else {
            panic!()
        };
        assert!(
            reason.contains("10 free IPs in f, below 64") && reason.contains("cap 5"),
            "{reason}"
        );
    }
}
