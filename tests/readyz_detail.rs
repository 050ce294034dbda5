//! A cluster read that keeps failing shows on the webhook's endpoints
//! (issue 22): `/readyz` stays 200 once synced and says what is stale, one
//! line per failing read that matters; `/metrics` counts each failure by
//! resource and reason.

mod common;

use terway_guard::kube::cluster::{NODES, TERWAY_NODES};
use terway_guard::kube::health::{self, Reason};

#[tokio::test]
async fn readyz_names_what_is_stale_and_metrics_count_failures() {
    let s = common::start().await;
    let r = s.raw("GET", "/readyz", Vec::new()).await.unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));

    // The process's watches (one test in this binary: nothing else feeds them).
    let h = health::process();
    for _ in 0..3 {
        h.failed(NODES, Reason::Forbidden, &"nodes is forbidden");
    }
    h.failed(TERWAY_NODES, Reason::NotFound, &"404 page not found");
    let r = s.raw("GET", "/readyz", Vec::new()).await.unwrap();
    let text = r.text();
    assert_eq!(r.status, 200, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "an absent CRD is not news: {text}");
    assert_eq!(lines[0], "ok");
    assert!(
        lines[1].starts_with("nodes: cannot read (forbidden, 3 tries since ")
            && lines[1].ends_with("node facts are stale (zones, capacity, dynamic configs in use)"),
        "{text}"
    );
    let metrics = common::plain_get(s.metrics, "/metrics").await;
    for line in [
        "terway_guard_watch_errors_total{resource=\"nodes\",reason=\"forbidden\"} 3",
        "terway_guard_watch_errors_total{resource=\"terway-nodes\",reason=\"not_found\"} 1",
    ] {
        assert!(metrics.contains(line), "{line}\n{metrics}");
    }

    // Readable again: nothing stale, the counters stay.
    h.listed(NODES);
    let r = s.raw("GET", "/readyz", Vec::new()).await.unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    let metrics = common::plain_get(s.metrics, "/metrics").await;
    assert!(metrics.contains("reason=\"forbidden\"} 3"), "{metrics}");
    s.stop().await;
}
