//! Restarting only what needs a restart after a vSwitch is added to a zone.
//!
//! Legacy mode (`ipam_type` unset): each Terway daemon reads `eni_conf` once,
//! at start (daemon/builder.go `newLegacyService` → `LoadGlobalConfig`,
//! `LoadDynamicConfig` → `daemon.GetConfigFromFileWithMerge`), so only the Terway pods on the zone's nodes need a restart to see the new
//! vSwitch. They are restarted in batches, each Ready before the next.
//!
//! CRD mode (`ipam_type: crd`): the daemon re-reads the ConfigMap every time
//! its Terway Node CR reconciles and writes the zone's vSwitches to the CR's
//! `spec.eni.vSwitchOptions` (pkg/eni/node_reconcile.go `Reconcile` →
//! `daemon.ConfigFromConfigMap`; AliyunContainerService/terway@89aadf8). The
//! controller watches only the Node CR (`For(&networkv1beta1.Node{})`), not
//! the ConfigMap, so no pod is restarted: each zone Node CR gets an
//! annotation, which is an update event that makes its daemon reconcile.
//!
//! Resumable: the batch under way is recorded (node, pod, UID) before any pod
//! is deleted, and pods are deleted with a UID precondition, so a run killed
//! mid-batch finishes that batch without deleting a replacement pod.

use ::kube::api::{Api, DeleteParams, PartialObjectMeta, Patch, PatchParams, Preconditions};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{Node, Pod};
use serde_json::json;
use std::collections::BTreeSet;

use super::progress::Progress;
use super::state::{ApplyError, State, Step};
pub use super::state::{BatchPod, RestartScope, ZoneRestart};
use super::target::{Target, save, wait_for};
use crate::kube::nodes::ZONE_LABELS;
use crate::kube::snapshot::paged;
use crate::kube::terway_node::TerwayNode;

/// At least one pod; `percent` of them, rounded up.
pub fn batch_size(total: usize, percent: u8) -> usize {
    (total * usize::from(percent)).div_ceil(100).max(1)
}

/// The next batch: pods on zone nodes not yet done, by node name.
pub fn next_batch(pods: &[BatchPod], done: &[String], size: usize) -> Vec<BatchPod> {
    let mut left: Vec<&BatchPod> = pods.iter().filter(|p| !done.contains(&p.node)).collect();
    left.sort_by(|a, b| a.node.cmp(&b.node));
    left.into_iter().take(size).cloned().collect()
}

/// Names of the nodes in `zone` (either zone label), listed metadata-only in
/// pages as every other node listing is ([`paged`]): a large zone never
/// comes back in one response, and only the names are kept of each page.
pub async fn zone_nodes(kube: &::kube::Client, zone: &str) -> Result<BTreeSet<String>, ApplyError> {
    let api: &Api<PartialObjectMeta<Node>> = &Api::all(kube.clone());
    let mut out = BTreeSet::new();
    for label in ZONE_LABELS {
        let selector = &format!("{label}={zone}");
        let names = paged(
            |lp| async move { api.list_metadata(&lp.labels(selector)).await },
            |n| n.metadata.name,
        )
        .await?;
        out.extend(names);
    }
    Ok(out)
}

/// The DaemonSet's pods on `nodes`, with their UIDs.
pub async fn terway_pods(
    kube: &::kube::Client,
    namespace: &str,
    daemonset: &str,
    nodes: &BTreeSet<String>,
) -> Result<Vec<(BatchPod, bool)>, ApplyError> {
    let ds = Api::<DaemonSet>::namespaced(kube.clone(), namespace)
        .get(daemonset)
        .await?;
    let selector = ds
        .spec
        .and_then(|s| s.selector.match_labels)
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    if selector.is_empty() {
        return Err(ApplyError::Stuck(format!(
            "DaemonSet {namespace}/{daemonset} has no matchLabels selector; restart its pods by hand, or run with --restart all"
        )));
    }
    // One Terway pod per node of the cluster: paged like the nodes, and of
    // each page only the zone's pods are kept.
    let api: &Api<Pod> = &Api::namespaced(kube.clone(), namespace);
    let selector = &selector;
    let pods = paged(
        |lp| async move { api.list(&lp.labels(selector)).await },
        |p| {
            let node = p.spec.as_ref()?.node_name.clone()?;
            if !nodes.contains(&node) || p.metadata.deletion_timestamp.is_some() {
                return None;
            }
            let ready = p
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
            Some((
                BatchPod {
                    node,
                    pod: p.metadata.name?,
                    uid: p.metadata.uid?,
                },
                ready,
            ))
        },
    )
    .await?;
    Ok(pods)
}

/// Deletes the batch's pods, each only if it is still the pod recorded: a
/// replacement is never deleted.
pub async fn delete_batch(
    kube: &::kube::Client,
    namespace: &str,
    batch: &[BatchPod],
) -> Result<usize, ApplyError> {
    let api = Api::<Pod>::namespaced(kube.clone(), namespace);
    let mut deleted = 0;
    for p in batch {
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(p.uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&p.pod, &dp).await {
            Ok(_) => deleted += 1,
            // Gone already, or replaced (UID precondition failed).
            Err(::kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(deleted)
}

/// Whether every node of the batch runs a Ready Terway pod other than the
/// one that was deleted.
pub fn batch_ready(batch: &[BatchPod], now: &[(BatchPod, bool)]) -> bool {
    batch.iter().all(|b| {
        now.iter()
            .any(|(p, ready)| p.node == b.node && p.uid != b.uid && *ready)
    })
}

/// CRD mode: annotates each zone Terway Node CR with the new vSwitch, so its
/// daemon reconciles and lists it; returns how many were nudged.
pub async fn nudge_terway_nodes(
    kube: &::kube::Client,
    nodes: &BTreeSet<String>,
    vswitch: &str,
) -> Result<usize, ApplyError> {
    let api: Api<TerwayNode> = Api::all(kube.clone());
    let patch = json!({"metadata": {"annotations": {NUDGE_ANNOTATION: vswitch}}});
    let mut n = 0;
    for node in nodes {
        match api
            .patch(node, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => n += 1,
            Err(::kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}

/// CRD mode: zone nodes whose Terway Node CR does not list `vswitch` yet.
pub async fn nodes_without(
    kube: &::kube::Client,
    nodes: &BTreeSet<String>,
    vswitch: &str,
) -> Result<Vec<String>, ApplyError> {
    let api: Api<::kube::api::DynamicObject> = Api::all_with(
        kube.clone(),
        &::kube::api::ApiResource::erase::<TerwayNode>(&()),
    );
    let mut out = Vec::new();
    for node in nodes {
        let listed = api.get_opt(node).await?.is_some_and(|o| {
            o.data
                .pointer("/spec/eni/vSwitchOptions")
                .and_then(|v| v.as_array())
                .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(vswitch)))
        });
        if !listed {
            out.push(node.clone());
        }
    }
    Ok(out)
}

/// The annotation that nudges a Terway Node CR to reconcile (CRD mode).
pub const NUDGE_ANNOTATION: &str = "terway-guard.io/vswitch-added";

/// `--restart zone`: restarts (legacy) or nudges (CRD) what runs on the
/// zone's nodes; returns what was done, and whether it finished.
pub(super) async fn zone(
    t: &Target<'_>,
    st: &mut State,
    p: &mut Progress,
    vswitch: &str,
    crd: bool,
) -> Result<(String, bool), ApplyError> {
    let nodes = zone_nodes(&t.kube, &st.zone).await?;
    if crd {
        return nudge(t, st, p, vswitch, &nodes).await;
    }
    let mut zr = match st.restart.clone() {
        Some(z) => z,
        None => {
            let total = terway_pods(&t.kube, &t.namespace, &t.daemonset, &nodes)
                .await?
                .len();
            ZoneRestart {
                total,
                batch_size: batch_size(total, t.batch_percent),
                ..ZoneRestart::default()
            }
        }
    };
    loop {
        if zr.batch.is_empty() {
            let pods: Vec<BatchPod> = terway_pods(&t.kube, &t.namespace, &t.daemonset, &nodes)
                .await?
                .into_iter()
                .map(|(p, _)| p)
                .collect();
            zr.batch = next_batch(&pods, &zr.done, zr.batch_size);
            if zr.batch.is_empty() {
                break;
            }
            // Recorded before anything is deleted: a killed run finishes
            // this batch, and no other.
            st.restart = Some(zr.clone());
            save(t, st, |_| None).await?;
        }
        (p.say)(&format!(
            "restarting Terway on {} of {} nodes in {} (batch {}): {}",
            zr.batch.len(),
            zr.total,
            st.zone,
            zr.batches_done + 1,
            zr.batch
                .iter()
                .map(|b| b.node.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        t.ensure()?;
        delete_batch(&t.kube, &t.namespace, &zr.batch).await?;
        p.done(Step::BatchDeleted(zr.batches_done))?;
        let (batch, nodes) = (&zr.batch, &nodes);
        wait_for(
            t,
            p,
            &format!("batch {} to be Ready", zr.batches_done + 1),
            t.rollout_timeout,
            || async move {
                let now = terway_pods(&t.kube, &t.namespace, &t.daemonset, nodes).await?;
                Ok(batch_ready(batch, &now))
            },
        )
        .await?;
        zr.done.extend(zr.batch.drain(..).map(|b| b.node));
        zr.batches_done += 1;
        st.restart = Some(zr.clone());
        save(t, st, |_| None).await?;
    }
    Ok((
        format!(
            "{} Terway pods on the nodes of {} restarted in {} batches of up to {}; pods in other zones untouched",
            zr.done.len(),
            st.zone,
            zr.batches_done,
            zr.batch_size
        ),
        true,
    ))
}

async fn nudge(
    t: &Target<'_>,
    st: &mut State,
    p: &mut Progress,
    vswitch: &str,
    nodes: &BTreeSet<String>,
) -> Result<(String, bool), ApplyError> {
    let mut zr = st.restart.clone().unwrap_or_default();
    if zr.nudged == 0 && !nodes.is_empty() {
        (p.say)(&format!(
            "CRD mode: no Terway pod needs a restart; asking the {} Terway Node resources of {} to reconcile",
            nodes.len(),
            st.zone
        ));
        t.ensure()?;
        zr.nudged = nudge_terway_nodes(&t.kube, nodes, vswitch).await?.max(1);
        st.restart = Some(zr.clone());
        save(t, st, |_| None).await?;
    }
    let listed = wait_for(
        t,
        p,
        &format!("the zone's Terway Node resources to list {vswitch}"),
        t.rollout_timeout,
        || async move { Ok(nodes_without(&t.kube, nodes, vswitch).await?.is_empty()) },
    )
    .await;
    if matches!(listed, Err(ApplyError::LostLead)) {
        return Err(ApplyError::LostLead);
    }
    let missing = nodes_without(&t.kube, nodes, vswitch).await?;
    Ok((
        format!(
            "no pod restarted (CRD mode: each daemon re-reads eni-config when its Terway Node resource reconciles); {} of {} Terway Node resources in {} list {vswitch}",
            nodes.len() - missing.len(),
            nodes.len(),
            st.zone
        ),
        missing.is_empty(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(node: &str, uid: &str) -> BatchPod {
        BatchPod {
            node: node.into(),
            pod: format!("terway-{node}"),
            uid: uid.into(),
        }
    }

    #[test]
    fn batches_are_a_share_of_the_zone_and_at_least_one() {
        for (total, pct, want) in [
            (0, 10, 1),
            (1, 10, 1),
            (9, 10, 1),
            (10, 10, 1),
            (11, 10, 2),
            (40, 10, 4),
            (40, 25, 10),
            (3, 100, 3),
        ] {
            assert_eq!(batch_size(total, pct), want, "{total} × {pct} %");
        }
    }

    #[test]
    fn next_batch_skips_done_nodes_in_name_order() {
        let pods = [pod("n3", "a"), pod("n1", "b"), pod("n2", "c")];
        let got: Vec<String> = next_batch(&pods, &["n1".into()], 1)
            .into_iter()
            .map(|p| p.node)
            .collect();
        assert_eq!(got, ["n2"]);
        assert!(next_batch(&pods, &["n1".into(), "n2".into(), "n3".into()], 5).is_empty());
    }

    #[test]
    fn a_batch_is_ready_when_each_node_runs_a_new_ready_pod() {
        let batch = [pod("n1", "old1"), pod("n2", "old2")];
        let cases = [
            (
                vec![(pod("n1", "new1"), true), (pod("n2", "new2"), true)],
                true,
            ),
            // The old pod still there counts for nothing.
            (
                vec![(pod("n1", "old1"), true), (pod("n2", "new2"), true)],
                false,
            ),
            (
                vec![(pod("n1", "new1"), false), (pod("n2", "new2"), true)],
                false,
            ),
            (vec![(pod("n2", "new2"), true)], false),
        ];
        for (now, want) in cases {
            assert_eq!(batch_ready(&batch, &now), want, "{now:?}");
        }
    }
}
