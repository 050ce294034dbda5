//! What an expansion reports when it is done.

use ::kube::api::{Api, ListParams};
use k8s_openapi::api::core::v1::{Event, Pod};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub zone: String,
    pub vswitch_id: String,
    pub cidr: String,
    /// The vSwitch existed and was listed rather than created.
    pub reused: bool,
    pub available_ips: u64,
    /// Free IPs of the zone's listed vSwitches before and after.
    pub zone_free_before: u64,
    pub zone_free_after: u64,
    pub snat_entries: Vec<String>,
    /// What was restarted, in words.
    pub restart: String,
    /// The `restartedAt` of a whole-DaemonSet roll (`--restart all`), else empty.
    pub restarted_at: String,
    pub rollout_complete: bool,
    /// Terway pods restarted on the zone's nodes (`--restart zone`).
    pub pods_restarted: usize,
    /// Pods that had failed IP allocation and run now.
    pub pods_recovered: usize,
    pub pods_still_waiting: usize,
    /// Seconds each step took.
    pub took: Vec<(String, f64)>,
}

impl Report {
    pub fn to_text(&self) -> String {
        let took: Vec<String> = self
            .took
            .iter()
            .map(|(s, secs)| format!("{s} {secs:.1} s"))
            .collect();
        format!(
            "Expanded zone {}: vSwitch {} ({}{}) with {} free IPs; SNAT entries: {}\nZone free pod IPs: {} before, {} after\nRestart: {} ({})\nPods that were stuck on IP allocation: {} running now, {} still waiting\nSteps: {}\n",
            self.zone,
            self.vswitch_id,
            self.cidr,
            if self.reused { ", reused" } else { "" },
            self.available_ips,
            if self.snat_entries.is_empty() {
                "none".to_string()
            } else {
                self.snat_entries.join(", ")
            },
            self.zone_free_before,
            self.zone_free_after,
            self.restart,
            if self.rollout_complete {
                "complete"
            } else {
                "still in progress"
            },
            self.pods_recovered,
            self.pods_still_waiting,
            took.join(", ")
        )
    }
}

/// Pods with `AllocIPFailed` events: how many run now, how many still wait.
pub async fn stuck_pods(kube: &::kube::Client) -> Result<(usize, usize), ::kube::Error> {
    let events: Api<Event> = Api::all(kube.clone());
    let list = events
        .list(&ListParams::default().fields("reason=AllocIPFailed"))
        .await?;
    let mut pods: Vec<(String, String)> = list
        .items
        .iter()
        .filter(|e| e.involved_object.kind.as_deref() == Some("Pod"))
        .filter_map(|e| {
            Some((
                e.involved_object.namespace.clone()?,
                e.involved_object.name.clone()?,
            ))
        })
        .collect();
    pods.sort();
    pods.dedup();
    let (mut running, mut waiting) = (0, 0);
    for (ns, name) in pods {
        let api: Api<Pod> = Api::namespaced(kube.clone(), &ns);
        match api.get_opt(&name).await? {
            Some(pod)
                if pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running") =>
            {
                running += 1
            }
            Some(_) => waiting += 1,
            None => {}
        }
    }
    Ok((running, waiting))
}
