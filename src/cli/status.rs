//! `terway-guard status`: each zone's vSwitches, free IPs and headroom.

use anyhow::{Context, Result, bail};

use super::check::{load, query};
use super::inventory::Opened;
use super::{Output, StatusArgs};
use crate::capacity::{self, State, ZoneReport};
use crate::config::Role;
use crate::events::ZoneEvents;

pub async fn run(args: &StatusArgs) -> Result<i32> {
    let Some(inv) = super::inventory::open(&args.inventory, super::inventory::Caller::Cli).await?
    else {
        bail!("status needs facts: pass --inventory aliyun or --inventory FILE");
    };
    // Without --config, the config (and, with the cloud, the nodes) come from the cluster.
    let cluster = match &args.config {
        Some(_) => None,
        None => Some(
            crate::kube::cluster::client("status")
                .await
                .context("no --config given and no cluster to read eni-config from")?,
        ),
    };
    let Some(every) = args.watch else {
        super::out(&frame(args, &inv, cluster.as_ref()).await?);
        return Ok(0);
    };
    // Redrawn until interrupted; a frame that fails says why and the next
    // one tries again (an incident is when this is watched).
    let every = std::time::Duration::from_secs(every.max(1));
    let mut drawn = 0;
    loop {
        let body = match frame(args, &inv, cluster.as_ref()).await {
            Ok(b) => b,
            Err(e) => format!("cannot read the status: {e:#}\n"),
        };
        let now = crate::cloud::time::iso8601(std::time::SystemTime::now());
        match args.output {
            Output::Text => super::out(&format!(
                "\x1b[H\x1b[2J{}\n{body}",
                super::paint(
                    super::color(),
                    "2",
                    &format!(
                        "terway-guard status at {now}, every {} s (Ctrl-C to stop)",
                        every.as_secs()
                    )
                )
            )),
            Output::Json => super::out(&body),
        }
        drawn += 1;
        if args.watch_count.is_some_and(|n| drawn >= n) {
            return Ok(0);
        }
        tokio::time::sleep(every).await;
    }
}

/// One reading: the config, its zones' capacity, and Terway's events.
async fn frame(
    args: &StatusArgs,
    inv: &Opened,
    cluster: Option<&::kube::Client>,
) -> Result<String> {
    let cm = match (&args.config, cluster) {
        (Some(path), _) => load(path)?,
        (None, Some(client)) => {
            crate::kube::snapshot::base_config(client, &args.namespace.terway_namespace)
                .await
                .context("cannot read eni-config from the cluster")?
                .with_context(|| {
                    format!(
                        "there is no ConfigMap eni-config in namespace {}",
                        args.namespace.terway_namespace
                    )
                })?
        }
        (None, None) => unreachable!("a missing --config means a cluster client"),
    };
    let source = args.config.as_deref().unwrap_or("the cluster");
    let Some(conf) = cm.eni_conf() else {
        bail!("eni-config from {source} has no valid eni_conf (run `terway-guard check` on it)");
    };
    let mut facts = inv.facts(&query(&[&cm])).await;
    if let (Some(client), Opened::Cloud(_, ecs)) = (cluster, inv) {
        facts.set_nodes(
            crate::kube::snapshot::node_facts(client, Some(ecs))
                .await
                .context("cannot list nodes")?,
        );
    }
    let dynamic = (cm.role() == Role::Dynamic).then_some(cm.name.as_str());
    let zones = capacity::report(&conf, &facts, dynamic);
    // Terway's own verdict of the last hour, next to ours (cluster only). Not
    // being allowed to read events does not hide the capacity report.
    let (terway, unread) = match cluster {
        Some(client) => match terway_events(client, &facts).await {
            Ok(mut zones) => {
                // Terway's messages may quote the config: no credential is shown.
                let secrets = crate::admission::redact::Secrets::of([&cm]);
                for z in &mut zones {
                    for l in [&mut z.latest_config_error, &mut z.latest_exhaustion]
                        .into_iter()
                        .flatten()
                    {
                        l.message = secrets.scrub(&l.message);
                    }
                }
                (zones, None)
            }
            Err(e) => (Vec::new(), Some(format!("{e:#}"))),
        },
        None => (Vec::new(), None),
    };
    Ok(match args.output {
        Output::Json => format!(
            "{}\n",
            serde_json::json!({"config": cm.name, "zones": zones, "terway_events": terway, "terway_events_error": unread})
        ),
        Output::Text => {
            let mut out = text(&zones, super::color());
            out.push_str(&events_text(&terway));
            if let Some(why) = unread {
                out.push_str(&format!("Terway's events not shown: {why}\n"));
            }
            out
        }
    })
}

async fn terway_events(
    client: &::kube::Client,
    facts: &crate::inventory::Facts,
) -> Result<Vec<ZoneEvents>> {
    let events = crate::kube::snapshot::terway_events(client)
        .await
        .context("cannot list Terway's events")?;
    let pods = crate::kube::snapshot::pod_nodes(client, &events)
        .await
        .context("cannot read the pods Terway's events name")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Ok(crate::events::by_zone(
        &events,
        facts,
        &pods,
        now - crate::events::RECENT_SECS,
    ))
}

/// Terway's events per zone, one line each, with the latest message.
pub fn events_text(zones: &[ZoneEvents]) -> String {
    let mut out = String::new();
    if zones.is_empty() {
        return out;
    }
    out.push_str("Terway's events in the last hour:\n");
    for z in zones {
        out.push_str(&format!(
            "  {}: {} ConfigError, {} IP exhaustion\n",
            z.zone, z.config_errors, z.exhaustion
        ));
        for l in [&z.latest_config_error, &z.latest_exhaustion]
            .into_iter()
            .flatten()
        {
            let at = k8s_openapi::jiff::Timestamp::from_second(l.at)
                .map(|t| t.to_string())
                .unwrap_or_default();
            out.push_str(&format!(
                "    latest {} {at} {}: {}\n",
                l.reason, l.object, l.message
            ));
        }
    }
    out
}

const BAR: usize = 20;

pub fn text(zones: &[ZoneReport], color: bool) -> String {
    let paint = |code: &str, s: &str| super::paint(color, code, s);
    let mut out = String::new();
    for z in zones {
        let state = match z.state {
            State::Ok => paint("32", "ok"),
            State::Low => paint("1;33", "LOW"),
            State::Exhausted => paint("1;31", "EXHAUSTED"),
            State::Unknown => paint("1;35", "UNKNOWN"),
        };
        out.push_str(&format!(
            "{}  free {} of {} ({}% used)  nodes {}  reserve {}  headroom {}  {state}\n",
            paint("1", &z.zone),
            z.free,
            z.size,
            z.used_pct,
            z.nodes,
            z.reserve,
            z.headroom
        ));
        for v in &z.vswitches {
            match (&v.cidr, v.size, v.free, v.used_pct) {
                (Some(cidr), Some(size), Some(free), Some(used)) => {
                    let filled = ((used / 100.0) * BAR as f64).round() as usize;
                    let bar = format!(
                        "{}{}",
                        "#".repeat(filled.min(BAR)),
                        "-".repeat(BAR - filled.min(BAR))
                    );
                    let bar = if used >= 90.0 { paint("31", &bar) } else { bar };
                    out.push_str(&format!(
                        "  {:<24} {:<18} [{bar}] {used:>5}% used  free {free}/{size}\n",
                        v.id, cidr
                    ));
                }
                _ => out.push_str(&format!(
                    "  {:<24} {}\n",
                    v.id,
                    paint("35", v.problem.as_deref().unwrap_or("unknown"))
                )),
            }
        }
    }
    if zones.is_empty() {
        out.push_str("eni_conf lists no vSwitches: every node uses its own vSwitch\n");
    }
    out
}
