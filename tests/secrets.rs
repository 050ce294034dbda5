//! Credentials in eni_conf go through every path — deny, warn, mutate,
//! bypass, delete, debug logs, metrics, audit annotations, check, audit —
//! and appear in none of them.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_terway-guard");
const KEY: &str = "LTAI5tQz9SecretKeyId";
const SECRET: &str = "Zx8+kQ/secret-VALUE-9a7b";

fn with_credentials(file: &str, extra: &str) -> Value {
    let mut cm = example_cm(file);
    let text = cm["data"]["eni_conf"].as_str().unwrap().replacen('{', &format!("{{\n  \"access_key\": \"{KEY}\",\n  \"access_secret\": \"{SECRET}\",\n  \"acces_secret\": \"{SECRET}\",{extra}"), 1);
    cm["data"]["eni_conf"] = json!(text);
    cm
}

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(KEY) && !text.contains(SECRET),
        "{what} leaks a credential:\n{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_appear_nowhere() {
    let dir = temp_dir("secrets");
    let mut child = Command::new(BIN)
        .current_dir(&dir)
        .args([
            "serve",
            "--dev",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--log-level",
            "debug",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let logs = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let (logs, stderr) = (logs.clone(), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line).unwrap_or_default();
                if v["fields"]["message"] == "terway-guard webhook listening" {
                    let _ = tx.send((
                        v["fields"]["addr"].as_str().unwrap_or("").to_string(),
                        v["fields"]["metrics"].as_str().unwrap_or("").to_string(),
                    ));
                }
                logs.lock().unwrap().push_str(&line);
                logs.lock().unwrap().push('\n');
            }
        });
    }
    let _stdout = child.stdout.take();
    let (addr, metrics) = tokio::task::spawn_blocking(move || {
        rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap()
    })
    .await
    .unwrap();
    let addr: std::net::SocketAddr = addr.parse().unwrap();
    let ca = std::fs::read_to_string(dir.join("certs/ca.crt")).unwrap();
    let post = |path: &'static str, body: Value| {
        let ca = ca.clone();
        async move {
            call(
                addr,
                roots(&[&ca]),
                "POST",
                path,
                serde_json::to_vec(&body).unwrap(),
            )
            .await
            .unwrap()
            .text()
        }
    };

    let old = with_credentials("eni-config.yaml", "");
    let denied = with_credentials("edit-typos.yaml", "");
    let warned = with_credentials("edit-expand.yaml", "");
    let repeated = with_credentials(
        "eni-config.yaml",
        "\n  \"vswitch_selection_policy\": \"most\",",
    )
    .to_string()
    .replace(
        "[\\\"vsw-uf6ccc0003\\\"]",
        "[\\\"vsw-uf6ccc0003\\\", \\\"vsw-uf6ccc0003\\\"]",
    );
    let repeated: Value = serde_json::from_str(&repeated).unwrap();
    let mut bypass = with_credentials("edit-small-vswitch.yaml", "");
    bypass["metadata"]["annotations"] =
        json!({"terway-guard.io/bypass": format!("urgent, key is {KEY}")});
    let cases = [
        (
            "/validate",
            review("UPDATE", Some(&denied), Some(&old), &[], false),
        ),
        (
            "/validate",
            review("UPDATE", Some(&warned), Some(&old), &[], false),
        ),
        (
            "/validate",
            review("UPDATE", Some(&repeated), Some(&old), &[], false),
        ),
        (
            "/mutate",
            review("UPDATE", Some(&repeated), Some(&old), &[], false),
        ),
        (
            "/validate",
            review(
                "UPDATE",
                Some(&bypass),
                Some(&old),
                &["system:masters"],
                false,
            ),
        ),
        ("/validate", review("DELETE", None, Some(&old), &[], true)),
    ];
    for (path, body) in cases {
        let reply = post(path, body).await;
        assert!(reply.contains("\"response\""), "{reply}");
        assert_clean(path, &reply);
    }
    let metrics_text = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = tokio::net::TcpStream::connect(metrics.as_str())
            .await
            .unwrap();
        tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut s = String::new();
        tcp.read_to_string(&mut s).await.unwrap();
        s
    };
    assert!(metrics_text.contains("terway_guard_admission_requests_total"));
    assert_clean("metrics", &metrics_text);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    let logs = logs.lock().unwrap().clone();
    assert!(
        logs.contains("\"level\":\"DEBUG\"") || logs.contains("admission review"),
        "debug logs were written"
    );
    assert_clean("logs", &logs);

    // check, both outputs, and audit over a log that carries the objects.
    let file = dir.join("cm.json");
    std::fs::write(&file, serde_json::to_vec(&repeated).unwrap()).unwrap();
    for output in ["text", "json"] {
        let out = Command::new(BIN)
            .args(["check", file.to_str().unwrap(), "-o", output])
            .output()
            .unwrap();
        assert_clean(
            &format!("check -o {output}"),
            &format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        );
    }
    let event = json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse", "stage": "ResponseComplete", "verb": "update",
                       "user": {"username": "alice"}, "objectRef": {"resource": "configmaps", "namespace": "kube-system", "name": "eni-config"},
                       "responseStatus": {"code": 200}, "requestObject": repeated, "responseObject": repeated,
                       "annotations": {"validate.terway-guard.io/decision": "allowed"}, "stageTimestamp": "2026-11-25T10:00:00Z"});
    let log = dir.join("audit.log");
    std::fs::write(&log, format!("{event}\n")).unwrap();
    for output in ["text", "json"] {
        let out = Command::new(BIN)
            .args(["audit", log.to_str().unwrap(), "-o", output])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_clean(
            &format!("audit -o {output}"),
            &String::from_utf8_lossy(&out.stdout),
        );
    }
}
