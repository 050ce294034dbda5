//! The registry of rule ids: stable names, what each checks, why, and the
//! Terway code that fails (deny) or reinterprets (warn). Paths are in
//! AliyunContainerService/terway at commit 89aadf8 (v1.17.2-42).

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
    pub const FIELD_VERSION: &str = "field-version";
    pub const DYNAMIC_BASE_ONLY: &str = "dynamic-base-only";
    pub const MODE_IGNORED: &str = "mode-ignored";
    pub const IPAM_TYPE: &str = "ipam-type";
    pub const PREFIX_MODE: &str = "prefix-mode";
    pub const VSWITCH_COUNT: &str = "vswitch-count";
    pub const RATE_LIMIT: &str = "rate-limit";
    pub const KUBE_CLIENT_BURST: &str = "kube-client-burst";
    pub const BACKOFF_OVERRIDE: &str = "backoff-override";
    /// Raised by the webhook, not the engine: it depends on who asks.
    pub const BYPASS_ANNOTATION: &str = "bypass-annotation";
}

/// terway-guard's own controls: they deny although no Terway component fails
/// (Terway source "—" with the reason). They protect terway-guard, the cloud
/// account, or the operator from a value that does not do what it reads as.
#[cfg(test)]
const OWN_CONTROLS: &[&str] = &[
    id::DISABLE_NETWORK_POLICY,
    id::IPAM_TYPE,
    id::SERVICE_CIDR_CHANGE,
    id::VSWITCH_PREFIX,
    id::VSWITCH_COUNT,
    id::BYPASS_ANNOTATION,
    id::POOL_ORDER,
];

#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub severity: &'static str,
    pub what: &'static str,
    pub why: &'static str,
    /// The Terway code that fails (deny) or reinterprets (warn).
    pub source: &'static str,
}

const fn r(
    id: &'static str,
    severity: &'static str,
    what: &'static str,
    why: &'static str,
    source: &'static str,
) -> Rule {
    Rule {
        id,
        severity,
        what,
        why,
        source,
    }
}

/// Deny rules soften to a warning when the old object had the same finding:
/// an edit is never blocked for what it does not change.
pub const RULES: &[Rule] = &[
    r(
        id::ENI_CONF_JSON,
        "deny / warn (`null` base, offline)",
        "`eni-config` has no `eni_conf`, or it is empty, not JSON Go accepts (no comments, no trailing commas), not an object, or refused by jq 1.7.1 (a lone high surrogate, nesting past its parse stack); a dynamic config's `eni_conf` is `null`, or a base `null` meets nodes labelled for a dynamic config",
        "the daemon and terway-init cannot decode it and do not start; hack/init.sh's jq fails under errexit; json-patch refuses a `null` patch or document for labelled nodes",
        "types/daemon/config.go `MergeConfigAndUnmarshal`; cmd/terway-cli/common.go `getAllConfig`; hack/init.sh; json-patch `MergePatch` (daemon/builder.go `LoadDynamicConfig`)",
    ),
    r(
        id::CNI_CONF,
        "deny / warn (reinterpreted)",
        "`10-terway.conf` is missing; the parsed CNI conf (the `.conflist` when present) fails one of its readers: terway-cli cni (not JSON, a plugin without a string `type`, no plugin typed exactly `terway`, no plugins, a non-string `network_policy_provider`, an unknown `eniip_virtual_type`), terway-cli nodeconfig (`symmetric_routing_config` types), containerd's libcni (`types.NetConf`: `capabilities`, `ipam`, `dns`, `prevResult` types, an empty `type`), terway-cli policy on datapathv2 (`cilium_*` strings, `host_stack_cidrs` by `netip.ParsePrefix`), the terway CNI binary (`types.CNIConf`: `mtu`, bools, strings, `runtimeConfig`, `host_stack_cidrs` by `net.ParseCIDR`). Warns where terway-cli reinterprets (`plugins` as an object of several, a non-string or `ipvlan` `eniip_virtual_type`, a non-boolean `auto_mtu`, the unused `.conf`)",
        "terway-init fails on every node it starts on; containerd cannot load the CNI config (NetworkReady=false); the policy container fails; or every pod sandbox fails",
        "cmd/terway-cli/common.go `getAllConfig`; cmd/terway-cli/cni.go `processInput`, `mergeConfigList`; cmd/terway-cli/node.go `setSymmetricRouting`; cmd/terway-cli/policy.go `policyConfig`; plugin/terway/cni_linux.go `getCmdArgs`, plugin/terway/cni.go `parseSetupConf`; containernetworking/cni libcni/conf.go `ConfListFromBytes`, `ConfFromBytes`",
    ),
    r(
        id::DISABLE_NETWORK_POLICY,
        "deny (reads as \"keep\") / warn",
        "`disable_network_policy` other than `\"true\"`/`\"false\"`; `\"no\"`, `\"off\"`, `\"False\"`, `\"false\\n\"` are denied",
        "terway-init keeps policy only for exactly `false`, `0` or empty and turns it off for anything else",
        "— (own control: terway-init runs with any value, cmd/terway-cli/common.go `getAllConfig`, but turns policy off for one that reads as \"keep\")",
    ),
    r(
        id::FIELD_TYPE,
        "deny",
        "a field (or a nested member: `eni_tag_block_list[].key`, `extra_routes[].dst`, `backoff_override.*.Duration`) has the wrong JSON type",
        "Go's decoder refuses it: the daemon (exact keys) or terway-init (case-insensitive keys, base only) does not start",
        "types/daemon/config.go `Config`; cmd/terway-cli/node.go `getENIConfig`",
    ),
    r(
        id::UNKNOWN_FIELD,
        "warn",
        "a top-level `eni_conf` key Terway does not read (with a did-you-mean), or one it removed (`eni_cap_policy` in v1.11.1 …)",
        "ignored, so the setting never applies",
        "types/daemon/config.go `Config`",
    ),
    r(
        id::FIELD_CASE,
        "warn (deny via `field-type` if terway-init cannot decode it)",
        "a key that matches a field only case-insensitively (`Max_Pool_Size`)",
        "the daemon matches keys exactly and ignores it",
        "types/daemon/config.go (k8s.io/apimachinery/pkg/util/json)",
    ),
    r(
        id::FIELD_VERSION,
        "warn",
        "a field newer than the Terway version the cluster runs",
        "that Terway ignores it until it is upgraded",
        "types/daemon/config.go at each release tag",
    ),
    r(
        id::VSWITCH_ID,
        "deny / warn (empty zone key)",
        "a vSwitch id is not `vsw-[0-9a-z]+`; a zone key is empty (warn)",
        "its lookup fails and Terway skips it, so the listing adds no IPs; no node is in zone \"\", so nodes fall back to their own vSwitch",
        "pkg/vswitch/vswitch.go `GetOne`; daemon/config.go `getENIConfig`, pkg/eni/node_reconcile.go",
    ),
    r(
        id::VSWITCH_ZONES,
        "deny",
        "one vSwitch listed under two zones",
        "a vSwitch lives in one zone; Terway skips it in the other",
        "pkg/vswitch/vswitch.go `GetOne`",
    ),
    r(
        id::VSWITCH_DUPLICATE,
        "warn",
        "a vSwitch repeated inside one zone (the mutation removes the repeat)",
        "harmless but a sign of a copy-paste slip",
        "—",
    ),
    r(
        id::VSWITCH_EXISTS,
        "deny",
        "a vSwitch the inventory does not have",
        "Terway skips it; a zone left without a usable vSwitch gives no pod IPs",
        "pkg/vswitch/vswitch.go `GetOne`",
    ),
    r(
        id::VSWITCH_COUNT,
        "deny",
        "more distinct vSwitch ids than `--max-vswitches` (100)",
        "nothing is looked up: one review must not fan out to the cloud",
        "— (own control: terway-guard's limit on cloud lookups per review)",
    ),
    r(
        id::VSWITCH_LOOKUP,
        "deny (added) / warn",
        "a vSwitch whose facts could not be looked up",
        "an unverifiable new vSwitch is never allowed silently",
        "pkg/vswitch/vswitch.go `GetByID`",
    ),
    r(
        id::VSWITCH_VPC,
        "deny",
        "vSwitches not all in one VPC, or not in the cluster's VPC",
        "Terway creates ENIs in it and the cloud refuses ENIs outside the node's VPC",
        "pkg/aliyun/client (CreateNetworkInterface)",
    ),
    r(
        id::VSWITCH_ZONE,
        "deny",
        "a vSwitch listed under a zone it is not in",
        "Terway skips a vSwitch of another zone, so the listing adds no IPs",
        "pkg/vswitch/vswitch.go `GetOne`; pkg/eni/node_reconcile.go",
    ),
    r(
        id::VSWITCH_OVERLAP,
        "deny",
        "a vSwitch CIDR overlaps `service_cidr` or another listed vSwitch",
        "pods would get addresses in the service range",
        "pkg/k8s/k8s.go (service CIDR)",
    ),
    r(
        id::VSWITCH_PREFIX,
        "deny (added by UPDATE) / warn",
        "a vSwitch smaller than /19 (configurable)",
        "small pod vSwitches run dry again soon; existing ones are respected",
        "— (own control: Terway uses a vSwitch of any size; a small one added now runs dry again soon)",
    ),
    r(
        id::SERVICE_CIDR,
        "deny / warn",
        "`service_cidr` is unset or has no IPv4 block Go's `net.ParseCIDR` reads (no spaces, no leading zeros: `172.016.0.0/16`): deny when the watched cluster's `kube-system/kubeadm-config` has no usable `serviceSubnet`, warn offline or when it has one; parts Go cannot parse are dropped (warn)",
        "the daemon falls back to `kubeadm-config`, absent on ACK, and does not start",
        "pkg/k8s/k8s.go `NewK8S`, `setSvcCIDR`, `serviceCidrFromAPIServer`; types/types.go `SetIPNet`",
    ),
    r(
        id::SERVICE_CIDR_CHANGE,
        "deny",
        "an UPDATE changes or removes a block of `service_cidr` (adding the other family's block for dual stack is allowed)",
        "the cluster's service range cannot change under running pods",
        "— (own control: the daemon reads it once at start, pkg/k8s/k8s.go `NewK8S`, and runs with the new range after a restart)",
    ),
    r(
        id::POOL_SIZE,
        "deny (CRD) / warn (legacy)",
        "`min_pool_size`, `max_pool_size` or `ip_warm_up_size` is negative",
        "the Node CR's pool fields have minimum 0, so the node's pool is never set up",
        "pkg/apis/network.alibabacloud.com/v1beta1/node_types.go `PoolSpec`",
    ),
    r(
        id::POOL_ORDER,
        "deny / warn (`min_eni`)",
        "`min_pool_size` is above `max_pool_size` (unset = 0); `min_eni` beside `min_pool_size`",
        "legacy clamps the minimum silently, CRD mode allocates and releases in a loop; `min_eni` replaces `min_pool_size`",
        "— (own control: Terway runs, but not with the minimum the edit reads as: the legacy pool clamps it, daemon/config.go `getPoolConfig`; CRD mode churns IPs and cloud API calls, pkg/controller/multi-ip/node/pool.go)",
    ),
    r(
        id::POOL_CAPACITY,
        "warn",
        "`max_pool_size` is above a node's pod-IP capacity for the mode",
        "Terway clamps it to the capacity",
        "daemon/config.go `getPoolConfig`",
    ),
    r(
        id::ZONE_BUDGET,
        "deny / warn (> 80 %)",
        "the idle IPs an UPDATE makes Terway pre-allocate in a zone exceed its vSwitches' free IPs",
        "the zone runs dry (\"has not enough IpAddress\") as the pools fill",
        "daemon/config.go `getPoolConfig`; pkg/controller/multi-ip/node/pool.go",
    ),
    r(
        id::SECURITY_GROUP,
        "deny",
        "a security group is not `sg-…`; more than 10 in `security_groups` (5 before v1.13.7) or in the union with `security_group`; CRD IPAM with no security group at all",
        "the daemon refuses the count and does not start; CRD nodes and the controlplane refuse the union; the cloud refuses bad ids; the Node CRD requires `spec.eni.securityGroupIDs`, filled only from `eni_conf` (legacy falls back to the primary ENI's groups)",
        "types/daemon/config.go `Validate`; types/daemon/dynamicconfig.go `ConfigFromConfigMap`; pkg/eni/node_reconcile.go; pkg/apis/crds/network.alibabacloud.com_nodes.yaml",
    ),
    r(
        id::ENUM_VALUE,
        "deny (`ip_stack`) / warn",
        "`ip_stack` other than `ipv4`/`dual` (deny, `ipv6` too); a selection policy Terway treats as its default (warn)",
        "the daemon refuses the stack and does not start; any policy but `ordered`/`least_ips` means random/most_ips",
        "types/daemon/config.go `Validate`; daemon/config.go `getENIConfig`",
    ),
    r(
        id::DURATION,
        "deny / warn",
        "`idle_ip_reclaim_after`/`_interval` is not a Go duration (`\"\"` included); `ip_pool_sync_period` is not one (warn)",
        "legacy daemons fail to start, CRD node reconciles fail; a bad sync period falls back to the default",
        "daemon/config.go `getPoolConfig`; pkg/eni/node_reconcile.go; types/daemon/config.go `GetIPPoolSYncPeriod`",
    ),
    r(
        id::JITTER_FACTOR,
        "deny (legacy) / warn",
        "`idle_ip_reclaim_jitter_factor` is not a number to `strconv.ParseFloat` (no spaces, not `\"\"`, `,` is no decimal point, `1e400` overflows; `1_0`, `0x1p-3`, `Inf` are numbers), or not above 0",
        "the legacy daemon does not start; CRD mode and non-positive values fall back silently",
        "daemon/config.go `getPoolConfig`; pkg/controller/multi-ip/node/pool.go",
    ),
    r(
        id::RATE_LIMIT,
        "deny (legacy) / warn",
        "a `rate_limit` value of 0 or less for `DescribeNetworkInterfaces`, `CreateNetworkInterface`, `AttachNetworkInterface`, `AssignPrivateIpAddresses`, `DescribeVSwitches`, `DescribeInstanceTypes` (and `AssignIpv6Addresses` in dual stack); other API names at 0 or less, and names Terway never waits on (warn)",
        "the value is the burst of a `golang.org/x/time/rate` limiter, and a burst below 1 fails every call: the legacy daemon's start or every pod IP allocation fails; CRD mode does not read it",
        "pkg/aliyun/client/ratelimit.go; daemon/builder.go `setupAliyunClient`, `initInstanceLimit`, `setupENIManager`",
    ),
    r(
        id::KUBE_CLIENT_BURST,
        "deny",
        "`kube_client_burst` below 0 while `kube_client_qps` is not below 0 (0 means client-go's defaults)",
        "client-go's token bucket fails every request, so the daemon cannot read its Node and does not start",
        "pkg/k8s/k8s.go `NewK8S` (client-go rest.RESTClientFor)",
    ),
    r(
        id::BACKOFF_OVERRIDE,
        "deny (legacy) / warn",
        "a `backoff_override` entry for `eni_create`, `eni_ops` or `eni_ip_ops` whose `Steps` is below 1 (missing, lower-case `steps` or a null entry: 0); `eni_delete_confirm`, `wait_podeni_status` (warn)",
        "an entry replaces the key's whole backoff and a wait with Steps below 1 gives up before its first try: the legacy daemon creates no ENI and assigns no IP; CRD mode does not read it",
        "pkg/backoff/backoff.go `OverrideBackoff`; daemon/builder.go `PostInitForLegacyMode`; pkg/factory/aliyun/aliyun.go",
    ),
    r(
        id::ENI_TAGS,
        "deny / warn (`creator`)",
        "more than 19 `eni_tags`, a key or value longer than 128 characters, empty, or a key starting with `aliyun`/`acs:`; a `creator` tag",
        "ENI creation fails; Terway overwrites `creator` with its own tag",
        "daemon/config.go `getPoolConfig`; types/aliyun.go",
    ),
    r(
        id::INLINE_CREDENTIALS,
        "warn",
        "`access_key`/`access_secret` are set in the ConfigMap",
        "prefer `credential_path` or RRSA; values are never echoed",
        "—",
    ),
    r(
        id::IPAM_TYPE,
        "deny (`CRD`) / warn",
        "`ipam_type` that reads as `crd` but is not exactly it, any other unknown value, or an UPDATE that switches the IPAM mode",
        "Terway runs the legacy IPAM for anything but `crd`",
        "— (own control: Terway runs legacy IPAM for `\"CRD\"` or `\" crd\"`, daemon/daemon.go `newNetworkService` compares exactly, which is not what the value reads as)",
    ),
    r(
        id::PREFIX_MODE,
        "deny / warn",
        "`enable_ip_prefix` with `ipv6_prefix_count` > 1 in CRD mode (deny); prefix mode in the legacy IPAM or toggled on nodes that have a Node CR (warn)",
        "the CRD daemon does not start; prefix mode is immutable per Node CR",
        "daemon/builder.go `validatePrefixConfig`; pkg/eni/node_reconcile.go",
    ),
    r(
        id::MODE_IGNORED,
        "warn",
        "`min_eni`, `max_eni`, `eni_cap_ratio`, `eni_cap_shift` set in CRD mode",
        "only the legacy pool reads them",
        "daemon/config.go `getPoolConfig`; pkg/eni/node_reconcile.go",
    ),
    r(
        id::DYNAMIC_BASE_ONLY,
        "warn",
        "a dynamic config sets what only `eni-config` is read for (`ipam_type`, `service_cidr`, client and CNI keys) or an `ip_stack` unlike the base's",
        "it has no effect there (a dynamic `ipam_type` still reaches the legacy pool sizes: `crd` zeroes them)",
        "daemon/builder.go `LoadGlobalConfig`; cmd/terway-cli/node.go `dualStack`",
    ),
    r(
        id::DELETE_BASE,
        "deny",
        "deleting `eni-config`",
        "every Terway daemon needs it to start",
        "cmd/terway-cli/common.go `getAllConfig`",
    ),
    r(
        id::DELETE_DYNAMIC,
        "deny (CRD, or exclusive-ENI nodes) / warn",
        "deleting a dynamic config while nodes carry its `terway-config` label",
        "CRD-mode node reconciles fail without it, and the controlplane's pod controller for exclusive-ENI nodes in any mode; legacy daemons fall back to the base",
        "types/daemon/dynamicconfig.go `ConfigFromConfigMap`; daemon/builder.go `LoadDynamicConfig`; pkg/controller/pod/pod_controller.go",
    ),
    r(
        id::BYPASS_ANNOTATION,
        "deny",
        "a user outside `--bypass-groups` sets or changes `terway-guard.io/bypass`",
        "a bypass is honoured only from the request that sets it, by an allowed user; it cannot be planted for a later edit",
        "— (own control: who may bypass terway-guard)",
    ),
    r(
        id::INVENTORY_MISSING,
        "warn",
        "no inventory was available",
        "rules that need cloud facts were skipped",
        "—",
    ),
];

#[cfg(test)]
mod tests;
