//! An expansion's progress as recorded on `eni-config`: which steps are done,
//! the tokens that make each cloud call idempotent, the zone restart's batches,
//! and how a run stops. The apply steps, the zone restart and the progress
//! hooks all read these, so they sit below all three.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::plan::Plan;
use crate::cloud::client::CloudError;
use crate::cloud::sign::sha256_hex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    Recorded,
    VSwitchCreated,
    SnatCreated,
    ConfigPatched,
    RolloutRequested,
    /// The pods of zone-restart batch N (from 0) were deleted, not yet Ready.
    BatchDeleted(usize),
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error("Kubernetes API: {0}")]
    Kube(#[from] ::kube::Error),
    #[error("{0}")]
    Stuck(String),
    /// Test hook: the run stopped on purpose after `Step`.
    #[error("stopped after step {0:?} (crash injection)")]
    Crashed(Step),
    #[error("stopped: this replica no longer leads; the new leader resumes the expansion")]
    LostLead,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum RestartScope {
    /// The Terway pods on the expanded zone's nodes, in batches.
    #[default]
    Zone,
    /// The whole DaemonSet, rolling (`kubectl rollout restart`).
    All,
    /// Nothing: the operator restarts Terway when it suits them.
    None,
}

/// One pod of the batch under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchPod {
    pub node: String,
    pub pod: String,
    pub uid: String,
}

/// Progress of a zone restart, recorded in the expansion state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ZoneRestart {
    /// Pods of the zone when the restart began.
    pub total: usize,
    pub batch_size: usize,
    /// Nodes whose Terway pod was restarted and is Ready again.
    pub done: Vec<String>,
    /// The batch under way (recorded before any of it is deleted).
    pub batch: Vec<BatchPod>,
    pub batches_done: usize,
    /// CRD mode: the zone's Terway Node CRs were nudged (no pod restarted).
    #[serde(default)]
    pub nudged: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnatState {
    pub snat_table_id: String,
    pub snat_ip: String,
    pub client_token: String,
    pub entry_id: Option<String>,
}

/// Progress of one expansion, as recorded on `eni-config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub zone: String,
    pub vpc_id: String,
    pub cidr: String,
    pub name: String,
    pub client_token: String,
    pub vswitch_id: Option<String>,
    pub snat: Vec<SnatState>,
    pub config_patched: bool,
    pub restarted_at: Option<String>,
    pub done: bool,
    /// When the expansion was first recorded (epoch seconds), for cool-downs.
    #[serde(default)]
    pub started_at: i64,
    /// The vSwitch existed and is listed, not created.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reused: bool,
    /// Which Terway pods are restarted (fixed when the expansion is recorded).
    #[serde(default = "all_pods")]
    pub scope: RestartScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<ZoneRestart>,
    /// Free IPs of the zone's listed vSwitches when the expansion began.
    #[serde(default)]
    pub zone_free_before: u64,
    /// Seconds each step took, in order (kept across resumed runs).
    #[serde(default)]
    pub took: Vec<(String, f64)>,
}

/// Expansions recorded before zone restarts existed rolled the whole DaemonSet.
fn all_pods() -> RestartScope {
    RestartScope::All
}

impl State {
    pub(super) fn timed(&mut self, step: &str, since: Instant) {
        if !self.took.iter().any(|(s, _)| s == step) {
            let secs = (since.elapsed().as_secs_f64() * 10.0).round() / 10.0;
            self.took.push((step.to_string(), secs));
        }
    }
}

impl State {
    /// Tokens derive from the plan, so a re-plan after a crash before the
    /// first record asks the cloud for the same vSwitch again. Each covers
    /// every parameter sent with it: the same token with other parameters is
    /// refused by the API (IdempotentParameterMismatch).
    pub fn from_plan(p: &Plan) -> Self {
        let token = |extra: &str| {
            format!(
                "tg-{}",
                &sha256_hex(
                    format!(
                        "{}/{}/{}/{}/{extra}",
                        p.vpc_id, p.zone, p.vswitch.cidr, p.vswitch.name
                    )
                    .as_bytes()
                )[..30]
            )
        };
        State {
            zone: p.zone.clone(),
            vpc_id: p.vpc_id.clone(),
            cidr: p.vswitch.cidr.clone(),
            name: p.vswitch.name.clone(),
            client_token: token("vswitch"),
            snat: p
                .snat
                .iter()
                .map(|s| SnatState {
                    snat_table_id: s.snat_table_id.clone(),
                    snat_ip: s.snat_ip.clone(),
                    client_token: token(&format!("{}/{}", s.snat_table_id, s.snat_ip)),
                    entry_id: None,
                })
                .collect(),
            vswitch_id: p.reuse.as_ref().map(|r| r.id.clone()),
            reused: p.reuse.is_some(),
            ..State::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expand::plan::{PlannedSnat, PlannedVSwitch};
    use serde_json::json;

    fn plan(name: &str, snat_ip: &str) -> Plan {
        Plan {
            zone: "cn-shanghai-f".into(),
            vswitch: PlannedVSwitch {
                cidr: "192.168.96.0/19".into(),
                zone: "cn-shanghai-f".into(),
                name: name.into(),
            },
            snat: vec![PlannedSnat {
                snat_table_id: "stb-1".into(),
                snat_ip: snat_ip.into(),
            }],
            reuse: None,
            rejected: Vec::new(),
            eni_conf: json!({}),
            vpc_id: "vpc-1".into(),
            mode: crate::config::Mode::Legacy,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn client_tokens_cover_every_parameter_sent_with_them() {
        let a = State::from_plan(&plan("n1", "47.0.0.1"));
        let again = State::from_plan(&plan("n1", "47.0.0.1"));
        assert_eq!(
            a.client_token, again.client_token,
            "a re-plan asks for the same vSwitch"
        );
        assert_eq!(a.snat[0].client_token, again.snat[0].client_token);
        let renamed = State::from_plan(&plan("n2", "47.0.0.1"));
        assert_ne!(a.client_token, renamed.client_token);
        let other_ip = State::from_plan(&plan("n1", "47.0.0.2"));
        assert_ne!(a.snat[0].client_token, other_ip.snat[0].client_token);
        assert!(
            a.client_token.len() <= 64,
            "ClientToken takes at most 64 ASCII characters"
        );
    }
}
