//! One controller tick: lead, observe, decide, act. Thin I/O around the
//! pure parts ([`super::signals`], [`super::decide`], the planner).
//!
//! This file holds the controller's wiring (its handle, construction and
//! lease); the tick is in `tick.rs`, the Events and proposals it announces
//! in `announce.rs`.

mod announce;
mod tick;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use ::kube::api::Api;
use k8s_openapi::api::coordination::v1::Lease;
use serde::Serialize;

use super::decide::{Decision, Memory, Policy};
use super::lease;
use super::metrics::ControllerMetrics;
use crate::cloud::client::ApiClient;
use crate::expand::apply;
use crate::inventory::CloudInventory;
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
}
