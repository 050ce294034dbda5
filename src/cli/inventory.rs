//! Opening the inventory the flags name: a static file or the cloud.

use std::sync::Arc;

use anyhow::{Context, Result, bail};

use super::InventoryArgs;
use crate::cloud::client::{ApiClient, http_client};
use crate::cloud::credentials::Chain;
use crate::cloud::endpoints::{self, EndpointType, Product};
use crate::cloud::metadata::Metadata;
use crate::inventory::{CloudConfig, CloudInventory, Facts, Inventory, Query, StaticInventory};

pub enum Opened {
    Static(StaticInventory),
    /// The cloud inventory, and an ECS client for instance-type limits.
    Cloud(CloudInventory, Arc<ApiClient>),
}

impl Opened {
    pub fn shared(self) -> Arc<dyn Inventory> {
        match self {
            Opened::Static(s) => Arc::new(s),
            Opened::Cloud(c, _) => Arc::new(c),
        }
    }

    /// Facts for a one-shot command (no background refresh).
    pub async fn facts(&self, query: &Query) -> Facts {
        match self {
            Opened::Static(s) => s.snapshot(query),
            Opened::Cloud(c, _) => {
                c.sync().await;
                c.facts(query).await
            }
        }
    }
}

/// Who opens the inventory: a long-running `serve`/`controller` inside a
/// cluster talks to the VPC-internal endpoints by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Service,
    Cli,
}

/// The endpoint type: the flag, else Terway's own `ALICLOUD_ENDPOINT_TYPE`,
/// else vpc for a service inside a cluster, else public.
pub fn endpoint_type(
    args: &InventoryArgs,
    caller: Caller,
    env: impl Fn(&str) -> Option<String>,
) -> EndpointType {
    if let Some(t) = args.endpoint_type {
        return t;
    }
    if let Some(t) = EndpointType::from_terway_env(env("ALICLOUD_ENDPOINT_TYPE").as_deref()) {
        return t;
    }
    let in_cluster = env("KUBERNETES_SERVICE_HOST").is_some_and(|h| !h.is_empty());
    if caller == Caller::Service && in_cluster {
        EndpointType::Vpc
    } else {
        EndpointType::Public
    }
}

/// The region: the flag, else the ECS metadata's `region-id`, else the
/// `topology.kubernetes.io/region` label of a node.
async fn region(args: &InventoryArgs, http: &reqwest::Client) -> Result<String> {
    if let Some(r) = args.region.as_deref().filter(|r| !r.is_empty()) {
        return Ok(r.to_string());
    }
    let md = Metadata {
        http,
        base: args.metadata_endpoint.trim_end_matches('/'),
        imdsv1_disabled: std::env::var("ALIBABA_CLOUD_IMDSV1_DISABLED")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true")),
    };
    let from_metadata = md.get("/latest/meta-data/region-id").await;
    match from_metadata {
        Ok(r) if !r.is_empty() && !r.contains(char::is_whitespace) => {
            tracing::info!(region = %r, "region from the ECS metadata server");
            return Ok(r);
        }
        _ => {}
    }
    if let Some(r) = region_from_nodes().await {
        tracing::info!(region = %r, "region from the nodes' topology.kubernetes.io/region label");
        return Ok(r);
    }
    bail!(
        "no region: pass --region (or TERWAY_GUARD_REGION); neither the ECS metadata server nor the cluster's nodes told it"
    )
}

async fn region_from_nodes() -> Option<String> {
    use ::kube::api::{Api, ListParams};
    let client = crate::kube::cluster::client("region").await.ok()?;
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client);
    let list = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        nodes.list_metadata(&ListParams::default().limit(1)),
    )
    .await
    .ok()?
    .ok()?;
    list.items.iter().find_map(|n| {
        n.metadata
            .labels
            .as_ref()?
            .get("topology.kubernetes.io/region")
            .cloned()
    })
}

pub async fn open(args: &InventoryArgs, caller: Caller) -> Result<Option<Opened>> {
    match args.inventory.as_deref() {
        None => Ok(None),
        Some("aliyun") => {
            let http = http_client();
            let region = region(args, &http).await?;
            let ty = endpoint_type(args, caller, |k| std::env::var(k).ok());
            let vpc_url = args
                .vpc_endpoint
                .clone()
                .unwrap_or_else(|| endpoints::url(Product::Vpc, &region, ty));
            let ecs_url = args
                .ecs_endpoint
                .clone()
                .unwrap_or_else(|| endpoints::url(Product::Ecs, &region, ty));
            tracing::info!(%region, endpoint_type = %ty, vpc = %vpc_url, ecs = %ecs_url, "Alibaba Cloud endpoints");
            let sources = Chain::sources_from(
                |k| std::env::var(k).ok(),
                &args.metadata_endpoint,
                args.credential_path.clone(),
            );
            let chain = Arc::new(Chain::new(sources, http.clone()));
            let limiter = Arc::new(crate::cloud::limit::Limiter::default());
            let client = ApiClient::new(&region, Some(&vpc_url), chain.clone(), http.clone())
                .with_limiter(limiter.clone());
            let ecs = Arc::new(
                ApiClient::ecs(&region, Some(&ecs_url), chain, http).with_limiter(limiter),
            );
            let cfg = CloudConfig {
                vpc_id: args.vpc_id.clone(),
                ..CloudConfig::default()
            };
            Ok(Some(Opened::Cloud(CloudInventory::new(client, cfg), ecs)))
        }
        Some(path) => Ok(Some(Opened::Static(
            StaticInventory::load(path)
                .with_context(|| "use --inventory aliyun or a static inventory file")?,
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(ty: Option<EndpointType>) -> InventoryArgs {
        InventoryArgs {
            inventory: Some("aliyun".into()),
            region: None,
            endpoint_type: ty,
            vpc_endpoint: None,
            ecs_endpoint: None,
            vpc_id: None,
            credential_path: None,
            metadata_endpoint: "http://127.0.0.1:1".into(),
        }
    }

    #[test]
    fn endpoint_type_flag_then_terways_env_then_where_it_runs() {
        use EndpointType::{Public, Vpc};
        let env = crate::cloud::env_of;
        let in_cluster: &[(&str, &str)] = &[("KUBERNETES_SERVICE_HOST", "10.0.0.1")];
        type Case = (
            Option<EndpointType>,
            &'static [(&'static str, &'static str)],
            Caller,
            EndpointType,
        );
        let cases: [Case; 7] = [
            (None, in_cluster, Caller::Service, Vpc),
            (None, in_cluster, Caller::Cli, Public),
            (None, &[], Caller::Service, Public),
            (Some(Vpc), &[], Caller::Cli, Vpc),
            (Some(Public), in_cluster, Caller::Service, Public),
            (
                None,
                &[
                    ("ALICLOUD_ENDPOINT_TYPE", "public"),
                    ("KUBERNETES_SERVICE_HOST", "x"),
                ],
                Caller::Service,
                Public,
            ),
            (
                None,
                &[("ALICLOUD_ENDPOINT_TYPE", "intranet")],
                Caller::Cli,
                Vpc,
            ),
        ];
        for (flag, pairs, caller, want) in cases {
            assert_eq!(
                endpoint_type(&args(flag), caller, env(pairs)),
                want,
                "{flag:?} {pairs:?} {caller:?}"
            );
        }
    }
}
