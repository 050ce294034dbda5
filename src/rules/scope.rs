//! Which rule groups a pass runs: the ids each group can raise, so the
//! re-judging of an UPDATE's old object runs only the groups that matter.

use std::collections::BTreeSet;

use super::Finding;

/// Which rule groups a pass runs.
#[derive(Clone, Copy)]
pub(super) enum Scope<'a> {
    All,
    /// Only the groups that can raise one of these ids.
    Only(&'a BTreeSet<&'static str>),
}

impl Scope<'_> {
    /// Runs `group` if it can raise a wanted id. Debug builds check that it
    /// raised only the ids it declares, so a scoped pass never skips a group
    /// that matters.
    pub(super) fn run(
        self,
        raises: &[&'static str],
        out: &mut Vec<Finding>,
        group: impl FnOnce(&mut Vec<Finding>),
    ) {
        if let Scope::Only(want) = self
            && !raises.iter().any(|r| want.contains(r))
        {
            return;
        }
        let from = out.len();
        group(out);
        debug_assert!(
            out[from..].iter().all(|f| raises.contains(&f.rule)),
            "a rule group raised an id it does not declare: {:?}",
            out[from..].iter().map(|f| f.rule).collect::<Vec<_>>()
        );
    }
}

/// The ids each group of rules raises.
pub(super) mod raises {
    use crate::rules::id::*;
    pub const KEYS: &[&str] = &[CNI_CONF, DISABLE_NETWORK_POLICY, DYNAMIC_BASE_ONLY];
    pub const FIELDS: &[&str] = &[
        FIELD_TYPE,
        FIELD_CASE,
        FIELD_VERSION,
        UNKNOWN_FIELD,
        SECURITY_GROUP,
        ENI_TAGS,
        INLINE_CREDENTIALS,
    ];
    pub const LISTING: &[&str] = &[VSWITCH_COUNT, VSWITCH_ID, VSWITCH_DUPLICATE];
    pub const DYNAMIC: &[&str] = &[DYNAMIC_BASE_ONLY];
    pub const VSWITCHES: &[&str] = &[
        VSWITCH_ZONES,
        VSWITCH_EXISTS,
        VSWITCH_LOOKUP,
        VSWITCH_VPC,
        VSWITCH_ZONE,
        VSWITCH_OVERLAP,
        VSWITCH_PREFIX,
    ];
    pub const POOL: &[&str] = &[POOL_SIZE, POOL_ORDER, POOL_CAPACITY, ZONE_BUDGET];
    pub const VALUES: &[&str] = &[ENUM_VALUE, DURATION, JITTER_FACTOR];
    pub const MODES: &[&str] = &[IPAM_TYPE, PREFIX_MODE, MODE_IGNORED];
    pub const SECURITY_GROUPS: &[&str] = &[SECURITY_GROUP];
    pub const SERVICE_CIDRS: &[&str] = &[SERVICE_CIDR, SERVICE_CIDR_CHANGE];
    pub const LIMITS: &[&str] = &[RATE_LIMIT, KUBE_CLIENT_BURST, BACKOFF_OVERRIDE];
}
