pub mod cluster;
pub mod nodes;
pub mod snapshot;
