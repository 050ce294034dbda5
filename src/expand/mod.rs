pub mod cidr;
pub mod plan;
