//! The companion controller against the fakes: a zone runs dry, Terway
//! reports it, the controller plans (or performs) the expansion.

mod common;

use common::fake_vpc::FakeEnv;

use std::time::Duration;

use common::scenario::{CM, DS, PODS, cloud, cluster, controller, created_events, deleted};
use terway_guard::controller::decide::{Decision, Mode};

const EVENTS: &str = "POST /api/v1/namespaces/kube-system/events";

#[tokio::test]
async fn auto_mode_expands_a_zone_that_ran_dry_once() {
    let (fake, kube) = (cloud().await, cluster().await);
    let c = controller(&fake, &kube, Mode::Auto, "replica-a").await;
    let r = c.tick().await.unwrap();
    assert!(r.leader);
    assert!(
        matches!(&r.decisions[..], [Decision::Expand { zone, .. }] if zone == "cn-shanghai-f"),
        "{:?}",
        r.decisions
    );
    let report = r.expanded.expect("expanded");
    // The example VPC's unlisted, empty /19 in zone f is listed, not a new one created.
    assert_eq!(report.vswitch_id, "vsw-uf6bbb0002");
    assert_eq!(report.cidr, "192.168.32.0/19");
    assert!(
        kube.get(CM)["data"]["eni_conf"]
            .as_str()
            .unwrap()
            .contains(&report.vswitch_id)
    );
    // Only zone f's Terway pod restarted; the DaemonSet was not rolled.
    assert_eq!(kube.get(DS)["metadata"]["generation"], 1);
    assert_eq!(deleted(&kube), [format!("{PODS}/terway-eniip-node-f-1")]);
    let events = created_events(&kube);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["reason"], "ZoneExpanded");
    let msg = events[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("listed the unused vSwitch vsw-uf6bbb0002")
            && msg.contains("zone free pod IPs 2 before, 8190 after"),
        "{msg}"
    );
    assert_eq!(events[0]["involvedObject"]["name"], "eni-config");
    assert!(
        c.metrics.render().contains(
            "terway_guard_expansions_total{zone=\"cn-shanghai-f\",outcome=\"succeeded\"} 1"
        )
    );

    // The old event does not trigger again, and nothing else happens.
    let r = c.tick().await.unwrap();
    assert!(r.decisions.is_empty(), "{:?}", r.decisions);
    assert_eq!(fake.with(|s| s.vswitches.len()), 3, "no new vSwitch");
    // A restarted controller reads what was done from eni-config.
    let fresh = controller(&fake, &kube, Mode::Auto, "replica-a").await;
    assert!(fresh.tick().await.unwrap().decisions.is_empty());
}

#[tokio::test]
async fn plan_mode_proposes_with_the_exact_command_and_does_not_repeat_itself() {
    let (fake, kube) = (cloud().await, cluster().await);
    let c = controller(&fake, &kube, Mode::Plan, "replica-a").await;
    let r = c.tick().await.unwrap();
    assert!(
        matches!(&r.decisions[..], [Decision::Propose { zone, .. }] if zone == "cn-shanghai-f")
    );
    let events = created_events(&kube);
    assert_eq!(events.len(), 1);
    let msg = events[0]["message"].as_str().unwrap();
    assert!(
        msg.contains("restart the zone's Terway pods in batches"),
        "{msg}"
    );
    assert!(msg.contains("list the unused vSwitch vsw-uf6bbb0002 (192.168.32.0/19)") && msg.contains("terway-guard expand --zone cn-shanghai-f --prefix-len 19 --inventory aliyun --region cn-shanghai --apply"), "{msg}");
    assert_eq!(
        fake.with(|s| s.vswitches.len()),
        3,
        "plan mode creates nothing"
    );
    c.tick().await.unwrap();
    assert_eq!(
        created_events(&kube).len(),
        1,
        "the same proposal is not announced twice"
    );
}

#[tokio::test]
async fn two_replicas_never_act_together() {
    let (fake, kube) = (cloud().await, cluster().await);
    let a = controller(&fake, &kube, Mode::Plan, "replica-a").await;
    let b = controller(&fake, &kube, Mode::Plan, "replica-b").await;
    assert!(a.tick().await.unwrap().leader);
    let rb = b.tick().await.unwrap();
    assert!(!rb.leader && rb.decisions.is_empty());
    assert!(a.tick().await.unwrap().leader, "the leader renews");
    assert_eq!(kube.writes(EVENTS), 1);
}

#[tokio::test]
async fn drift_is_offered_or_fixed() {
    let (fake, kube) = (cloud().await, cluster().await);
    // Terway was rolled for another config than the one now in eni-config.
    let mut ds = kube.get(DS);
    ds["spec"]["template"]["metadata"]["annotations"] =
        serde_json::json!({"terway-guard.io/eni-conf-sha256": "old-hash"});
    kube.put(DS, ds);
    kube.put("/api/v1/events", serde_json::json!({"apiVersion": "v1", "kind": "EventList", "metadata": {"resourceVersion": "2"}, "items": []}));
    let c = controller(&fake, &kube, Mode::Plan, "replica-a").await;
    assert_eq!(
        c.tick().await.unwrap().decisions,
        [Decision::ProposeRestart]
    );
    assert_eq!(created_events(&kube)[0]["reason"], "TerwayRestartProposed");
    let mut c = controller(&fake, &kube, Mode::Auto, "replica-a").await;
    c.policy.restart_on_drift = true;
    assert_eq!(c.tick().await.unwrap().decisions, [Decision::Restart]);
    assert_eq!(kube.get(DS)["metadata"]["generation"], 2);
    assert!(
        c.tick().await.unwrap().decisions.is_empty(),
        "no drift after the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_binary_expands_and_stops_on_sigterm() {
    use std::process::{Command, Stdio};
    let (fake, kube) = (cloud().await, cluster().await);
    let dir = common::temp_dir("controller-bin");
    let mut child = Command::new(env!("CARGO_BIN_EXE_terway-guard"))
        .args([
            "controller",
            "--mode",
            "auto",
            "--interval",
            "1",
            "--min-free",
            "0",
            "--min-free-pct",
            "0",
            "--metrics-listen",
            "off",
            "--rollout-timeout",
            "5",
        ])
        .args(common::fake_vpc::fake_cloud_args(&fake.url()))
        .fake_env(kube.kubeconfig(&dir))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut rolled = false;
    for _ in 0..100 {
        if !deleted(&kube).is_empty() {
            rolled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(rolled, "the controller never restarted Terway");
    assert_eq!(status.code(), Some(0));
    assert_eq!(deleted(&kube), [format!("{PODS}/terway-eniip-node-f-1")]);
    assert_eq!(fake.with(|s| s.vswitches.len()), 3, "reused, none created");
}

/// A leader that loses its lease in the middle of an expansion (waiting for
/// the rollout) writes nothing more; the new leader may take over at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_loses_the_lease_mid_expansion_stops_writing() {
    let (fake, kube) = (cloud().await, cluster().await);
    // A rollout that never completes: the leader waits in it.
    kube.store.lock().unwrap().hold_rollouts = true;
    let mut a = controller(&fake, &kube, Mode::Auto, "replica-a").await;
    a.restart = terway_guard::expand::restart::RestartScope::All;
    a.lease_secs = 3;
    a.rollout_timeout = Duration::from_secs(60);
    let a = std::sync::Arc::new(a);
    let renewal = a.spawn_renewal();
    for _ in 0..100 {
        if a.leadership.is_leader() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ticking = {
        let a = a.clone();
        tokio::spawn(async move { a.tick().await })
    };
    // Wait until the expansion asked for the rollout, then hand the lease to B.
    for _ in 0..500 {
        if kube.writes("PATCH /apis/apps/v1/namespaces/kube-system/daemonsets/terway-eniip") > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        kube.writes("PATCH /apis/apps/v1"),
        1,
        "the rollout was requested"
    );
    let lease =
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/terway-guard-controller";
    let mut l = kube.get(lease);
    l["spec"]["holderIdentity"] = "replica-b".into();
    l["spec"]["renewTime"] =
        terway_guard::cloud::time::iso8601(std::time::SystemTime::now()).into();
    l["spec"]["leaseDurationSeconds"] = 300.into();
    kube.put(lease, l);
    // A notices at its next renewal (every second) and stops.
    let result = tokio::time::timeout(Duration::from_secs(10), ticking)
        .await
        .expect("the leader stops waiting once it lost the lease")
        .unwrap();
    let lost_at_writes = kube.store.lock().unwrap().writes.len();
    let e = result.unwrap_err().to_string();
    assert!(e.contains("lost leadership"), "{e}");
    assert!(!a.leadership.is_leader());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after: Vec<String> = kube.store.lock().unwrap().writes[lost_at_writes..]
        .iter()
        .filter(|w| !w.contains("/leases/"))
        .cloned()
        .collect();
    assert!(after.is_empty(), "writes after losing the lease: {after:?}");
    assert!(
        !created_events(&kube)
            .iter()
            .any(|e| e["reason"] == "ZoneExpanded" || e["reason"] == "ZoneExpansionFailed"),
        "no event from a replica that no longer leads"
    );
    renewal.abort();
}

/// A proposal announced by one leader is not announced again by the next.
#[tokio::test]
async fn a_new_leader_does_not_repeat_a_proposal() {
    let (fake, kube) = (cloud().await, cluster().await);
    let a = controller(&fake, &kube, Mode::Plan, "replica-a").await;
    let b = controller(&fake, &kube, Mode::Plan, "replica-b").await;
    assert!(a.tick().await.unwrap().leader);
    assert_eq!(kube.writes(EVENTS), 1);
    // A goes away; its lease runs out and B takes over.
    let lease =
        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/terway-guard-controller";
    let mut l = kube.get(lease);
    l["spec"]["renewTime"] = "2020-01-01T00:00:00.000000Z".into();
    kube.put(lease, l);
    let rb = b.tick().await.unwrap();
    assert!(rb.leader && !rb.decisions.is_empty(), "{rb:?}");
    assert_eq!(kube.writes(EVENTS), 1, "B read A's proposal from the Lease");
}
