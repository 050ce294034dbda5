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
use ::kube::runtime::reflector::Store;
use ::kube::runtime::watcher;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Node};
use tokio::sync::Notify;

use super::health::{self, Reason};
use super::narrow::narrow_event;
use super::nodes;
use super::terway_node::TerwayNode;
use super::watch::Retry;
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

pub use super::stores::{
    DAEMONSET, ENI_CONFIG, EVENTS, KUBEADM, NODES, PAGE, TERWAY_NODES, kubeadm_fact, watch_kubeadm,
    watch_nodes, watch_store, watch_terway_nodes,
};

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
        let stores = super::terway_events::TERWAY_REASONS
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
