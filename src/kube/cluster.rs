//! Watch-backed cluster facts: nodes (zone, capacity, dynamic config), the
//! base `eni-config`, the Terway version and exhaustion events. No API call
//! per admission and no periodic LIST: watches keep narrow stores (only the
//! fields terway-guard reads survive), and facts are recomputed off the
//! request path when a watch saw a change, then swapped in whole.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::kube::api::Api;
use ::kube::api::PartialObjectMeta;
use ::kube::runtime::reflector::{self, Store};
use ::kube::runtime::utils::Backoff;
use ::kube::runtime::{WatchStreamExt, watcher};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Node};
use tokio::sync::Notify;

use super::narrow::{narrow_event, narrow_node_meta, narrow_terway_node};
use super::nodes;
use super::terway_node::TerwayNode;
use crate::cloud::client::ApiClient;
use crate::cloud::ecs::InstanceLimits;
use crate::config::{BASE_NAME, ConfigObject, Version};
use crate::inventory::CloudInventory;

/// Facts are recomputed at most this often, and at least this rarely.
const RECOMPUTE_AT_MOST: Duration = Duration::from_secs(2);
const RECOMPUTE_AT_LEAST: Duration = Duration::from_secs(60);
/// An instance type ECS could not describe is asked again after this.
const FAILED_LOOKUP_TTL: Duration = Duration::from_secs(600);

/// A Kubernetes client that says who it is (`terway-guard/<version> (<command>)`),
/// so audit logs can tell its requests apart.
pub async fn client(command: &str) -> Result<::kube::Client, ::kube::Error> {
    let mut config = ::kube::Config::infer()
        .await
        .map_err(::kube::Error::InferConfig)?;
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
        "terway-guard/{} ({command})",
        env!("CARGO_PKG_VERSION")
    )) {
        config.headers.push((axum::http::header::USER_AGENT, v));
    }
    ::kube::Client::try_from(config)
}

/// Where Terway runs in the cluster.
#[derive(Debug, Clone)]
pub struct Terway {
    pub namespace: String,
    pub daemonset: String,
}

/// The Terway release a DaemonSet runs: its `terway` container's image tag.
pub fn version_of(ds: &DaemonSet) -> Option<Version> {
    let containers = &ds.spec.as_ref()?.template.spec.as_ref()?.containers;
    containers
        .iter()
        .find(|c| c.name == "terway")
        .or_else(|| containers.first())
        .and_then(|c| c.image.as_deref())
        .and_then(Version::from_image)
}

/// Lists in pages this small, so no response holds thousands of objects.
const PAGE: u32 = 50;

/// Terway's events (ConfigError, AllocIPFailed, CreateENIFailed) as watches keep them.
#[derive(Clone)]
pub struct EventStore {
    stores: Vec<Store<Event>>,
}

impl EventStore {
    pub fn events(&self) -> Vec<Event> {
        self.stores
            .iter()
            .flat_map(|s| s.state().into_iter().map(|e| (*e).clone()))
            .collect()
    }

    /// Watches Events of each of Terway's reasons (a field selector each).
    pub fn spawn(client: ::kube::Client) -> Self {
        let stores = crate::events::TERWAY_REASONS
            .iter()
            .map(|reason| {
                let (store, w) = reflector::store::<Event>();
                let cfg = watcher::Config::default()
                    .fields(&format!("reason={reason}"))
                    .page_size(PAGE);
                drive(
                    "events",
                    watcher(Api::<Event>::all(client.clone()), cfg)
                        .default_backoff()
                        .modify(narrow_event)
                        .reflect(w)
                        .touched_objects(),
                    None,
                );
                store
            })
            .collect();
        EventStore { stores }
    }
}

/// Exponential back-off capped at `cap`: an absent CRD is asked again every
/// few minutes, not every second.
struct CappedBackoff {
    next: Duration,
    cap: Duration,
}

impl CappedBackoff {
    fn new(cap: Duration) -> Self {
        CappedBackoff {
            next: Duration::from_secs(1),
            cap,
        }
    }
}

impl Iterator for CappedBackoff {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        let now = self.next;
        self.next = (self.next * 2).min(self.cap);
        Some(now)
    }
}

impl Backoff for CappedBackoff {
    fn reset(&mut self) {
        self.next = Duration::from_secs(1);
    }
}

fn drive<S, T, E>(name: &'static str, stream: S, changed: Option<Arc<Notify>>)
where
    S: futures::Stream<Item = Result<T, E>> + Send + 'static,
    T: Send,
    E: std::fmt::Display + Send,
{
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            match item {
                Ok(_) => {
                    if let Some(n) = &changed {
                        n.notify_one();
                    }
                }
                Err(e) => tracing::debug!(watch = name, error = %e, "watch error; backing off"),
            }
        }
        tracing::warn!(watch = name, "watch stream ended");
    });
}

/// Starts the watchers and the loop that feeds `inventory`.
pub fn spawn(
    client: ::kube::Client,
    terway: Terway,
    inventory: CloudInventory,
    ecs: Option<Arc<ApiClient>>,
) {
    inventory.expect_cluster();
    let changed = Arc::new(Notify::new());
    let namespace = terway.namespace.as_str();
    let daemonsets = Api::<DaemonSet>::namespaced(client.clone(), namespace);

    // Nodes: metadata only (name and labels are all that is read), so the
    // apiserver never sends their status.
    let (node_store, w) = reflector::store::<PartialObjectMeta<Node>>();
    drive(
        "nodes",
        watcher(
            Api::<PartialObjectMeta<Node>>::all(client.clone()),
            watcher::Config::default().page_size(PAGE),
        )
        .default_backoff()
        .modify(|n: &mut PartialObjectMeta<Node>| narrow_node_meta(&mut n.metadata))
        .reflect(w)
        .touched_objects(),
        Some(changed.clone()),
    );

    let (terway_store, w) = reflector::store::<TerwayNode>();
    // Absent CRD (older Terway): asked again every few minutes; the store
    // stays empty meanwhile.
    drive(
        "terway nodes",
        watcher(
            Api::<TerwayNode>::all(client.clone()),
            watcher::Config::default().page_size(PAGE),
        )
        .backoff(CappedBackoff::new(Duration::from_secs(300)))
        .modify(narrow_terway_node)
        .reflect(w)
        .touched_objects(),
        Some(changed.clone()),
    );

    let (cm_store, w) = reflector::store::<ConfigMap>();
    let cms = Api::<ConfigMap>::namespaced(client, namespace);
    drive(
        "eni-config",
        watcher(
            cms,
            watcher::Config::default().fields(&format!("metadata.name={BASE_NAME}")),
        )
        .default_backoff()
        .reflect(w)
        .touched_objects(),
        Some(changed.clone()),
    );

    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(60), node_store.wait_until_ready()).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), cm_store.wait_until_ready()).await;
        let mut limits = Limits::default();
        loop {
            // One small GET: the version changes only with a Terway upgrade.
            match daemonsets.get_opt(&terway.daemonset).await {
                Ok(ds) => inventory.set_terway_version(ds.as_ref().and_then(version_of)),
                Err(e) => {
                    tracing::debug!(error = %e, "cannot read Terway's DaemonSet; Terway version unknown")
                }
            }
            recompute(
                &node_store,
                &terway_store,
                &cm_store,
                &inventory,
                ecs.as_deref(),
                &mut limits,
            )
            .await;
            // Wait for a change (debounced), or refresh now and then.
            tokio::time::sleep(RECOMPUTE_AT_MOST).await;
            let _ = tokio::time::timeout(RECOMPUTE_AT_LEAST, changed.notified()).await;
        }
    });
}

/// Instance-type limits known, and the types ECS could not describe (with when).
#[derive(Default)]
struct Limits {
    known: HashMap<String, InstanceLimits>,
    failed: BTreeMap<String, Instant>,
}

async fn recompute(
    node_store: &Store<PartialObjectMeta<Node>>,
    terway_store: &Store<TerwayNode>,
    cm_store: &Store<ConfigMap>,
    inventory: &CloudInventory,
    ecs: Option<&ApiClient>,
    limits: &mut Limits,
) {
    // Thousands of objects: read them where the stores hold them (no copies)
    // and off the async workers, so an admission never waits behind a
    // recompute.
    let (ns, ts) = (node_store.clone(), terway_store.clone());
    let known = limits.known.clone();
    let Ok(missing) = tokio::task::spawn_blocking(move || {
        let (nodes, terway) = (ns.state(), ts.state());
        nodes::missing_instance_types(
            nodes.iter().map(|n| &n.metadata),
            terway.iter().map(|t| &**t),
            &known,
        )
    })
    .await
    else {
        return;
    };
    limits
        .failed
        .retain(|_, at| at.elapsed() < FAILED_LOOKUP_TTL);
    let missing: Vec<String> = missing
        .into_iter()
        .filter(|t| !limits.failed.contains_key(t))
        .collect();
    if let (Some(ecs), false) = (ecs, missing.is_empty()) {
        match ecs
            .describe_instance_types(&missing, Instant::now() + Duration::from_secs(10))
            .await
        {
            Ok(found) => {
                for t in &missing {
                    if !found.contains_key(t) {
                        limits.failed.insert(t.clone(), Instant::now());
                    }
                }
                limits.known.extend(found);
            }
            Err(e) => {
                for t in missing {
                    limits.failed.insert(t, Instant::now());
                }
                tracing::warn!(error = %e, "cannot read instance type limits; those nodes have unknown capacity")
            }
        }
    }
    let known = limits.known.clone();
    let (ns, ts) = (node_store.clone(), terway_store.clone());
    if let Ok(facts) = tokio::task::spawn_blocking(move || {
        let (nodes, terway) = (ns.state(), ts.state());
        nodes::node_facts(
            nodes.iter().map(|n| &n.metadata),
            terway.iter().map(|t| &**t),
            &known,
        )
    })
    .await
    {
        inventory.set_nodes(facts);
    }
    let base = cm_store
        .state()
        .first()
        .map(|cm| ConfigObject::from_configmap(cm));
    inventory.set_base(base).await;
    inventory.cluster_synced();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_terway_version_is_the_terway_containers_tag() {
        let ds = |containers: serde_json::Value| -> DaemonSet {
            serde_json::from_value(serde_json::json!({
                "metadata": {"name": "terway-eniip"},
                "spec": {"selector": {}, "template": {"spec": {"containers": containers}}}
            }))
            .unwrap()
        };
        let cases = [
            (
                serde_json::json!([
                    {"name": "policy", "image": "registry-cn-hangzhou.ack.aliyuncs.com/acs/terway:policy-v1.2.3"},
                    {"name": "terway", "image": "registry-cn-hangzhou.ack.aliyuncs.com/acs/terway:v1.16.7"}
                ]),
                Some(Version::new(1, 16, 7)),
            ),
            (
                serde_json::json!([{"name": "x", "image": "acs/terway:v1.13.4-aliyun.1"}]),
                Some(Version::new(1, 13, 4)),
            ),
            (
                serde_json::json!([{"name": "terway", "image": "acs/terway"}]),
                None,
            ),
        ];
        for (containers, want) in cases {
            assert_eq!(version_of(&ds(containers.clone())), want, "{containers}");
        }
    }

    #[test]
    fn an_absent_crd_is_asked_again_every_few_minutes() {
        let mut b = CappedBackoff::new(Duration::from_secs(300));
        let waits: Vec<u64> = (&mut b).take(12).map(|d| d.as_secs()).collect();
        assert_eq!(waits[..4], [1, 2, 4, 8]);
        assert_eq!(*waits.last().unwrap(), 300);
        b.reset();
        assert_eq!(b.next(), Some(Duration::from_secs(1)));
    }
}
