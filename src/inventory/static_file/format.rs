//! The static inventory's file format, as serde reads it: every key known
//! (unknown keys are refused), every value still a string to check.

use serde::Deserialize;

use crate::inventory::KubeadmServiceCidr;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct File {
    /// The Terway release the cluster runs, e.g. `v1.16.4`.
    pub(super) terway_version: Option<String>,
    pub(super) region: Option<String>,
    pub(super) cluster_vpc: Option<String>,
    #[serde(default)]
    pub(super) vpcs: Vec<VpcEntry>,
    #[serde(default)]
    pub(super) vswitches: Vec<VSwitchEntry>,
    #[serde(default)]
    pub(super) nodes: Vec<NodeEntry>,
    #[serde(default)]
    pub(super) nat_gateways: Vec<NatEntry>,
    /// kube-system/kubeadm-config as the cluster has it (the daemon's
    /// `service_cidr` fallback); unset: not known, as offline.
    pub(super) kubeadm_config: Option<KubeadmEntry>,
}

/// `absent`, or the ConfigMap with its `networking.serviceSubnet` (if any).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum KubeadmEntry {
    Absent(String),
    Present(KubeadmPresent),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KubeadmPresent {
    pub(super) service_subnet: Option<String>,
}

impl KubeadmEntry {
    /// What the daemon's fallback would find (pkg/k8s/k8s.go
    /// serviceCidrFromAPIServer parses the subnet with net.ParseCIDR).
    pub(super) fn fact(self) -> Result<KubeadmServiceCidr, String> {
        Ok(match self {
            KubeadmEntry::Absent(s) if s == "absent" => {
                KubeadmServiceCidr::Unusable("it does not exist".into())
            }
            KubeadmEntry::Absent(s) => {
                return Err(format!(
                    "kubeadm_config: {s:?}; write `absent` or `{{service_subnet: 10.96.0.0/12}}`"
                ));
            }
            KubeadmEntry::Present(KubeadmPresent {
                service_subnet: None,
            }) => KubeadmServiceCidr::Unusable("it has no networking.serviceSubnet".into()),
            KubeadmEntry::Present(KubeadmPresent {
                service_subnet: Some(s),
            }) => match crate::config::strconv::parse_cidr(&s) {
                Some(_) => KubeadmServiceCidr::Usable(s),
                None => KubeadmServiceCidr::Unusable(format!(
                    "its serviceSubnet {s:?} is not a CIDR Go reads"
                )),
            },
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NatEntry {
    pub(super) id: String,
    pub(super) vpc: String,
    #[serde(default)]
    pub(super) snat_table_ids: Vec<String>,
    #[serde(default)]
    pub(super) snat_entries: Vec<SnatEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SnatEntry {
    pub(super) snat_table_id: String,
    pub(super) source_vswitch: Option<String>,
    pub(super) source_cidr: Option<String>,
    pub(super) snat_ip: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VpcEntry {
    pub(super) id: String,
    #[serde(default)]
    pub(super) cidrs: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct VSwitchEntry {
    pub(super) id: String,
    pub(super) vpc: String,
    pub(super) zone: String,
    pub(super) cidr: String,
    pub(super) available_ips: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NodeEntry {
    pub(super) name: String,
    pub(super) zone: String,
    pub(super) max_pod_ips: Option<u64>,
    /// ENI limits of the instance type (what the Node CR's `nodeCap` says):
    /// with these, capacity follows the config's mode and ENI settings.
    pub(super) adapters: Option<u64>,
    pub(super) total_adapters: Option<u64>,
    pub(super) ipv4_per_adapter: Option<u64>,
    #[serde(default)]
    pub(super) erdma_adapters: u64,
    /// Name of the dynamic config the node uses (its `terway-config` label).
    pub(super) config: Option<String>,
    #[serde(default)]
    pub(super) terway_node: bool,
    #[serde(default)]
    pub(super) exclusive_eni: bool,
}
