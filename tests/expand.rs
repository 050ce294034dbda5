//! The expansion: dry-run plans, and `--apply` against the fakes, killed
//! after every step and resumed.

mod common;

use common::fake_vpc::FakeEnv;

use common::fake_kube::FakeKube;
use common::fake_vpc::{Fake, SECRET};
use common::scenario::{
    CM, DS, PODS, cloud, cluster, deleted, kube_client, put_terway_pod, vpc_client,
};
use common::*;
use serde_json::{Value, json};
use std::process::Command;
use terway_guard::config::manifest;
use terway_guard::expand::apply::{self, ApplyError, Progress, STATE_ANNOTATION, Step, Target};
use terway_guard::expand::plan::{self, Request};
use terway_guard::expand::restart::RestartScope;
use terway_guard::inventory::{CloudConfig, CloudInventory, Inventory};

const BIN: &str = env!("CARGO_BIN_EXE_terway-guard");

#[test]
fn dry_run_prints_a_plan_from_the_static_inventory() {
    let args = [
        "expand",
        "--zone",
        "cn-shanghai-f",
        "--config",
        &example("eni-config.yaml"),
        "--inventory",
        &example("inventory.yaml"),
    ];
    // The example VPC has an unlisted, empty /19 in zone f: it is listed
    // instead of creating another, and the plan says why and what it passed over.
    let out = Command::new(BIN).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("1. reuse vSwitch vsw-uf6bbb0002 192.168.32.0/19 (8188 pod IPs) instead of creating one: vsw-uf6bbb0002 (192.168.32.0/19) is in cn-shanghai-f, listed in no Terway config, /19 (at least the /19 asked for) and 8188 of 8188 IPs are free"),
        "{text}"
    );
    assert!(
        text.contains("not vsw-uf6aaa0001 (192.168.0.0/24): already listed in eni-config"),
        "{text}"
    );
    assert!(
        text.contains("restart the Terway pods (DaemonSet kube-system/terway-eniip) on the nodes of cn-shanghai-f only, 10 % at a time"),
        "{text}"
    );
    let out = Command::new(BIN)
        .args(args)
        .args(["-o", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reuse"]["id"], "vsw-uf6bbb0002");
    assert_eq!(
        v["eni_conf"]["vswitches"]["cn-shanghai-f"],
        json!(["vsw-uf6aaa0001", "vsw-uf6bbb0002"])
    );
    assert_eq!(v["rejected"][0]["id"], "vsw-uf6aaa0001");

    let args = [&args[..], &["--create"]].concat();
    let out = Command::new(BIN).args(&args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("create vSwitch terway-guard-cn-shanghai-f-192-168-96-0-19 192.168.96.0/19 (8188 pod IPs)"), "{text}");
    assert!(
        text.contains("add an SNAT entry to stb-uf6demo0001 with SNAT IP 47.100.10.1"),
        "{text}"
    );
    assert!(text.contains("Dry run: nothing was changed"), "{text}");

    let out = Command::new(BIN)
        .args(&args)
        .args(["-o", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["zone"], "cn-shanghai-f");
    assert_eq!(
        v["vswitch"],
        json!({"cidr": "192.168.96.0/19", "zone": "cn-shanghai-f", "name": "terway-guard-cn-shanghai-f-192-168-96-0-19"})
    );
    assert_eq!(
        v["snat"],
        json!([{"snat_table_id": "stb-uf6demo0001", "snat_ip": "47.100.10.1"}])
    );
    assert_eq!(
        v["eni_conf"]["vswitches"]["cn-shanghai-f"],
        json!(["vsw-uf6aaa0001", "vsw-planned"])
    );
    assert_eq!(v["eni_conf"]["max_pool_size"], 30);

    let out = Command::new(BIN)
        .args(&args)
        .args(["--prefix-len", "15"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/15 is not allowed"));
}

/// Plans from the current state of the fakes, as `expand --apply` does.
async fn current_plan(fake: &Fake, kube: &FakeKube, force_create: bool) -> plan::Plan {
    let inv = CloudInventory::new(
        vpc_client(fake),
        CloudConfig {
            vpc_id: Some("vpc-uf6demo0001".into()),
            ..Default::default()
        },
    );
    let config = manifest::from_value(kube.get(CM)).unwrap();
    let query = config
        .eni_conf()
        .unwrap()
        .vswitches()
        .iter()
        .map(|l| l.id.clone())
        .collect();
    let facts = inv.facts(&query).await;
    let view = inv.vpc_view("vpc-uf6demo0001").await.unwrap();
    let settings = terway_guard::rules::Settings::default();
    plan::plan(&Request {
        zone: "cn-shanghai-f",
        prefix_len: 19,
        view: &view,
        config: &config,
        facts: &facts,
        settings: &settings,
        dynamic_listed: &[],
        force_create,
    })
    .unwrap()
}

/// A new vSwitch, and the whole DaemonSet rolled.
async fn apply_once(
    fake: &Fake,
    kube: &FakeKube,
    crash: Option<Step>,
) -> Result<apply::Report, ApplyError> {
    apply_with(fake, kube, crash, true, RestartScope::All, 10).await
}

async fn apply_with(
    fake: &Fake,
    kube: &FakeKube,
    crash: Option<Step>,
    force_create: bool,
    restart: RestartScope,
    batch_percent: u8,
) -> Result<apply::Report, ApplyError> {
    let plan = current_plan(fake, kube, force_create).await;
    let vpc = vpc_client(fake);
    let target = Target {
        kube: kube_client(kube).await,
        vpc: &vpc,
        namespace: "kube-system".into(),
        daemonset: "terway-eniip".into(),
        rollout_timeout: std::time::Duration::from_secs(5),
        restart,
        batch_percent,
        leader: None,
    };
    let mut progress = Progress::quiet();
    progress.crash_after = crash;
    apply::run(&target, &plan, &mut progress).await
}

#[tokio::test]
async fn killed_after_every_step_the_next_run_finishes_the_job_once() {
    for crash in [
        Step::Recorded,
        Step::VSwitchCreated,
        Step::SnatCreated,
        Step::ConfigPatched,
        Step::RolloutRequested,
    ] {
        let (fake, kube) = (cloud().await, cluster().await);
        match apply_once(&fake, &kube, Some(crash)).await {
            Err(ApplyError::Crashed(s)) => assert_eq!(s, crash),
            other => panic!("{crash:?}: {other:?}"),
        }
        let report = apply_once(&fake, &kube, None)
            .await
            .unwrap_or_else(|e| panic!("resume after {crash:?}: {e}"));
        assert!(
            deleted(&kube).is_empty(),
            "{crash:?}: rolled, no pod deleted"
        );

        let created: Vec<String> = fake.with(|s| {
            s.vswitches
                .iter()
                .filter(|v| v.id.starts_with("vsw-fake"))
                .map(|v| v.id.clone())
                .collect()
        });
        assert_eq!(created.len(), 1, "{crash:?}: exactly one vSwitch");
        let id = &created[0];
        assert_eq!(&report.vswitch_id, id);
        assert_eq!(report.cidr, "192.168.96.0/19");
        let snat = fake.with(|s| {
            s.snat_entries
                .iter()
                .filter(|e| e["SourceVSwitchId"] == id.as_str())
                .count()
        });
        assert_eq!(snat, 1, "{crash:?}: exactly one SNAT entry");
        let cm = kube.get(CM);
        let eni = cm["data"]["eni_conf"].as_str().unwrap();
        assert_eq!(
            eni.matches(id.as_str()).count(),
            1,
            "{crash:?}: listed once"
        );
        let conf: Value = serde_json::from_str(eni).unwrap();
        assert_eq!(
            conf["vswitches"]["cn-shanghai-f"],
            json!(["vsw-uf6aaa0001", id])
        );
        let ds = kube.get(DS);
        assert_eq!(ds["metadata"]["generation"], 2, "{crash:?}: one rollout");
        assert_eq!(
            ds["spec"]["template"]["metadata"]["annotations"][apply::RESTARTED_AT],
            report.restarted_at.as_str()
        );
        let state: Value = serde_json::from_str(
            cm["metadata"]["annotations"][STATE_ANNOTATION]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(state["done"], true);
        assert!(report.rollout_complete);
        assert_eq!((report.pods_recovered, report.pods_still_waiting), (1, 0));
        assert_eq!(report.available_ips, 8188);
    }
}

#[tokio::test]
async fn a_finished_expansion_is_not_repeated_by_accident_and_a_new_one_gets_a_new_block() {
    let (fake, kube) = (cloud().await, cluster().await);
    let first = apply_once(&fake, &kube, None).await.unwrap();
    let second = apply_once(&fake, &kube, None).await.unwrap();
    assert_ne!(
        first.vswitch_id, second.vswitch_id,
        "a second, deliberate run expands again"
    );
    assert_eq!(second.cidr, "192.168.128.0/19");
    assert_eq!(kube.get(DS)["metadata"]["generation"], 3);
}

#[tokio::test]
async fn a_concurrent_edit_of_eni_config_is_not_lost() {
    let (fake, kube) = (cloud().await, cluster().await);
    // Someone changes eni-config between our runs: the patch re-reads and keeps their change.
    let _ = apply_once(&fake, &kube, Some(Step::SnatCreated)).await;
    let mut cm = kube.get(CM);
    let edited = cm["data"]["eni_conf"]
        .as_str()
        .unwrap()
        .replace("\"max_pool_size\": 30", "\"max_pool_size\": 25");
    cm["data"]["eni_conf"] = json!(edited);
    kube.put(CM, cm);
    apply_once(&fake, &kube, None).await.unwrap();
    let eni = kube.get(CM)["data"]["eni_conf"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        eni.contains("\"max_pool_size\": 25") && eni.contains("vsw-fake"),
        "{eni}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expand_apply_from_the_command_line() {
    let (fake, kube) = (cloud().await, cluster().await);
    let dir = temp_dir("expand-cli");
    let kubeconfig = kube.kubeconfig(&dir);
    let url = fake.url();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args([
                "expand",
                "--zone",
                "cn-shanghai-f",
                "--apply",
                "-o",
                "json",
                "--inventory",
                "aliyun",
                "--region",
                "cn-shanghai",
                "--vpc-endpoint",
                &url,
                "--rollout-timeout",
                "5",
                "--create",
            ])
            .fake_env(kubeconfig)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("creating vSwitch terway-guard-cn-shanghai-f-192-168-96-0-19"),
        "{stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["cidr"], "192.168.96.0/19");
    assert_eq!(report["rollout_complete"], true);
    // By default only the zone's Terway pods restart; the DaemonSet is not rolled.
    assert_eq!(
        deleted(&kube),
        [format!("{PODS}/terway-eniip-node-f-1")],
        "{stderr}"
    );
    assert_eq!(kube.get(DS)["metadata"]["generation"], 1);
    assert_eq!(report["pods_restarted"], 1);
    assert_eq!(report["zone_free_before"], 2);
    assert_eq!(report["zone_free_after"], 2 + 8188);
    let id = report["vswitch_id"].as_str().unwrap();
    assert!(
        kube.get(CM)["data"]["eni_conf"]
            .as_str()
            .unwrap()
            .contains(id)
    );
    assert!(!stderr.contains(SECRET));
}

/// Three zones: f (5 nodes), g and h (2 each), each node with its Terway pod.
async fn three_zones() -> FakeKube {
    let kube = cluster().await;
    let mut nodes = Vec::new();
    for (zone, n) in [("f", 5), ("g", 2), ("h", 2)] {
        for i in 1..=n {
            let name = format!("node-{zone}-{i}");
            nodes.push(json!({"metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": format!("cn-shanghai-{zone}")}}}));
            put_terway_pod(&kube, &name);
        }
    }
    kube.put(
        "/api/v1/nodes",
        json!({"apiVersion": "v1", "kind": "NodeList", "metadata": {"resourceVersion": "1"}, "items": nodes}),
    );
    kube
}

fn state_of(kube: &FakeKube) -> Value {
    serde_json::from_str(
        kube.get(CM)["metadata"]["annotations"][STATE_ANNOTATION]
            .as_str()
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn a_zone_restart_touches_only_the_zone_batch_by_batch_and_resumes_without_restarting_twice()
{
    let (fake, kube) = (cloud().await, three_zones().await);
    // 40 % of 5 pods: batches of 2, 2 and 1. Killed after deleting batch 2.
    match apply_with(
        &fake,
        &kube,
        Some(Step::BatchDeleted(1)),
        false,
        RestartScope::Zone,
        40,
    )
    .await
    {
        Err(ApplyError::Crashed(Step::BatchDeleted(1))) => {}
        other => panic!("{other:?}"),
    }
    let pod = |n: &str| format!("{PODS}/terway-eniip-node-f-{n}");
    assert_eq!(deleted(&kube), [pod("1"), pod("2"), pod("3"), pod("4")]);
    let st = state_of(&kube);
    assert_eq!(st["restart"]["batches_done"], 1);
    assert_eq!(st["restart"]["batch"].as_array().unwrap().len(), 2, "{st}");

    let report = apply_with(&fake, &kube, None, false, RestartScope::Zone, 40)
        .await
        .unwrap();
    // Each of the zone's pods was deleted once; the replacements of the
    // killed batch were not touched, nor any pod of zones g and h.
    assert_eq!(
        deleted(&kube),
        [pod("1"), pod("2"), pod("3"), pod("4"), pod("5")]
    );
    let st = state_of(&kube);
    assert_eq!(st["done"], true);
    assert_eq!(st["restart"]["batches_done"], 3);
    assert_eq!(
        st["restart"]["done"],
        json!(["node-f-1", "node-f-2", "node-f-3", "node-f-4", "node-f-5"])
    );
    assert_eq!(
        kube.get(DS)["metadata"]["generation"],
        1,
        "no DaemonSet roll"
    );
    for other in ["node-g-1", "node-g-2", "node-h-1", "node-h-2"] {
        assert!(
            kube.get(&format!("{PODS}/terway-eniip-{other}"))
                .is_object(),
            "{other} untouched"
        );
    }
    // The unlisted empty /19 of zone f was listed, not a new one created.
    assert!(report.reused);
    assert_eq!(report.vswitch_id, "vsw-uf6bbb0002");
    assert_eq!(
        fake.with(|s| s
            .vswitches
            .iter()
            .filter(|v| v.id.starts_with("vsw-fake"))
            .count()),
        0
    );
    assert_eq!(report.pods_restarted, 5);
    assert_eq!(
        (report.zone_free_before, report.zone_free_after),
        (2, 2 + 8188)
    );
    let steps: Vec<&str> = report.took.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(steps, ["vswitch (reused)", "snat", "config", "restart"]);
    assert!(
        report
            .to_text()
            .contains("Zone free pod IPs: 2 before, 8190 after"),
        "{}",
        report.to_text()
    );
    // The reused vSwitch got the zone's SNAT entry, once.
    let snat = fake.with(|s| {
        s.snat_entries
            .iter()
            .filter(|e| e["SourceVSwitchId"] == "vsw-uf6bbb0002")
            .count()
    });
    assert_eq!(snat, 1);
}

#[tokio::test]
async fn with_restart_none_the_config_lands_and_no_terway_pod_is_touched() {
    let (fake, kube) = (cloud().await, three_zones().await);
    let report = apply_with(&fake, &kube, None, false, RestartScope::None, 40)
        .await
        .unwrap();
    assert!(deleted(&kube).is_empty(), "no pod restarted");
    assert_eq!(
        kube.get(DS)["metadata"]["generation"],
        1,
        "no DaemonSet roll"
    );
    assert_eq!(report.pods_restarted, 0);
    assert!(
        report.restart.contains("--restart none"),
        "{}",
        report.restart
    );
    // Nothing left to wait for: the run is finished, and says what to do.
    assert!(report.rollout_complete);
    assert_eq!(state_of(&kube)["done"], true);
    let steps: Vec<&str> = report.took.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(steps, ["vswitch (reused)", "snat", "config", "restart"]);
    let conf: Value =
        serde_json::from_str(kube.get(CM)["data"]["eni_conf"].as_str().unwrap()).unwrap();
    let zone = conf["vswitches"]["cn-shanghai-f"].as_array().unwrap();
    assert_eq!(
        zone.last().and_then(Value::as_str),
        Some(report.vswitch_id.as_str()),
        "{conf}"
    );
}

#[tokio::test]
async fn a_batch_that_never_becomes_ready_stops_the_restart_and_a_rerun_resumes_it() {
    let (fake, kube) = (cloud().await, three_zones().await);
    kube.store.lock().unwrap().unready_replacements = true;
    let plan = current_plan(&fake, &kube, false).await;
    let vpc = vpc_client(&fake);
    let target = Target {
        kube: kube_client(&kube).await,
        vpc: &vpc,
        namespace: "kube-system".into(),
        daemonset: "terway-eniip".into(),
        rollout_timeout: std::time::Duration::from_millis(300),
        restart: RestartScope::Zone,
        batch_percent: 40,
        leader: None,
    };
    let err = apply::run(&target, &plan, &mut Progress::quiet())
        .await
        .unwrap_err();
    match &err {
        ApplyError::Stuck(why) => assert!(
            why.contains("waiting for batch 1 to be Ready") && why.contains("run again to resume"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
    // Only the first batch (2 of the zone's 5 pods) was restarted: a broken
    // Terway does not spread past it.
    let pod = |n: &str| format!("{PODS}/terway-eniip-node-f-{n}");
    assert_eq!(deleted(&kube), [pod("1"), pod("2")]);
    let st = state_of(&kube);
    assert_eq!(st["done"], false);
    assert_eq!(st["restart"]["batches_done"], 0);

    // Once the replacements are Ready, the next run finishes the job without
    // restarting the first batch again.
    {
        let mut s = kube.store.lock().unwrap();
        s.unready_replacements = false;
        for (path, o) in s.objects.iter_mut() {
            if path.starts_with(PODS) {
                o["status"]["conditions"] = json!([{"type": "Ready", "status": "True"}]);
            }
        }
    }
    let report = apply::run(
        &target,
        &current_plan(&fake, &kube, false).await,
        &mut Progress::quiet(),
    )
    .await
    .unwrap();
    assert_eq!(
        deleted(&kube),
        [pod("1"), pod("2"), pod("3"), pod("4"), pod("5")]
    );
    assert!(report.rollout_complete);
    assert_eq!(state_of(&kube)["done"], true);
}

const TERWAY_NODES: &str = "/apis/network.alibabacloud.com/v1beta1/nodes";

/// Stands in for Terway's daemon in CRD mode (pkg/eni/node_reconcile.go):
/// when its Node resource changes, it re-reads eni-config and writes the
/// zone's vSwitches to `spec.eni.vSwitchOptions`.
fn terway_reconciles(kube: FakeKube, node: &'static str, zone: &'static str) {
    tokio::spawn(async move {
        let path = format!("{TERWAY_NODES}/{node}");
        let mut seen = kube.get(&path)["metadata"]["resourceVersion"].clone();
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let mut cr = kube.get(&path);
            if cr["metadata"]["resourceVersion"] == seen {
                continue;
            }
            let conf: Value =
                serde_json::from_str(kube.get(CM)["data"]["eni_conf"].as_str().unwrap()).unwrap();
            cr["spec"]["eni"]["vSwitchOptions"] = conf["vswitches"][zone].clone();
            cr["metadata"]["resourceVersion"] = json!("");
            kube.put(&path, cr);
            seen = kube.get(&path)["metadata"]["resourceVersion"].clone();
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_crd_mode_no_pod_restarts_and_the_zones_terway_nodes_are_asked_to_reconcile() {
    let (fake, kube) = (cloud().await, cluster().await);
    let mut cm = kube.get(CM);
    let conf =
        cm["data"]["eni_conf"]
            .as_str()
            .unwrap()
            .replacen('{', "{\n  \"ipam_type\": \"crd\",", 1);
    cm["data"]["eni_conf"] = json!(conf);
    kube.put(CM, cm);
    for (node, vsw) in [
        ("node-f-1", "vsw-uf6aaa0001"),
        ("node-g-1", "vsw-uf6ccc0003"),
    ] {
        kube.put(
            &format!("{TERWAY_NODES}/{node}"),
            json!({"apiVersion": "network.alibabacloud.com/v1beta1", "kind": "Node", "metadata": {"name": node},
                   "spec": {"nodeCap": {"adapters": 4, "ipv4PerAdapter": 15}, "eni": {"vSwitchOptions": [vsw]}}}),
        );
    }
    terway_reconciles(kube.clone(), "node-f-1", "cn-shanghai-f");
    let report = apply_with(&fake, &kube, None, false, RestartScope::Zone, 10)
        .await
        .unwrap();
    assert!(deleted(&kube).is_empty(), "no pod restarted");
    assert_eq!(kube.get(DS)["metadata"]["generation"], 1);
    assert!(report.rollout_complete, "{report:?}");
    assert!(
        report.restart.contains("no pod restarted (CRD mode")
            && report
                .restart
                .contains("1 of 1 Terway Node resources in cn-shanghai-f list vsw-uf6bbb0002"),
        "{}",
        report.restart
    );
    let f = kube.get(&format!("{TERWAY_NODES}/node-f-1"));
    assert_eq!(
        f["metadata"]["annotations"]["terway-guard.io/vswitch-added"],
        "vsw-uf6bbb0002"
    );
    assert_eq!(
        f["spec"]["eni"]["vSwitchOptions"],
        json!(["vsw-uf6aaa0001", "vsw-uf6bbb0002"])
    );
    // Zone g's Terway Node was not touched.
    let g = kube.get(&format!("{TERWAY_NODES}/node-g-1"));
    assert!(g["metadata"].get("annotations").is_none(), "{g}");
}

/// A zone larger than a page: its nodes (under either zone label) and their
/// Terway pods are listed in pages of 50 (`limit`, then `continue`), as the
/// watchers list, and only the zone's are kept.
#[tokio::test]
async fn a_large_zones_nodes_and_terway_pods_are_listed_in_pages() {
    use terway_guard::expand::restart::{terway_pods, zone_nodes};
    const NODES: &str = "/api/v1/nodes";
    let kube = FakeKube::in_process();
    let ds = cluster_ds();
    kube.put(DS, ds);
    // Zone f: 120 nodes with today's label, 60 with the old one; zone g: 70.
    let mut nodes = Vec::new();
    let mut want = std::collections::BTreeSet::new();
    for (zone, label, n) in [
        ("f", "topology.kubernetes.io/zone", 120),
        ("g", "topology.kubernetes.io/zone", 70),
        ("f", "failure-domain.beta.kubernetes.io/zone", 60),
    ] {
        for i in 0..n {
            let name = format!("node-{zone}-{}-{i:03}", label.len());
            nodes.push(json!({"metadata": {"name": name, "labels": {label: format!("cn-shanghai-{zone}")}}}));
            put_terway_pod(&kube, &name);
            if zone == "f" {
                want.insert(name);
            }
        }
    }
    kube.put(
        NODES,
        json!({"apiVersion": "v1", "kind": "NodeList", "metadata": {"resourceVersion": "1"}, "items": nodes}),
    );
    let client = kube.client();
    let got = zone_nodes(&client, "cn-shanghai-f").await.unwrap();
    assert_eq!(got, want);
    let pods = terway_pods(&client, "kube-system", "terway-eniip", &got)
        .await
        .unwrap();
    assert_eq!(pods.len(), 180);
    assert!(
        pods.iter()
            .all(|(p, ready)| *ready && want.contains(&p.node))
    );

    let reads = kube.store.lock().unwrap().reads.clone();
    let of = |path: &str| -> Vec<String> {
        let prefix = format!("GET {path}?");
        reads
            .iter()
            .filter(|r| r.starts_with(&prefix))
            .cloned()
            .collect()
    };
    let (node_reads, pod_reads) = (of(NODES), of(PODS));
    // 120 nodes: pages of 50, 50 and 20; 60: 50 and 10.
    assert_eq!(node_reads.len(), 5, "{node_reads:?}");
    assert_eq!(
        node_reads
            .iter()
            .filter(|r| r.contains("continue="))
            .count(),
        3,
        "{node_reads:?}"
    );
    assert!(
        node_reads
            .iter()
            .all(|r| r.contains("limit=50") && r.ends_with(" (metadata)")),
        "{node_reads:?}"
    );
    // 250 Terway pods, every one the DaemonSet's: pages of 50.
    assert_eq!(pod_reads.len(), 5, "{pod_reads:?}");
    assert!(
        pod_reads
            .iter()
            .all(|r| r.contains("limit=50") && r.contains("labelSelector=")),
        "{pod_reads:?}"
    );
}

/// The DaemonSet of [`cluster`], alone.
fn cluster_ds() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "terway-eniip", "namespace": "kube-system", "generation": 1},
           "spec": {"selector": {"matchLabels": {"app": "terway-eniip"}}, "template": {"metadata": {"labels": {"app": "terway-eniip"}}, "spec": {"containers": []}}}})
}
