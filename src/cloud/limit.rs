//! A bound on how hard terway-guard may press the OpenAPI: a token bucket for
//! the rate and a semaphore for concurrency, shared by every client of one
//! process. The account's OpenAPI quota is also Terway's: a webhook must never
//! spend it.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

#[derive(Debug)]
pub struct Limiter {
    concurrency: Semaphore,
    per_second: f64,
    burst: f64,
    bucket: Mutex<(f64, Instant)>,
}

impl Limiter {
    pub fn new(concurrency: usize, per_second: f64, burst: f64) -> Self {
        let burst = burst.max(1.0);
        Limiter {
            concurrency: Semaphore::new(concurrency.max(1)),
            per_second: per_second.max(0.01),
            burst,
            bucket: Mutex::new((burst, Instant::now())),
        }
    }

    /// Waits for a token and a free slot; the slot is held while the permit lives.
    pub async fn acquire(&self) -> Option<SemaphorePermit<'_>> {
        loop {
            let wait = {
                let mut b = self.bucket.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                let refill = now.duration_since(b.1).as_secs_f64() * self.per_second;
                b.0 = (b.0 + refill).min(self.burst);
                b.1 = now;
                if b.0 >= 1.0 {
                    b.0 -= 1.0;
                    None
                } else {
                    Some(Duration::from_secs_f64((1.0 - b.0) / self.per_second))
                }
            };
            match wait {
                None => break,
                Some(d) => tokio::time::sleep(d).await,
            }
        }
        self.concurrency.acquire().await.ok()
    }
}

impl Default for Limiter {
    /// 4 calls at a time, 10 per second on average, bursts of 20.
    fn default() -> Self {
        Limiter::new(4, 10.0, 20.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_rate_holds_after_the_burst() {
        let l = Limiter::new(100, 10.0, 5.0);
        let start = tokio::time::Instant::now();
        for _ in 0..25 {
            drop(l.acquire().await);
        }
        // 5 at once, then 20 more at 10 per second.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(1900), "{took:?}");
        assert!(took <= Duration::from_millis(2200), "{took:?}");
    }

    #[tokio::test]
    async fn concurrency_is_bounded() {
        let l = std::sync::Arc::new(Limiter::new(2, 1000.0, 1000.0));
        let a = l.acquire().await;
        let b = l.acquire().await;
        let l2 = l.clone();
        let third = tokio::spawn(async move { l2.acquire().await.is_some() });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!third.is_finished(), "a third call waits for a slot");
        drop((a, b));
        assert!(third.await.unwrap());
    }
}
