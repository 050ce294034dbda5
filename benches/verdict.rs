//! The verdict engine alone (criterion): a real AdmissionReview from decode
//! to response, and the rules on a small and a large config.
//! Run: `cargo bench --bench verdict`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use terway_guard::admission::{self, Settings};
use terway_guard::config::ConfigObject;
use terway_guard::inventory::{Query, StaticInventory};
use terway_guard::rules::{Input, Operation};
use terway_guard::verdict;

fn review_roundtrip(c: &mut Criterion) {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/review-denied.json"
    ))
    .unwrap();
    let inv = StaticInventory::parse(include_str!("../examples/inventory.yaml")).unwrap();
    let settings = Settings::default();
    // The floor every webhook pays: parse the review, answer with its uid.
    c.bench_function("floor: parse into serde_json::Value, echo uid", |b| {
        b.iter(|| {
            let v: serde_json::Value = serde_json::from_slice(black_box(&body)).unwrap();
            black_box(
                serde_json::to_vec(
                    &json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                    "response": {"uid": v["request"]["uid"], "allowed": true}}),
                )
                .unwrap(),
            )
        })
    });
    // As the server keeps it: the stored object (oldObject) read and judged once.
    let memo = admission::Memo::default();
    c.bench_function("admission review: decode, facts, rules, response", |b| {
        b.iter(|| {
            let p = admission::read(black_box(&body), &settings, &memo).unwrap();
            let facts = inv.snapshot(&admission::query(&p));
            let (answer, _) = admission::validate(&p, Some(&facts), None, &settings);
            black_box(answer.to_json(&p.request))
        })
    });
}

/// `zones` zones × `per_zone` vSwitches, `nodes` nodes, with an inventory that knows them all.
fn large(
    zones: usize,
    per_zone: usize,
    nodes: usize,
) -> (ConfigObject, ConfigObject, StaticInventory) {
    let mut vsw = serde_json::Map::new();
    let mut inv = String::from(
        "region: cn-shanghai\nvpcs:\n  - {id: vpc-1, cidrs: [\"10.0.0.0/8\"]}\nvswitches:\n",
    );
    for z in 0..zones {
        let ids: Vec<String> = (0..per_zone).map(|i| format!("vsw-z{z}n{i}")).collect();
        for (i, id) in ids.iter().enumerate() {
            inv.push_str(&format!("  - {{id: {id}, vpc: vpc-1, zone: cn-shanghai-z{z}, cidr: 10.{z}.{i}.0/24, available_ips: 250}}\n"));
        }
        vsw.insert(format!("cn-shanghai-z{z}"), json!(ids));
    }
    inv.push_str("nodes:\n");
    for n in 0..nodes {
        inv.push_str(&format!(
            "  - {{name: node-{n}, zone: cn-shanghai-z{}, max_pod_ips: 60}}\n",
            n % zones
        ));
    }
    let cm = |min: u32| {
        ConfigObject {
        name: "eni-config".into(),
        namespace: Some("kube-system".into()),
        data: [("eni_conf".to_string(), json!({"version": "1", "min_pool_size": min, "max_pool_size": 30, "service_cidr": "172.16.0.0/16", "vswitches": vsw}).to_string())].into(),
        ..Default::default()
    }
    };
    (cm(5), cm(10), StaticInventory::parse(&inv).unwrap())
}

fn rules(c: &mut Criterion) {
    for (name, zones, per_zone, nodes) in [
        ("small: 2 zones x 2 vSwitches, 4 nodes", 2, 2, 4),
        ("large: 20 zones x 20 vSwitches, 5000 nodes", 20, 20, 5000),
    ] {
        let (old, new, inv) = large(zones, per_zone, nodes);
        let query: Query = new
            .eni_conf()
            .unwrap()
            .vswitches()
            .iter()
            .map(|l| l.id.clone())
            .collect();
        let facts = inv.snapshot(&query);
        let settings = terway_guard::rules::Settings::default();
        c.bench_function(&format!("verdict {name}"), |b| {
            b.iter(|| {
                black_box(verdict::judge(&Input {
                    operation: Operation::Update,
                    new: Some(black_box(&new)),
                    old: Some(&old),
                    base: None,
                    facts: Some(&facts),
                    settings: &settings,
                }))
            })
        });
    }
}

/// The Go-faithful decoder of `eni_conf` against serde_json on a typical
/// document: it is on every review's path, once per object.
fn decoding(c: &mut Criterion) {
    let text = r#"{"version": "1", "max_pool_size": 5, "min_pool_size": 0, "credential_path": "/var/addon/token-config", "vswitches": {"cn-hangzhou-g": ["vsw-aaaaaaaaaaaaaaaaaaaaa", "vsw-bbbbbbbbbbbbbbbbbbbbbb"], "cn-hangzhou-h": ["vsw-ccccccccccccccccccccc"]}, "eni_tags": {"team": "net\u00e9"}, "service_cidr": "172.16.0.0/16", "security_groups": ["sg-aaaaaaaaaaaaaaa", "sg-bbbbbbbbbbbbbbbbb"], "ipam_type": "crd", "eni_cap_ratio": 0.5, "kube_client_qps": 20.5, "kube_client_burst": 30, "backoff_override": {"x": {"Duration": 1000000, "Factor": 1.5, "Steps": 3}}}"#;
    c.bench_function("eni_conf: go_json::decode", |b| {
        b.iter(|| terway_guard::config::go_json::decode(black_box(text)).is_ok())
    });
    c.bench_function("eni_conf: serde_json::from_str", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(text)).is_ok())
    });
}

criterion_group!(benches, review_roundtrip, rules, decoding);
criterion_main!(benches);
