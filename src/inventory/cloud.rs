//! Facts from the VPC OpenAPI, cached: a TTL per vSwitch, one cloud call for
//! many concurrent admissions (single flight), a background refresh that
//! keeps known vSwitches warm, and readiness after the first sync.
//!
//! This file holds the handle, its wiring and the background sync; the
//! cache itself is in `cache.rs`, the answers built from it in `queries.rs`.

mod cache;
mod queries;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{FactsFuture, Inventory, Lookup, NodeFact, Query, VSwitchFact, VpcFact};
use crate::cloud::client::ApiClient;
use crate::cloud::vpc::VSwitchFilter;
use crate::config::ConfigObject;

#[derive(Debug, Clone)]
pub struct CloudConfig {
    /// The cluster's VPC, when known: every listed vSwitch must be in it, and
    /// its vSwitches are listed in one paged call per refresh.
    pub vpc_id: Option<String>,
    pub ttl: Duration,
    pub not_found_ttl: Duration,
    pub failure_ttl: Duration,
    /// A lookup keeps running in the background after an admission stopped waiting.
    pub lookup_timeout: Duration,
    pub refresh_every: Duration,
    /// Ids looked up one by one for one request; the rest are reported as not
    /// looked up (so a review cannot fan out to the cloud).
    pub max_lookups_per_query: usize,
    /// Most cached lookups; the oldest go first.
    pub max_cached: usize,
    /// Unknown ids in the cluster's VPC are answered by one listing of the
    /// VPC, at most this often.
    pub listing_every: Duration,
}

impl Default for CloudConfig {
    fn default() -> Self {
        CloudConfig {
            vpc_id: None,
            ttl: Duration::from_secs(60),
            not_found_ttl: Duration::from_secs(20),
            failure_ttl: Duration::from_secs(5),
            lookup_timeout: Duration::from_secs(10),
            refresh_every: Duration::from_secs(30),
            max_lookups_per_query: 8,
            max_cached: 4096,
            listing_every: Duration::from_secs(5),
        }
    }
}

/// The nodes and their groups, swapped in together.
type SharedNodes = (Arc<Vec<NodeFact>>, Arc<Vec<super::NodeGroup>>);

struct Inner {
    client: ApiClient,
    cfg: CloudConfig,
    cache: Mutex<HashMap<String, (Lookup, Instant)>>,
    inflight: Mutex<HashMap<String, tokio::sync::watch::Receiver<Option<Lookup>>>>,
    vpcs: Mutex<Vec<VpcFact>>,
    nodes: Mutex<SharedNodes>,
    terway_version: Mutex<Option<crate::config::Version>>,
    kubeadm: Mutex<Option<super::KubeadmServiceCidr>>,
    base: Mutex<Option<ConfigObject>>,
    /// The cluster's VPC: configured, or learnt from the base config.
    vpc_id: Mutex<Option<String>>,
    ready: AtomicBool,
    /// Set while cluster facts are expected but not yet synced once.
    cluster_pending: AtomicBool,
    /// When the VPC was last listed; held across a listing (single flight).
    listed: tokio::sync::Mutex<Option<Instant>>,
}

#[derive(Clone)]
pub struct CloudInventory {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl CloudInventory {
    pub fn new(client: ApiClient, cfg: CloudConfig) -> Self {
        let cfg_vpc = cfg.vpc_id.clone();
        CloudInventory {
            inner: Arc::new(Inner {
                client,
                cfg,
                cache: Mutex::new(HashMap::new()),
                inflight: Mutex::new(HashMap::new()),
                vpcs: Mutex::new(Vec::new()),
                nodes: Mutex::new((Arc::new(Vec::new()), Arc::new(Vec::new()))),
                terway_version: Mutex::new(None),
                kubeadm: Mutex::new(None),
                base: Mutex::new(None),
                vpc_id: Mutex::new(cfg_vpc),
                ready: AtomicBool::new(false),
                cluster_pending: AtomicBool::new(false),
                listed: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// Nodes come from the cluster; whoever watches them sets them here.
    pub fn set_nodes(&self, nodes: Vec<NodeFact>) {
        let groups = Arc::new(super::group_nodes(&nodes));
        *lock(&self.inner.nodes) = (Arc::new(nodes), groups);
    }

    /// The nodes as last set (shared).
    pub fn nodes(&self) -> Arc<Vec<NodeFact>> {
        lock(&self.inner.nodes).0.clone()
    }

    /// The Terway release the cluster runs, read from its DaemonSet.
    pub fn set_terway_version(&self, version: Option<crate::config::Version>) {
        *lock(&self.inner.terway_version) = version;
    }

    /// What the daemon's `service_cidr` fallback (kube-system/kubeadm-config)
    /// yields, as the cluster watch reads it; `None` while unknown.
    pub fn set_kubeadm(&self, fact: Option<super::KubeadmServiceCidr>) {
        *lock(&self.inner.kubeadm) = fact;
    }

    /// Readiness will wait for [`cluster_synced`](Self::cluster_synced).
    pub fn expect_cluster(&self) {
        self.inner.cluster_pending.store(true, Ordering::Relaxed);
    }

    pub fn cluster_synced(&self) {
        if self.inner.cluster_pending.swap(false, Ordering::Relaxed) {
            tracing::info!("cluster facts synced");
        }
    }

    pub fn vpc_id(&self) -> Option<String> {
        lock(&self.inner.vpc_id).clone()
    }

    /// The base `eni-config` as the cluster has it; when the cluster's VPC
    /// was not configured, it is learnt from the base's vSwitches.
    pub async fn set_base(&self, base: Option<ConfigObject>) {
        if self.vpc_id().is_none()
            && let Some(conf) = base.as_ref().and_then(ConfigObject::eni_conf)
        {
            let query: Query = conf.vswitch_ids();
            let facts = self.gather(&query).await;
            if let Some(vpc) = facts.majority_vpc() {
                tracing::info!(%vpc, "cluster VPC learnt from eni-config");
                *lock(&self.inner.vpc_id) = Some(vpc);
            }
        }
        *lock(&self.inner.base) = base;
    }

    /// Runs [`sync`](Self::sync) now and then every `refresh_every`.
    pub fn spawn_refresh(&self) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                me.sync().await;
                tokio::time::sleep(me.inner.cfg.refresh_every).await;
            }
        })
    }

    /// Refreshes the VPC and every vSwitch already known; marks the
    /// inventory ready after the first sync that reached the cloud.
    pub async fn sync(&self) -> bool {
        let i = &self.inner;
        let deadline = Instant::now() + i.cfg.lookup_timeout;
        let ok = match &self.vpc_id() {
            Some(vpc) => {
                let vpcs = i.client.describe_vpcs(Some(vpc), deadline).await;
                let filter = VSwitchFilter {
                    vpc_id: Some(vpc.clone()),
                    ..Default::default()
                };
                let listed = i.client.describe_vswitches(&filter, deadline).await;
                match (vpcs, listed) {
                    (Ok(vpcs), Ok(listed)) => {
                        *lock(&i.vpcs) = vpcs
                            .iter()
                            .map(|v| VpcFact {
                                id: v.id.clone(),
                                cidrs: std::iter::once(&v.cidr_block)
                                    .chain(&v.secondary_cidr_blocks)
                                    .filter_map(|c| c.parse().ok())
                                    .collect(),
                            })
                            .collect();
                        self.store_listing(&listed);
                        *i.listed.lock().await = Some(Instant::now());
                        true
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        tracing::warn!(error = %e, "inventory sync failed");
                        false
                    }
                }
            }
            None => {
                // Only what Terway's stored config lists is kept warm: ids a
                // review merely mentioned expire with their TTL.
                let ids: Vec<String> = lock(&i.base)
                    .as_ref()
                    .and_then(ConfigObject::eni_conf)
                    .map(|c| c.vswitch_ids().into_iter().collect())
                    .unwrap_or_default();
                let mut ok = true;
                for id in ids {
                    ok &= !matches!(self.fetch(&id).await, Lookup::Failed(_));
                }
                ok
            }
        };
        if ok && !i.ready.swap(true, Ordering::Relaxed) {
            tracing::info!("inventory synced");
        }
        ok
    }
}

impl CloudInventory {
    pub fn client(&self) -> &ApiClient {
        &self.inner.client
    }
}

impl Inventory for CloudInventory {
    fn facts<'a>(&'a self, query: &'a Query) -> FactsFuture<'a> {
        Box::pin(self.gather(query))
    }

    fn ready(&self) -> bool {
        self.inner.ready.load(Ordering::Relaxed)
            && !self.inner.cluster_pending.load(Ordering::Relaxed)
    }

    fn base_config(&self) -> Option<ConfigObject> {
        lock(&self.inner.base).clone()
    }

    fn known(&self) -> Vec<VSwitchFact> {
        lock(&self.inner.cache)
            .values()
            .filter_map(|(l, _)| match l {
                Lookup::Found(v) => Some(v.clone()),
                _ => None,
            })
            .collect()
    }
}
