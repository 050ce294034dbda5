//! The daemon's fallback for `service_cidr`: `kube-system/kubeadm-config`,
//! read as Terway reads it (pkg/k8s/k8s.go `serviceCidrFromAPIServer`,
//! AliyunContainerService/terway@89aadf8): the data key `MasterConfiguration`,
//! else `ClusterConfiguration` (present, even empty, is enough to be chosen);
//! its YAML (gopkg.in/yaml.v2 into a map) must have a mapping `networking`
//! with a string `serviceSubnet`, parsed by Go's `net.ParseCIDR`. The daemon
//! takes whatever block that is as its IPv4 service CIDR.

use k8s_openapi::api::core::v1::ConfigMap;
use serde::Deserialize;

use crate::inventory::KubeadmServiceCidr;

pub const NAMESPACE: &str = "kube-system";
pub const NAME: &str = "kubeadm-config";
/// The data keys Terway tries, in order (k8s.go `k8sKubeadmConfigmapNetworking`,
/// `k8sKubeadmConfigmapClusterconfiguration`).
const KEYS: [&str; 2] = ["MasterConfiguration", "ClusterConfiguration"];

/// Only what Terway reads; the rest of the document is skipped unread.
#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    networking: Option<serde_json::Value>,
}

/// What the fallback yields for `cm` (`None`: the ConfigMap is absent).
pub fn service_cidr_fact(cm: Option<&ConfigMap>) -> KubeadmServiceCidr {
    let Some(cm) = cm else {
        return KubeadmServiceCidr::Unusable(format!("{NAMESPACE}/{NAME} is absent"));
    };
    let data = cm.data.as_ref();
    let Some((key, text)) = KEYS
        .iter()
        .find_map(|k| Some((*k, data?.get(*k)?.as_str())))
    else {
        return KubeadmServiceCidr::Unusable(format!(
            "{NAMESPACE}/{NAME} has neither {} nor {} in its data",
            KEYS[0], KEYS[1]
        ));
    };
    // yaml.v2 decodes an empty document into an empty map.
    let doc: Document = if text.trim().is_empty() {
        Document { networking: None }
    } else {
        match serde_saphyr::from_str(text) {
            Ok(d) => d,
            Err(_) => {
                return KubeadmServiceCidr::Unusable(format!(
                    "{NAMESPACE}/{NAME} {key} is not a YAML mapping"
                ));
            }
        }
    };
    let subnet = doc
        .networking
        .as_ref()
        .and_then(|n| n.as_object())
        .and_then(|n| n.get("serviceSubnet"))
        .and_then(|s| s.as_str());
    match subnet {
        None => KubeadmServiceCidr::Unusable(format!(
            "{NAMESPACE}/{NAME} {key} has no networking.serviceSubnet string"
        )),
        Some(s) => match crate::config::strconv::parse_cidr(s) {
            Some(_) => KubeadmServiceCidr::Usable(s.to_string()),
            None => KubeadmServiceCidr::Unusable(format!(
                "{NAMESPACE}/{NAME} {key} networking.serviceSubnet {s:?} is not a CIDR to Go's net.ParseCIDR"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(data: &[(&str, &str)]) -> ConfigMap {
        ConfigMap {
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..ConfigMap::default()
        }
    }

    #[test]
    fn the_fallback_as_terway_reads_it() {
        let usable = |s: &str| KubeadmServiceCidr::Usable(s.into());
        // (ConfigMap data, the fallback's block; None: unusable)
        type Case = (
            &'static [(&'static str, &'static str)],
            Option<KubeadmServiceCidr>,
        );
        let cases: &[Case] = &[
            // Terway's own test: MasterConfiguration with a block.
            (
                &[(
                    "MasterConfiguration",
                    "networking:\n  serviceSubnet: 10.96.0.0/12",
                )],
                Some(usable("10.96.0.0/12")),
            ),
            (
                &[(
                    "ClusterConfiguration",
                    "apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\nnetworking:\n  dnsDomain: cluster.local\n  podSubnet: 172.20.0.0/16\n  serviceSubnet: \"192.168.0.0/16\"\n",
                )],
                Some(usable("192.168.0.0/16")),
            ),
            // A present MasterConfiguration wins, even when useless.
            (
                &[
                    ("MasterConfiguration", ""),
                    (
                        "ClusterConfiguration",
                        "networking:\n  serviceSubnet: 10.96.0.0/12",
                    ),
                ],
                None,
            ),
            // Terway's tests: no data, not a mapping, no serviceSubnet.
            (&[], None),
            (&[("MasterConfiguration", "invalid-yaml")], None),
            (&[("MasterConfiguration", "networking: {}")], None),
            (
                &[("ClusterConfiguration", "networking: 10.96.0.0/12")],
                None,
            ),
            (
                &[("ClusterConfiguration", "networking:\n  serviceSubnet: 12")],
                None,
            ),
            (
                &[(
                    "ClusterConfiguration",
                    "networking:\n  serviceSubnet: 10.96.0.0",
                )],
                None,
            ),
            // Dual stack is one string to Go: not a CIDR.
            (
                &[(
                    "ClusterConfiguration",
                    "networking:\n  serviceSubnet: 10.96.0.0/12,fd00::/108",
                )],
                None,
            ),
            // IPv6 only: Terway takes it as its "IPv4" block.
            (
                &[(
                    "ClusterConfiguration",
                    "networking:\n  serviceSubnet: fd00::/108",
                )],
                Some(usable("fd00::/108")),
            ),
        ];
        for (data, want) in cases {
            let got = service_cidr_fact(Some(&cm(data)));
            match want {
                Some(w) => assert_eq!(&got, w, "{data:?}"),
                None => assert!(
                    matches!(got, KubeadmServiceCidr::Unusable(_)),
                    "{data:?}: {got:?}"
                ),
            }
        }
        assert_eq!(
            service_cidr_fact(None),
            KubeadmServiceCidr::Unusable("kube-system/kubeadm-config is absent".into())
        );
    }
}
