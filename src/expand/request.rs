//! What a plan is asked for: the planner and the reuse search both read it,
//! so it lives apart from both.

use crate::config::ConfigObject;
use crate::inventory::{Facts, VpcView};
use crate::rules::Settings;

/// One expansion request: the zone, the block size and the facts to plan from.
pub struct Request<'a> {
    pub zone: &'a str,
    pub prefix_len: u8,
    pub view: &'a VpcView,
    /// The live `eni-config`.
    pub config: &'a ConfigObject,
    /// Facts about the vSwitches the config lists (and nodes), for the self-check.
    pub facts: &'a Facts,
    pub settings: &'a Settings,
    /// vSwitch ids the cluster's dynamic configs list, by config name: they
    /// are Terway's already, so never reused.
    pub dynamic_listed: &'a [(String, Vec<String>)],
    /// Create a new vSwitch even when an existing one would do (`--create`).
    pub force_create: bool,
}
