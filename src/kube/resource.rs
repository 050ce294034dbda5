//! Names of the watched resources (log field, metric label, `/readyz`).
//! Below both the stores that watch them and the health that reports on
//! them, so neither imports the other for a name.

pub const NODES: &str = "nodes";
pub const TERWAY_NODES: &str = "terway-nodes";
pub const ENI_CONFIG: &str = "eni-config";
pub const KUBEADM: &str = "kubeadm-config";
pub const EVENTS: &str = "events";
pub const DAEMONSET: &str = "daemonset";
