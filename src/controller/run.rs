//! One controller tick: lead, observe, decide, act. Thin I/O around the
//! pure parts ([`super::signals`], [`super::decide`], the planner).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use ::kube::api::{Api, PostParams};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::Serialize;

use super::decide::{Decision, Memory, Policy, decide};
use super::metrics::ControllerMetrics;
use super::{lease, signals};
use crate::capacity;
use crate::cloud::client::ApiClient;
use crate::config::{BASE_NAME, ConfigObject, HASH_ANNOTATION};
use crate::expand::{self, apply};
use crate::inventory::{CloudInventory, Inventory, Query};
use crate::rules::Settings;

pub struct Controller {
    pub kube: ::kube::Client,
    pub inventory: CloudInventory,
    pub ecs: Option<ApiClient>,
    pub policy: Policy,
    pub namespace: String,
    pub daemonset: String,
    pub identity: String,
    pub lease_name: String,
    pub lease_secs: i32,
    pub prefix_len: u8,
    pub rollout_timeout: Duration,
    /// Which Terway pods an expansion restarts, and how many at once.
    pub restart: crate::expand::restart::RestartScope,
    pub batch_percent: u8,
    pub settings: Settings,
    pub metrics: ControllerMetrics,
    pub memory: Mutex<Memory>,
    /// The last proposal per zone (message, time), so Events are not spammed.
    proposed: Mutex<BTreeMap<String, (String, i64)>>,
    /// Test hook: how apply reports progress and where it stops.
    pub progress: fn() -> apply::Progress,
    pub leadership: lease::Leadership,
    /// Nodes and exhaustion events come from watches ([`crate::kube::cluster`]).
    pub watched: bool,
    /// Exhaustion events, kept by a watch (when `watched`).
    pub events: Option<crate::kube::cluster::EventStore>,
}

#[derive(Debug, thiserror::Error)]
pub enum TickError {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] ::kube::Error),
    #[error("{0}")]
    Config(String),
}

#[derive(Debug, Default, Serialize)]
pub struct TickReport {
    pub leader: bool,
    pub decisions: Vec<Decision>,
    pub expanded: Option<apply::Report>,
    pub failed: Option<String>,
    pub events: usize,
}

/// What the expansion would restart, in the words of a proposal.
fn restart_words(
    scope: crate::expand::restart::RestartScope,
    p: &crate::expand::plan::Plan,
) -> &'static str {
    use crate::expand::restart::RestartScope;
    let crd = p.mode == crate::config::Mode::Crd;
    match (scope, crd) {
        (RestartScope::Zone, false) => "restart the zone's Terway pods in batches",
        (RestartScope::Zone, true) => {
            "ask the zone's Terway Node resources to reconcile (ipam_type crd: no pod restarts)"
        }
        (RestartScope::All, _) => "restart Terway (rolling)",
        (RestartScope::None, _) => "restart nothing (--restart none)",
    }
}

/// Proposals announced (zone → message digest, time), shared by replicas.
const PROPOSALS_ANNOTATION: &str = "terway-guard.io/proposals";

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Controller {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        kube: ::kube::Client,
        inventory: CloudInventory,
        ecs: Option<ApiClient>,
        policy: Policy,
        namespace: &str,
        daemonset: &str,
        identity: &str,
        prefix_len: u8,
    ) -> Self {
        Controller {
            kube,
            inventory,
            ecs,
            policy,
            namespace: namespace.to_string(),
            daemonset: daemonset.to_string(),
            identity: identity.to_string(),
            lease_name: "terway-guard-controller".into(),
            lease_secs: 30,
            prefix_len,
            rollout_timeout: Duration::from_secs(600),
            restart: crate::expand::restart::RestartScope::Zone,
            batch_percent: 10,
            settings: Settings::default(),
            metrics: ControllerMetrics::default(),
            memory: Mutex::new(Memory::default()),
            proposed: Mutex::new(BTreeMap::new()),
            progress: apply::Progress::stderr,
            leadership: lease::Leadership::default(),
            watched: false,
            events: None,
        }
    }

    /// Keeps the lease in the background, independent of how long a tick
    /// takes (an expansion can wait minutes for a rollout).
    pub fn spawn_renewal(&self) -> tokio::task::JoinHandle<()> {
        self.leadership.spawn_renewal(
            Api::namespaced(self.kube.clone(), &self.namespace),
            self.lease_name.clone(),
            self.identity.clone(),
            self.lease_secs,
        )
    }

    pub async fn release(&self) {
        let api: Api<Lease> = Api::namespaced(self.kube.clone(), &self.namespace);
        self.leadership
            .release(&api, &self.lease_name, &self.identity)
            .await;
    }

    fn leading(&self) -> Result<(), TickError> {
        if self.leadership.is_leader() {
            Ok(())
        } else {
            Err(TickError::Config(
                "lost leadership; the new leader takes over".into(),
            ))
        }
    }

    pub async fn tick(&self) -> Result<TickReport, TickError> {
        let mut report = TickReport::default();
        // With a background renewer the tick only reads the state; without
        // one (tests, one-shot use) it renews here.
        if !self.leadership.renewing() {
            let leases: Api<Lease> = Api::namespaced(self.kube.clone(), &self.namespace);
            self.leadership
                .renew(&leases, &self.lease_name, &self.identity, self.lease_secs)
                .await?;
        }
        report.leader = self.leadership.is_leader();
        if !report.leader {
            return Ok(report);
        }
        let cms: Api<ConfigMap> = Api::namespaced(self.kube.clone(), &self.namespace);
        let Some(cm) = cms.get_opt(BASE_NAME).await? else {
            return Err(TickError::Config(format!(
                "no ConfigMap {BASE_NAME} in {}",
                self.namespace
            )));
        };
        let config = ConfigObject::from_configmap(&cm);
        let Some(conf) = config.eni_conf() else {
            return Err(TickError::Config(format!(
                "{BASE_NAME} has no valid eni_conf; fix it before expansions can be planned"
            )));
        };
        let query: Query = conf.vswitch_ids();
        let mut facts = self.inventory.facts(&query).await;
        // Watch-backed nodes when the cluster watcher feeds the inventory
        // (the controller command); a one-off list otherwise (tests).
        if !self.watched {
            facts
                .set_nodes(crate::kube::snapshot::node_facts(&self.kube, self.ecs.as_ref()).await?);
        }
        let zones = capacity::report(&conf, &facts, None);
        for z in &zones {
            self.metrics.free(&z.zone, z.free, z.headroom);
        }

        // What we did before, as recorded on eni-config (survives restarts and leader changes).
        let mut memory = self
            .memory
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        memory.in_progress = None;
        if let Some(st) = apply::recorded(&cm) {
            if st.done {
                let t = memory.last_expansion.entry(st.zone.clone()).or_default();
                *t = (*t).max(st.started_at);
            } else {
                memory.in_progress = Some(st.zone.clone());
            }
        }

        let events = self.terway_events().await?;
        let pod_nodes = crate::kube::snapshot::pod_nodes(&self.kube, &events).await?;
        let exhausted =
            signals::exhausted_zones(&events, &memory.last_expansion, &facts, &pod_nodes);
        let recent = crate::events::by_zone(
            &events,
            &facts,
            &pod_nodes,
            now_secs() - crate::events::RECENT_SECS,
        );
        self.metrics.terway_events(&recent);
        // A ConfigError after an edit the webhook let through: said once per edit.
        if let Some((hash, msg)) = crate::events::guard_miss(&config, &events)
            && self.fresh_proposal("config-error", &hash, now_secs()).await
        {
            self.event("TerwayConfigErrorAfterEdit", &msg, "Warning")
                .await?;
            report.events += 1;
        }
        let ds: Api<DaemonSet> = Api::namespaced(self.kube.clone(), &self.namespace);
        let template_hash = ds
            .get_opt(&self.daemonset)
            .await?
            .and_then(|d| d.spec)
            .and_then(|s| s.template.metadata)
            .and_then(|m| m.annotations)
            .and_then(|a| a.get(HASH_ANNOTATION).cloned());
        let config_hash = conf.normalized_sha256();
        let drift = signals::drift(template_hash.as_deref(), &config_hash);

        let now = now_secs();
        report.decisions = decide(&zones, &exhausted, drift, &memory, &self.policy, now);
        for d in report.decisions.clone() {
            match d {
                Decision::Expand { zone, reason } => {
                    self.expand(
                        &config,
                        &facts,
                        &zone,
                        &reason,
                        now,
                        &mut memory,
                        &mut report,
                    )
                    .await?
                }
                Decision::Propose { zone, reason } => {
                    self.propose(&config, &facts, &zone, &reason, now, &mut report)
                        .await?
                }
                Decision::Hold { zone, reason } => tracing::info!(%zone, %reason, "not expanding"),
                Decision::Restart => {
                    self.leading()?;
                    let at =
                        apply::restart(&self.kube, &self.namespace, &self.daemonset, &config_hash)
                            .await
                            .map_err(|e| TickError::Config(e.to_string()))?;
                    self.event("TerwayRestarted", &format!("eni-config changed since Terway was last rolled; restarted Terway at {at}"), "Normal").await?;
                    report.events += 1;
                }
                Decision::ProposeRestart => {
                    let msg = format!(
                        "eni-config changed since Terway was last rolled; restart it to apply: kubectl -n {} rollout restart daemonset/{}",
                        self.namespace, self.daemonset
                    );
                    if self.fresh_proposal("restart", &msg, now).await {
                        self.event("TerwayRestartProposed", &msg, "Normal").await?;
                        report.events += 1;
                    }
                }
            }
        }
        *self.memory.lock().unwrap_or_else(|p| p.into_inner()) = memory;
        Ok(report)
    }

    #[allow(clippy::too_many_arguments)]
    async fn expand(
        &self,
        config: &ConfigObject,
        facts: &crate::inventory::Facts,
        zone: &str,
        reason: &str,
        now: i64,
        memory: &mut Memory,
        report: &mut TickReport,
    ) -> Result<(), TickError> {
        tracing::info!(%zone, %reason, "expanding");
        self.metrics.expansion(zone, "started");
        memory.last_expansion.insert(zone.to_string(), now);
        let result = async {
            let plan = self
                .plan(config, facts, zone)
                .await
                .map_err(|e| e.to_string())?;
            let target = apply::Target {
                kube: self.kube.clone(),
                vpc: self.inventory.client(),
                namespace: self.namespace.clone(),
                daemonset: self.daemonset.clone(),
                rollout_timeout: self.rollout_timeout,
                restart: self.restart,
                batch_percent: self.batch_percent,
                leader: Some(self.leadership.clone()),
            };
            apply::run(&target, &plan, &mut (self.progress)())
                .await
                .map_err(|e| e.to_string())
        }
        .await;
        match result {
            Ok(r) => {
                self.metrics.expansion(zone, "succeeded");
                self.metrics.expanded_at(zone, now);
                self.metrics.steps(zone, &r.took);
                let msg = format!(
                    "{reason}: {} {} ({}) with {} free IPs and added it to eni-config; zone free pod IPs {} before, {} after; {}",
                    if r.reused {
                        "listed the unused vSwitch"
                    } else {
                        "created"
                    },
                    r.vswitch_id,
                    r.cidr,
                    r.available_ips,
                    r.zone_free_before,
                    r.zone_free_after,
                    r.restart
                );
                self.event("ZoneExpanded", &msg, "Normal").await?;
                report.expanded = Some(r);
            }
            Err(why) => {
                self.metrics.expansion(zone, "failed");
                tracing::warn!(%zone, error = %why, "expansion failed");
                self.event(
                    "ZoneExpansionFailed",
                    &format!("{reason}; expansion failed: {why}"),
                    "Warning",
                )
                .await?;
                report.failed = Some(why);
            }
        }
        report.events += 1;
        Ok(())
    }

    async fn propose(
        &self,
        config: &ConfigObject,
        facts: &crate::inventory::Facts,
        zone: &str,
        reason: &str,
        now: i64,
        report: &mut TickReport,
    ) -> Result<(), TickError> {
        let msg = match self.plan(config, facts, zone).await {
            Ok(p) => format!(
                "{reason}. Plan: {} vSwitch {} ({}) in {}, {} SNAT entr{}, append it to eni_conf and {}. Run: terway-guard expand --zone {zone} --prefix-len {} --inventory aliyun --region {} --apply",
                if p.reuse.is_some() {
                    "list the unused"
                } else {
                    "create"
                },
                p.vswitch.name,
                p.vswitch.cidr,
                zone,
                p.snat.len(),
                if p.snat.len() == 1 { "y" } else { "ies" },
                restart_words(self.restart, &p),
                self.prefix_len,
                self.inventory.client().region
            ),
            Err(e) => format!("{reason}; no expansion can be planned: {e}"),
        };
        if self.fresh_proposal(zone, &msg, now).await {
            self.metrics.proposal(zone);
            self.event("ZoneExpansionProposed", &msg, "Warning").await?;
            report.events += 1;
        }
        Ok(())
    }

    async fn plan(
        &self,
        config: &ConfigObject,
        facts: &crate::inventory::Facts,
        zone: &str,
    ) -> Result<crate::expand::plan::Plan, expand::ExpandError> {
        // Ids other Terway configs list are never reused; when they cannot be
        // read, nothing is reused.
        let dynamic = crate::kube::snapshot::dynamic_listings(&self.kube, &self.namespace)
            .await
            .ok();
        expand::plan_from_cloud(
            &self.inventory,
            config,
            facts,
            zone,
            self.prefix_len,
            &self.settings,
            dynamic.as_deref(),
        )
        .await
    }

    /// A proposal is re-announced when it changes, or once per cool-down.
    /// What was announced is kept on the Lease, so a new leader does not
    /// announce it again.
    async fn fresh_proposal(&self, key: &str, msg: &str, now: i64) -> bool {
        let api: Api<Lease> = Api::namespaced(self.kube.clone(), &self.namespace);
        let lease = api.get_opt(&self.lease_name).await.ok().flatten();
        let mut shared: BTreeMap<String, (String, i64)> = lease
            .as_ref()
            .and_then(|l| l.metadata.annotations.as_ref())
            .and_then(|a| a.get(PROPOSALS_ANNOTATION))
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or_default();
        let digest = crate::cloud::sign::sha256_hex(msg.as_bytes())[..16].to_string();
        let fresh = {
            let mut local = self.proposed.lock().unwrap_or_else(|p| p.into_inner());
            let seen = shared.get(key).or_else(|| local.get(key));
            let fresh =
                seen.is_none_or(|(m, t)| *m != digest || now - t >= self.policy.cooldown_secs);
            if fresh {
                local.insert(key.to_string(), (digest.clone(), now));
            }
            fresh
        };
        if fresh {
            shared.insert(key.to_string(), (digest, now));
            let patch = serde_json::json!({"metadata": {"annotations": {
                PROPOSALS_ANNOTATION: serde_json::to_string(&shared).unwrap_or_default()
            }}});
            if let Err(e) = api
                .patch(
                    &self.lease_name,
                    &::kube::api::PatchParams::default(),
                    &::kube::api::Patch::Merge(&patch),
                )
                .await
            {
                tracing::warn!(error = %e, "cannot record the proposal on the Lease");
            }
        }
        fresh
    }

    /// Terway's events: from the watch when there is one, else listed.
    async fn terway_events(&self) -> Result<Vec<Event>, TickError> {
        if let Some(store) = &self.events {
            return Ok(store.events());
        }
        Ok(crate::kube::snapshot::terway_events(&self.kube).await?)
    }

    async fn event(&self, reason: &str, message: &str, kind: &str) -> Result<(), TickError> {
        self.leading()?;
        let now = Time(k8s_openapi::jiff::Timestamp::now());
        let e = Event {
            metadata: ObjectMeta {
                generate_name: Some(format!("{BASE_NAME}.")),
                namespace: Some(self.namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("ConfigMap".into()),
                name: Some(BASE_NAME.into()),
                namespace: Some(self.namespace.clone()),
                ..ObjectReference::default()
            },
            reason: Some(reason.into()),
            message: Some(message.into()),
            type_: Some(kind.into()),
            count: Some(1),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            source: Some(EventSource {
                component: Some("terway-guard".into()),
                host: None,
            }),
            reporting_component: Some("terway-guard".into()),
            reporting_instance: Some(self.identity.clone()),
            ..Event::default()
        };
        Api::<Event>::namespaced(self.kube.clone(), &self.namespace)
            .create(&PostParams::default(), &e)
            .await?;
        Ok(())
    }
}
