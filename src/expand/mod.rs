//! The expansion: plan (pure) and apply (idempotent steps).

pub mod apply;
pub mod cidr;
pub mod plan;
pub mod progress;
pub mod report;
pub mod request;
pub mod restart;
pub mod reuse;
pub mod state;
pub mod target;

use crate::cloud::client::CloudError;
use crate::config::ConfigObject;
use crate::inventory::{CloudInventory, Facts};
use crate::rules::Settings;

#[derive(Debug, thiserror::Error)]
pub enum ExpandError {
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error(transparent)]
    Cloud(#[from] CloudError),
    #[error(
        "cannot tell which VPC to expand: none of eni-config's vSwitches was found; pass --vpc-id"
    )]
    NoVpc,
}

/// A plan from the live cloud: the VPC is the configured one, or the one
/// most of eni-config's vSwitches are in.
pub async fn plan_from_cloud(
    inv: &CloudInventory,
    config: &ConfigObject,
    facts: &Facts,
    zone: &str,
    prefix_len: u8,
    settings: &Settings,
    // `None` when the dynamic configs could not be read: then nothing is reused.
    dynamic_listed: Option<&[(String, Vec<String>)]>,
) -> Result<plan::Plan, ExpandError> {
    let vpc = inv
        .vpc_id()
        .or_else(|| facts.majority_vpc())
        .ok_or(ExpandError::NoVpc)?;
    let view = inv.vpc_view(&vpc).await?;
    Ok(plan::plan(&plan::Request {
        zone,
        prefix_len,
        view: &view,
        config,
        facts,
        settings,
        dynamic_listed: dynamic_listed.unwrap_or_default(),
        force_create: dynamic_listed.is_none(),
    })?)
}
