//! Facts the rules need that the ConfigMap does not hold.
//!
//! The rules take a plain [`Facts`] value; an [`Inventory`] is where facts
//! come from (a static file now; the cloud and the cluster later).

pub mod cloud;
pub mod static_file;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;

use ipnet::IpNet;

pub use cloud::{CloudConfig, CloudInventory};
pub use static_file::StaticInventory;

#[derive(Debug, Clone, PartialEq)]
pub struct VSwitchFact {
    pub id: String,
    pub vpc: String,
    pub zone: String,
    pub cidr: IpNet,
    pub available_ips: u64,
}

/// What is known about one vSwitch id.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Found(VSwitchFact),
    /// The source is authoritative and has no such vSwitch.
    NotFound,
    /// The source could not answer (the reason is safe to show).
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct VpcFact {
    pub id: String,
    pub cidrs: Vec<IpNet>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeFact {
    pub name: String,
    pub zone: String,
    /// Pod IPs the node can hold, when known only as a number (a static
    /// inventory); [`crate::capacity::pod_ips`] prefers `limits`.
    pub max_pod_ips: Option<u64>,
    /// The ENI limits of the node's instance type, when known.
    pub limits: Option<NodeLimits>,
    /// The dynamic config the node uses (`terway-config` label), if any.
    pub config: Option<String>,
    /// Whether Terway has created its Node CR for it (CRD IPAM).
    pub terway_node: bool,
    /// Labelled `k8s.aliyun.com/exclusive-mode-eni-type: eniOnly`.
    pub exclusive_eni: bool,
}

/// Nodes that share every fact the rules read (zone, dynamic config, limits,
/// capacity, exclusive ENIs): one of them and how many. A cluster of
/// thousands of nodes has a handful of these, so per-admission work does not
/// grow with the node count.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeGroup {
    pub node: NodeFact,
    pub count: usize,
}

/// Groups `nodes`; the first node of a group names it.
pub fn group_nodes(nodes: &[NodeFact]) -> Vec<NodeGroup> {
    type Key<'a> = (
        &'a str,
        Option<&'a str>,
        Option<NodeLimits>,
        Option<u64>,
        bool,
        bool,
    );
    let mut index: std::collections::HashMap<Key, usize> = std::collections::HashMap::new();
    let mut out: Vec<NodeGroup> = Vec::new();
    for n in nodes {
        let key = (
            n.zone.as_str(),
            n.config.as_deref(),
            n.limits,
            n.max_pod_ips,
            n.exclusive_eni,
            n.terway_node,
        );
        match index.get(&key) {
            Some(&i) => out[i].count += 1,
            None => {
                index.insert(key, out.len());
                out.push(NodeGroup {
                    node: n.clone(),
                    count: 1,
                });
            }
        }
    }
    out
}

/// ENI limits of an instance type, as Terway reads them (pkg/aliyun/client/limit.go
/// `Limits`; the Node CR's `spec.nodeCap`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NodeLimits {
    /// ENIs the instance can attach, the primary one included.
    pub adapters: u64,
    /// Adapters across all network cards (prefix mode counts these).
    pub total_adapters: u64,
    pub ipv4_per_adapter: u64,
    /// ERDMA-capable adapters (0 when unknown or none).
    pub erdma_adapters: u64,
}

/// An SNAT entry: traffic from a vSwitch (or a CIDR) leaves through `snat_ip`.
#[derive(Debug, Clone, PartialEq)]
pub struct SnatEntryFact {
    pub snat_table_id: String,
    pub source_vswitch: Option<String>,
    pub source_cidr: Option<IpNet>,
    pub snat_ip: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NatGatewayFact {
    pub id: String,
    pub vpc: String,
    pub snat_table_ids: Vec<String>,
    pub snat_entries: Vec<SnatEntryFact>,
}

/// Everything about one VPC the expansion planner needs: its CIDR blocks,
/// all of its vSwitches (not only the listed ones) and its NAT gateways.
#[derive(Debug, Clone, PartialEq)]
pub struct VpcView {
    pub vpc: VpcFact,
    pub vswitches: Vec<VSwitchFact>,
    pub nat_gateways: Vec<NatGatewayFact>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The Terway release the cluster runs (its DaemonSet's image tag).
    pub terway_version: Option<crate::config::Version>,
    pub region: Option<String>,
    pub cluster_vpc: Option<String>,
    pub vpcs: Vec<VpcFact>,
    pub vswitches: BTreeMap<String, Lookup>,
    /// Shared, not copied: a request's facts point at the same node list.
    pub nodes: std::sync::Arc<Vec<NodeFact>>,
    /// `nodes` grouped ([`group_nodes`]), computed once when they are set.
    pub node_groups: std::sync::Arc<Vec<NodeGroup>>,
    /// The daemon's fallback for `service_cidr`: kube-system/kubeadm-config.
    /// `None` when the cluster is not watched (offline, `check`).
    pub kubeadm: Option<KubeadmServiceCidr>,
}

/// What the daemon finds when `service_cidr` has no IPv4 block and it falls
/// back to `kube-system/kubeadm-config` (pkg/k8s/k8s.go
/// `serviceCidrFromAPIServer`: data key `networking`, else
/// `ClusterConfiguration`, YAML `networking.serviceSubnet`, parsed as a CIDR).
#[derive(Debug, Clone, PartialEq)]
pub enum KubeadmServiceCidr {
    /// The fallback works: the serviceSubnet it yields.
    Usable(String),
    /// The fallback fails, and why (absent ConfigMap, no serviceSubnet, not a CIDR).
    Unusable(String),
}

impl Facts {
    /// Sets the nodes and their groups together.
    pub fn set_nodes(&mut self, nodes: Vec<NodeFact>) {
        self.node_groups = std::sync::Arc::new(group_nodes(&nodes));
        self.nodes = std::sync::Arc::new(nodes);
    }

    /// The node groups; computed here when the facts were built by hand.
    pub fn groups(&self) -> std::borrow::Cow<'_, [NodeGroup]> {
        if self.node_groups.is_empty() && !self.nodes.is_empty() {
            std::borrow::Cow::Owned(group_nodes(&self.nodes))
        } else {
            std::borrow::Cow::Borrowed(&self.node_groups)
        }
    }

    pub fn vswitch(&self, id: &str) -> Option<&Lookup> {
        self.vswitches.get(id)
    }

    /// The VPC most of the found vSwitches are in.
    pub fn majority_vpc(&self) -> Option<String> {
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for l in self.vswitches.values() {
            if let Lookup::Found(v) = l {
                *count.entry(&v.vpc).or_default() += 1;
            }
        }
        count
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .map(|(v, _)| v.to_string())
    }

    pub fn found(&self, id: &str) -> Option<&VSwitchFact> {
        match self.vswitches.get(id) {
            Some(Lookup::Found(v)) => Some(v),
            _ => None,
        }
    }
}

/// Addresses a vSwitch can hand out: the block minus the first and the
/// last three, which Alibaba Cloud reserves.
pub fn usable_ips(cidr: &IpNet) -> u64 {
    let host_bits = u32::from(cidr.max_prefix_len() - cidr.prefix_len()).min(63);
    (1u64 << host_bits).saturating_sub(4)
}

/// The vSwitch ids a decision needs facts about.
pub type Query = BTreeSet<String>;

/// The query for a set of ConfigMaps: every vSwitch any of them lists.
pub fn query_for<'a>(objects: impl IntoIterator<Item = &'a crate::config::ConfigObject>) -> Query {
    let mut query = Query::new();
    for conf in objects
        .into_iter()
        .filter_map(crate::config::ConfigObject::eni_conf)
    {
        // Copied once per distinct id, however often the objects list it.
        for l in conf.vswitches() {
            if !query.contains(&l.id) {
                query.insert(l.id.clone());
            }
        }
    }
    query
}

pub type FactsFuture<'a> = Pin<Box<dyn Future<Output = Facts> + Send + 'a>>;

/// A source of facts. Implementations must answer every queried id
/// (found, not found, or failed) and never panic.
pub trait Inventory: Send + Sync {
    fn facts<'a>(&'a self, query: &'a Query) -> FactsFuture<'a>;

    /// Whether the first sync has completed (for `/readyz`).
    fn ready(&self) -> bool {
        true
    }

    /// Every vSwitch the source currently knows (for the free-IP gauges).
    fn known(&self) -> Vec<VSwitchFact> {
        Vec::new()
    }

    /// The base `eni-config`, when the source watches the cluster (to judge
    /// dynamic configs merged onto it).
    fn base_config(&self) -> Option<crate::config::ConfigObject> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_that_differ_only_by_name_are_one_group() {
        let node = |name: &str, zone: &str, adapters: u64| NodeFact {
            name: name.into(),
            zone: zone.into(),
            limits: Some(NodeLimits {
                adapters,
                total_adapters: adapters,
                ipv4_per_adapter: 15,
                erdma_adapters: 0,
            }),
            ..NodeFact::default()
        };
        let mut nodes: Vec<NodeFact> = (0..5000)
            .map(|i| node(&format!("n{i}"), ["f", "g"][i % 2], 4))
            .collect();
        nodes.push(node("big", "f", 8));
        let groups = group_nodes(&nodes);
        let counts: Vec<(&str, &str, usize)> = groups
            .iter()
            .map(|g| (g.node.name.as_str(), g.node.zone.as_str(), g.count))
            .collect();
        assert_eq!(
            counts,
            [("n0", "f", 2500), ("n1", "g", 2500), ("big", "f", 1)]
        );
        let mut facts = Facts::default();
        facts.set_nodes(nodes);
        assert_eq!(facts.groups().len(), 3);
        let by_hand = Facts {
            nodes: facts.nodes.clone(),
            ..Facts::default()
        };
        assert_eq!(by_hand.groups().as_ref(), facts.groups().as_ref());
    }
}
