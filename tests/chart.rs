//! The Helm chart, rendered by the real `helm` (v3.18.0, installed by
//! scripts/test.sh) and checked object by object, then validated against the
//! Kubernetes schemas with `kubernetes-validate --strict`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn tool(name: &str) -> PathBuf {
    let local = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/tools")
        .join(name);
    if local.exists() {
        local
    } else {
        PathBuf::from(name)
    }
}

fn chart() -> String {
    format!("{}/charts/terway-guard", env!("CARGO_MANIFEST_DIR"))
}

const BASE: [&str; 4] = [
    "--set",
    "cloud.region=cn-shanghai",
    "--set",
    "cloud.credentials.rrsa.roleName=terway-guard",
];

/// `helm template` with the base values and `extra`; the rendered text.
fn render(extra: &[&str]) -> Result<String, String> {
    let out = Command::new(tool("helm"))
        .args(["template", "tg", &chart(), "--namespace", "kube-system"])
        .args(BASE)
        .args(extra)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run helm ({e}); run the tests with scripts/test.sh, which installs it")
        });
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn objects(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .unwrap()
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

fn find<'a>(objs: &'a [Value], kind: &str, name_suffix: &str) -> &'a Value {
    objs.iter()
        .find(|o| {
            o["kind"] == kind
                && o["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with(name_suffix))
        })
        .unwrap_or_else(|| panic!("no {kind} *{name_suffix}"))
}

fn env<'a>(deploy: &'a Value, name: &str) -> Option<&'a Value> {
    deploy["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
}

fn validate(text: &str, tag: &str) {
    let dir = std::env::temp_dir().join(format!("tg-chart-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rendered.yaml");
    std::fs::write(&file, text).unwrap();
    let out = Command::new(tool("kubernetes-validate"))
        .args(["-k", "1.30.0", "--strict"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run kubernetes-validate ({e}); run the tests with scripts/test.sh")
        });
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && !report.contains("ERROR"),
        "{tag}: {report}"
    );
}

#[test]
fn lint_passes() {
    let out = Command::new(tool("helm"))
        .args(["lint", &chart()])
        .args(BASE)
        .output()
        .expect("helm");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn defaults_render_what_an_operator_installs() {
    let text = render(&[]).unwrap();
    validate(&text, "defaults");
    let objs = objects(&text);

    let vwc = find(&objs, "ValidatingWebhookConfiguration", "webhook");
    let w = &vwc["webhooks"][0];
    assert_eq!(w["admissionReviewVersions"], serde_json::json!(["v1"]));
    assert_eq!(
        (
            w["sideEffects"].as_str(),
            w["matchPolicy"].as_str(),
            w["failurePolicy"].as_str()
        ),
        (Some("None"), Some("Equivalent"), Some("Fail"))
    );
    assert_eq!(w["timeoutSeconds"], 5);
    assert_eq!(
        w["rules"][0]["resources"],
        serde_json::json!(["configmaps"])
    );
    assert_eq!(
        w["rules"][0]["operations"],
        serde_json::json!(["CREATE", "UPDATE", "DELETE"])
    );
    assert_eq!(
        w["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "kube-system"
    );
    let cel = w["matchConditions"][0]["expression"].as_str().unwrap();
    assert!(
        cel.contains("'eni-config'") && cel.contains("'eni_conf' in object.data"),
        "{cel}"
    );
    assert_eq!(w["clientConfig"]["service"]["path"], "/validate");
    let mwc = find(&objs, "MutatingWebhookConfiguration", "webhook");
    let m = &mwc["webhooks"][0];
    assert_eq!(m["failurePolicy"], "Ignore");
    assert_eq!(
        m["rules"][0]["operations"],
        serde_json::json!(["CREATE", "UPDATE"])
    );
    assert_eq!(m["clientConfig"]["service"]["path"], "/mutate");

    // Helm-generated certificate: the caBundle is the CA of the served pair.
    let secret = find(&objs, "Secret", "webhook-tls");
    assert_eq!(secret["type"], "kubernetes.io/tls");
    assert_eq!(w["clientConfig"]["caBundle"], secret["data"]["ca.crt"]);
    assert_eq!(m["clientConfig"]["caBundle"], secret["data"]["ca.crt"]);

    let deploy = find(&objs, "Deployment", "webhook");
    let spec = &deploy["spec"]["template"]["spec"];
    assert_eq!(deploy["spec"]["replicas"], 2);
    assert_eq!(spec["hostNetwork"], true);
    assert_eq!(spec["dnsPolicy"], "ClusterFirstWithHostNet");
    assert_eq!(spec["priorityClassName"], "system-cluster-critical");
    assert_eq!(spec["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        spec["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = &spec["containers"][0];
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        c["securityContext"]["capabilities"]["drop"],
        serde_json::json!(["ALL"])
    );
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["readinessProbe"]["httpGet"]["scheme"], "HTTPS");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert!(
        spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            .is_array()
    );
    assert_eq!(
        env(deploy, "TERWAY_GUARD_INVENTORY").unwrap()["value"],
        "aliyun"
    );
    assert_eq!(env(deploy, "TERWAY_GUARD_CLUSTER").unwrap()["value"], "on");
    assert_eq!(
        env(deploy, "TERWAY_GUARD_LISTEN").unwrap()["value"],
        "0.0.0.0:9443"
    );
    assert!(find(&objs, "PodDisruptionBudget", "webhook")["spec"]["minAvailable"] == 1);

    // RBAC: writes only on eni-config, Terway's DaemonSet and the Lease.
    let role = find(&objs, "Role", "controller");
    let rules = role["rules"].as_array().unwrap();
    let write_cm = rules
        .iter()
        .find(|r| {
            r["resources"] == serde_json::json!(["configmaps"])
                && r["verbs"].as_array().unwrap().iter().any(|v| v == "update")
        })
        .unwrap();
    assert_eq!(write_cm["resourceNames"], serde_json::json!(["eni-config"]));
    let ds = rules
        .iter()
        .find(|r| r["resources"] == serde_json::json!(["daemonsets"]))
        .unwrap();
    assert_eq!(
        (ds["resourceNames"].clone(), ds["verbs"].clone()),
        (
            serde_json::json!(["terway-eniip"]),
            serde_json::json!(["get", "patch"])
        )
    );
    // Pods are deleted (a zone restart) only in Terway's namespace.
    assert!(
        rules
            .iter()
            .any(|r| r["resources"] == serde_json::json!(["pods"])
                && r["verbs"] == serde_json::json!(["delete"]))
    );
    for r in find(&objs, "ClusterRole", "controller")["rules"]
        .as_array()
        .unwrap()
    {
        // Cluster-wide access is read-only, but for the annotation that makes
        // a Terway Node resource reconcile (ipam_type crd).
        let want = if r["apiGroups"] == serde_json::json!(["network.alibabacloud.com"]) {
            serde_json::json!(["get", "list", "watch", "patch"])
        } else {
            serde_json::json!(["get", "list", "watch"])
        };
        assert_eq!(r["verbs"], want, "{r}");
    }
    // kube-system/kubeadm-config (the daemon's service_cidr fallback): read
    // by name only, by both, in kube-system whatever Terway's namespace.
    for who in ["webhook", "controller"] {
        let role = find(&objs, "Role", &format!("{who}-kubeadm-config"));
        assert_eq!(role["metadata"]["namespace"], "kube-system");
        assert_eq!(
            role["rules"],
            serde_json::json!([{"apiGroups": [""], "resources": ["configmaps"],
                "resourceNames": ["kubeadm-config"], "verbs": ["get", "list", "watch"]}])
        );
        let binding = find(&objs, "RoleBinding", &format!("{who}-kubeadm-config"));
        assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
        assert!(
            binding["subjects"][0]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with(who))
        );
    }
    let sa = find(&objs, "ServiceAccount", "controller");
    assert_eq!(
        sa["metadata"]["annotations"]["pod-identity.alibabacloud.com/role-name"],
        "terway-guard"
    );
    let controller = find(&objs, "Deployment", "controller");
    assert_eq!(
        env(controller, "TERWAY_GUARD_MODE").unwrap()["value"],
        "plan"
    );
    assert_eq!(controller["spec"]["template"]["spec"]["hostNetwork"], true);
}

#[test]
fn cert_manager_and_existing_secret_modes() {
    let objs = objects(&{
        let t = render(&["--set", "certificates.mode=cert-manager"]).unwrap();
        validate(&t, "cert-manager");
        t
    });
    let vwc = find(&objs, "ValidatingWebhookConfiguration", "webhook");
    assert_eq!(
        vwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
        "kube-system/tg-terway-guard-webhook"
    );
    assert!(vwc["webhooks"][0]["clientConfig"].get("caBundle").is_none());
    let cert = find(&objs, "Certificate", "terway-guard-webhook");
    assert_eq!(cert["spec"]["secretName"], "tg-terway-guard-webhook-tls");
    assert_eq!(
        cert["spec"]["dnsNames"][0],
        "tg-terway-guard-webhook.kube-system.svc"
    );
    assert!(!objs.iter().any(|o| o["kind"] == "Secret"));

    let objs = objects(
        &render(&[
            "--set",
            "certificates.mode=secret",
            "--set",
            "certificates.secret.name=my-tls",
            "--set",
            "certificates.secret.caBundle=Q0E=",
        ])
        .unwrap(),
    );
    assert_eq!(
        find(&objs, "MutatingWebhookConfiguration", "webhook")["webhooks"][0]["clientConfig"]["caBundle"],
        "Q0E="
    );
    let deploy = find(&objs, "Deployment", "webhook");
    assert_eq!(
        deploy["spec"]["template"]["spec"]["volumes"][0]["secret"]["secretName"],
        "my-tls"
    );
    let err = render(&["--set", "certificates.mode=secret"]).unwrap_err();
    assert!(
        err.contains("is required with certificates.mode=secret"),
        "{err}"
    );
}

#[test]
fn variants_and_refusals() {
    let t = render(&[
        "--set",
        "cloud.credentials.mode=secret",
        "--set",
        "cloud.credentials.secret.name=ak",
        "--set",
        "controller.mode=auto",
        "--set",
        "serviceMonitor.enabled=true",
        "--set",
        "prometheusRule.enabled=true",
    ])
    .unwrap();
    validate(&t, "monitoring");
    let objs = objects(&t);
    let controller = find(&objs, "Deployment", "controller");
    assert_eq!(
        env(controller, "ALIBABA_CLOUD_ACCESS_KEY_ID").unwrap()["valueFrom"]["secretKeyRef"]["name"],
        "ak"
    );
    assert_eq!(
        env(controller, "TERWAY_GUARD_MODE").unwrap()["value"],
        "auto"
    );
    let rule = find(&objs, "PrometheusRule", "terway-guard");
    let alerts: Vec<&str> = rule["spec"]["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["alert"].as_str().unwrap())
        .collect();
    assert_eq!(
        alerts,
        [
            "TerwayZoneLowOnPodIPs",
            "TerwayConfigError",
            "TerwayGuardWebhookDown"
        ]
    );
    let sm = find(&objs, "ServiceMonitor", "terway-guard");
    assert!(
        sm["spec"]["selector"]["matchLabels"]
            .get("app.kubernetes.io/component")
            .is_none(),
        "scrapes webhook and controller"
    );
    assert_eq!(
        find(&objs, "Service", "controller")["spec"]["ports"][0]["name"],
        "metrics"
    );
    assert!(
        find(&objs, "ServiceAccount", "webhook")["metadata"]
            .get("annotations")
            .is_none()
    );

    let t = render(&[
        "--set",
        "webhook.hostNetwork=false",
        "--set",
        "networkPolicy.enabled=true",
        "--set",
        "controller.enabled=false",
        "--set",
        "webhook.matchConditions=false",
    ])
    .unwrap();
    validate(&t, "pod-network");
    let objs = objects(&t);
    assert!(
        find(&objs, "ValidatingWebhookConfiguration", "webhook")["webhooks"][0]
            .get("matchConditions")
            .is_none()
    );
    assert!(
        find(&objs, "Deployment", "webhook")["spec"]["template"]["spec"]
            .get("dnsPolicy")
            .is_none()
    );
    assert!(!objs.iter().any(|o| {
        o["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.ends_with("controller"))
    }));
    find(&objs, "NetworkPolicy", "webhook");

    for (args, want) in [
        (
            vec!["--set", "webhook.failurePolicy=Sometimes"],
            "failurePolicy",
        ),
        (vec!["--set", "webhook.typo=1"], "typo"),
        (vec!["--set", "cloud.endpointType=intranet"], "endpointType"),
        (vec!["--set", "controller.mode=yolo"], "mode"),
    ] {
        let err = render(&args).unwrap_err();
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

fn env_of(objs: &[Value], deployment: &str) -> Vec<(String, String)> {
    find(objs, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap_or_default().to_string(),
                e["value"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_credential_choice_is_all_it_takes() {
    let out = Command::new(tool("helm"))
        .args(["template", "tg", &chart(), "--namespace", "kube-system"])
        .args(["--set", "cloud.credentials.rrsa.roleName=terway-guard"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    validate(&text, "rrsa only");
    let objs = objects(&text);
    let env = env_of(&objs, "webhook");
    let names: Vec<&str> = env.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"TERWAY_GUARD_INVENTORY"), "{names:?}");
    for absent in [
        "TERWAY_GUARD_REGION",
        "ALIBABA_CLOUD_STS_REGION",
        "TERWAY_GUARD_ENDPOINT_TYPE",
    ] {
        assert!(!names.contains(&absent), "{absent} in {names:?}");
    }
    // With a region, RRSA uses the regional STS endpoint inside the VPC.
    let objs = objects(&render(&["--set", "cloud.endpointType=vpc"]).unwrap());
    let env = env_of(&objs, "webhook");
    let get = |n: &str| env.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    assert_eq!(get("TERWAY_GUARD_REGION"), Some("cn-shanghai"));
    assert_eq!(get("ALIBABA_CLOUD_STS_REGION"), Some("cn-shanghai"));
    assert_eq!(get("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED"), Some("true"));
    assert_eq!(get("TERWAY_GUARD_ENDPOINT_TYPE"), Some("vpc"));
}

/// Metric names a PromQL expression reads: identifiers that are not
/// functions, keywords, label names (inside `{}` or a grouping list), string
/// literals, durations or numbers.
fn metric_names(expr: &str) -> std::collections::BTreeSet<String> {
    // Binary operators and modifiers, and the aggregation operators (which
    // may take their grouping before their parentheses: `sum by (z) (…)`).
    const KEYWORDS: [&str; 25] = [
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "offset",
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
        "group",
        "limitk",
        "limit_ratio",
    ];
    const GROUPING: [&str; 6] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    let c: Vec<char> = expr.chars().collect();
    let mut out = std::collections::BTreeSet::new();
    let skip_to = |from: usize, close: char| -> usize {
        let mut j = from + 1;
        while j < c.len() && c[j] != close {
            if c[j] == '\\' {
                j += 1;
            }
            j += 1;
        }
        j + 1
    };
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '"' | '\'' | '`' => i = skip_to(i, c[i]),
            '{' => i = skip_to(i, '}'),
            '[' => i = skip_to(i, ']'),
            d if d.is_ascii_digit() || d == '.' => {
                while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '.') {
                    i += 1;
                }
            }
            w if w.is_ascii_alphabetic() || w == '_' || w == ':' => {
                let start = i;
                while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '_' || c[i] == ':') {
                    i += 1;
                }
                let word: String = c[start..i].iter().collect();
                let mut j = i;
                while j < c.len() && c[j].is_whitespace() {
                    j += 1;
                }
                let call = j < c.len() && c[j] == '(';
                if GROUPING.contains(&word.as_str()) && call {
                    i = skip_to(j, ')');
                } else if !call && !KEYWORDS.contains(&word.as_str()) {
                    out.insert(word);
                }
            }
            _ => i += 1,
        }
    }
    out
}

#[test]
fn the_promql_extractor_finds_metrics_and_nothing_else() {
    let cases = [
        (
            r#"sum by (zone) (rate(terway_guard_a_total{endpoint="validate", x=~"a|b"}[5m])) > 0"#,
            vec!["terway_guard_a_total"],
        ),
        (
            "histogram_quantile(0.99, sum by (le) (rate(terway_guard_b_bucket[5m]))) * 1000",
            vec!["terway_guard_b_bucket"],
        ),
        (
            r#"absent(up{service="x"} == 1) or on (zone) terway_guard_c offset 5m"#,
            vec!["terway_guard_c", "up"],
        ),
        (
            "max without (pod) (terway_guard_d) < 64",
            vec!["terway_guard_d"],
        ),
    ];
    for (expr, want) in cases {
        let got: Vec<String> = metric_names(expr).into_iter().collect();
        assert_eq!(got, want, "{expr}");
    }
}

/// `GET /metrics` over plain HTTP/1.1.
fn scrape(addr: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.starts_with("HTTP/1.1 200").then_some(text)
}

fn free_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// Names a live /metrics exports (`# TYPE` lines; a histogram's series too).
fn exported(text: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for l in text.lines() {
        let mut w = l.split_whitespace();
        if let (Some("#"), Some("TYPE"), Some(name), Some(kind)) =
            (w.next(), w.next(), w.next(), w.next())
        {
            out.insert(name.to_string());
            if kind == "histogram" {
                for s in ["_bucket", "_sum", "_count"] {
                    out.insert(format!("{name}{s}"));
                }
            }
        }
    }
    out
}

/// Polls a child's /metrics until it answers (bounded).
fn metrics_of(child: &mut std::process::Child, addr: &str) -> String {
    for _ in 0..200 {
        if let Some(t) = scrape(addr) {
            return t;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "it exited before serving /metrics"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no /metrics on {addr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_and_alerts_use_only_metrics_the_binaries_export() {
    use common::fake_vpc::FakeEnv;
    let bin = env!("CARGO_BIN_EXE_terway-guard");
    // Every PromQL expression of the dashboard and the PrometheusRule.
    let objs = objects(
        &render(&[
            "--set",
            "grafanaDashboard.enabled=true",
            "--set",
            "prometheusRule.enabled=true",
        ])
        .unwrap(),
    );
    let cm = find(&objs, "ConfigMap", "-dashboard");
    assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
    let dash: Value =
        serde_json::from_str(cm["data"]["terway-guard.json"].as_str().unwrap()).unwrap();
    let mut exprs: Vec<String> = Vec::new();
    for p in dash["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            exprs.push(t["expr"].as_str().unwrap().to_string());
        }
    }
    let panels = exprs.len();
    let rule = find(&objs, "PrometheusRule", "terway-guard");
    for g in rule["spec"]["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            exprs.push(r["expr"].as_str().unwrap().to_string());
        }
    }
    assert!(panels >= 12 && exprs.len() > panels, "{exprs:?}");

    // What the binaries export, read from their live /metrics.
    let dir = common::temp_dir("dashboard");
    common::write_certs(&dir);
    let serve_metrics = free_port();
    let mut serve = Command::new(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            &serve_metrics,
            "--cluster",
            "off",
        ])
        .args(["--inventory", &common::example("inventory.yaml")])
        .arg("--tls-cert")
        .arg(dir.join("tls.crt"))
        .arg("--tls-key")
        .arg(dir.join("tls.key"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (fake, kube) = (
        common::scenario::cloud().await,
        common::scenario::cluster().await,
    );
    let controller_metrics = free_port();
    let mut controller = Command::new(bin)
        .args([
            "controller",
            "--mode",
            "plan",
            "--interval",
            "1",
            "--metrics-listen",
            &controller_metrics,
        ])
        .args(common::fake_vpc::fake_cloud_args(&fake.url()))
        .fake_env(kube.kubeconfig(&dir))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (s, c) = tokio::task::spawn_blocking(move || {
        let s = metrics_of(&mut serve, &serve_metrics);
        let c = metrics_of(&mut controller, &controller_metrics);
        for mut child in [serve, controller] {
            let _ = child.kill();
            let _ = child.wait();
        }
        (s, c)
    })
    .await
    .unwrap();
    let mut live = exported(&s);
    live.extend(exported(&c));
    // Prometheus's own series for a scrape target.
    live.insert("up".into());
    let mut used = std::collections::BTreeSet::new();
    for e in &exprs {
        for m in metric_names(e) {
            assert!(
                live.contains(&m),
                "{m} (in {e}) is not exported; exported: {live:?}"
            );
            used.insert(m);
        }
    }
    assert!(used.len() >= 12, "{used:?}");
}

#[test]
fn worker_threads_follow_the_quota_unless_set() {
    let webhook = |extra: &[&str]| {
        let objs = objects(&render(extra).unwrap());
        env(find(&objs, "Deployment", "webhook"), "TOKIO_WORKER_THREADS")
            .map(|e| e["value"].clone())
    };
    // Unset: tokio's default, one worker per CPU of the cgroup quota.
    assert_eq!(webhook(&[]), None);
    for (set, want) in [("1", "1"), ("\"2\"", "2")] {
        let v = format!("webhook.workerThreads={set}");
        assert_eq!(
            webhook(&["--set-json", &v]),
            Some(Value::from(want)),
            "{set}"
        );
    }
    for bad in ["0", "\"x\"", "100"] {
        let v = format!("webhook.workerThreads={bad}");
        assert!(render(&["--set-json", &v]).is_err(), "{bad} accepted");
    }
}
