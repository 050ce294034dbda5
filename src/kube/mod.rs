pub mod cluster;
pub mod narrow;
pub mod nodes;
pub mod snapshot;
