pub mod cluster;
pub mod health;
pub mod kubeadm;
pub mod narrow;
pub mod nodes;
pub mod snapshot;
pub mod terway_node;
pub mod watch;
