//! terway-guard on a big cluster: the fake Kubernetes API holds N realistic ACK
//! nodes (~15 KiB each: labels, annotations, addresses, conditions, 40
//! images, managed fields) and as many Terway Node CRs; the fake VPC endpoint
//! serves the cloud. The release binary runs as a user runs it, and the bench
//! reports, for `serve` (with and without cluster facts) and `controller`:
//! RSS peak, CPU, admission latency seen by the client over a window spanning
//! several fact recomputes, and how often nodes were LISTed; for `status` (a
//! one-shot read of the same cluster), RSS peak and CPU.
//!
//! Run: `cargo bench --bench scale` (SCALE_NODES=5000, SCALE_SECONDS=40).
//! SCALE_CRD=0: no Terway Node CRD (legacy clusters, older Terway); the
//! table then counts how often each process LISTed the absent CRD (issue 22:
//! at most 8 times in the window).
//! Not a timed test: it prints numbers, asserting only that the work was done.

#[path = "../tests/common/mod.rs"]
mod common;

use common::fake_vpc::FakeEnv;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fake_kube::FakeKube;

use common::scenario::{CM, DS};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_terway-guard");

/// The binary, or the binary under `SCALE_WRAP` (e.g. `heaptrack -o
/// /tmp/serve`) to profile it; RSS and CPU are then the wrapper's. heaptrack
/// sees malloc only: add `--no-default-features` (no mimalloc) for it.
fn binary() -> Command {
    let wrap = std::env::var("SCALE_WRAP").unwrap_or_default();
    let mut words = wrap.split_whitespace();
    match words.next() {
        Some(first) => {
            let mut c = Command::new(first);
            c.args(words).arg(BIN);
            c
        }
        None => Command::new(BIN),
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A Node as ACK has them, ~15 KiB.
fn node(i: usize) -> Value {
    let zone = ["cn-shanghai-f", "cn-shanghai-g"][i % 2];
    let name = format!("cn-shanghai.192.168.{}.{}", i / 250, i % 250);
    let images: Vec<Value> = (0..40)
        .map(|k| json!({"names": [format!("registry-cn-shanghai-vpc.ack.aliyuncs.com/acs/component-{k}@sha256:{:064x}", k * 7919 + i), format!("registry-cn-shanghai-vpc.ack.aliyuncs.com/acs/component-{k}:v1.{k}.{}", i % 9)], "sizeBytes": 30_000_000 + k * 1000}))
        .collect();
    let conditions: Vec<Value> = ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready", "NetworkUnavailable", "KernelDeadlock", "ReadonlyFilesystem", "FrequentKubeletRestart"]
        .iter()
        .map(|t| json!({"type": t, "status": "False", "reason": format!("Kubelet{t}"), "message": format!("kubelet reports {t} is fine on this node and has been for a while"), "lastHeartbeatTime": "2026-11-26T10:00:00Z", "lastTransitionTime": "2026-11-01T10:00:00Z"}))
        .collect();
    let managed: Vec<Value> = (0..6)
        .map(|k| json!({"manager": format!("manager-{k}"), "operation": "Update", "apiVersion": "v1", "time": "2026-11-26T10:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {"f:a": {}, "f:b": {}}}, "f:status": {"f:conditions": {"k:{\"type\":\"Ready\"}": {".": {}, "f:lastHeartbeatTime": {}}}}}}))
        .collect();
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name, "uid": format!("{:032x}", i), "resourceVersion": "1",
            "labels": {
                "topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": "cn-shanghai",
                "failure-domain.beta.kubernetes.io/zone": zone, "failure-domain.beta.kubernetes.io/region": "cn-shanghai",
                "node.kubernetes.io/instance-type": "ecs.g7.xlarge", "beta.kubernetes.io/instance-type": "ecs.g7.xlarge",
                "kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux", "kubernetes.io/hostname": name,
                "alibabacloud.com/nodepool-id": "np0123456789abcdef", "ack.aliyun.com": "c0123456789abcdef",
                "node.csi.alibabacloud.com/disktype.cloud_essd": "available"
            },
            "annotations": {"node.alpha.kubernetes.io/ttl": "0", "volumes.kubernetes.io/controller-managed-attach-detach": "true", "k8s.aliyun.com/eni-limit": "{\"adapters\":4,\"ipv4PerAdapter\":15}"},
            "managedFields": managed
        },
        "spec": {"podCIDR": "", "providerID": format!("cn-shanghai.i-uf6{:012x}", i)},
        "status": {
            "addresses": [{"type": "InternalIP", "address": format!("192.168.{}.{}", i / 250, i % 250)}, {"type": "Hostname", "address": name}],
            "capacity": {"cpu": "4", "memory": "15896700Ki", "pods": "64", "ephemeral-storage": "123722704Ki"},
            "allocatable": {"cpu": "3900m", "memory": "12647548Ki", "pods": "64", "ephemeral-storage": "114022843818"},
            "conditions": conditions,
            "images": images,
            "nodeInfo": {"architecture": "amd64", "kernelVersion": "5.10.134-16.3.al8.x86_64", "kubeletVersion": "v1.33.1-aliyun.1", "containerRuntimeVersion": "containerd://1.6.38", "osImage": "Alibaba Cloud Linux 3"}
        }
    })
}

fn terway_node(i: usize) -> Value {
    let name = format!("cn-shanghai.192.168.{}.{}", i / 250, i % 250);
    let zone = ["cn-shanghai-f", "cn-shanghai-g"][i % 2];
    json!({"apiVersion": "network.alibabacloud.com/v1beta1", "kind": "Node", "metadata": {"name": name, "resourceVersion": "1"},
           "spec": {"nodeCap": {"adapters": 4, "totalAdapters": 4, "ipv4PerAdapter": 15, "memberAdapterLimit": 0},
                    "nodeMetadata": {"zoneID": zone, "instanceType": "ecs.g7.xlarge"},
                    "eni": {"vSwitchOptions": ["vsw-uf6aaa0001"], "securityGroupIDs": ["sg-uf6demo0001"]}},
           "status": {"networkInterfaces": {}}})
}

/// A cluster of `n` nodes, with as many Terway Node CRs unless SCALE_CRD=0.
async fn cluster(n: usize) -> FakeKube {
    let kube = FakeKube::start().await;
    kube.put(CM, common::example_cm("eni-config.yaml"));
    kube.put(DS, json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "terway-eniip", "namespace": "kube-system", "generation": 1},
        "spec": {"selector": {"matchLabels": {"app": "terway-eniip"}}, "template": {"metadata": {"labels": {"app": "terway-eniip"}}, "spec": {"containers": [{"name": "terway", "image": "registry/acs/terway:v1.16.7"}]}}},
        "status": {"desiredNumberScheduled": n, "updatedNumberScheduled": n, "numberAvailable": n, "observedGeneration": 1}}));
    kube.put("/api/v1/events", json!({"apiVersion": "v1", "kind": "EventList", "metadata": {"resourceVersion": "1"}, "items": []}));
    kube.put("/api/v1/nodes", json!({"apiVersion": "v1", "kind": "NodeList", "metadata": {"resourceVersion": "1"}, "items": (0..n).map(node).collect::<Vec<_>>()}));
    if env_num("SCALE_CRD", 1) != 0 {
        kube.put("/apis/network.alibabacloud.com/v1beta1/nodes", json!({"apiVersion": "network.alibabacloud.com/v1beta1", "kind": "NodeList", "metadata": {"resourceVersion": "1"}, "items": (0..n).map(terway_node).collect::<Vec<_>>()}));
    }
    kube
}

struct Run {
    what: String,
    rss_peak_mib: f64,
    rss_end_mib: f64,
    cpu_secs: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    max_ms: Option<f64>,
    reviews: usize,
    dropped: usize,
    node_lists: usize,
    /// LISTs of Terway's Node CRs (absent with SCALE_CRD=0).
    crd_lists: usize,
    /// How long the process ran (the window, or `status` to its exit).
    secs: f64,
}

/// (RSS peak MiB, RSS now MiB, CPU seconds)
fn proc_stats(pid: u32) -> (f64, f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |field: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the name).
    (
        kb("VmHWM:") / 1024.0,
        kb("VmRSS:") / 1024.0,
        (ticks(11) + ticks(12)) / 100.0,
    )
}

fn node_lists(kube: &FakeKube) -> usize {
    kube.lists("/api/v1/nodes")
}

fn crd_lists(kube: &FakeKube) -> usize {
    kube.lists("/apis/network.alibabacloud.com/v1beta1/nodes")
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

/// One keep-alive HTTPS connection, as the apiserver holds one.
async fn connect(
    addr: std::net::SocketAddr,
    ca: &str,
) -> hyper::client::conn::http1::SendRequest<Full<hyper::body::Bytes>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(common::roots(&[ca]))
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

/// Reviews at a steady 50 per second; a dropped connection is counted and
/// replaced (an apiserver reconnects too).
async fn admissions(
    addr: std::net::SocketAddr,
    ca: &str,
    window: Duration,
) -> (Vec<Duration>, usize) {
    let mut sender = connect(addr, ca).await;
    let mut dropped = 0;
    let bodies = [
        std::fs::read(common::example("review-denied.json")).unwrap(),
        std::fs::read(common::example("review-allowed.json")).unwrap(),
    ];
    let mut took = Vec::new();
    let end = Instant::now() + window;
    let mut i = 0;
    while Instant::now() < end {
        let req = hyper::Request::post("/validate?timeout=10s")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(Full::new(hyper::body::Bytes::from(bodies[i % 2].clone())))
            .unwrap();
        let t = Instant::now();
        let answered = match sender.send_request(req).await {
            Ok(resp) => resp.into_body().collect().await.is_ok(),
            Err(_) => false,
        };
        if answered {
            took.push(t.elapsed());
        } else {
            dropped += 1;
            sender = connect(addr, ca).await;
        }
        i += 1;
        // A steady trickle, as an apiserver sends: 50 reviews per second.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (took, dropped)
}

async fn serve(n: usize, cluster_on: bool, window: Duration) -> Run {
    let fake = common::fake_vpc::Fake::like_examples().await;
    let kube = cluster(n).await;
    let dir = common::temp_dir("scale");
    let ca = common::write_certs(&dir);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = binary()
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--metrics-listen",
            "off",
        ])
        .args([
            "--tls-cert",
            &dir.join("tls.crt").display().to_string(),
            "--tls-key",
            &dir.join("tls.key").display().to_string(),
        ])
        .args([
            "--inventory",
            "aliyun",
            "--region",
            "cn-shanghai",
            "--vpc-endpoint",
            &fake.url(),
            "--ecs-endpoint",
            &fake.url(),
        ])
        .args([
            "--cluster",
            if cluster_on { "on" } else { "off" },
            "--log-level",
            "warn",
        ])
        .fake_env(kube.kubeconfig(&dir))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let roots = common::roots(&[&ca]);
    let started = Instant::now();
    loop {
        if let Ok(r) = common::call(addr, roots.clone(), "GET", "/readyz", Vec::new()).await
            && r.status == 200
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "serve never became ready"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (mut took, dropped) = admissions(addr, &ca, window).await;
    let (rss, rss_end, cpu) = proc_stats(pid);
    let lists = node_lists(&kube);
    let crd = crd_lists(&kube);
    let secs = started.elapsed().as_secs_f64();
    stop(child);
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| ms(took[((took.len() - 1) as f64 * q) as usize]);
    assert!(!took.is_empty());
    Run {
        what: format!("serve --cluster {}", if cluster_on { "on" } else { "off" }),
        rss_peak_mib: rss,
        rss_end_mib: rss_end,
        cpu_secs: cpu,
        p50_ms: Some(at(0.5)),
        p99_ms: Some(at(0.99)),
        max_ms: Some(ms(*took.last().unwrap())),
        reviews: took.len(),
        dropped,
        node_lists: lists,
        crd_lists: crd,
        secs,
    }
}

async fn controller(n: usize, window: Duration) -> Run {
    let fake = common::scenario::cloud().await;
    let kube = cluster(n).await;
    let dir = common::temp_dir("scale-ctl");
    let child = binary()
        .args([
            "controller",
            "--mode",
            "plan",
            "--interval",
            "5",
            "--metrics-listen",
            "off",
            "--log-level",
            "warn",
        ])
        .args(common::fake_vpc::fake_cloud_args(&fake.url()))
        .fake_env(kube.kubeconfig(&dir))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    tokio::time::sleep(window).await;
    let (rss, rss_end, cpu) = proc_stats(pid);
    let lists = node_lists(&kube);
    let crd = crd_lists(&kube);
    let leases = kube
        .store
        .lock()
        .unwrap()
        .writes
        .iter()
        .filter(|w| w.contains("/leases"))
        .count();
    stop(child);
    assert!(leases > 0, "the controller never took the lease");
    Run {
        what: "controller --interval 5".into(),
        rss_peak_mib: rss,
        rss_end_mib: rss_end,
        cpu_secs: cpu,
        p50_ms: None,
        p99_ms: None,
        max_ms: None,
        reviews: 0,
        dropped: 0,
        node_lists: lists,
        crd_lists: crd,
        secs: window.as_secs_f64(),
    }
}

/// `status` once, as a user runs it against the cluster: its RSS peak is
/// read from /proc while it runs (VmHWM only grows), until it exits.
async fn status(n: usize) -> Run {
    let fake = common::fake_vpc::Fake::like_examples().await;
    let kube = cluster(n).await;
    let dir = common::temp_dir("scale-status");
    let started = Instant::now();
    let mut child = binary()
        .args([
            "status",
            "-o",
            "json",
            "--inventory",
            "aliyun",
            "--region",
            "cn-shanghai",
        ])
        .args(["--vpc-endpoint", &fake.url(), "--ecs-endpoint", &fake.url()])
        .fake_env(kube.kubeconfig(&dir))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut last = (0.0, 0.0, 0.0);
    let code = loop {
        let now = proc_stats(pid);
        if now.0 > 0.0 {
            last = now;
        }
        if let Some(code) = child.try_wait().unwrap() {
            break code;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "status never finished"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    assert!(code.success(), "status failed: {code}");
    Run {
        what: "status (one-shot)".into(),
        rss_peak_mib: last.0,
        rss_end_mib: last.1,
        cpu_secs: last.2,
        p50_ms: None,
        p99_ms: None,
        max_ms: None,
        reviews: 0,
        dropped: 0,
        node_lists: node_lists(&kube),
        crd_lists: crd_lists(&kube),
        secs: started.elapsed().as_secs_f64(),
    }
}

fn main() {
    let n = env_num("SCALE_NODES", 5000) as usize;
    let window = Duration::from_secs(env_num("SCALE_SECONDS", 40));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let _ = rustls::crypto::ring::default_provider().install_default();
    // SCALE_RUNS picks some of: off (serve --cluster off), on, controller, status.
    let pick = std::env::var("SCALE_RUNS").unwrap_or_else(|_| "off,on,controller,status".into());
    let picked = |name: &str| pick.split(',').any(|p| p.trim() == name);
    let runs = rt.block_on(async {
        let mut runs = Vec::new();
        if picked("off") {
            runs.push(serve(n, false, window).await);
        }
        if picked("on") {
            runs.push(serve(n, true, window).await);
        }
        if picked("controller") {
            runs.push(controller(n, window).await);
        }
        if picked("status") {
            runs.push(status(n).await);
        }
        runs
    });
    let opt = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.2}"));
    println!(
        "\n{n} nodes (~{} KiB each as JSON), {} s window, {}, release binary, fakes on 127.0.0.1\n",
        serde_json::to_vec(&node(1)).unwrap().len() / 1024,
        window.as_secs(),
        if env_num("SCALE_CRD", 1) != 0 {
            "as many Terway Node CRs"
        } else {
            "no Terway Node CRD"
        }
    );
    println!(
        "| process | s | RSS peak MiB | RSS at end MiB | CPU s | reviews (dropped) | p50 ms | p99 ms | max ms | node LISTs | CRD LISTs |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in runs {
        println!(
            "| {} | {:.0} | {:.1} | {:.1} | {:.2} | {} ({}) | {} | {} | {} | {} | {} |",
            r.what,
            r.secs,
            r.rss_peak_mib,
            r.rss_end_mib,
            r.cpu_secs,
            r.reviews,
            r.dropped,
            opt(r.p50_ms),
            opt(r.p99_ms),
            opt(r.max_ms),
            r.node_lists,
            r.crd_lists
        );
    }
}
