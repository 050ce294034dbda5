//! The expansion: dry-run plans, and `--apply` against the fakes, killed
//! after every step and resumed.

mod common;

use common::fake_vpc::FakeEnv;

use common::fake_kube::FakeKube;
use common::fake_vpc::{Fake, SECRET};
use common::scenario::{CM, DS, cloud, cluster, kube_client, vpc_client};
use common::*;
use serde_json::{Value, json};
use std::process::Command;
use terway_guard::config::manifest;
use terway_guard::expand::apply::{self, ApplyError, Progress, STATE_ANNOTATION, Step, Target};
use terway_guard::expand::plan::{self, Request};
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
    let out = Command::new(BIN).args(args).output().unwrap();
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
        .args(args)
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
        .args(args)
        .args(["--prefix-len", "15"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/15 is not allowed"));
}

/// Plans from the current state of the fakes, as `expand --apply` does.
async fn current_plan(fake: &Fake, kube: &FakeKube) -> plan::Plan {
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
        .into_iter()
        .map(|l| l.id)
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
    })
    .unwrap()
}

async fn apply_once(
    fake: &Fake,
    kube: &FakeKube,
    crash: Option<Step>,
) -> Result<apply::Report, ApplyError> {
    let plan = current_plan(fake, kube).await;
    let vpc = vpc_client(fake);
    let target = Target {
        kube: kube_client(kube).await,
        vpc: &vpc,
        namespace: "kube-system".into(),
        daemonset: "terway-eniip".into(),
        rollout_timeout: std::time::Duration::from_secs(5),
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
    let id = report["vswitch_id"].as_str().unwrap();
    assert!(
        kube.get(CM)["data"]["eni_conf"]
            .as_str()
            .unwrap()
            .contains(id)
    );
    assert!(!stderr.contains(SECRET));
}
