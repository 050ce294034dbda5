//! The binary as a user runs it: `check`, `certs`, and `serve --dev` with SIGTERM.

mod common;

use common::fake_vpc::FakeEnv;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_terway-guard");

fn check(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).arg("check").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_exit_codes_follow_the_verdict() {
    let old = example("eni-config.yaml");
    let inv = example("inventory.yaml");
    let cases = [
        ("eni-config.yaml", 0, ""),
        ("edit-expand.yaml", 0, ""),
        ("edit-wrong-zone.yaml", 1, "vswitch-zone"),
        ("edit-small-vswitch.yaml", 1, "vswitch-prefix"),
        ("edit-typos.yaml", 1, "field-type"),
        ("edit-comments.yaml", 1, "eni-conf-json"),
    ];
    // Without --old the check is a CREATE; the live config and the good edit pass.
    for file in ["eni-config.yaml", "edit-expand.yaml"] {
        let (got, stdout, _) = check(&[&example(file), "--inventory", &inv]);
        assert_eq!(got, 0, "{file}: {stdout}");
    }
    for (file, code, rule) in cases {
        let (got, stdout, stderr) = check(&[&example(file), "--old", &old, "--inventory", &inv]);
        assert_eq!(got, code, "{file}: {stdout}{stderr}");
        assert!(stdout.contains(rule), "{file}: {stdout}");
    }
}

#[test]
fn check_judges_for_the_terway_version_given() {
    let dir = std::env::temp_dir().join(format!("tg-version-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cm.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: eni-config, namespace: kube-system}\ndata:\n  10-terway.conf: '{\"type\": \"terway\"}'\n  eni_conf: '{\"service_cidr\": \"10.96.0.0/12\", \"security_groups\": [\"sg-1\",\"sg-2\",\"sg-3\",\"sg-4\",\"sg-5\",\"sg-6\"]}'\n",
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let (code, stdout, _) = check(&[f, "--terway-version", "v1.13.4"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("security-group") && stdout.contains("v1.13.4"),
        "{stdout}"
    );
    let (code, stdout, _) = check(&[f, "--terway-version", "v1.16.7"]);
    assert_eq!(code, 0, "{stdout}");
    let out = Command::new(BIN)
        .args(["check", f])
        .env("TERWAY_GUARD_TERWAY_VERSION", "1.13.4")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the env twin is read");
    let (code, _, stderr) = check(&[f, "--terway-version", "latest"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not a version like v1.16.4"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_json_is_one_object() {
    let (code, stdout, _) = check(&[
        &example("edit-wrong-zone.yaml"),
        "--old",
        &example("eni-config.yaml"),
        "--inventory",
        &example("inventory.yaml"),
        "-o",
        "json",
    ]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(stdout.trim()).expect("exactly one JSON object");
    assert_eq!(v["allowed"], false);
    let f = v["findings"].as_array().unwrap();
    assert!(f.iter().any(|f| f["rule"] == "vswitch-zone"
        && f["severity"] == "deny"
        && f["path"] == r#"eni_conf.vswitches["cn-shanghai-f"][1]"#));
    assert!(
        f.iter()
            .all(|f| f["message"].as_str().is_some_and(|m| !m.is_empty()))
    );
    assert_eq!(v["patch"][0]["op"], "add");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["allowed", "findings", "patch"]);
}

#[test]
fn check_reads_stdin_and_judges_dynamic_configs_against_the_base() {
    let dynamic = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big-pool, namespace: kube-system}\ndata:\n  eni_conf: '{\"min_pool_size\": 40}'\n";
    let run = |extra: &[&str]| {
        let mut child = Command::new(BIN)
            .args(["check", "-", "-o", "json"])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(dynamic.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap(),
            serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        )
    };
    // Alone, min 40 is fine; merged onto a base whose max is 30, it is not.
    let (code, _) = run(&[]);
    assert_eq!(code, 0);
    let (code, v) = run(&["--base", &example("eni-config.yaml")]);
    assert_eq!(code, 1, "{v}");
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "pool-order")
    );
}

#[test]
fn check_says_why_it_cannot_run() {
    let cases: [&[&str]; 4] = [
        &["/nonexistent/cm.yaml"],
        &[&example("inventory.yaml")],
        &[
            &example("eni-config.yaml"),
            "--inventory",
            &example("eni-config.yaml"),
        ],
        &[&example("eni-config.yaml"), "-o", "xml"],
    ];
    for args in cases {
        let (code, _, stderr) = check(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(!stderr.trim().is_empty(), "{args:?}");
    }
}

#[test]
fn certs_writes_a_usable_pair() {
    let dir = temp_dir("certs");
    let out = Command::new(BIN)
        .args(["certs", "--out"])
        .arg(&dir)
        .args([
            "--dns",
            "terway-guard.kube-system.svc",
            "--dns",
            "127.0.0.1",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["ca.crt", "tls.crt", "tls.key"] {
        assert!(
            std::fs::read_to_string(dir.join(f))
                .unwrap()
                .contains("-----BEGIN")
        );
    }
}

#[tokio::test]
async fn serve_dev_answers_and_drains_on_sigterm() {
    let dir = temp_dir("dev");
    let mut child = Command::new(BIN)
        .current_dir(&dir)
        .args([
            "serve",
            "--dev",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr: std::net::SocketAddr = first.rsplit("https://").next().unwrap().parse().unwrap();
    let curl = lines.nth(1).unwrap().unwrap();
    assert!(
        curl.contains("curl") && curl.contains("--cacert certs/ca.crt"),
        "{curl}"
    );
    let ca = std::fs::read_to_string(dir.join("certs/ca.crt")).unwrap();

    let body = std::fs::read(example("review-denied.json")).unwrap();
    let reply = call(addr, roots(&[&ca]), "POST", "/validate?timeout=5s", body)
        .await
        .unwrap();
    let v = reply.json();
    assert_eq!(v["response"]["allowed"], false, "{v}");
    assert!(
        v["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("[vswitch-zone]")
    );

    let started = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "did not exit within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_check_read_facts_from_the_cloud() {
    use common::fake_vpc::{AK, Fake, SECRET};
    let fake = Fake::like_examples().await;
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .args(&args)
                .env("ALIBABA_CLOUD_ACCESS_KEY_ID", AK)
                .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
                .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
                // No cluster to ask for the region: only the fakes answer.
                .env("KUBECONFIG", "/nonexistent/kubeconfig")
                .env_remove("KUBERNETES_SERVICE_HOST")
                .output()
                .unwrap()
        })
    };
    let cloud = |cmd: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        v.extend(
            [
                "--inventory",
                "aliyun",
                "--region",
                "cn-shanghai",
                "--vpc-endpoint",
            ]
            .map(String::from),
        );
        v.push(fake.url());
        v
    };
    let out = run(cloud(&["status", "--config", &example("eni-config.yaml")]))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("cn-shanghai-f  free 2 of 252") && text.contains("EXHAUSTED"),
        "{text}"
    );

    let out = run(cloud(&[
        "status",
        "--config",
        &example("eni-config.yaml"),
        "-o",
        "json",
    ]))
    .await
    .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["zones"][0]["state"], "exhausted");
    assert_eq!(v["zones"][1]["vswitches"][0]["free"], 6000);

    let out = run(cloud(&[
        "check",
        &example("edit-wrong-zone.yaml"),
        "--old",
        &example("eni-config.yaml"),
    ]))
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("[vswitch-zone]"));

    // No --region: the metadata server tells it (here the fake's).
    fake.with(|s| s.region_id = "cn-wulanchabu".into());
    let no_region = |metadata: String| -> Vec<String> {
        [
            "status",
            "--config",
            &example("eni-config.yaml"),
            "--inventory",
            "aliyun",
            "--vpc-endpoint",
            &fake.url(),
            "--metadata-endpoint",
            &metadata,
        ]
        .map(String::from)
        .to_vec()
    };
    let out = run(no_region(fake.url())).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(fake.with(|s| s.regions.last().cloned()) == Some("cn-wulanchabu".into()));
    // Nobody can tell: a clear error, exit 2.
    let out = run(no_region("http://127.0.0.1:1".into())).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--region"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_the_cloud_inventory_end_to_end() {
    use common::fake_vpc::{AK, Fake, SECRET};
    let fake = Fake::like_examples().await;
    let dir = temp_dir("serve-aliyun");
    let ca = write_certs(&dir);
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "off",
            "--cluster",
            "off",
            "--inventory",
            "aliyun",
            "--region",
            "cn-shanghai",
            "--vpc-id",
            "vpc-uf6demo0001",
            "--vpc-endpoint",
        ])
        .arg(fake.url())
        .arg("--tls-cert")
        .arg(dir.join("tls.crt"))
        .arg("--tls-key")
        .arg(dir.join("tls.key"))
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", AK)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
        .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Keep draining stderr (the JSON log) for the whole run, as a kubelet would.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let v: Value = serde_json::from_str(&line).unwrap_or_default();
            if v["fields"]["message"] == "terway-guard webhook listening" {
                let _ = tx.send(v["fields"]["addr"].as_str().unwrap_or_default().to_string());
            }
        }
    });
    let addr: std::net::SocketAddr = tokio::task::spawn_blocking(move || {
        rx.recv_timeout(Duration::from_secs(20))
            .expect("server never said it was listening")
    })
    .await
    .unwrap()
    .parse()
    .unwrap();
    // Ready once the first sync reached the fake cloud.
    let mut ready = false;
    for _ in 0..100 {
        if call(addr, roots(&[&ca]), "GET", "/readyz", vec![])
            .await
            .is_ok_and(|r| r.status == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "never ready");
    let body = std::fs::read(example("review-denied.json")).unwrap();
    let v = call(addr, roots(&[&ca]), "POST", "/validate", body)
        .await
        .unwrap()
        .json();
    assert_eq!(v["response"]["allowed"], false);
    assert!(
        v["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("is in zone cn-shanghai-g"),
        "{v}"
    );
    assert!(fake.calls("DescribeVpcs") >= 1);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

/// Logs go to stderr; if nobody reads it any more, admissions must go on.
#[tokio::test]
async fn a_broken_log_pipe_does_not_break_admissions() {
    let dir = temp_dir("pipe");
    let mut child = Command::new(BIN)
        .current_dir(&dir)
        .args([
            "serve",
            "--dev",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "off",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let first = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let addr: std::net::SocketAddr = first.rsplit("https://").next().unwrap().parse().unwrap();
    let ca = std::fs::read_to_string(dir.join("certs/ca.crt")).unwrap();
    for _ in 0..3 {
        let body = std::fs::read(example("review-denied.json")).unwrap();
        let reply = call(addr, roots(&[&ca]), "POST", "/validate", body)
            .await
            .expect("answered despite the closed log pipe");
        assert_eq!(reply.json()["response"]["allowed"], false);
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reads_config_and_nodes_from_the_cluster() {
    use common::fake_kube::FakeKube;
    use common::fake_vpc::Fake;
    let fake = Fake::like_examples().await;
    fake.with(|s| s.instance_types.push(("ecs.c6.large".into(), 3, 6)));
    let kube = FakeKube::start().await;
    kube.put(
        "/api/v1/namespaces/kube-system/configmaps/eni-config",
        example_cm("eni-config.yaml"),
    );
    let fixture = |name: &str| -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(format!(
                "{}/tests/fixtures/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .unwrap()
    };
    let mut nodes = fixture("nodes.json");
    nodes["kind"] = "NodeList".into();
    nodes["metadata"] = serde_json::json!({"resourceVersion": "1"});
    kube.put("/api/v1/nodes", nodes.clone());
    let mut terway = fixture("terway-nodes.json");
    terway["metadata"] = serde_json::json!({"resourceVersion": "1"});
    kube.put("/apis/network.alibabacloud.com/v1beta1/nodes", terway);
    let dir = temp_dir("status-cluster");
    let kubeconfig = kube.kubeconfig(&dir);
    let url = fake.url();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args([
                "status",
                "-o",
                "json",
                "--inventory",
                "aliyun",
                "--region",
                "cn-shanghai",
                "--vpc-endpoint",
                &url,
                "--ecs-endpoint",
                &url,
            ])
            .fake_env(kubeconfig)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v["zones"][0];
    // Node .10 uses eni-config (Terway Node: 80 pod IPs); .11 uses big-pool.
    assert_eq!(
        (
            f["zone"].as_str(),
            f["nodes"].as_u64(),
            f["reserve"].as_u64(),
            f["headroom"].as_i64()
        ),
        (Some("cn-shanghai-f"), Some(1), Some(5), Some(-3))
    );
    assert_eq!(f["state"], "exhausted");
    assert_eq!(
        (
            v["zones"][1]["nodes"].as_u64(),
            v["zones"][1]["reserve"].as_u64()
        ),
        (Some(1), Some(5))
    );
    assert_eq!(
        fake.calls("DescribeInstanceTypes"),
        1,
        "ecs.c6.large looked up once"
    );

    // No --region and no metadata server: the nodes' region label tells it.
    for n in nodes["items"].as_array_mut().unwrap() {
        n["metadata"]["labels"]["topology.kubernetes.io/region"] = "cn-wulanchabu".into();
    }
    kube.put("/api/v1/nodes", nodes);
    let kubeconfig = kube.kubeconfig(&dir);
    let url = fake.url();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["status", "-o", "json", "--inventory", "aliyun"])
            .args(["--vpc-endpoint", &url, "--ecs-endpoint", &url])
            .args(["--metadata-endpoint", "http://127.0.0.1:1"])
            .fake_env(kubeconfig)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fake.with(|s| s.regions.last().cloned()).as_deref(),
        Some("cn-wulanchabu"),
        "from the topology.kubernetes.io/region label"
    );
}

#[test]
fn status_watch_redraws_the_zones() {
    let out = Command::new(BIN)
        .args([
            "status",
            "--config",
            &example("eni-config.yaml"),
            "--inventory",
            &example("inventory.yaml"),
            "--watch",
            "1",
            "--watch-count",
            "2",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // Each frame clears the screen, says when, and draws every zone's bars.
    assert_eq!(text.matches("\x1b[H\x1b[2J").count(), 2, "{text}");
    assert_eq!(text.matches("terway-guard status at ").count(), 2, "{text}");
    assert_eq!(
        text.matches("cn-shanghai-f  free 2 of 252").count(),
        2,
        "{text}"
    );
    assert_eq!(text.matches("[####################]").count(), 2, "{text}");
}
