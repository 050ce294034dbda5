pub mod apply;
pub mod cidr;
pub mod plan;
