//! The static YAML inventory (offline use, tests, demos).
//!
//! The file's format is in `static_file/format.rs`; this file turns it into
//! facts and serves them.

mod format;

use std::collections::BTreeMap;

use ipnet::IpNet;

use super::{
    Facts, FactsFuture, Inventory, Lookup, NatGatewayFact, NodeFact, NodeLimits, Query,
    SnatEntryFact, VSwitchFact, VpcFact, VpcView,
};
use format::{File, KubeadmEntry};

#[derive(Debug, thiserror::Error)]
pub enum StaticError {
    #[error("cannot read inventory {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("inventory {path} is not valid: {message}")]
    Invalid { path: String, message: String },
}

/// An inventory read once from a YAML file; it is authoritative: a vSwitch it
/// does not list does not exist.
#[derive(Debug, Clone)]
pub struct StaticInventory {
    facts: Facts,
    nat_gateways: Vec<NatGatewayFact>,
}

impl StaticInventory {
    pub fn load(path: &str) -> Result<Self, StaticError> {
        let text = std::fs::read_to_string(path).map_err(|source| StaticError::Read {
            path: path.to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|message| StaticError::Invalid {
            path: path.to_string(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let file: File = serde_saphyr::from_str(text)
            .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_string())?;
        let cidr = |s: &str, what: &str| -> Result<IpNet, String> {
            s.parse::<IpNet>()
                .map(|n| n.trunc())
                .map_err(|_| format!("{what}: {s:?} is not a CIDR block"))
        };
        let mut vswitches = BTreeMap::new();
        for v in file.vswitches {
            let fact = VSwitchFact {
                cidr: cidr(&v.cidr, &v.id)?,
                id: v.id.clone(),
                vpc: v.vpc,
                zone: v.zone,
                available_ips: v.available_ips,
            };
            if vswitches
                .insert(v.id.clone(), Lookup::Found(fact))
                .is_some()
            {
                return Err(format!("vSwitch {} is listed twice", v.id));
            }
        }
        let vpcs = file
            .vpcs
            .into_iter()
            .map(|v| {
                let cidrs = v
                    .cidrs
                    .iter()
                    .map(|c| cidr(c, &v.id))
                    .collect::<Result<_, _>>()?;
                Ok(VpcFact { id: v.id, cidrs })
            })
            .collect::<Result<_, String>>()?;
        let nodes = file
            .nodes
            .into_iter()
            .map(|n| NodeFact {
                limits: match (n.adapters, n.ipv4_per_adapter) {
                    (Some(adapters), Some(per)) => Some(NodeLimits {
                        adapters,
                        total_adapters: n.total_adapters.unwrap_or(adapters),
                        ipv4_per_adapter: per,
                        erdma_adapters: n.erdma_adapters,
                    }),
                    _ => None,
                },
                name: n.name,
                zone: n.zone,
                max_pod_ips: n.max_pod_ips,
                config: n.config,
                terway_node: n.terway_node,
                exclusive_eni: n.exclusive_eni,
            })
            .collect::<Vec<NodeFact>>();
        let node_groups = std::sync::Arc::new(super::group_nodes(&nodes));
        let nodes = std::sync::Arc::new(nodes);
        let terway_version = file
            .terway_version
            .as_deref()
            .map(str::parse::<crate::config::Version>)
            .transpose()?;
        let kubeadm = file.kubeadm_config.map(KubeadmEntry::fact).transpose()?;
        let nat_gateways = file
            .nat_gateways
            .into_iter()
            .map(|g| {
                let snat_entries = g
                    .snat_entries
                    .into_iter()
                    .map(|e| {
                        Ok(SnatEntryFact {
                            source_cidr: e
                                .source_cidr
                                .as_deref()
                                .map(|c| cidr(c, &g.id))
                                .transpose()?,
                            snat_table_id: e.snat_table_id,
                            source_vswitch: e.source_vswitch,
                            snat_ip: e.snat_ip,
                        })
                    })
                    .collect::<Result<_, String>>()?;
                Ok(NatGatewayFact {
                    id: g.id,
                    vpc: g.vpc,
                    snat_table_ids: g.snat_table_ids,
                    snat_entries,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(StaticInventory {
            nat_gateways,
            facts: Facts {
                terway_version,
                region: file.region,
                cluster_vpc: file.cluster_vpc,
                vpcs,
                vswitches,
                nodes,
                kubeadm,
                node_groups,
            },
        })
    }

    /// The whole of one VPC, as the planner needs it.
    pub fn vpc_view(&self, vpc_id: &str) -> Option<VpcView> {
        let vpc = self.facts.vpcs.iter().find(|v| v.id == vpc_id)?.clone();
        let vswitches = self
            .facts
            .vswitches
            .values()
            .filter_map(|l| match l {
                Lookup::Found(v) if v.vpc == vpc_id => Some(v.clone()),
                _ => None,
            })
            .collect();
        let nat_gateways = self
            .nat_gateways
            .iter()
            .filter(|g| g.vpc == vpc_id)
            .cloned()
            .collect();
        Some(VpcView {
            vpc,
            vswitches,
            nat_gateways,
        })
    }

    /// The facts for `query`: every queried id is found or not found.
    pub fn snapshot(&self, query: &Query) -> Facts {
        let vswitches = query
            .iter()
            .map(|id| {
                let fact = self
                    .facts
                    .vswitches
                    .get(id)
                    .cloned()
                    .unwrap_or(Lookup::NotFound);
                (id.clone(), fact)
            })
            .collect();
        // Field by field: cloning the whole facts would copy every vSwitch
        // the file knows, per review.
        let f = &self.facts;
        Facts {
            terway_version: f.terway_version,
            region: f.region.clone(),
            cluster_vpc: f.cluster_vpc.clone(),
            vpcs: f.vpcs.clone(),
            vswitches,
            nodes: f.nodes.clone(),
            node_groups: f.node_groups.clone(),
            kubeadm: f.kubeadm.clone(),
        }
    }
}

impl Inventory for StaticInventory {
    fn facts<'a>(&'a self, query: &'a Query) -> FactsFuture<'a> {
        Box::pin(std::future::ready(self.snapshot(query)))
    }

    fn known(&self) -> Vec<VSwitchFact> {
        self.facts
            .vswitches
            .values()
            .filter_map(|l| match l {
                Lookup::Found(v) => Some(v.clone()),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::KubeadmServiceCidr;

    const SAMPLE: &str = r#"
region: cn-shanghai
vpcs:
  - {id: vpc-1, cidrs: ["192.168.0.0/16"]}
vswitches:
  - {id: vsw-a, vpc: vpc-1, zone: cn-shanghai-f, cidr: 192.168.0.0/24, available_ips: 2}
nodes:
  - {name: node-1, zone: cn-shanghai-f, max_pod_ips: 100}
"#;

    #[test]
    fn reads_the_documented_format() {
        let inv = StaticInventory::parse(SAMPLE).unwrap();
        let q: Query = ["vsw-a".to_string(), "vsw-zz".to_string()].into();
        let facts = inv.snapshot(&q);
        assert_eq!(facts.region.as_deref(), Some("cn-shanghai"));
        assert_eq!(facts.found("vsw-a").unwrap().available_ips, 2);
        assert_eq!(facts.found("vsw-a").unwrap().cidr.prefix_len(), 24);
        assert_eq!(facts.vswitch("vsw-zz"), Some(&Lookup::NotFound));
        assert_eq!(facts.nodes[0].max_pod_ips, Some(100));
        assert_eq!(facts.vpcs[0].cidrs.len(), 1);
    }

    #[test]
    fn states_kubeadm_config() {
        let cases: &[(&str, Option<KubeadmServiceCidr>)] = &[
            ("", None),
            (
                "kubeadm_config: absent\n",
                Some(KubeadmServiceCidr::Unusable("it does not exist".into())),
            ),
            (
                "kubeadm_config: {}\n",
                Some(KubeadmServiceCidr::Unusable(
                    "it has no networking.serviceSubnet".into(),
                )),
            ),
            (
                "kubeadm_config: {service_subnet: 10.96.0.0/12}\n",
                Some(KubeadmServiceCidr::Usable("10.96.0.0/12".into())),
            ),
            (
                "kubeadm_config: {service_subnet: 10.096.0.0/12}\n",
                Some(KubeadmServiceCidr::Unusable(
                    "its serviceSubnet \"10.096.0.0/12\" is not a CIDR Go reads".into(),
                )),
            ),
        ];
        for (text, want) in cases {
            let inv = StaticInventory::parse(text).unwrap();
            assert_eq!(&inv.snapshot(&Query::default()).kubeadm, want, "{text}");
        }
        let err = StaticInventory::parse("kubeadm_config: gone\n").unwrap_err();
        assert!(err.contains("absent"), "{err}");
    }

    #[test]
    fn refuses_bad_files_clearly() {
        let cases = [
            (
                "vswitches:\n  - {id: a, vpc: v, zone: z, cidr: nope, available_ips: 1}\n",
                "not a CIDR",
            ),
            ("regoin: x\n", "regoin"),
            (
                "vswitches:\n  - {id: a, vpc: v, zone: z, cidr: 10.0.0.0/8, available_ips: 1}\n  - {id: a, vpc: v, zone: z, cidr: 10.0.0.0/8, available_ips: 1}\n",
                "twice",
            ),
        ];
        for (text, want) in cases {
            let err = StaticInventory::parse(text).unwrap_err();
            assert!(err.contains(want), "{err}");
        }
    }
}
