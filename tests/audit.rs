//! `terway-guard audit` on real-format audit.k8s.io/v1 logs.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_terway-guard");

fn fixture() -> String {
    format!(
        "{}/tests/fixtures/audit/audit.jsonl",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn audit(args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut child = Command::new(BIN)
        .arg("audit")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(data) = stdin {
        input.write_all(data).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn tells_who_changed_eni_config_and_what_the_webhook_said() {
    let (code, out, err) = audit(&[&fixture(), "-o", "json"], None);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("skipped 1 malformed line"), "{err}");
    let v: Vec<Value> = serde_json::from_str(&out).unwrap();
    let story: Vec<(&str, &str, &str)> = v
        .iter()
        .map(|c| {
            (
                c["user"].as_str().unwrap(),
                c["verb"].as_str().unwrap(),
                c["decision"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        story,
        [
            (
                "system:serviceaccount:kube-system:ack-addon",
                "create",
                "allowed"
            ),
            ("alice", "update", "denied"),
            ("alice", "update", "allowed"),
            ("kubernetes-admin", "patch", "bypassed"),
            ("carol", "delete", "denied"),
        ]
    );
    assert_eq!(
        v[0]["vswitches_added"],
        json!(["vsw-uf6aaa0001", "vsw-uf6ccc0003"])
    );
    assert_eq!(
        v[1]["rules"],
        json!(["vswitch-zones", "vswitch-zone", "vswitch-prefix"])
    );
    assert_eq!(v[2]["vswitches_added"], json!(["vsw-uf6bbb0002"]));
    assert_eq!(v[3]["vswitches_added"], json!(["vsw-uf6ddd0004"]));
    // No annotation of ours on this one: the denial is read from the response status.
    assert_eq!(v[4]["rules"], json!(["delete-base"]));
    let keys: Vec<&String> = v[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "time",
            "user",
            "verb",
            "namespace",
            "name",
            "decision",
            "rules",
            "vswitches_added",
            "vswitches_removed"
        ]
    );

    let (_, text, _) = audit(&[], Some(&std::fs::read(fixture()).unwrap()));
    assert!(text.contains("min_pool_size 5 -> 8"), "{text}");
    assert!(
        text.contains("reason: INC-4711 /24 is all we have"),
        "{text}"
    );
    assert!(!text.contains("coredns") && !text.contains("terway-token"));
}

fn event_at(secs_ago: u64, user: &str) -> String {
    let t = terway_guard::cloud::time::iso8601(
        std::time::SystemTime::now() - std::time::Duration::from_secs(secs_ago),
    );
    json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "stage": "ResponseComplete", "verb": "update",
           "user": {"username": user}, "objectRef": {"resource": "configmaps", "namespace": "kube-system", "name": "eni-config"},
           "responseStatus": {"code": 200}, "stageTimestamp": t, "annotations": {"validate.terway-guard.io/decision": "allowed"}})
    .to_string()
}

#[test]
fn since_keeps_recent_changes() {
    let log = format!(
        "{}\n{}\n",
        event_at(30 * 3600, "old"),
        event_at(2 * 3600, "new")
    );
    let (code, out, _) = audit(&["--since", "24h", "-o", "json"], Some(log.as_bytes()));
    assert_eq!(code, 0);
    let v: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["user"], "new");
    let (code, _, err) = audit(&["--since", "yesterday"], Some(log.as_bytes()));
    assert_eq!(code, 2);
    assert!(err.contains("--since"), "{err}");
}

#[test]
fn a_large_log_is_streamed() {
    let dir = common::temp_dir("audit-large");
    let path = dir.join("audit.log");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let noise = json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata", "stage": "ResponseComplete", "verb": "get",
                       "user": {"username": "system:kube-controller-manager"}, "objectRef": {"resource": "leases", "namespace": "kube-system", "name": "kube-controller-manager"},
                       "responseStatus": {"code": 200}, "stageTimestamp": "2026-11-25T00:00:00.000000Z"})
    .to_string();
    let lines = 200_000;
    for i in 0..lines {
        if i % 20_000 == 0 {
            writeln!(f, "{}", event_at(60, &format!("user-{i}"))).unwrap();
        } else if i % 50_000 == 1 {
            writeln!(f, "{{not json").unwrap();
        } else {
            writeln!(f, "{noise}").unwrap();
        }
    }
    drop(f);
    let (code, out, err) = audit(&[path.to_str().unwrap(), "-o", "json"], None);
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Vec<Value>>(&out).unwrap().len(), 10);
    assert!(err.contains("skipped 4 malformed line"), "{err}");
}

#[test]
fn terways_own_events_join_the_timeline() {
    let events = format!(
        "{}/tests/fixtures/audit/events.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let (code, out, err) = audit(&[&fixture(), "--events", &events, "-o", "json"], None);
    assert_eq!(code, 0, "{err}");
    let v: Vec<Value> = serde_json::from_str(&out).unwrap();
    let line: Vec<(String, String)> = v
        .iter()
        .map(|c| {
            (
                c["time"].as_str().unwrap().chars().take(16).collect(),
                c["decision"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("2026-11-20T09:05", "allowed"),
        // The exhaustion event, between the edits; the "connection refused"
        // one says nothing about IPs and the scheduler's is not Terway's.
        ("2026-11-25T09:30", "AllocIPFailed"),
        ("2026-11-25T10:00", "denied"),
        ("2026-11-25T10:05", "allowed"),
        // Terway could not use the config two minutes after that edit.
        ("2026-11-25T10:07", "ConfigError"),
        ("2026-11-25T11:00", "bypassed"),
        ("2026-11-25T12:00", "denied"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(t, d)| (t.to_string(), d.to_string()))
        .collect();
    assert_eq!(line, want);
    let config_error = &v[4];
    assert_eq!(config_error["verb"], "event");
    assert_eq!(config_error["user"], "terway-daemon");
    assert_eq!(config_error["name"], "Node/cn-shanghai.192.168.0.10");
    assert_eq!(
        config_error["message"],
        "failed to get vsw for zone cn-shanghai-f (×3)"
    );

    let dir = common::temp_dir("audit-events");
    let bad = dir.join("events.txt");
    std::fs::write(&bad, "LAST SEEN   TYPE   REASON").unwrap();
    let (code, _, err) = audit(&[&fixture(), "--events", bad.to_str().unwrap()], None);
    assert_eq!(code, 2);
    assert!(err.contains("kubectl get events -A -o json"), "{err}");
}
