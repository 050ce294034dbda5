//! The Alibaba Cloud side: request signing, credentials, VPC actions.

pub mod sign;
