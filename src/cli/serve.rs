//! `terway-guard serve`: flags to a running webhook, `--dev` conveniences.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use super::inventory::Opened;
use super::{ClusterMode, ServeArgs};
use crate::admission;
use crate::cloud::client::ApiClient;
use crate::inventory::CloudInventory;
use crate::inventory::{Inventory, StaticInventory};
use crate::server::{Server, ServerConfig};

/// The example inventory, embedded so `serve --dev` works from any directory.
const EXAMPLE_INVENTORY: &str = include_str!("../../examples/inventory.yaml");
const EXAMPLE_INVENTORY_PATH: &str = "examples/inventory.yaml";

pub async fn run(args: ServeArgs) -> Result<()> {
    let _logs = super::init_logging(args.log_level);
    let shutdown = super::shutdown_signal();
    let dev = args.dev;
    let listen = args.listen.unwrap_or(if dev {
        ([127, 0, 0, 1], 8443).into()
    } else {
        ([0, 0, 0, 0], 9443).into()
    });
    let tls_cert = args
        .tls_cert
        .clone()
        .unwrap_or_else(|| args.cert_dir.join("tls.crt"));
    let tls_key = args
        .tls_key
        .clone()
        .unwrap_or_else(|| args.cert_dir.join("tls.key"));
    if dev && !(tls_cert.exists() && tls_key.exists()) {
        let bundle = crate::certs::generate(&["localhost".into(), "127.0.0.1".into()])?;
        crate::certs::write(&args.cert_dir, &bundle)?;
        tracing::info!(dir = %args.cert_dir.display(), "generated a dev CA and serving certificate");
    }
    let inventory: Option<Arc<dyn Inventory>> =
        match super::inventory::open(&args.inventory, super::inventory::Caller::Service).await? {
            Some(Opened::Cloud(c, ecs)) => {
                watch_cluster(&args, &c, ecs).await?;
                c.spawn_refresh();
                Some(Arc::new(c))
            }
            Some(opened) => Some(opened.shared()),
            None if dev && Path::new(EXAMPLE_INVENTORY_PATH).exists() => {
                Some(Arc::new(StaticInventory::load(EXAMPLE_INVENTORY_PATH)?))
            }
            None if dev => Some(Arc::new(
                StaticInventory::parse(EXAMPLE_INVENTORY)
                    .map_err(|e| anyhow::anyhow!("embedded inventory: {e}"))?,
            )),
            None => None,
        };
    let metrics_listen = match args.metrics_listen.as_deref() {
        Some("off") => None,
        Some(a) => Some(
            a.parse::<SocketAddr>()
                .with_context(|| format!("--metrics-listen {a:?} is not host:port"))?,
        ),
        None if dev => Some(([127, 0, 0, 1], 9091).into()),
        None => Some(([0, 0, 0, 0], 9091).into()),
    };
    let mut cfg = ServerConfig::new(listen, tls_cert, tls_key);
    cfg.metrics_listen = metrics_listen;
    cfg.client_ca = args.client_ca.clone();
    cfg.inventory = inventory;
    cfg.request_timeout = Duration::from_millis(args.request_timeout_ms);
    cfg.max_connections = args.max_connections;
    cfg.admission = admission::Settings {
        rules: args.rules.settings(),
        bypass_groups: args.bypass_groups.clone(),
        terway_namespace: args.terway.namespace.terway_namespace.clone(),
    };
    let server = Server::bind(cfg).await?;
    let addr = server.local_addr();
    let metrics = server
        .metrics_addr()
        .map_or("off".to_string(), |a| a.to_string());
    tracing::info!(%addr, %metrics, "terway-guard webhook listening");
    if dev {
        let ca = args.cert_dir.join("ca.crt");
        super::out(&format!(
            "terway-guard (dev) listening on https://{addr}\ntry a denied edit:\n  curl -sS --cacert {} -H 'Content-Type: application/json' --data-binary @examples/review-denied.json https://{addr}/validate\n",
            ca.display()
        ));
    }
    server.run(shutdown).await;
    tracing::info!("stopped");
    Ok(())
}

/// Feeds nodes and the base eni-config from the cluster into the inventory.
async fn watch_cluster(args: &ServeArgs, inv: &CloudInventory, ecs: Arc<ApiClient>) -> Result<()> {
    let mode = args.cluster;
    if mode == ClusterMode::Off {
        return Ok(());
    }
    match crate::kube::cluster::client("serve").await {
        Ok(client) => {
            let terway = args.terway.terway();
            crate::kube::cluster::spawn(client, terway, inv.clone(), Some(ecs));
            Ok(())
        }
        Err(e) if mode == ClusterMode::Auto => {
            tracing::info!(error = %e, "no cluster config found; running without cluster facts (nodes, base eni-config)");
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!("--cluster on, but no cluster config: {e}")),
    }
}
