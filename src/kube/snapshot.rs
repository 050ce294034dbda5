//! One-shot reads of cluster facts for commands like `status` (no watches).

use std::time::{Duration, Instant};

use ::kube::api::{Api, ListParams, ObjectList};
use k8s_openapi::api::core::v1::{ConfigMap, Node};

use super::narrow::{narrow_node_meta, narrow_terway_node};
use super::nodes;
use super::stores::PAGE;
use super::terway_node::TerwayNode;
use crate::cloud::client::ApiClient;
use crate::config::{BASE_NAME, ConfigObject};
use crate::inventory::NodeFact;

/// The base `eni-config` of `namespace`, or `None` when there is none.
pub async fn base_config(
    client: &::kube::Client,
    namespace: &str,
) -> Result<Option<ConfigObject>, ::kube::Error> {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    Ok(cms
        .get_opt(BASE_NAME)
        .await?
        .map(|cm| ConfigObject::from_configmap(&cm)))
}

/// The vSwitch ids each dynamic config in `namespace` lists, by config name.
pub async fn dynamic_listings(
    client: &::kube::Client,
    namespace: &str,
) -> Result<Vec<(String, Vec<String>)>, ::kube::Error> {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    Ok(cms
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .map(ConfigObject::from_configmap)
        .filter(|c| c.role() == crate::config::Role::Dynamic)
        .map(|c| {
            let ids = c
                .eni_conf()
                .map(|conf| conf.vswitches().iter().map(|l| l.id.clone()).collect())
                .unwrap_or_default();
            (c.name, ids)
        })
        .collect())
}

/// Terway's recent events (ConfigError and the exhaustion reasons), one
/// field-selected list per reason.
pub async fn terway_events(
    client: &::kube::Client,
) -> Result<Vec<k8s_openapi::api::core::v1::Event>, ::kube::Error> {
    let api: Api<k8s_openapi::api::core::v1::Event> = Api::all(client.clone());
    let mut out = Vec::new();
    for reason in super::terway_events::TERWAY_REASONS {
        out.extend(
            api.list(&ListParams::default().fields(&format!("reason={reason}")))
                .await?
                .items,
        );
    }
    Ok(out)
}

/// The node of each pod an exhaustion event names (at most 50 pods read).
pub async fn pod_nodes(
    client: &::kube::Client,
    events: &[k8s_openapi::api::core::v1::Event],
) -> Result<std::collections::BTreeMap<(String, String), String>, ::kube::Error> {
    let mut out = std::collections::BTreeMap::new();
    let pods = events
        .iter()
        .filter(|e| super::terway_events::is_exhaustion(e))
        .filter(|e| e.involved_object.kind.as_deref() == Some("Pod"))
        .filter_map(|e| {
            let o = &e.involved_object;
            Some((o.namespace.clone()?, o.name.clone()?))
        });
    let mut wanted: Vec<(String, String)> = pods.collect();
    wanted.sort();
    wanted.dedup();
    for (ns, name) in wanted.into_iter().take(50) {
        let pod = Api::<k8s_openapi::api::core::v1::Pod>::namespaced(client.clone(), &ns)
            .get_opt(&name)
            .await?;
        if let Some(node) = pod.and_then(|p| p.spec).and_then(|s| s.node_name) {
            out.insert((ns, name), node);
        }
    }
    Ok(out)
}

/// Every item of a list asked for in pages as small as the watchers'
/// ([`super::stores::PAGE`]), so no response holds thousands of objects;
/// `keep` narrows each page's items, or drops them (`None`), before the next
/// page is asked for.
/// `list` may add selectors to the page's parameters; it must keep `limit`
/// and `continue`.
pub(crate) async fn paged<T, U, F>(
    mut list: impl FnMut(ListParams) -> F,
    mut keep: impl FnMut(T) -> Option<U>,
) -> Result<Vec<U>, ::kube::Error>
where
    T: Clone,
    F: std::future::Future<Output = Result<ObjectList<T>, ::kube::Error>>,
{
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut lp = ListParams::default().limit(PAGE);
        lp.continue_token = token.take();
        let page = list(lp).await?;
        out.extend(page.items.into_iter().filter_map(&mut keep));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(c) => token = Some(c),
            None => return Ok(out),
        }
    }
}

/// Every node's metadata as the node watch keeps it: listed metadata-only,
/// in pages.
pub async fn node_metas(
    client: &::kube::Client,
) -> Result<Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>, ::kube::Error> {
    let api: &Api<Node> = &Api::all(client.clone());
    paged(
        |lp| async move { api.list_metadata(&lp).await },
        |mut n| {
            narrow_node_meta(&mut n.metadata);
            Some(n.metadata)
        },
    )
    .await
}

/// Terway's Node CRs, in pages, each decoded straight into the narrow
/// [`TerwayNode`] (`spec.nodeCap` only).
pub async fn terway_nodes(client: &::kube::Client) -> Result<Vec<TerwayNode>, ::kube::Error> {
    let api: &Api<TerwayNode> = &Api::all(client.clone());
    paged(
        |lp| async move { api.list(&lp).await },
        |mut t| {
            narrow_terway_node(&mut t);
            Some(t)
        },
    )
    .await
}

/// Every node's facts; capacities from Terway's Node resources where the
/// CRD exists, else from the instance types via ECS (when a client is given).
/// Listed as the watchers list ([`node_metas`], [`terway_nodes`]), once.
pub async fn node_facts(
    client: &::kube::Client,
    ecs: Option<&ApiClient>,
) -> Result<Vec<NodeFact>, ::kube::Error> {
    let list = node_metas(client).await?;
    // Older Terway versions have no such CRD; that only means no capacities from it.
    let terway = match terway_nodes(client).await {
        Ok(t) => t,
        Err(e) => {
            tracing::debug!(error = %e, "no Terway Node resources");
            Vec::new()
        }
    };
    let metas = || list.iter();
    let mut limits = std::collections::HashMap::new();
    let missing = nodes::missing_instance_types(metas(), &terway, &limits);
    if let (Some(ecs), false) = (ecs, missing.is_empty()) {
        match ecs
            .describe_instance_types(&missing, Instant::now() + Duration::from_secs(10))
            .await
        {
            Ok(found) => limits.extend(found),
            Err(e) => tracing::warn!(error = %e, "cannot read instance type limits"),
        }
    }
    Ok(nodes::node_facts(metas(), &terway, &limits))
}
