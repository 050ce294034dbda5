//! Opening the inventory the flags name: a static file or the cloud.

use std::sync::Arc;

use anyhow::{Context, Result, bail};

use super::InventoryArgs;
use crate::cloud::client::{ApiClient, http_client};
use crate::cloud::credentials::Chain;
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

pub fn open(args: &InventoryArgs) -> Result<Option<Opened>> {
    match args.inventory.as_deref() {
        None => Ok(None),
        Some("aliyun") => {
            let Some(region) = args.region.as_deref() else {
                bail!("--region (or TERWAY_GUARD_REGION) is required with --inventory aliyun");
            };
            let http = http_client();
            let sources = Chain::sources_from(
                |k| std::env::var(k).ok(),
                &args.metadata_endpoint,
                args.credential_path.clone(),
            );
            let chain = Arc::new(Chain::new(sources, http.clone()));
            let client = ApiClient::new(
                region,
                args.vpc_endpoint.as_deref(),
                chain.clone(),
                http.clone(),
            );
            let ecs = Arc::new(ApiClient::ecs(
                region,
                args.ecs_endpoint.as_deref(),
                chain,
                http,
            ));
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
