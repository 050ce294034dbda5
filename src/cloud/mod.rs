//! The Alibaba Cloud side: request signing, credentials, VPC actions.

pub mod client;
pub mod credentials;
pub mod ecs;
pub mod endpoints;
pub mod metadata;
pub mod sign;
pub mod terway_file;
pub mod time;
pub mod vpc;
