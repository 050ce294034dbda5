//! The narrow stores the cluster watches keep, each behind a watch that
//! backs off while it fails ([`super::watch::backoff`]) and reports to
//! [`super::health`]. What reads them lives in [`super::cluster`].

use std::sync::Arc;

use ::kube::api::{Api, PartialObjectMeta};
use ::kube::runtime::reflector::{self, Store};
use ::kube::runtime::{WatchStreamExt, watcher};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Node};
use tokio::sync::Notify;

use super::health::{Reason, WatchHealth};
use super::kubeadm;
use super::narrow::{narrow_node_meta, narrow_terway_node};
use super::terway_node::TerwayNode;
use super::watch;
use crate::inventory::KubeadmServiceCidr;

/// Lists in pages this small, so no response holds thousands of objects.
pub const PAGE: u32 = 50;

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

/// Names of the watched resources, kept here under their old paths.
pub use super::resource::{DAEMONSET, ENI_CONFIG, EVENTS, KUBEADM, NODES, TERWAY_NODES};
