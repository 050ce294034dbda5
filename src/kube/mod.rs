pub mod cluster;
pub mod nodes;
