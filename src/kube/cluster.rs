//! Watch-backed cluster facts: nodes (zone, capacity, dynamic config), the
//! base `eni-config`, and the cluster's VPC. No API call per admission: the
//! watchers keep stores, a loop turns them into facts for the inventory.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ::kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use ::kube::runtime::reflector::{self, Store};
use ::kube::runtime::{WatchStreamExt, watcher};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Node};

use super::nodes;
use crate::cloud::client::ApiClient;
use crate::cloud::ecs::InstanceLimits;
use crate::config::{BASE_NAME, ConfigObject, Version};
use crate::inventory::CloudInventory;

/// How often the stores are turned into facts.
const RECOMPUTE_EVERY: Duration = Duration::from_secs(15);

fn drive<S: futures::Stream + Send + 'static>(name: &'static str, stream: S) {
    tokio::spawn(async move {
        stream.for_each(|_| futures::future::ready(())).await;
        tracing::warn!(watch = name, "watch stream ended");
    });
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

/// Starts the watchers and the loop that feeds `inventory`.
pub fn spawn(
    client: ::kube::Client,
    terway: Terway,
    inventory: CloudInventory,
    ecs: Option<Arc<ApiClient>>,
) {
    let namespace = terway.namespace.as_str();
    let daemonsets = Api::<DaemonSet>::namespaced(client.clone(), namespace);
    inventory.expect_cluster();
    let (node_store, w) = reflector::store::<Node>();
    drive(
        "nodes",
        watcher(Api::<Node>::all(client.clone()), watcher::Config::default())
            .default_backoff()
            .reflect(w)
            .touched_objects(),
    );

    let gvk = GroupVersionKind::gvk("network.alibabacloud.com", "v1beta1", "Node");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "nodes");
    let w = reflector::store::Writer::<DynamicObject>::new(ar.clone());
    let terway_store = w.as_reader();
    // Absent CRD (older Terway): the watcher backs off and the store stays empty.
    drive(
        "terway nodes",
        watcher(
            Api::<DynamicObject>::all_with(client.clone(), &ar),
            watcher::Config::default(),
        )
        .default_backoff()
        .reflect(w)
        .touched_objects(),
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
    );

    tokio::spawn(async move {
        let _ = tokio::time::timeout(Duration::from_secs(60), node_store.wait_until_ready()).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), cm_store.wait_until_ready()).await;
        let mut limits: HashMap<String, InstanceLimits> = HashMap::new();
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
            tokio::time::sleep(RECOMPUTE_EVERY).await;
        }
    });
}

async fn recompute(
    node_store: &Store<Node>,
    terway_store: &Store<DynamicObject>,
    cm_store: &Store<ConfigMap>,
    inventory: &CloudInventory,
    ecs: Option<&ApiClient>,
    limits: &mut HashMap<String, InstanceLimits>,
) {
    let nodes: Vec<Node> = node_store.state().iter().map(|n| (**n).clone()).collect();
    let terway: Vec<serde_json::Value> = terway_store
        .state()
        .iter()
        .filter_map(|o| serde_json::to_value(&**o).ok())
        .collect();
    let missing = nodes::missing_instance_types(&nodes, &terway, limits);
    if let (Some(ecs), false) = (ecs, missing.is_empty()) {
        match ecs
            .describe_instance_types(&missing, Instant::now() + Duration::from_secs(10))
            .await
        {
            Ok(found) => limits.extend(found),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read instance type limits; those nodes have unknown capacity")
            }
        }
    }
    inventory.set_nodes(nodes::node_facts(&nodes, &terway, limits));
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
