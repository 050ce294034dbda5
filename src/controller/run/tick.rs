//! The controller's tick: observe the cluster and the cloud, decide per
//! zone, then expand, propose or restart.

use std::time::SystemTime;

use ::kube::api::Api;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::ConfigMap;

use super::{Controller, TickError, TickReport};
use crate::capacity;
use crate::config::{BASE_NAME, ConfigObject, HASH_ANNOTATION};
use crate::controller::decide::{Decision, Memory, decide};
use crate::controller::signals;
use crate::expand::{self, apply};
use crate::inventory::{Inventory, Query};

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

/// What one tick read, for every zone it then expands or proposes for.
struct Seen<'a> {
    config: &'a ConfigObject,
    facts: &'a crate::inventory::Facts,
    now: i64,
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Controller {
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
            self.tell(&mut report, "TerwayConfigErrorAfterEdit", &msg, "Warning")
                .await?;
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
        let seen = Seen {
            config: &config,
            facts: &facts,
            now,
        };
        for d in report.decisions.clone() {
            match d {
                Decision::Expand { zone, reason } => {
                    self.expand(&seen, &zone, &reason, &mut memory, &mut report)
                        .await?
                }
                Decision::Propose { zone, reason } => {
                    self.propose(&seen, &zone, &reason, &mut report).await?
                }
                Decision::Hold { zone, reason } => tracing::info!(%zone, %reason, "not expanding"),
                Decision::Restart => {
                    self.leading()?;
                    let at =
                        apply::restart(&self.kube, &self.namespace, &self.daemonset, &config_hash)
                            .await
                            .map_err(|e| TickError::Config(e.to_string()))?;
                    self.tell(&mut report, "TerwayRestarted", &format!("eni-config changed since Terway was last rolled; restarted Terway at {at}"), "Normal").await?;
                }
                Decision::ProposeRestart => {
                    let msg = format!(
                        "eni-config changed since Terway was last rolled; restart it to apply: kubectl -n {} rollout restart daemonset/{}",
                        self.namespace, self.daemonset
                    );
                    if self.fresh_proposal("restart", &msg, now).await {
                        self.tell(&mut report, "TerwayRestartProposed", &msg, "Normal")
                            .await?;
                    }
                }
            }
        }
        *self.memory.lock().unwrap_or_else(|p| p.into_inner()) = memory;
        Ok(report)
    }

    /// An Event on eni-config, counted in the tick's report.
    async fn tell(
        &self,
        report: &mut TickReport,
        reason: &str,
        message: &str,
        kind: &str,
    ) -> Result<(), TickError> {
        self.event(reason, message, kind).await?;
        report.events += 1;
        Ok(())
    }

    async fn expand(
        &self,
        seen: &Seen<'_>,
        zone: &str,
        reason: &str,
        memory: &mut Memory,
        report: &mut TickReport,
    ) -> Result<(), TickError> {
        let now = seen.now;
        tracing::info!(%zone, %reason, "expanding");
        self.metrics.expansion(zone, "started");
        memory.last_expansion.insert(zone.to_string(), now);
        let result = async {
            let plan = self.plan(seen, zone).await.map_err(|e| e.to_string())?;
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
                self.tell(report, "ZoneExpanded", &msg, "Normal").await?;
                report.expanded = Some(r);
            }
            Err(why) => {
                self.metrics.expansion(zone, "failed");
                tracing::warn!(%zone, error = %why, "expansion failed");
                self.tell(
                    report,
                    "ZoneExpansionFailed",
                    &format!("{reason}; expansion failed: {why}"),
                    "Warning",
                )
                .await?;
                report.failed = Some(why);
            }
        }
        Ok(())
    }

    async fn propose(
        &self,
        seen: &Seen<'_>,
        zone: &str,
        reason: &str,
        report: &mut TickReport,
    ) -> Result<(), TickError> {
        let msg = match self.plan(seen, zone).await {
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
        if self.fresh_proposal(zone, &msg, seen.now).await {
            self.metrics.proposal(zone);
            self.tell(report, "ZoneExpansionProposed", &msg, "Warning")
                .await?;
        }
        Ok(())
    }

    async fn plan(
        &self,
        seen: &Seen<'_>,
        zone: &str,
    ) -> Result<crate::expand::plan::Plan, expand::ExpandError> {
        // Ids other Terway configs list are never reused; when they cannot be
        // read, nothing is reused.
        let dynamic = crate::kube::snapshot::dynamic_listings(&self.kube, &self.namespace)
            .await
            .ok();
        expand::plan_from_cloud(
            &self.inventory,
            seen.config,
            seen.facts,
            zone,
            self.prefix_len,
            &self.settings,
            dynamic.as_deref(),
        )
        .await
    }
}
