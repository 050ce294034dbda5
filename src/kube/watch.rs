//! Back-off for watches and GET loops that keep failing (an absent CRD, RBAC
//! that forbids a read, an apiserver away).
//!
//! Not kube-runtime's `StreamBackoff`: it resets its back-off on every `Ok`
//! item, and the watcher emits `Event::Init` before each new list, the retry
//! after a failed list included (kube-runtime 5.0.0 src/watcher.rs `step`:
//! `State::Empty` yields `Event::Init`, a failed list returns to
//! `State::Empty`). So the delay never grew past its first step and an absent
//! CRD was listed once a second. Here the back-off resets only when a list
//! has really succeeded (`Event::InitDone`), or when a watch that failed is
//! evidently working again without a new list (an object event, or
//! [`STABLE`] without an error).

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use kube::runtime::watcher::{self, Event};
use tokio::time::Instant;

use super::health::{Reason, WatchHealth};

/// The longest wait between two tries: a CRD installed later is seen
/// within this.
pub const CAP: Duration = Duration::from_secs(300);
const FIRST: Duration = Duration::from_secs(1);
/// A retried watch this long without an error is working again (kube-runtime
/// emits nothing when it resumes a watch without a list).
pub const STABLE: Duration = Duration::from_secs(60);

/// 1 s, doubled after each failure, at most `cap`.
#[derive(Debug, Clone)]
pub struct CappedBackoff {
    next: Duration,
    cap: Duration,
}

impl CappedBackoff {
    pub fn new(cap: Duration) -> Self {
        CappedBackoff { next: FIRST, cap }
    }

    /// The wait before the next try, and doubles the one after.
    pub fn next_wait(&mut self) -> Duration {
        let now = self.next.min(self.cap);
        self.next = (self.next * 2).min(self.cap);
        now
    }

    pub fn reset(&mut self) {
        self.next = FIRST;
    }
}

struct Driver<S> {
    stream: Pin<Box<S>>,
    backoff: CappedBackoff,
    /// Wait before polling again (set by a failure).
    wait: Option<Duration>,
    /// A failure has not been followed by a success yet.
    retrying: bool,
}

/// `stream` (a kube-runtime watcher) with back-off between failures: each
/// error is passed on at once, then the stream is not polled again until the
/// back-off has passed. Failures and recoveries go to `health` under
/// `resource`.
pub fn backoff<K, S>(
    stream: S,
    resource: &'static str,
    health: Arc<WatchHealth>,
) -> impl Stream<Item = Result<Event<K>, watcher::Error>> + Send
where
    K: Send + 'static,
    S: Stream<Item = Result<Event<K>, watcher::Error>> + Send + 'static,
{
    let driver = Driver {
        stream: Box::pin(stream),
        backoff: CappedBackoff::new(CAP),
        wait: None,
        retrying: false,
    };
    futures::stream::unfold(driver, move |mut d| {
        let health = health.clone();
        async move {
            if let Some(wait) = d.wait.take() {
                tokio::time::sleep(wait).await;
            }
            let item = if d.retrying {
                // `next` is cancel-safe: the watcher keeps its request in
                // the stream, not in this future.
                match tokio::time::timeout(STABLE, d.stream.next()).await {
                    Ok(item) => item,
                    Err(_) => {
                        d.retrying = false;
                        d.backoff.reset();
                        health.resumed(resource);
                        d.stream.next().await
                    }
                }
            } else {
                d.stream.next().await
            }?;
            match &item {
                Ok(Event::InitDone) => {
                    d.retrying = false;
                    d.backoff.reset();
                    health.listed(resource);
                }
                Ok(Event::Apply(_) | Event::Delete(_)) if d.retrying => {
                    d.retrying = false;
                    d.backoff.reset();
                    health.resumed(resource);
                }
                // Init and InitApply prove nothing yet: Init comes before
                // every try, a list may fail on a later page.
                Ok(_) => {}
                Err(e) => {
                    match Reason::of_watcher(e) {
                        Some(reason) => health.failed(resource, reason, e),
                        None => {
                            tracing::debug!(watch = resource, error = %e, "watch expired; relisting")
                        }
                    }
                    d.retrying = true;
                    d.wait = Some(d.backoff.next_wait());
                }
            }
            Some((item, d))
        }
    })
}

/// The same back-off for a loop of one-off reads (a GET per round): asks
/// whether a read is due, and is told how it went.
#[derive(Debug)]
pub struct Retry {
    backoff: CappedBackoff,
    not_before: Option<Instant>,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            backoff: CappedBackoff::new(CAP),
            not_before: None,
        }
    }
}

impl Retry {
    pub fn due(&self) -> bool {
        self.not_before.is_none_or(|t| Instant::now() >= t)
    }

    pub fn succeeded(&mut self) {
        self.backoff.reset();
        self.not_before = None;
    }

    pub fn failed(&mut self) {
        self.not_before = Some(Instant::now() + self.backoff.next_wait());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_to_the_cap_and_resets() {
        let mut b = CappedBackoff::new(CAP);
        let waits: Vec<u64> = (0..12).map(|_| b.next_wait().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        b.reset();
        assert_eq!(b.next_wait(), FIRST);
    }

    /// A watcher's items as kube-runtime yields them for a resource whose
    /// list keeps failing: `Init`, then the error, again and again.
    fn failing_list(tries: usize) -> Vec<Result<Event<()>, watcher::Error>> {
        let err = || {
            watcher::Error::InitialListFailed(kube::Error::Api(Box::new(kube::core::Status {
                code: 404,
                ..Default::default()
            })))
        };
        (0..tries)
            .flat_map(|_| [Ok(Event::Init), Err(err())])
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn init_before_each_retry_does_not_reset_the_back_off() {
        let health = Arc::new(WatchHealth::default());
        let mut items = failing_list(6);
        items.extend([Ok(Event::Init), Ok(Event::InitDone)]);
        items.extend(failing_list(2));
        let s = backoff(futures::stream::iter(items), "crd", health.clone());
        futures::pin_mut!(s);
        let start = Instant::now();
        let mut errors_at = Vec::new();
        while let Some(item) = s.next().await {
            match item {
                Err(_) => errors_at.push(start.elapsed().as_secs()),
                Ok(Event::InitDone) => assert!(health.was_listed("crd")),
                Ok(_) => {}
            }
        }
        // 1, 2, 4, 8, 16 s apart; after the list succeeded, 1 s again.
        assert_eq!(errors_at, [0, 1, 3, 7, 15, 31, 63, 64]);
        let f = health.failing("crd").unwrap();
        assert_eq!((f.reason, f.count), (Reason::NotFound, 2));
        assert_eq!(health.errors(), [("crd", "not_found", 8)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_get_loop_waits_longer_after_each_failure() {
        let mut r = Retry::default();
        let start = Instant::now();
        let mut tries = Vec::new();
        while start.elapsed() < Duration::from_secs(600) {
            if r.due() {
                tries.push(start.elapsed().as_secs());
                r.failed();
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert_eq!(tries, [0, 1, 3, 7, 15, 31, 63, 127, 255, 511]);
        r.succeeded();
        assert!(r.due());
    }
}
