pub mod cluster;
pub mod narrow;
pub mod nodes;
pub mod snapshot;
pub mod terway_node;
