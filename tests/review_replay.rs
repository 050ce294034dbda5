//! The fast review path answers byte for byte what kube-core's typed path
//! answers (issue 24): every case of the Terway corpus (tests/terway/*.yaml)
//! and a sample of the property tests' single-field edits, sent as
//! AdmissionReviews to both the validating and the mutating webhook.
//!
//! - reference: `admission::reference` (kube-core's `AdmissionReview`, every
//!   object read anew, the old object re-judged per review, the answer
//!   serialized through kube-core's `AdmissionResponse`);
//! - fast: `admission::read` with one `Memo` shared by the whole run (so the
//!   stored object is read and judged once while consecutive reviews carry
//!   it, and anew when it changes), the answer written by `Answer::to_json`.
//!   Every review goes through it twice: the second time, the memo has it.
//!
//! kube-core keeps audit annotations in a HashMap, whose order changes from
//! run to run; its bodies are compared with that map in key order, the order
//! the fast path writes. Everything else is compared as bytes. In debug
//! builds the engine also checks every kept judgement against judging the
//! old object anew (rules::evaluate_given).
//!
//! `PROPERTIES_EDITS=all` replays every edit of the property table.

#![allow(dead_code)]

#[path = "properties/corpus.rs"]
mod corpus;
#[path = "properties/edits.rs"]
mod edits;
#[path = "common/corpus.rs"]
mod terway_corpus;
#[path = "properties/values.rs"]
mod values;

use serde_json::{Value, json};
use terway_guard::admission::{self, Memo, Settings};
use terway_guard::config::{BYPASS_ANNOTATION, ConfigObject, Version};
use terway_guard::inventory::{KubeadmServiceCidr, StaticInventory};

/// The time the mutation records, fixed so that both paths stamp the same.
const NOW: &str = "2026-12-04T23:59:59Z";

/// One review to replay.
struct Review<'a> {
    op: &'static str,
    new: Option<&'a ConfigObject>,
    old: Option<&'a ConfigObject>,
    base: Option<&'a ConfigObject>,
    version: Option<Version>,
    kubeadm: Option<KubeadmServiceCidr>,
}

fn object_json(o: &ConfigObject, n: usize) -> Value {
    let mut meta = json!({"name": o.name, "namespace": o.namespace});
    // Some objects carry a bypass annotation (set now, or left from before),
    // some no name (generateName: the request names them).
    let mut annotations = o.annotations.clone();
    if n % 5 == 1 {
        annotations.insert(BYPASS_ANNOTATION.into(), format!("replay {}", n % 3));
    }
    if !annotations.is_empty() {
        meta["annotations"] = json!(annotations);
    }
    if n % 11 == 7 {
        meta.as_object_mut().unwrap().remove("name");
    }
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": o.data})
}

fn body(r: &Review, n: usize) -> Vec<u8> {
    let subject = r.new.or(r.old).expect("an object");
    let groups = if n.is_multiple_of(2) {
        json!(["system:masters", "system:authenticated"])
    } else {
        json!(["system:authenticated"])
    };
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": format!("5f1c2a9e-0000-4000-8000-{n:012}"),
            "kind": {"group": "", "version": "v1", "kind": "ConfigMap"},
            "resource": {"group": "", "version": "v1", "resource": "configmaps"},
            "name": subject.name,
            "namespace": "kube-system",
            "operation": r.op,
            "userInfo": {"username": format!("user-{}", n % 4), "groups": groups},
            "object": r.new.map(|o| object_json(o, n)),
            "oldObject": r.old.map(|o| object_json(o, n / 2)),
            "dryRun": n.is_multiple_of(7),
            "options": {"kind": "UpdateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "kubectl-edit"},
        }
    }))
    .unwrap()
}

/// kube-core's body with its audit annotations in key order.
fn ordered(reference: &[u8]) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(reference).expect("kube-core wrote JSON");
    if let Some(a) = v["response"].get_mut("auditAnnotations") {
        let sorted: std::collections::BTreeMap<String, Value> =
            serde_json::from_value(a.clone()).unwrap();
        *a = serde_json::to_value(sorted).unwrap();
    }
    serde_json::to_vec(&v).unwrap()
}

struct Replay {
    inv: StaticInventory,
    memo: Memo,
    reviews: usize,
    mismatches: Vec<String>,
}

impl Replay {
    fn send(&mut self, r: &Review, label: &str) {
        let n = self.reviews;
        self.reviews += 1;
        let body = body(r, n);
        let settings = Settings {
            rules: terway_guard::rules::Settings {
                terway_version: r.version,
                ..Default::default()
            },
            ..Settings::default()
        };
        let objects = [r.new, r.old, r.base].into_iter().flatten();
        let mut facts = self
            .inv
            .snapshot(&terway_guard::inventory::query_for(objects));
        facts.kubeadm = r.kubeadm.clone();
        // kube-core's path.
        let p = admission::reference::prepare(
            admission::reference::decode(&body).expect("kube-core decodes the review"),
            &settings,
        );
        let info = p.request.clone();
        let (v, _) = admission::validate(&p, Some(&facts), r.base, &settings);
        let (m, _) = admission::mutate_at(&p, NOW);
        let want = [
            ordered(&admission::reference::to_review_json(v, &info)),
            ordered(&admission::reference::to_review_json(m, &info)),
        ];
        // The fast path, twice: the memo is warm the second time.
        for pass in ["cold", "warm"] {
            let p = admission::read(&body, &settings, &self.memo).expect("the fast path decodes");
            let (v, _) = admission::validate(&p, Some(&facts), r.base, &settings);
            let (m, _) = admission::mutate_at(&p, NOW);
            let got = [v.to_json(&p.request), m.to_json(&p.request)];
            for (endpoint, (g, w)) in ["validate", "mutate"].iter().zip(got.iter().zip(&want)) {
                if g != w && self.mismatches.len() < 10 {
                    let at = g.iter().zip(w).take_while(|(a, b)| a == b).count();
                    let near = |b: &[u8]| {
                        String::from_utf8_lossy(&b[at.saturating_sub(80)..b.len().min(at + 80)])
                            .into_owned()
                    };
                    self.mismatches.push(format!(
                        "{label} ({} review #{n}, {pass}, /{endpoint}), from byte {at}:\n  kube-core: …{}…\n  fast:      …{}…",
                        r.op,
                        near(w),
                        near(g)
                    ));
                }
            }
        }
    }
}

#[test]
fn the_fast_path_answers_what_kube_core_answers() {
    let mut replay = Replay {
        inv: terway_corpus::inventory(),
        memo: Memo::default(),
        reviews: 0,
        mismatches: Vec::new(),
    };
    // Every corpus case as written.
    let cases = terway_corpus::load();
    for (file, c) in &cases {
        let (new, old) = (
            c.new.as_ref().map(terway_corpus::Object::config),
            c.old.as_ref().map(terway_corpus::Object::config),
        );
        let base = c.base.as_ref().map(terway_corpus::Base::config);
        let op = match c.op.as_str() {
            "create" => "CREATE",
            "update" => "UPDATE",
            _ => "DELETE",
        };
        let r = Review {
            op,
            new: new.as_ref(),
            old: old.as_ref(),
            base: base.as_ref(),
            version: c.version.as_deref().map(|v| v.parse().unwrap()),
            kubeadm: terway_corpus::kubeadm(c.kubeadm.as_deref()),
        };
        replay.send(&r, &format!("{file}: {}", c.name));
    }
    let corpus_reviews = replay.reviews;
    // Property edits of every start Terway runs: as UPDATEs of the start
    // (consecutive reviews share the stored object, as a cluster's do),
    // as CREATEs, and now and then as a DELETE.
    let all = std::env::var("PROPERTIES_EDITS").as_deref() == Ok("all");
    for s in corpus::starts() {
        let table = edits::all_edits(
            &s.new.data,
            s.new.role() == terway_guard::config::Role::Base,
        );
        for (i, e) in table
            .iter()
            .enumerate()
            .filter(|(i, _)| all || i.is_multiple_of(16))
        {
            let new = corpus::object(&s.new.name, e.data.clone());
            let (op, new_ref, old) = match i % 48 {
                0 => ("CREATE", Some(&new), None),
                32 => ("DELETE", None, Some(&new)),
                _ => ("UPDATE", Some(&new), Some(&s.new)),
            };
            let r = Review {
                op,
                new: new_ref,
                old,
                base: s.base.as_ref(),
                version: s.version,
                kubeadm: terway_corpus::kubeadm(None),
            };
            replay.send(&r, &format!("{} edit {} ({})", s.name, i, e.class));
        }
    }
    eprintln!(
        "{} reviews replayed ({corpus_reviews} corpus cases), each through both webhooks on both paths",
        replay.reviews
    );
    assert!(
        corpus_reviews >= 150 && replay.reviews >= 2000,
        "{} reviews",
        replay.reviews
    );
    assert!(
        replay.mismatches.is_empty(),
        "the fast path differs from kube-core's:\n{}",
        replay.mismatches.join("\n")
    );
}
