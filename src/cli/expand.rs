//! `terway-guard expand`: print the plan, or carry it out with `--apply`.

use anyhow::{Context, Result, bail};

use super::check::{load, query};
use super::inventory::Opened;
use super::{ExpandArgs, Output, RestartScope};
use crate::config::{BASE_NAME, ConfigObject};
use crate::expand::plan::{self, Plan, Request};
use crate::inventory::{Facts, VpcView, usable_ips};
use crate::rules::Settings;

/// What a plan is made from.
pub struct Inputs {
    pub config: ConfigObject,
    pub facts: Facts,
    pub view: VpcView,
}

pub async fn run(args: &ExpandArgs) -> Result<i32> {
    let Some(inv) = super::inventory::open(&args.inventory, super::inventory::Caller::Cli).await?
    else {
        bail!(
            "expand needs facts: pass --inventory aliyun, or --inventory FILE for an offline plan"
        );
    };
    let cluster = match &args.config {
        Some(_) if !args.apply => None,
        _ => Some(crate::kube::cluster::client("expand").await.context(
            "no cluster to read eni-config from (or to apply to); pass --config FILE for a dry run",
        )?),
    };
    let config = match (&args.config, &cluster) {
        (Some(path), _) if !args.apply => load(path)?,
        (_, Some(client)) => {
            crate::kube::snapshot::base_config(client, &args.terway.namespace.terway_namespace)
                .await?
                .with_context(|| {
                    format!(
                        "there is no ConfigMap {BASE_NAME} in namespace {}",
                        args.terway.namespace.terway_namespace
                    )
                })?
        }
        _ => unreachable!("--apply and a missing --config both mean a cluster client"),
    };
    let inputs = gather(&inv, config, args.inventory.vpc_id.as_deref()).await?;
    let settings = Settings::default();
    // vSwitches the cluster's dynamic configs list are Terway's already.
    let dynamic = match &cluster {
        Some(client) => crate::kube::snapshot::dynamic_listings(client, &args.terway.namespace.terway_namespace)
            .await
            .context("cannot read the dynamic configs (to know which vSwitches they list); pass --create to skip reuse")?,
        None => Vec::new(),
    };
    let plan = plan::plan(&Request {
        zone: &args.zone,
        prefix_len: args.prefix_len,
        view: &inputs.view,
        config: &inputs.config,
        facts: &inputs.facts,
        settings: &settings,
        dynamic_listed: &dynamic,
        force_create: args.create,
    })?;
    if !args.apply {
        match args.output {
            Output::Json => super::out(&format!("{}\n", serde_json::to_value(&plan)?)),
            Output::Text => super::out(&text(&plan, &inputs, args)),
        }
        return Ok(0);
    }
    let (Some(client), Opened::Cloud(cloud, _)) = (cluster, &inv) else {
        bail!("--apply needs --inventory aliyun and a cluster");
    };
    let report = crate::expand::apply::run(
        &crate::expand::apply::Target {
            kube: client,
            vpc: cloud.client(),
            namespace: args.terway.namespace.terway_namespace.clone(),
            daemonset: args.terway.daemonset.clone(),
            rollout_timeout: std::time::Duration::from_secs(args.rollout_timeout),
            restart: args.rollout.restart,
            batch_percent: args.rollout.batch_percent,
            leader: None,
        },
        &plan,
        &mut crate::expand::apply::Progress::stderr(),
    )
    .await?;
    match args.output {
        Output::Json => super::out(&format!("{}\n", serde_json::to_value(&report)?)),
        Output::Text => super::out(&report.to_text()),
    }
    Ok(0)
}

/// Facts for the config's vSwitches, the VPC to expand, and all of it.
pub async fn gather(inv: &Opened, config: ConfigObject, vpc_flag: Option<&str>) -> Result<Inputs> {
    let facts = inv.facts(&query(&[&config])).await;
    let vpc = match vpc_flag
        .map(str::to_string)
        .or_else(|| facts.cluster_vpc.clone())
        .or_else(|| facts.majority_vpc())
    {
        Some(v) => v,
        None => bail!(
            "cannot tell which VPC to expand: none of eni-config's vSwitches was found; pass --vpc-id"
        ),
    };
    let view = match inv {
        Opened::Static(s) => s
            .vpc_view(&vpc)
            .with_context(|| format!("the inventory has no VPC {vpc}"))?,
        Opened::Cloud(c, _) => c.vpc_view(&vpc).await?,
    };
    Ok(Inputs {
        config,
        facts,
        view,
    })
}

fn text(p: &Plan, inputs: &Inputs, args: &ExpandArgs) -> String {
    let mut out = format!("Plan for zone {} in {}:\n", p.zone, p.vpc_id);
    let size = p
        .vswitch
        .cidr
        .parse()
        .map(|c| usable_ips(&c))
        .unwrap_or_default();
    let id = match &p.reuse {
        Some(r) => {
            out.push_str(&format!(
                "  1. reuse vSwitch {} {} ({size} pod IPs) instead of creating one: {}\n",
                r.id, p.vswitch.cidr, r.why
            ));
            r.id.clone()
        }
        None => {
            out.push_str(&format!(
                "  1. create vSwitch {} {} ({size} pod IPs) in {}\n",
                p.vswitch.name, p.vswitch.cidr, p.vswitch.zone
            ));
            plan::PLANNED_ID.to_string()
        }
    };
    for r in &p.rejected {
        out.push_str(&format!("     not {} ({}): {}\n", r.id, r.cidr, r.why));
    }
    if p.snat.is_empty() {
        out.push_str("  2. no SNAT entry: no SNAT table serves this zone's vSwitches today\n");
    }
    for (i, s) in p.snat.iter().enumerate() {
        let n = if i == 0 { "2." } else { "  " };
        out.push_str(&format!(
            "  {n} add an SNAT entry to {} with SNAT IP {} (unless it has one)\n",
            s.snat_table_id, s.snat_ip
        ));
    }
    let list = &p.eni_conf["vswitches"][&p.zone];
    let placeholder = if p.reuse.is_none() {
        format!(" ({id} is the id CreateVSwitch returns)")
    } else {
        String::new()
    };
    out.push_str(&format!(
        "  3. append it to eni_conf.vswitches[\"{}\"] of {}/{}: {list}{placeholder}\n",
        p.zone, args.terway.namespace.terway_namespace, inputs.config.name
    ));
    let crd = p.mode == crate::config::Mode::Crd;
    out.push_str(&match (args.rollout.restart, crd) {
        (RestartScope::Zone, false) => format!(
            "  4. restart the Terway pods (DaemonSet {}/{}) on the nodes of {} only, {} % at a time, each batch Ready before the next\n",
            args.terway.namespace.terway_namespace, args.terway.daemonset, p.zone, args.rollout.batch_percent
        ),
        (RestartScope::Zone, true) => format!(
            "  4. restart nothing (ipam_type crd: each daemon re-reads eni-config when its Terway Node resource reconciles); nudge the Terway Node resources of {} and wait until they list the vSwitch\n",
            p.zone
        ),
        (RestartScope::All, _) => format!(
            "  4. restart Terway rolling (DaemonSet {}/{}), like kubectl rollout restart\n",
            args.terway.namespace.terway_namespace, args.terway.daemonset
        ),
        (RestartScope::None, _) => {
            "  4. restart nothing (--restart none): the zone's Terway pods see the vSwitch only after their next restart\n".to_string()
        }
    });
    for w in &p.warnings {
        out.push_str(&format!("  note [{}] {}: {}\n", w.rule, w.path, w.message));
    }
    out.push_str(&format!(
        "Dry run: nothing was changed. To carry it out: terway-guard expand --zone {} --prefix-len {}{} --inventory aliyun --region <region> --apply\n",
        p.zone,
        args.prefix_len,
        if args.create { " --create" } else { "" }
    ));
    out
}
