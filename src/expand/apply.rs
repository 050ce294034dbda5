//! Carrying a plan out: idempotent, resumable steps against the cloud and
//! the cluster. Each step is recorded in an annotation on `eni-config`, so a
//! run killed at any point is finished by the next one without creating a
//! second vSwitch or SNAT entry, listing the vSwitch twice, or rolling twice.

use std::time::{Duration, Instant, SystemTime};

use ::kube::api::{Api, Patch, PatchParams};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::json;

use super::plan::{PLANNED_ID, Plan};
pub use super::progress::Progress;
pub use super::report::Report;
use super::restart::{self, RestartScope};
pub use super::state::{ApplyError, SnatState, State, Step};
pub use super::target::{STATE_ANNOTATION, Target};
use super::target::{cms, save, wait_for};

use crate::cloud::time::iso8601;
use crate::config::{BASE_NAME, EniConf, HASH_ANNOTATION, edit};

/// What `kubectl rollout restart` sets on the pod template.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// Reads the expansion state recorded on `eni-config`, if any.
pub fn recorded(cm: &ConfigMap) -> Option<State> {
    read_state(cm)
}

/// Restarts Terway like `kubectl rollout restart`, recording the config hash.
pub async fn restart(
    kube: &::kube::Client,
    namespace: &str,
    daemonset: &str,
    config_hash: &str,
) -> Result<String, ApplyError> {
    let at = iso8601(SystemTime::now());
    let patch = json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: at, HASH_ANNOTATION: config_hash}}}}});
    Api::<DaemonSet>::namespaced(kube.clone(), namespace)
        .patch(daemonset, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(at)
}

fn read_state(cm: &ConfigMap) -> Option<State> {
    let text = cm.metadata.annotations.as_ref()?.get(STATE_ANNOTATION)?;
    serde_json::from_str(text).ok()
}

pub async fn run(t: &Target<'_>, plan: &Plan, p: &mut Progress) -> Result<Report, ApplyError> {
    let cm = cms(t).get(BASE_NAME).await?;
    let mut st = match read_state(&cm) {
        Some(s) if !s.done && s.zone == plan.zone => {
            (p.say)(&format!(
                "resuming the expansion of {} ({}) recorded on {BASE_NAME}",
                s.zone, s.cidr
            ));
            s
        }
        Some(s) if !s.done => {
            return Err(ApplyError::Stuck(format!(
                "an expansion of zone {} is still unfinished; finish it first (terway-guard expand --zone {} --apply)",
                s.zone, s.zone
            )));
        }
        _ => {
            let before: Vec<String> = zone_listed(plan)
                .into_iter()
                .filter(|id| Some(id) != plan.reuse.as_ref().map(|r| &r.id))
                .collect();
            let s = State {
                started_at: SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64),
                scope: t.restart,
                zone_free_before: zone_free(t, &before).await,
                ..State::from_plan(plan)
            };
            save(t, &s, |_| None).await?;
            s
        }
    };
    p.done(Step::Recorded)?;

    let deadline = || Instant::now() + Duration::from_secs(30);
    let mut since = Instant::now();
    let vsw = match st.vswitch_id.clone() {
        Some(id) => id,
        None => {
            (p.say)(&format!(
                "creating vSwitch {} {} in {}",
                st.name, st.cidr, st.zone
            ));
            t.ensure()?;
            let id = t
                .vpc
                .create_vswitch(
                    &crate::cloud::vpc::CreateVSwitch {
                        vpc_id: st.vpc_id.clone(),
                        zone_id: st.zone.clone(),
                        cidr_block: st.cidr.clone(),
                        name: st.name.clone(),
                        description: "pod vSwitch created by terway-guard expand".into(),
                        client_token: st.client_token.clone(),
                        tags: vec![
                            ("terway-guard.io/managed".into(), "true".into()),
                            ("terway-guard.io/zone".into(), st.zone.clone()),
                        ],
                    },
                    deadline(),
                )
                .await?;
            st.vswitch_id = Some(id.clone());
            save(t, &st, |_| None).await?;
            id
        }
    };
    wait_for(
        t,
        p,
        &format!("vSwitch {vsw} to be Available"),
        Duration::from_secs(300),
        || async {
            Ok(t.vpc
                .describe_vswitch_attributes(&vsw, deadline())
                .await?
                .status
                == "Available")
        },
    )
    .await?;
    st.timed(
        if st.reused {
            "vswitch (reused)"
        } else {
            "vswitch"
        },
        since,
    );
    since = Instant::now();
    p.done(Step::VSwitchCreated)?;

    for i in 0..st.snat.len() {
        if st.snat[i].entry_id.is_some() {
            continue;
        }
        let s = st.snat[i].clone();
        // One SNAT entry per vSwitch and table: reuse one that already exists.
        let existing = t
            .vpc
            .describe_snat_table_entries(&s.snat_table_id, Some(&vsw), deadline())
            .await?;
        let id = match existing.into_iter().next() {
            Some(e) => e.snat_entry_id,
            None => {
                (p.say)(&format!(
                    "adding SNAT entry for {vsw} to {} with SNAT IP {}",
                    s.snat_table_id, s.snat_ip
                ));
                t.ensure()?;
                t.vpc
                    .create_snat_entry(
                        &s.snat_table_id,
                        &vsw,
                        &s.snat_ip,
                        &s.client_token,
                        deadline(),
                    )
                    .await?
            }
        };
        st.snat[i].entry_id = Some(id.clone());
        save(t, &st, |_| None).await?;
        wait_for(
            t,
            p,
            &format!("SNAT entry {id} to be Available"),
            Duration::from_secs(300),
            || async {
                let list = t
                    .vpc
                    .describe_snat_table_entries(&s.snat_table_id, Some(&vsw), deadline())
                    .await?;
                Ok(list
                    .iter()
                    .any(|e| e.snat_entry_id == id && e.status == "Available"))
            },
        )
        .await?;
    }
    st.timed("snat", since);
    since = Instant::now();
    p.done(Step::SnatCreated)?;

    if !st.config_patched {
        (p.say)(&format!(
            "adding {vsw} to eni_conf.vswitches[\"{}\"]",
            st.zone
        ));
        st.config_patched = true;
        let (zone, id) = (st.zone.clone(), vsw.clone());
        save(t, &st, move |text| {
            let listed = EniConf::parse(text)
                .ok()?
                .vswitches()
                .iter()
                .any(|l| l.zone == zone && l.id == id);
            if listed {
                None
            } else {
                edit::append_vswitch(text, &zone, &id)
            }
        })
        .await?;
    }
    st.timed("config", since);
    since = Instant::now();
    p.done(Step::ConfigPatched)?;

    let crd = plan.mode == crate::config::Mode::Crd;
    let (restart, restarted_at, rollout_complete) = match st.scope {
        RestartScope::All => {
            let (at, complete) = roll_all(t, &mut st, p).await?;
            (
                format!("DaemonSet {}/{} rolled", t.namespace, t.daemonset),
                at,
                complete,
            )
        }
        RestartScope::Zone => {
            let (what, complete) = restart::zone(t, &mut st, p, &vsw, crd).await?;
            (what, String::new(), complete)
        }
        RestartScope::None => (
            "no Terway pod restarted (--restart none): restart the zone's Terway pods before they can use the new vSwitch".to_string(),
            String::new(),
            true,
        ),
    };
    st.timed("restart", since);

    st.done = rollout_complete;
    save(t, &st, |_| None).await?;
    let (recovered, waiting) = super::report::stuck_pods(&t.kube).await.unwrap_or((0, 0));
    let available_ips = t
        .vpc
        .describe_vswitch_attributes(&vsw, deadline())
        .await
        .map(|v| v.available_ip_address_count)
        .unwrap_or(0);
    let mut after_ids: Vec<String> = zone_listed(plan)
        .into_iter()
        .filter(|id| id != &vsw)
        .collect();
    after_ids.push(vsw.clone());
    Ok(Report {
        zone: st.zone.clone(),
        vswitch_id: vsw,
        cidr: st.cidr.clone(),
        reused: st.reused,
        available_ips,
        zone_free_before: st.zone_free_before,
        zone_free_after: zone_free(t, &after_ids).await,
        snat_entries: st.snat.iter().filter_map(|s| s.entry_id.clone()).collect(),
        restart,
        restarted_at,
        rollout_complete,
        pods_restarted: st.restart.as_ref().map_or(0, |r| r.done.len()),
        pods_recovered: recovered,
        pods_still_waiting: waiting,
        took: st.took.clone(),
    })
}

/// The zone's vSwitch ids the plan lists, without the placeholder.
fn zone_listed(plan: &Plan) -> Vec<String> {
    plan.eni_conf["vswitches"][&plan.zone]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .filter(|id| *id != PLANNED_ID)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Free IPs of these vSwitches now (one that cannot be read counts 0).
async fn zone_free(t: &Target<'_>, ids: &[String]) -> u64 {
    let mut sum = 0;
    for id in ids {
        if let Ok(v) = t
            .vpc
            .describe_vswitch_attributes(id, Instant::now() + Duration::from_secs(30))
            .await
        {
            sum += v.available_ip_address_count;
        }
    }
    sum
}

/// `--restart all`: rolls the whole DaemonSet like `kubectl rollout restart`.
async fn roll_all(
    t: &Target<'_>,
    st: &mut State,
    p: &mut Progress,
) -> Result<(String, bool), ApplyError> {
    let ds: Api<DaemonSet> = Api::namespaced(t.kube.clone(), &t.namespace);
    let restarted_at = match st.restarted_at.clone() {
        Some(at) => at,
        None => {
            // A value the template does not have yet, or nothing would roll
            // (two expansions within one second).
            let current = ds
                .get(&t.daemonset)
                .await?
                .spec
                .and_then(|s| s.template.metadata)
                .and_then(|m| m.annotations)
                .and_then(|a| a.get(RESTARTED_AT).cloned());
            let mut now = SystemTime::now();
            while current.as_deref() == Some(iso8601(now).as_str()) {
                now += Duration::from_secs(1);
            }
            let at = iso8601(now);
            st.restarted_at = Some(at.clone());
            save(t, st, |_| None).await?;
            at
        }
    };
    // The same value as recorded: re-sending it after a crash changes nothing,
    // so Terway is rolled once.
    let patch =
        json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: restarted_at}}}}});
    (p.say)(&format!(
        "restarting Terway: DaemonSet {}/{} (rolling)",
        t.namespace, t.daemonset
    ));
    t.ensure()?;
    ds.patch(&t.daemonset, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    p.done(Step::RolloutRequested)?;
    let rollout_complete = wait_for(t, p, "the Terway rollout", t.rollout_timeout, || async {
        let d = ds.get(&t.daemonset).await?;
        let (generation, status) = (
            d.metadata.generation.unwrap_or(0),
            d.status.unwrap_or_default(),
        );
        Ok(status.observed_generation.unwrap_or(0) >= generation
            && status.updated_number_scheduled.unwrap_or(0) >= status.desired_number_scheduled
            && status.number_available.unwrap_or(0) >= status.desired_number_scheduled)
    })
    .await;
    if matches!(rollout_complete, Err(ApplyError::LostLead)) {
        return Err(ApplyError::LostLead);
    }

    Ok((restarted_at, rollout_complete.is_ok()))
}
