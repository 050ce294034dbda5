//! What the inventory answers: the facts for one review, read through the
//! cache, and the whole-VPC view the planner asks for.

use std::time::Instant;

use super::cache::to_lookup;
use super::{CloudInventory, lock};
use crate::cloud::client::CloudError;
use crate::cloud::vpc::VSwitchFilter;
use crate::inventory::{Facts, Lookup, NatGatewayFact, Query, SnatEntryFact, VpcFact, VpcView};

impl CloudInventory {
    /// Lists the cluster's VPC unless it was listed within `listing_every`;
    /// concurrent callers share one listing.
    pub(super) async fn list_vpc_if_stale(&self, vpc: &str) {
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

    pub(super) async fn gather(&self, query: &Query) -> Facts {
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
}
