//! The HTTP handlers: thin glue between the body and [`crate::admission`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query as UrlQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::metrics::Metrics;
use crate::admission::{self, Prepared};
use crate::config::duration;
use crate::inventory::{Facts, Inventory, Lookup};

pub struct App {
    pub settings: admission::Settings,
    pub inventory: Option<Arc<dyn Inventory>>,
    pub metrics: Metrics,
    /// Upper bound for waiting on the inventory within one request.
    pub request_timeout: Duration,
    pub heavy: Heavy,
    /// The stored config read and judged once for the reviews that carry it.
    pub memo: admission::Memo,
}

/// Large reviews are judged on the blocking pool, so the I/O workers (and
/// `/healthz`) never wait on them, and only a budget of their bytes is
/// judged at once, so memory stays bounded.
pub struct Heavy {
    kib: tokio::sync::Semaphore,
}

/// Bodies above this are judged off the I/O workers.
const HEAVY_BYTES: usize = 64 * 1024;
/// KiB of heavy bodies judged at once (decoded, one costs ~10× its size).
const HEAVY_BUDGET_KIB: u32 = 8192;

impl Default for Heavy {
    fn default() -> Self {
        Heavy {
            kib: tokio::sync::Semaphore::new(HEAVY_BUDGET_KIB as usize),
        }
    }
}

impl Heavy {
    /// Runs `work` inline for a small body; for a large one, waits (within
    /// `wait`) for its share of the budget and runs it on the blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        bytes: usize,
        wait: Duration,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, StatusCode> {
        if bytes <= HEAVY_BYTES {
            return Ok(work());
        }
        let kib = u32::try_from(bytes / 1024 + 1)
            .unwrap_or(u32::MAX)
            .min(HEAVY_BUDGET_KIB);
        let _permit = tokio::time::timeout(wait, self.kib.acquire_many(kib))
            .await
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
    }
}

pub fn router(app: Arc<App>, max_body: usize) -> Router {
    Router::new()
        .route("/validate", post(validate))
        .route("/mutate", post(mutate))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        // Bodies that grow past the limit are cut while streaming in...
        .layer(DefaultBodyLimit::max(max_body))
        // ...and bodies announced too large are refused before a byte is read.
        .layer(axum::middleware::from_fn_with_state(
            max_body,
            refuse_announced_oversize,
        ))
        .with_state(app)
}

async fn refuse_announced_oversize(
    State(max): State<usize>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > max as u64) {
        // Answer without reading the body into memory, but hold the request
        // body until the answer is out: dropping it first cancels an HTTP/2
        // stream before the client sees the status, and breaks an HTTP/1.1
        // client still sending. The rest of the body is read and discarded
        // (bounded in bytes and time) before the answer ends; HTTP/1.1 then
        // closes the connection.
        let http2 = req.version() >= axum::http::Version::HTTP_2;
        let body = Drained {
            answer: Some(Bytes::from(format!(
                "request body is larger than {max} bytes"
            ))),
            request: req.into_body(),
            left: DRAIN_AT_MOST,
            // HTTP/1.1: long enough for an eager client to read the answer
            // before the connection closes, short for one that stopped sending.
            until: Box::pin(tokio::time::sleep(if http2 {
                DRAIN_FOR
            } else {
                DRAIN_FOR_HTTP1
            })),
        };
        return (StatusCode::PAYLOAD_TOO_LARGE, axum::body::Body::new(body)).into_response();
    }
    next.run(req).await
}

/// Bytes of a refused request body read and thrown away before giving up on
/// it, and for how long.
const DRAIN_AT_MOST: usize = 16 << 20;
const DRAIN_FOR: Duration = Duration::from_secs(5);
const DRAIN_FOR_HTTP1: Duration = Duration::from_millis(500);

/// A response body that sends `answer`, then reads and discards the request
/// body (up to `left` bytes, until `until`) before it ends.
struct Drained {
    answer: Option<Bytes>,
    request: axum::body::Body,
    left: usize,
    until: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl hyper::body::Body for Drained {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        use std::future::Future;
        use std::task::Poll;
        let me = self.get_mut();
        if let Some(a) = me.answer.take() {
            return Poll::Ready(Some(Ok(hyper::body::Frame::data(a))));
        }
        while me.left > 0 && me.until.as_mut().poll(cx).is_pending() {
            match std::pin::Pin::new(&mut me.request).poll_frame(cx) {
                Poll::Ready(Some(Ok(f))) => {
                    let n = f.data_ref().map_or(0, Bytes::len);
                    me.left = me.left.saturating_sub(n.max(1));
                }
                Poll::Ready(Some(Err(e))) => {
                    tracing::debug!(error = %e, "draining a refused body ended");
                    break;
                }
                Poll::Ready(None) => break,
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(None)
    }
}

pub fn metrics_router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(app): State<Arc<App>>| async move {
                let mut text = app.metrics.render();
                if let Some(inv) = &app.inventory {
                    text.push_str(&super::metrics::render_free_ips(&inv.known()));
                }
                text.push_str(&super::metrics::render_watch_errors(
                    &crate::kube::health::process(),
                ));
                ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
            }),
        )
        .with_state(app)
}

/// Ready once the inventory has synced. A cluster read failing since then
/// (RBAC, an apiserver away) does not take the webhook out of service: the
/// body says what is stale, one line each.
async fn readyz(State(app): State<Arc<App>>) -> Response {
    let stale = crate::kube::health::process().detail();
    match &app.inventory {
        Some(inv) if !inv.ready() => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("inventory not synced\n{stale}"),
        )
            .into_response(),
        _ if stale.is_empty() => "ok".into_response(),
        _ => format!("ok\n{stale}").into_response(),
    }
}

/// The query the apiserver sends: only `timeout` is read (no map of every pair).
#[derive(Default, serde::Deserialize)]
struct Params {
    timeout: Option<String>,
}

async fn validate(
    State(app): State<Arc<App>>,
    UrlQuery(q): UrlQuery<Params>,
    body: Bytes,
) -> Response {
    let start = Instant::now();
    let wait = deadline(&app, &q);
    let queue = answer_within(&q);
    let size = body.len();
    let a = app.clone();
    let p = match app
        .heavy
        .run(size, queue, move || decode(&a, "validate", &body))
        .await
    {
        Ok(Ok(p)) => Arc::new(p),
        Ok(Err(r)) => return r.into_response(),
        Err(status) => return busy(status),
    };
    let facts = facts(&app, &p, wait).await;
    // Only a review terway-guard judges reads the base (a copy of it).
    let base = app.memo.base(
        app.inventory
            .as_ref()
            .filter(|_| p.terway)
            .and_then(|i| i.base_config()),
    );
    let a = app.clone();
    let judged = p.clone();
    let answer = app
        .heavy
        .run(size, queue, move || {
            let (answer, outcome) =
                admission::validate(&judged, facts.as_ref(), base.as_deref(), &a.settings);
            (answer.to_json(&judged.request), outcome)
        })
        .await;
    match answer {
        Ok((json_body, outcome)) => {
            finish(&app, "validate", &p, &outcome, start);
            json(json_body)
        }
        Err(status) => busy(status),
    }
}

async fn mutate(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let start = Instant::now();
    let size = body.len();
    let a = app.clone();
    let answer = app
        .heavy
        .run(size, answer_within(&Params::default()), move || {
            let p = decode(&a, "mutate", &body)?;
            let (answer, outcome) = admission::mutate(&p);
            let body = answer.to_json(&p.request);
            Ok::<_, (StatusCode, String)>((p, body, outcome))
        })
        .await;
    match answer {
        Ok(Ok((p, json_body, outcome))) => {
            finish(&app, "mutate", &p, &outcome, start);
            json(json_body)
        }
        Ok(Err(r)) => r.into_response(),
        Err(status) => busy(status),
    }
}

fn busy(status: StatusCode) -> Response {
    (status, "terway-guard is judging other large reviews; retry").into_response()
}

fn decode(
    app: &App,
    endpoint: &'static str,
    body: &[u8],
) -> Result<Prepared, (StatusCode, String)> {
    admission::read(body, &app.settings, &app.memo).map_err(|e| {
        app.metrics.bad_request(endpoint);
        tracing::info!(endpoint, error = %e, "malformed request");
        (StatusCode::BAD_REQUEST, e.to_string())
    })
}

/// The apiserver appends `?timeout=10s`; answer well before it gives up.
fn deadline(app: &App, q: &Params) -> Duration {
    theirs(q).map_or(app.request_timeout, |t| t.min(app.request_timeout))
}

/// 80 % of the apiserver's `?timeout=`.
fn theirs(q: &Params) -> Option<Duration> {
    q.timeout
        .as_deref()
        .and_then(|t| duration::parse(t).ok())
        .filter(|ns| *ns > 0)
        .map(|ns| Duration::from_nanos((ns as u64).saturating_mul(8) / 10))
}

/// How long a large review may queue for its share of the budget.
fn answer_within(q: &Params) -> Duration {
    theirs(q).unwrap_or(Duration::from_secs(8))
}

async fn facts(app: &App, p: &Prepared, deadline: Duration) -> Option<Facts> {
    if !p.terway {
        return None;
    }
    let inv = app.inventory.as_ref()?;
    // Too many ids is denied by the rules; never fan them out to the cloud.
    let query = admission::query_within(p, app.settings.rules.max_vswitch_ids)?;
    match tokio::time::timeout(deadline, inv.facts(&query)).await {
        Ok(f) => Some(f),
        Err(_) => {
            let why = format!(
                "the inventory did not answer within {} ms",
                deadline.as_millis()
            );
            Some(Facts {
                vswitches: query
                    .into_iter()
                    .map(|id| (id, Lookup::Failed(why.clone())))
                    .collect(),
                ..Facts::default()
            })
        }
    }
}

fn finish(app: &App, endpoint: &'static str, p: &Prepared, o: &admission::Outcome, start: Instant) {
    let took = start.elapsed();
    let op = match p.request.operation {
        kube::core::admission::Operation::Create => "CREATE",
        kube::core::admission::Operation::Update => "UPDATE",
        kube::core::admission::Operation::Delete => "DELETE",
        kube::core::admission::Operation::Connect => "CONNECT",
    };
    app.metrics
        .observe(endpoint, op, o.decision, o.patched, took);
    if endpoint == "validate" && p.terway {
        app.metrics.verdict(
            o.decision,
            &o.rules,
            p.request.username.as_deref().unwrap_or(""),
        );
    }
    if p.terway {
        tracing::info!(
            endpoint,
            uid = p.request.uid.as_str(),
            operation = op,
            namespace = p.request.namespace.as_deref().unwrap_or(""),
            name = p.request.name.as_str(),
            user = p.request.username.as_deref().unwrap_or(""),
            dry_run = p.request.dry_run,
            decision = o.decision,
            rules = %Joined(&o.rules),
            patched = o.patched,
            micros = took.as_micros() as u64,
            "admission review"
        );
    }
}

/// Rule ids as `a,b,c`, formatted into the log line without a joined copy.
struct Joined<'a>(&'a [&'a str]);

impl std::fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(r)?;
        }
        Ok(())
    }
}

fn json(body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
