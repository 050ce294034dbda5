//! `terway-guard controller`: the tick loop, its metrics endpoint, shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::ControllerArgs;
use super::inventory::Opened;
use crate::controller::decide::Policy;
use crate::controller::run::Controller;
use crate::inventory::Inventory;

pub async fn run(args: ControllerArgs) -> Result<()> {
    let _logs = super::init_logging(args.log_level);
    let shutdown = super::shutdown_signal();
    let Some(Opened::Cloud(inv, ecs)) =
        super::inventory::open(&args.inventory, super::inventory::Caller::Service).await?
    else {
        bail!("the controller needs the cloud: --inventory aliyun --region <region>");
    };
    let kube = crate::kube::cluster::client("controller")
        .await
        .context("the controller needs a cluster (in-cluster config or kubeconfig)")?;
    inv.spawn_refresh();
    // Nodes, eni-config and exhaustion events from watches shared with the
    // facts: no LIST per tick.
    crate::kube::cluster::spawn(
        kube.clone(),
        args.terway.terway(),
        inv.clone(),
        Some(ecs.clone()),
    );
    let events = crate::kube::cluster::EventStore::spawn(kube.clone());
    let identity = args
        .identity
        .clone()
        .or_else(|| std::env::var("POD_NAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| format!("terway-guard-{}", std::process::id()));
    let policy = Policy {
        mode: args.mode,
        min_free: args.min_free,
        min_free_pct: args.min_free_pct,
        cooldown_secs: args.cooldown,
        max_vswitches_per_zone: args.max_vswitches_per_zone,
        restart_on_drift: args.restart_on_drift,
    };
    let ecs = Arc::try_unwrap(ecs).ok();
    let mut c = Controller::new(
        kube,
        inv,
        ecs,
        policy,
        &args.terway.namespace.terway_namespace,
        &args.terway.daemonset,
        &identity,
        args.prefix_len,
    );
    c.lease_name = args.lease.clone();
    c.lease_secs = i32::try_from(args.interval.saturating_mul(3))
        .unwrap_or(90)
        .max(15);
    c.rollout_timeout = Duration::from_secs(args.rollout_timeout);
    c.restart = args.rollout.restart;
    c.batch_percent = args.rollout.batch_percent;
    c.watched = true;
    c.events = Some(events);
    let c = Arc::new(c);
    if args.metrics_listen != "off" {
        let addr: std::net::SocketAddr = args.metrics_listen.parse().with_context(|| {
            format!(
                "--metrics-listen {:?} is not host:port",
                args.metrics_listen
            )
        })?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let m = c.clone();
        let router = axum::Router::new()
            .route("/healthz", axum::routing::get(|| async { "ok" }))
            .route(
                "/metrics",
                axum::routing::get(move || {
                    let m = m.clone();
                    async move {
                        let mut text = m.metrics.render();
                        text.push_str(&crate::server::metrics::render_free_ips(
                            &m.inventory.known(),
                        ));
                        text.push_str(&crate::server::metrics::render_watch_errors(
                            &crate::kube::health::process(),
                        ));
                        text
                    }
                }),
            );
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
    }
    tracing::info!(%identity, mode = ?args.mode, "controller started");
    let renewal = c.spawn_renewal();
    tokio::pin!(shutdown);
    loop {
        // SIGTERM interrupts a tick too (an expansion may be waiting on a
        // rollout): every step is recorded first, so the next leader resumes.
        tokio::select! {
            r = c.tick() => match r {
                Ok(r) if r.leader => {
                    tracing::info!(decisions = r.decisions.len(), events = r.events, "tick")
                }
                Ok(_) => tracing::debug!("following"),
                Err(e) => tracing::warn!(error = %e, "tick failed"),
            },
            () = &mut shutdown => break,
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(args.interval)) => {}
            () = &mut shutdown => break,
        }
    }
    renewal.abort();
    c.release().await;
    tracing::info!("controller stopped");
    Ok(())
}
