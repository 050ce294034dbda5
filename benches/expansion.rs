//! Simulated exhaustion, end to end against the fakes: from the moment the
//! first `AllocIPFailed` event exists to the moment the controller (mode
//! auto) has requested the Terway rollout. Run: `cargo bench --bench expansion`.
//! Not a timed test: it prints numbers, it asserts only that the job was done.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::scenario::{DS, cloud, cluster};
use terway_guard::controller::decide::Mode;

const RUNS: usize = 20;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        times.push(rt.block_on(one()));
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "expansion (event -> rollout requested, fakes on 127.0.0.1, {RUNS} runs): min {:.1} ms, median {:.1} ms, max {:.1} ms",
        ms(times[0]),
        ms(times[RUNS / 2]),
        ms(times[RUNS - 1])
    );
}

async fn one() -> Duration {
    let (fake, kube) = (cloud().await, cluster().await);
    let mut c = common::scenario::controller(&fake, &kube, Mode::Auto, "bench").await;
    // The whole DaemonSet is rolled, so "rollout requested" is one object to watch.
    c.restart = terway_guard::expand::restart::RestartScope::All;
    // The event is already there (the scene has it); the clock starts as the controller looks.
    let start = Instant::now();
    let r = c.tick().await.expect("tick");
    let took = start.elapsed();
    assert!(r.expanded.is_some(), "the zone was expanded");
    assert_eq!(
        kube.get(DS)["metadata"]["generation"],
        2,
        "Terway rollout requested"
    );
    took
}
