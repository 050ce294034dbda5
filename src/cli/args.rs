//! The command line's flags, as clap reads them (each with an environment
//! twin); what the commands do with them is in the sibling files.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::expand::restart::RestartScope;

#[derive(Debug, Parser)]
#[command(
    name = "terway-guard",
    version,
    about = "Keeps Terway's eni-config safe to edit"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Judge an eni-config edit offline: exit 0 allowed, 1 denied, 2 could not run.
    Check(CheckArgs),
    /// Run the HTTPS admission webhook.
    Serve(ServeArgs),
    /// Write a CA and a serving certificate/key for the webhook.
    Certs(CertsArgs),
    /// Show each zone's vSwitches, free IPs and headroom.
    Status(StatusArgs),
    /// Plan (dry run) or perform (--apply) a vSwitch expansion of one zone.
    Expand(ExpandArgs),
    /// Watch capacity and exhaustion; propose (mode plan) or perform (mode auto) expansions.
    Controller(ControllerArgs),
    /// Read kube-apiserver audit logs: who changed Terway's configs, what the webhook said.
    Audit(AuditArgs),
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Audit log with one audit.k8s.io/v1 Event per line; `-` (default) reads stdin.
    #[arg(default_value = "-")]
    pub file: String,
    /// Only events newer than this Go duration, e.g. 24h or 90m.
    #[arg(long, env = "TERWAY_GUARD_SINCE")]
    pub since: Option<String>,
    /// Terway's own events (`kubectl get events -A -o json` output), shown in
    /// the timeline beside the edits: ConfigError, and IP exhaustion.
    #[arg(long, env = "TERWAY_GUARD_EVENTS")]
    pub events: Option<String>,
    #[arg(short = 'o', long, env = "TERWAY_GUARD_OUTPUT", value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub namespace: NamespaceArgs,
}

/// Terway's namespace, one flag for every command that reads Terway's
/// objects. No help here: each command says what it does with it (`mut_arg`).
#[derive(Debug, Args)]
pub struct NamespaceArgs {
    #[arg(
        long,
        env = "TERWAY_GUARD_TERWAY_NAMESPACE",
        default_value = "kube-system"
    )]
    pub terway_namespace: String,
}

/// Where Terway runs, for the commands that read or restart its DaemonSet.
/// No help here: each command says what it does with them (`mut_arg`).
#[derive(Debug, Args)]
pub struct TerwayArgs {
    #[command(flatten)]
    pub namespace: NamespaceArgs,
    #[arg(long, env = "TERWAY_GUARD_DAEMONSET", default_value = "terway-eniip")]
    pub daemonset: String,
}

impl TerwayArgs {
    pub fn terway(&self) -> crate::kube::cluster::Terway {
        crate::kube::cluster::Terway {
            namespace: self.namespace.terway_namespace.clone(),
            daemonset: self.daemonset.clone(),
        }
    }
}

/// How an expansion restarts Terway's pods (`controller` and `expand`).
#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Which Terway pods an expansion restarts: the zone's, in batches
    /// (zone), the whole DaemonSet (all), or none.
    #[arg(long, env = "TERWAY_GUARD_RESTART", value_enum, default_value_t = RestartScope::Zone)]
    pub restart: RestartScope,
    /// Share of the zone's Terway pods restarted at once, in percent (at least one pod).
    #[arg(long, env = "TERWAY_GUARD_BATCH_PERCENT", default_value_t = 10, value_parser = clap::value_parser!(u8).range(1..=100))]
    pub batch_percent: u8,
}

#[derive(Debug, Args)]
pub struct ControllerArgs {
    #[command(flatten)]
    pub inventory: InventoryArgs,
    /// `plan`: an Event on eni-config with the plan and the command; `auto`: apply it.
    #[arg(long, env = "TERWAY_GUARD_MODE", value_enum, default_value_t = crate::controller::decide::Mode::Plan)]
    pub mode: crate::controller::decide::Mode,
    /// Expand a zone whose listed vSwitches have fewer free IPs than this.
    #[arg(long, env = "TERWAY_GUARD_MIN_FREE", default_value_t = 64)]
    pub min_free: u64,
    /// Expand a zone whose free IPs fall below this share of its addresses (percent).
    #[arg(long, env = "TERWAY_GUARD_MIN_FREE_PCT", default_value_t = 5.0)]
    pub min_free_pct: f64,
    /// At most one expansion per zone within this many seconds.
    #[arg(long, env = "TERWAY_GUARD_COOLDOWN", default_value_t = 3600)]
    pub cooldown: i64,
    /// Never list more vSwitches than this in one zone.
    #[arg(long, env = "TERWAY_GUARD_MAX_VSWITCHES_PER_ZONE", default_value_t = 5)]
    pub max_vswitches_per_zone: usize,
    /// When eni-config changed since Terway was last rolled, restart it (mode auto) instead of proposing.
    #[arg(long, env = "TERWAY_GUARD_RESTART_ON_DRIFT")]
    pub restart_on_drift: bool,
    /// Prefix length of new vSwitches.
    #[arg(long, env = "TERWAY_GUARD_PREFIX_LEN", default_value_t = 19)]
    pub prefix_len: u8,
    /// Seconds between looks.
    #[arg(long, env = "TERWAY_GUARD_INTERVAL", default_value_t = 30)]
    pub interval: u64,
    #[command(flatten)]
    pub terway: TerwayArgs,
    /// Name of the coordination.k8s.io Lease for leader election.
    #[arg(
        long,
        env = "TERWAY_GUARD_LEASE",
        default_value = "terway-guard-controller"
    )]
    pub lease: String,
    /// This replica's name in the Lease [default: $POD_NAME, else $HOSTNAME].
    #[arg(long, env = "TERWAY_GUARD_IDENTITY")]
    pub identity: Option<String>,
    /// Plain-HTTP address for /metrics and /healthz; `off` disables.
    #[arg(
        long,
        env = "TERWAY_GUARD_METRICS_LISTEN",
        default_value = "0.0.0.0:9092"
    )]
    pub metrics_listen: String,
    #[arg(long, env = "TERWAY_GUARD_ROLLOUT_TIMEOUT", default_value_t = 600)]
    pub rollout_timeout: u64,
    #[command(flatten)]
    pub rollout: RestartArgs,
    #[arg(long, env = "TERWAY_GUARD_LOG_LEVEL", default_value = "info")]
    pub log_level: tracing_subscriber::filter::LevelFilter,
}

#[derive(Debug, Args)]
#[command(
    mut_arg("terway_namespace", |a| a.help("Terway's namespace")),
    mut_arg("daemonset", |a| a
        .help("Terway's DaemonSet, restarted (rolling) after the config change")),
    mut_arg("restart", |a| a.help(
        "Which Terway pods to restart after the config change: those on the \
         zone's nodes, in batches (zone), the whole DaemonSet (all), or none"
    ))
)]
pub struct ExpandArgs {
    /// The zone that runs out of pod IPs, e.g. cn-shanghai-f.
    #[arg(long, env = "TERWAY_GUARD_ZONE")]
    pub zone: String,
    /// Prefix length of the new vSwitch (/19 = 8188 pod IPs).
    #[arg(long, env = "TERWAY_GUARD_PREFIX_LEN", default_value_t = 19)]
    pub prefix_len: u8,
    /// The eni-config ConfigMap [default: read from the cluster].
    #[arg(long, env = "TERWAY_GUARD_CONFIG")]
    pub config: Option<String>,
    #[command(flatten)]
    pub inventory: InventoryArgs,
    #[arg(short = 'o', long, env = "TERWAY_GUARD_OUTPUT", value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Carry the plan out (cloud and cluster); without it, only print the plan.
    #[arg(long, env = "TERWAY_GUARD_APPLY")]
    pub apply: bool,
    #[command(flatten)]
    pub terway: TerwayArgs,
    /// How long to wait for the Terway rollout, in seconds.
    #[arg(long, env = "TERWAY_GUARD_ROLLOUT_TIMEOUT", default_value_t = 600)]
    pub rollout_timeout: u64,
    /// Create a new vSwitch even when an unlisted, (nearly) empty one of the
    /// zone would do.
    #[arg(long, env = "TERWAY_GUARD_CREATE")]
    pub create: bool,
    #[command(flatten)]
    pub rollout: RestartArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClusterMode {
    Auto,
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct RuleArgs {
    /// vSwitches added by an UPDATE must have at most this prefix length.
    #[arg(long, env = "TERWAY_GUARD_MAX_PREFIX_LEN", default_value_t = 19, value_parser = clap::value_parser!(u8).range(8..=29))]
    pub max_prefix_len: u8,
    /// Most distinct vSwitch ids one ConfigMap may list; more is denied without
    /// any cloud lookup.
    #[arg(long, env = "TERWAY_GUARD_MAX_VSWITCHES", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=10000))]
    pub max_vswitches: u64,
    /// The Terway release to judge for, e.g. v1.16.4 [default: what the
    /// cluster's Terway DaemonSet runs; unknown = the newest known semantics].
    #[arg(long, env = "TERWAY_GUARD_TERWAY_VERSION")]
    pub terway_version: Option<crate::config::Version>,
}

impl RuleArgs {
    pub fn settings(&self) -> crate::rules::Settings {
        crate::rules::Settings {
            max_prefix_len: self.max_prefix_len,
            terway_version: self.terway_version,
            max_vswitch_ids: self.max_vswitches as usize,
            ..Default::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The ConfigMap after the edit (YAML or JSON, `-` for stdin).
    pub new: String,
    /// The ConfigMap before the edit; makes the check an UPDATE.
    #[arg(long, env = "TERWAY_GUARD_OLD")]
    pub old: Option<String>,
    /// The base eni-config, to also judge a dynamic config merged onto it.
    #[arg(long, env = "TERWAY_GUARD_BASE")]
    pub base: Option<String>,
    #[command(flatten)]
    pub inventory: InventoryArgs,
    #[arg(short = 'o', long, env = "TERWAY_GUARD_OUTPUT", value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub rules: RuleArgs,
}

/// Where facts come from: a static file, or the cloud (`aliyun`).
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// `aliyun` (VPC OpenAPI) or a static inventory YAML file (see docs/inventory.md).
    #[arg(long, env = "TERWAY_GUARD_INVENTORY")]
    pub inventory: Option<String>,
    /// Region of the cluster, e.g. cn-shanghai [default with `aliyun`: the ECS
    /// metadata's region-id, else the nodes' topology.kubernetes.io/region].
    #[arg(long, env = "TERWAY_GUARD_REGION")]
    pub region: Option<String>,
    /// `vpc` (VPC-internal endpoints, as Terway uses) or `public` [default:
    /// ALICLOUD_ENDPOINT_TYPE as Terway reads it; else vpc for serve and
    /// controller inside a cluster, public elsewhere].
    #[arg(long, env = "TERWAY_GUARD_ENDPOINT_TYPE")]
    pub endpoint_type: Option<crate::cloud::endpoints::EndpointType>,
    /// VPC OpenAPI endpoint URL; wins over --endpoint-type [default: https://vpc-vpc.<region>.aliyuncs.com or the public one].
    #[arg(long, env = "TERWAY_GUARD_VPC_ENDPOINT")]
    pub vpc_endpoint: Option<String>,
    /// ECS OpenAPI endpoint URL, for instance-type limits; wins over --endpoint-type.
    #[arg(long, env = "TERWAY_GUARD_ECS_ENDPOINT")]
    pub ecs_endpoint: Option<String>,
    /// The cluster's VPC: listed vSwitches must be in it; its vSwitches are kept warm.
    #[arg(long, env = "TERWAY_GUARD_VPC_ID")]
    pub vpc_id: Option<String>,
    /// Terway's encrypted credential file, tried before the ECS RAM role (as Terway does).
    #[arg(long, env = "TERWAY_GUARD_CREDENTIAL_PATH")]
    pub credential_path: Option<PathBuf>,
    /// ECS metadata server, for the instance RAM role.
    #[arg(
        long,
        env = "TERWAY_GUARD_METADATA_ENDPOINT",
        default_value = "http://100.100.100.200"
    )]
    pub metadata_endpoint: String,
}

#[derive(Debug, Args)]
#[command(mut_arg("terway_namespace", |a| a
    .help("Terway's namespace, where eni-config is read from the cluster")))]
pub struct StatusArgs {
    /// The eni-config ConfigMap (YAML or JSON, `-` for stdin) [default: read from the cluster].
    #[arg(long, env = "TERWAY_GUARD_CONFIG")]
    pub config: Option<String>,
    #[command(flatten)]
    pub namespace: NamespaceArgs,
    #[command(flatten)]
    pub inventory: InventoryArgs,
    #[arg(short = 'o', long, env = "TERWAY_GUARD_OUTPUT", value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Redraw every SECS seconds (default 5) until interrupted, for watching a
    /// zone drain or recover without Grafana.
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "5")]
    pub watch: Option<u64>,
    /// With --watch: stop after this many frames.
    #[arg(long, hide = true)]
    pub watch_count: Option<u32>,
}

#[derive(Debug, Args)]
#[command(
    mut_arg("terway_namespace", |a| a
        .help("Terway's namespace; ConfigMaps elsewhere pass untouched")),
    mut_arg("daemonset", |a| a
        .help("Terway's DaemonSet, whose image tag tells the Terway version"))
)]
pub struct ServeArgs {
    /// Address of the HTTPS webhook [default: 0.0.0.0:9443; 127.0.0.1:8443 with --dev].
    #[arg(long, env = "TERWAY_GUARD_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// PEM certificate chain [default: <cert-dir>/tls.crt].
    #[arg(long, env = "TERWAY_GUARD_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key [default: <cert-dir>/tls.key].
    #[arg(long, env = "TERWAY_GUARD_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates signed by this CA (the apiserver can present one).
    #[arg(long, env = "TERWAY_GUARD_CLIENT_CA")]
    pub client_ca: Option<PathBuf>,
    /// Where the certificates live (and where --dev writes them).
    #[arg(long, env = "TERWAY_GUARD_CERT_DIR", default_value = "certs")]
    pub cert_dir: PathBuf,
    /// Inventory [default with --dev: examples/inventory.yaml].
    #[command(flatten)]
    pub inventory: InventoryArgs,
    /// Plain-HTTP address for /metrics [default: 0.0.0.0:9091; 127.0.0.1:9091 with --dev]; `off` disables.
    #[arg(long, env = "TERWAY_GUARD_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Groups allowed to bypass a denial with the terway-guard.io/bypass annotation.
    #[arg(
        long,
        env = "TERWAY_GUARD_BYPASS_GROUPS",
        value_delimiter = ',',
        default_value = "system:masters"
    )]
    pub bypass_groups: Vec<String>,
    #[command(flatten)]
    pub terway: TerwayArgs,
    /// Longest wait for inventory facts inside one request, in milliseconds.
    #[arg(long, env = "TERWAY_GUARD_REQUEST_TIMEOUT_MS", default_value_t = 2000)]
    pub request_timeout_ms: u64,
    /// Watch the cluster for nodes and the base eni-config (with `--inventory aliyun`):
    /// `auto` uses it when a kubeconfig or in-cluster config is found.
    #[arg(long, env = "TERWAY_GUARD_CLUSTER", value_enum, default_value_t = ClusterMode::Auto)]
    pub cluster: ClusterMode,
    /// Most concurrent connections; more are closed at once.
    #[arg(long, env = "TERWAY_GUARD_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Log level: error, warn, info, debug, trace.
    #[arg(long, env = "TERWAY_GUARD_LOG_LEVEL", default_value = "info")]
    pub log_level: tracing_subscriber::filter::LevelFilter,
    /// Local development: generate certs if absent, use the example inventory, print a curl.
    #[arg(long, env = "TERWAY_GUARD_DEV")]
    pub dev: bool,
}

#[derive(Debug, Args)]
pub struct CertsArgs {
    /// Output directory for ca.crt, tls.crt and tls.key.
    #[arg(long, env = "TERWAY_GUARD_CERTS_OUT")]
    pub out: PathBuf,
    /// DNS names (or IP addresses) the serving certificate is for.
    #[arg(long, env = "TERWAY_GUARD_CERTS_DNS", required = true, num_args = 1.., value_delimiter = ',')]
    pub dns: Vec<String>,
}
