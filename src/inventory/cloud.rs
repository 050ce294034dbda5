//! Facts from the VPC OpenAPI, cached: a TTL per vSwitch, one cloud call for
//! many concurrent admissions (single flight), a background refresh that
//! keeps known vSwitches warm, and readiness after the first sync.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{
    Facts, FactsFuture, Inventory, Lookup, NatGatewayFact, NodeFact, Query, SnatEntryFact,
    VSwitchFact, VpcFact, VpcView,
};
use crate::cloud::client::{ApiClient, CloudError};
use crate::cloud::vpc::{VSwitch, VSwitchFilter};
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
    inflight: Mutex<HashMap<String, watch::Receiver<Option<Lookup>>>>,
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

    /// Looks `id` up, sharing one cloud call among concurrent askers. The
    /// lookup runs in its own task, so an asker giving up does not cancel it.
    async fn lookup(&self, id: &str) -> Lookup {
        let mut rx = {
            let mut inflight = lock(&self.inner.inflight);
            match inflight.get(id) {
                Some(rx) => rx.clone(),
                None => {
                    let (tx, rx) = watch::channel(None);
                    inflight.insert(id.to_string(), rx.clone());
                    let me = self.clone();
                    let id = id.to_string();
                    tokio::spawn(async move {
                        let result = me.fetch(&id).await;
                        lock(&me.inner.inflight).remove(&id);
                        let _ = tx.send(Some(result));
                    });
                    rx
                }
            }
        };
        match rx.wait_for(Option::is_some).await {
            Ok(v) => v
                .clone()
                .unwrap_or_else(|| Lookup::Failed("lookup vanished".into())),
            Err(_) => Lookup::Failed("lookup task ended without an answer".into()),
        }
    }

    /// One cloud lookup; stores its result in the cache.
    async fn fetch(&self, id: &str) -> Lookup {
        let i = &self.inner;
        let deadline = Instant::now() + i.cfg.lookup_timeout;
        let result = match i.client.vswitch(id, deadline).await {
            Ok(Some(v)) => to_lookup(&v),
            Ok(None) => Lookup::NotFound,
            Err(e) => Lookup::Failed(e.to_string()),
        };
        self.store(id, result.clone());
        result
    }

    fn store(&self, id: &str, lookup: Lookup) {
        let mut cache = lock(&self.inner.cache);
        cache.insert(id.to_string(), (lookup, Instant::now()));
        self.evict(&mut cache);
    }

    fn store_listing(&self, listed: &[VSwitch]) {
        let now = Instant::now();
        let mut cache = lock(&self.inner.cache);
        for v in listed {
            cache.insert(v.id.clone(), (to_lookup(v), now));
        }
        self.evict(&mut cache);
    }

    /// Keeps the cache within `max_cached`: expired entries first, then the oldest.
    fn evict(&self, cache: &mut HashMap<String, (Lookup, Instant)>) {
        let max = self.inner.cfg.max_cached;
        if cache.len() <= max {
            return;
        }
        let cfg = &self.inner.cfg;
        cache.retain(|_, (l, at)| {
            let ttl = match l {
                Lookup::Found(_) => cfg.ttl,
                Lookup::NotFound => cfg.not_found_ttl,
                Lookup::Failed(_) => cfg.failure_ttl,
            };
            at.elapsed() < ttl
        });
        if cache.len() > max {
            let mut ages: Vec<(Instant, String)> =
                cache.iter().map(|(k, (_, at))| (*at, k.clone())).collect();
            ages.sort();
            let excess = cache.len() - max + max / 10;
            for (_, k) in ages.into_iter().take(excess) {
                cache.remove(&k);
            }
        }
    }

    /// Lists the cluster's VPC unless it was listed within `listing_every`;
    /// concurrent callers share one listing.
    async fn list_vpc_if_stale(&self, vpc: &str) {
        let i = &self.inner;
        let mut listed = i.listed.lock().await;
        if listed.is_some_and(|at| at.elapsed() < i.cfg.listing_every) {
            return;
        }
        let filter = VSwitchFilter {
            vpc_id: Some(vpc.to_string()),
            ..Default::default()
        };
        let deadline = Instant::now() + i.cfg.lookup_timeout;
        match i.client.describe_vswitches(&filter, deadline).await {
            Ok(l) => self.store_listing(&l),
            Err(e) => tracing::warn!(error = %e, "listing the VPC's vSwitches failed"),
        }
        *listed = Some(Instant::now());
    }

    fn cached(&self, id: &str) -> Option<Lookup> {
        let cache = lock(&self.inner.cache);
        let (lookup, at) = cache.get(id)?;
        let ttl = match lookup {
            Lookup::Found(_) => self.inner.cfg.ttl,
            Lookup::NotFound => self.inner.cfg.not_found_ttl,
            Lookup::Failed(_) => self.inner.cfg.failure_ttl,
        };
        (at.elapsed() < ttl).then(|| lookup.clone())
    }

    async fn gather(&self, query: &Query) -> Facts {
        let mut vswitches = std::collections::BTreeMap::new();
        let mut pending = Vec::new();
        for id in query {
            match self.cached(id) {
                Some(l) => {
                    vswitches.insert(id.clone(), l);
                }
                None => pending.push(id.clone()),
            }
        }
        // Ids unknown in the cluster's VPC: one listing answers them all.
        if !pending.is_empty()
            && let Some(vpc) = self.vpc_id()
        {
            self.list_vpc_if_stale(&vpc).await;
            pending.retain(|id| match self.cached(id) {
                Some(l) => {
                    vswitches.insert(id.clone(), l);
                    false
                }
                None => true,
            });
        }
        let max = self.inner.cfg.max_lookups_per_query;
        for id in pending.iter().skip(max) {
            vswitches.insert(
                id.clone(),
                Lookup::Failed(format!(
                    "not looked up: one request may look up at most {max} vSwitches outside the cluster's VPC"
                )),
            );
        }
        pending.truncate(max);
        // Start every lookup before waiting on any, so they run side by side.
        let waits: Vec<_> = pending
            .into_iter()
            .map(|id| {
                let me = self.clone();
                tokio::spawn(async move {
                    let l = me.lookup(&id).await;
                    (id, l)
                })
            })
            .collect();
        for w in waits {
            if let Ok((id, l)) = w.await {
                vswitches.insert(id, l);
            }
        }
        // One lock: the nodes and their groups belong together.
        let nodes = lock(&self.inner.nodes).clone();
        Facts {
            terway_version: *lock(&self.inner.terway_version),
            region: Some(self.inner.client.region.clone()),
            cluster_vpc: self.vpc_id(),
            vpcs: lock(&self.inner.vpcs).clone(),
            vswitches,
            nodes: nodes.0,
            node_groups: nodes.1,
            // Fed by the cluster watch (src/kube), when there is one.
            kubeadm: lock(&self.inner.kubeadm).clone(),
        }
    }
}

impl CloudInventory {
    /// The whole VPC for the planner: blocks, all vSwitches, NAT gateways and
    /// their SNAT entries. Always fresh from the cloud.
    pub async fn vpc_view(&self, vpc_id: &str) -> Result<VpcView, CloudError> {
        let c = &self.inner.client;
        let deadline = Instant::now() + self.inner.cfg.lookup_timeout * 3;
        let vpc = c
            .describe_vpcs(Some(vpc_id), deadline)
            .await?
            .into_iter()
            .find(|v| v.id == vpc_id)
            .ok_or_else(|| CloudError::Decode {
                action: "DescribeVpcs".into(),
                message: format!("VPC {vpc_id} does not exist in region {}", c.region),
            })?;
        let filter = VSwitchFilter {
            vpc_id: Some(vpc_id.to_string()),
            ..Default::default()
        };
        let vswitches = c
            .describe_vswitches(&filter, deadline)
            .await?
            .iter()
            .filter_map(|v| match to_lookup(v) {
                Lookup::Found(f) => Some(f),
                _ => None,
            })
            .collect();
        let mut nat_gateways = Vec::new();
        for g in c.describe_nat_gateways(vpc_id, deadline).await? {
            let mut snat_entries = Vec::new();
            for t in &g.snat_table_ids {
                for e in c.describe_snat_table_entries(t, None, deadline).await? {
                    snat_entries.push(SnatEntryFact {
                        snat_table_id: e.snat_table_id,
                        source_vswitch: Some(e.source_vswitch_id).filter(|s| !s.is_empty()),
                        source_cidr: e.source_cidr.parse().ok(),
                        snat_ip: e.snat_ip,
                    });
                }
            }
            nat_gateways.push(NatGatewayFact {
                id: g.id,
                vpc: vpc_id.to_string(),
                snat_table_ids: g.snat_table_ids,
                snat_entries,
            });
        }
        Ok(VpcView {
            vpc: VpcFact {
                id: vpc.id.clone(),
                cidrs: std::iter::once(&vpc.cidr_block)
                    .chain(&vpc.secondary_cidr_blocks)
                    .filter_map(|c| c.parse().ok())
                    .collect(),
            },
            vswitches,
            nat_gateways,
        })
    }

    pub fn client(&self) -> &ApiClient {
        &self.inner.client
    }
}

fn to_lookup(v: &VSwitch) -> Lookup {
    match v.cidr_block.parse::<ipnet::IpNet>() {
        Ok(cidr) => Lookup::Found(VSwitchFact {
            id: v.id.clone(),
            vpc: v.vpc_id.clone(),
            zone: v.zone_id.clone(),
            cidr,
            available_ips: v.available_ip_address_count,
        }),
        Err(_) => Lookup::Failed(format!(
            "the cloud returned CIDR {:?} for {}",
            v.cidr_block, v.id
        )),
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
