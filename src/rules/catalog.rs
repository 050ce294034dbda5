//! The registry of rule ids: stable names, what each checks and why.

/// Stable rule ids. Never rename one: audit logs and alerts key on them.
pub mod id {
    pub const ENI_CONF_JSON: &str = "eni-conf-json";
    pub const CNI_CONF: &str = "cni-conf";
    pub const DISABLE_NETWORK_POLICY: &str = "disable-network-policy";
    pub const FIELD_TYPE: &str = "field-type";
    pub const UNKNOWN_FIELD: &str = "unknown-field";
    pub const FIELD_CASE: &str = "field-case";
    pub const VSWITCH_ID: &str = "vswitch-id";
    pub const VSWITCH_ZONES: &str = "vswitch-zones";
    pub const VSWITCH_DUPLICATE: &str = "vswitch-duplicate";
    pub const VSWITCH_EXISTS: &str = "vswitch-exists";
    pub const VSWITCH_LOOKUP: &str = "vswitch-lookup";
    pub const VSWITCH_VPC: &str = "vswitch-vpc";
    pub const VSWITCH_ZONE: &str = "vswitch-zone";
    pub const VSWITCH_OVERLAP: &str = "vswitch-overlap";
    pub const VSWITCH_PREFIX: &str = "vswitch-prefix";
    pub const SERVICE_CIDR: &str = "service-cidr";
    pub const SERVICE_CIDR_CHANGE: &str = "service-cidr-change";
    pub const POOL_SIZE: &str = "pool-size";
    pub const POOL_ORDER: &str = "pool-order";
    pub const POOL_CAPACITY: &str = "pool-capacity";
    pub const ZONE_BUDGET: &str = "zone-budget";
    pub const SECURITY_GROUP: &str = "security-group";
    pub const ENUM_VALUE: &str = "enum-value";
    pub const DURATION: &str = "duration";
    pub const JITTER_FACTOR: &str = "jitter-factor";
    pub const ENI_TAGS: &str = "eni-tags";
    pub const INLINE_CREDENTIALS: &str = "inline-credentials";
    pub const DELETE_BASE: &str = "delete-base";
    pub const DELETE_DYNAMIC: &str = "delete-dynamic";
    pub const INVENTORY_MISSING: &str = "inventory-missing";
}

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub severity: &'static str,
    pub what: &'static str,
    pub why: &'static str,
}

const fn r(
    id: &'static str,
    severity: &'static str,
    what: &'static str,
    why: &'static str,
) -> Rule {
    Rule {
        id,
        severity,
        what,
        why,
    }
}

pub const RULES: &[Rule] = &[
    r(
        id::ENI_CONF_JSON,
        "deny",
        "`eni_conf` is missing from `eni-config`, is not valid JSON (Go rules: no comments, no trailing commas), or is not an object",
        "Terway cannot start without a parsable `eni_conf`",
    ),
    r(
        id::CNI_CONF,
        "deny",
        "`10-terway.conf`/`.conflist` is not JSON or lacks `cniVersion`, `name`, `type` (or `plugins`)",
        "the CNI plugin cannot be set up on new nodes",
    ),
    r(
        id::DISABLE_NETWORK_POLICY,
        "deny",
        "`disable_network_policy` is not `\"true\"` or `\"false\"`",
        "Terway only understands those two values",
    ),
    r(
        id::FIELD_TYPE,
        "deny",
        "a known `eni_conf` field has the wrong JSON type (e.g. `\"80\"` for `max_pool_size`)",
        "Go's decoder refuses it and Terway fails to start",
    ),
    r(
        id::UNKNOWN_FIELD,
        "warn",
        "a top-level `eni_conf` key Terway does not know (with a did-you-mean)",
        "a typo is silently ignored, so the setting never applies",
    ),
    r(
        id::FIELD_CASE,
        "warn",
        "a key that matches a field only case-insensitively",
        "Go accepts it, but it is easy to misread and to duplicate",
    ),
    r(
        id::VSWITCH_ID,
        "deny",
        "a zone key is empty or a vSwitch id is not `vsw-[0-9a-z]+`",
        "Terway would ask the cloud for a vSwitch that cannot exist",
    ),
    r(
        id::VSWITCH_ZONES,
        "deny",
        "one vSwitch listed under two zones",
        "a vSwitch lives in exactly one zone; one listing is wrong",
    ),
    r(
        id::VSWITCH_DUPLICATE,
        "warn",
        "a vSwitch repeated inside one zone (the mutation removes the repeat)",
        "harmless but a sign of a copy-paste slip",
    ),
    r(
        id::VSWITCH_EXISTS,
        "deny",
        "a vSwitch the inventory does not have",
        "pods on that zone's nodes would fail to get IPs",
    ),
    r(
        id::VSWITCH_LOOKUP,
        "deny (added) / warn",
        "a vSwitch whose facts could not be looked up",
        "an unverifiable new vSwitch is never allowed silently",
    ),
    r(
        id::VSWITCH_VPC,
        "deny",
        "vSwitches not all in one VPC, or not in the cluster's VPC",
        "ENIs can only attach to vSwitches in the node's VPC",
    ),
    r(
        id::VSWITCH_ZONE,
        "deny",
        "a vSwitch listed under a zone it is not in",
        "nodes only use vSwitches of their own zone; the listing does nothing or misleads",
    ),
    r(
        id::VSWITCH_OVERLAP,
        "deny",
        "a vSwitch CIDR overlaps `service_cidr` or another listed vSwitch",
        "pod and service traffic would be misrouted",
    ),
    r(
        id::VSWITCH_PREFIX,
        "deny (added by UPDATE) / warn",
        "a vSwitch smaller than /19 (configurable)",
        "small pod vSwitches run dry again soon; existing ones are respected",
    ),
    r(
        id::SERVICE_CIDR,
        "deny",
        "`service_cidr` is not a CIDR block",
        "Terway fails to start on it",
    ),
    r(
        id::SERVICE_CIDR_CHANGE,
        "deny",
        "an UPDATE changes or removes `service_cidr`",
        "the cluster's service range cannot change under running pods",
    ),
    r(
        id::POOL_SIZE,
        "deny",
        "`min_pool_size`, `max_pool_size` or `ip_warm_up_size` is negative",
        "pool watermarks are counts of IPs",
    ),
    r(
        id::POOL_ORDER,
        "deny",
        "`min_pool_size` is above `max_pool_size`",
        "Terway silently lowers the minimum, so the edit does not do what it says",
    ),
    r(
        id::POOL_CAPACITY,
        "warn",
        "`max_pool_size` is above a node's pod-IP capacity",
        "Terway silently clamps it to the capacity",
    ),
    r(
        id::ZONE_BUDGET,
        "deny / warn (> 80 %)",
        "the idle IPs an UPDATE makes Terway pre-allocate in a zone exceed its vSwitches' free IPs",
        "the zone would run dry at the next Terway restart",
    ),
    r(
        id::SECURITY_GROUP,
        "deny",
        "a security group is not `sg-…`, or there are more than 10",
        "Terway refuses more than 10 and the cloud refuses bad ids",
    ),
    r(
        id::ENUM_VALUE,
        "deny",
        "`vswitch_selection_policy`, `eni_selection_policy` or `ip_stack` has a value Terway does not accept",
        "Terway fails to start or ignores it",
    ),
    r(
        id::DURATION,
        "deny",
        "`idle_ip_reclaim_after`/`_interval` is not a Go duration (`10m`, `1h30m`)",
        "Terway fails to start on a bad duration",
    ),
    r(
        id::JITTER_FACTOR,
        "deny",
        "`idle_ip_reclaim_jitter_factor` is not a float in a string",
        "Terway parses it with `strconv.ParseFloat`",
    ),
    r(
        id::ENI_TAGS,
        "deny",
        "an `eni_tags` key or value is longer than 128 characters, empty, or the key starts with `aliyun`/`acs:`",
        "the cloud refuses such tags, so ENI creation fails",
    ),
    r(
        id::INLINE_CREDENTIALS,
        "warn",
        "`access_key`/`access_secret` are set in the ConfigMap",
        "prefer `credential_path` or RRSA; values are never echoed",
    ),
    r(
        id::DELETE_BASE,
        "deny",
        "deleting `eni-config`",
        "every Terway daemon needs it to start",
    ),
    r(
        id::DELETE_DYNAMIC,
        "warn",
        "deleting a dynamic config",
        "nodes still labelled with it lose their settings at the next restart",
    ),
    r(
        id::INVENTORY_MISSING,
        "warn",
        "no inventory was available",
        "rules that need cloud facts were skipped",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_documented_in_readme() {
        let readme = include_str!("../../README.md");
        let mut seen = std::collections::HashSet::new();
        for rule in RULES {
            assert!(seen.insert(rule.id), "duplicate id {}", rule.id);
            assert!(
                readme.contains(&format!("`{}`", rule.id)),
                "README lacks rule {}",
                rule.id
            );
        }
    }
}
