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
use ::kube::runtime::{WatchStreamExt, watcher};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Node};
use tokio::sync::Notify;

use super::health::{self, Reason, WatchHealth};
use super::kubeadm;
use super::narrow::{narrow_event, narrow_node_meta, narrow_terway_node};
use super::nodes;
use super::terway_node::TerwayNode;
use super::watch::{self, Retry};
use crate::cloud::client::ApiClient;
use crate::cloud::ecs::InstanceLimits;
use crate::config::{BASE_NAME, ConfigObject, Version};
use crate::inventory::{CloudInventory, KubeadmServiceCidr};

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
        let health = health::process();
        let stores = crate::events::TERWAY_REASONS
            .iter()
            .map(|reason| {
                let cfg = watcher::Config::default()
                    .fields(&format!("reason={reason}"))
                    .page_size(PAGE);
                watch_store(
                    Api::<Event>::all(client.clone()),
                    cfg,
                    EVENTS,
                    &health,
                    narrow_event,
                    None,
                )
            })
            .collect();
        EventStore { stores }
    }
}

/// Drives a watch's stream; `changed` hears of every item (the recompute
/// loop debounces them).
fn drive<S, T, E>(name: &'static str, stream: S, changed: Option<Arc<Notify>>)
where
    S: futures::Stream<Item = Result<T, E>> + Send + 'static,
    T: Send,
    E: std::fmt::Display + Send,
{
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            // Failures are logged and counted by the back-off (super::watch).
            if item.is_ok()
                && let Some(n) = &changed
            {
                n.notify_one();
            }
        }
        tracing::warn!(watch = name, "watch stream ended");
    });
}

/// A narrowed store of `api`'s objects, kept by a watch that backs off while
/// it fails ([`watch::backoff`]) and reports to `health` as `resource`.
pub fn watch_store<K>(
    api: Api<K>,
    cfg: watcher::Config,
    resource: &'static str,
    health: &Arc<WatchHealth>,
    narrow: impl FnMut(&mut K) + Send + 'static,
    changed: Option<Arc<Notify>>,
) -> Store<K>
where
    K: ::kube::Resource
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    let (store, w) = reflector::store::<K>();
    drive(
        resource,
        watch::backoff(watcher(api, cfg), resource, health.clone())
            .modify(narrow)
            .reflect(w)
            .touched_objects(),
        changed,
    );
    store
}

/// Terway's Node CRs (`spec.nodeCap` only). An absent CRD (older Terway,
/// legacy mode) leaves the store empty and is listed again with back-off.
pub fn watch_terway_nodes(
    client: ::kube::Client,
    health: &Arc<WatchHealth>,
    changed: Option<Arc<Notify>>,
) -> Store<TerwayNode> {
    watch_store(
        Api::<TerwayNode>::all(client),
        watcher::Config::default().page_size(PAGE),
        TERWAY_NODES,
        health,
        narrow_terway_node,
        changed,
    )
}

/// Nodes, metadata only (name and labels are all that is read), so the
/// apiserver never sends their status.
pub fn watch_nodes(
    client: ::kube::Client,
    health: &Arc<WatchHealth>,
    changed: Option<Arc<Notify>>,
) -> Store<PartialObjectMeta<Node>> {
    watch_store(
        Api::<PartialObjectMeta<Node>>::all(client),
        watcher::Config::default().page_size(PAGE),
        NODES,
        health,
        |n: &mut PartialObjectMeta<Node>| narrow_node_meta(&mut n.metadata),
        changed,
    )
}

/// `kube-system/kubeadm-config` alone (a field selector: RBAC may name it).
pub fn watch_kubeadm(
    client: ::kube::Client,
    health: &Arc<WatchHealth>,
    changed: Option<Arc<Notify>>,
) -> Store<ConfigMap> {
    watch_store(
        Api::<ConfigMap>::namespaced(client, kubeadm::NAMESPACE),
        watcher::Config::default().fields(&format!("metadata.name={}", kubeadm::NAME)),
        KUBEADM,
        health,
        |cm: &mut ConfigMap| {
            cm.metadata.managed_fields = None;
            cm.binary_data = None;
        },
        changed,
    )
}

/// The kubeadm fallback as the daemon would find it; `None` while unknown
/// (not listed yet, or RBAC forbids the read: the daemon's own RBAC may
/// differ from ours).
pub fn kubeadm_fact(store: &Store<ConfigMap>, health: &WatchHealth) -> Option<KubeadmServiceCidr> {
    let failing = health.failing(KUBEADM).map(|f| f.reason);
    if matches!(failing, Some(Reason::Forbidden | Reason::Unauthorized))
        || !health.was_listed(KUBEADM)
    {
        return None;
    }
    let cms = store.state();
    Some(kubeadm::service_cidr_fact(
        cms.iter()
            .map(|c| &**c)
            .find(|c| c.metadata.name.as_deref() == Some(kubeadm::NAME)),
    ))
}

/// Names of the watched resources (log field, metric label, `/readyz`).
pub const NODES: &str = "nodes";
pub const TERWAY_NODES: &str = "terway-nodes";
pub const ENI_CONFIG: &str = "eni-config";
pub const KUBEADM: &str = "kubeadm-config";
pub const EVENTS: &str = "events";
pub const DAEMONSET: &str = "daemonset";

/// Starts the watchers and the loop that feeds `inventory`.
pub fn spawn(
    client: ::kube::Client,
    terway: Terway,
    inventory: CloudInventory,
    ecs: Option<Arc<ApiClient>>,
) {
    inventory.expect_cluster();
    let health = health::process();
    let changed = Arc::new(Notify::new());
    let namespace = terway.namespace.as_str();
    let daemonsets = Api::<DaemonSet>::namespaced(client.clone(), namespace);

    let node_store = watch_nodes(client.clone(), &health, Some(changed.clone()));
    let terway_store = watch_terway_nodes(client.clone(), &health, Some(changed.clone()));
    let kubeadm_store = watch_kubeadm(client.clone(), &health, Some(changed.clone()));
    let cm_store = watch_store(
        Api::<ConfigMap>::namespaced(client, namespace),
        watcher::Config::default().fields(&format!("metadata.name={BASE_NAME}")),
        ENI_CONFIG,
        &health,
        |_: &mut ConfigMap| {},
        Some(changed.clone()),
    );

    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(60), node_store.wait_until_ready()).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), cm_store.wait_until_ready()).await;
        let mut limits = Limits::default();
        let mut daemonset = Retry::default();
        loop {
            // One small GET: the version changes only with a Terway upgrade.
            // Failing (or absent) it is asked again with back-off.
            if daemonset.due() {
                match daemonsets.get_opt(&terway.daemonset).await {
                    Ok(Some(ds)) => {
                        daemonset.succeeded();
                        health.listed(DAEMONSET);
                        inventory.set_terway_version(version_of(&ds));
                    }
                    Ok(None) => {
                        daemonset.failed();
                        let why = format!(
                            "no DaemonSet {namespace}/{}",
                            terway.daemonset,
                            namespace = terway.namespace
                        );
                        health.failed(DAEMONSET, Reason::NotFound, &why);
                        inventory.set_terway_version(None);
                    }
                    Err(e) => {
                        daemonset.failed();
                        health.failed(DAEMONSET, Reason::of_kube(&e), &e);
                    }
                }
            }
            inventory.set_kubeadm(kubeadm_fact(&kubeadm_store, &health));
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
}
