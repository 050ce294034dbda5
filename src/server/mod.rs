//! The HTTPS admission webhook: accept loop, TLS, limits, graceful drain.

pub mod metrics;
pub mod routes;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::admission;
use crate::inventory::Inventory;
pub use routes::App;
use tls::{CertStore, TlsError};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] TlsError),
}

pub struct ServerConfig {
    pub listen: SocketAddr,
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    /// Require client certificates signed by this CA (mTLS).
    pub client_ca: Option<PathBuf>,
    pub metrics_listen: Option<SocketAddr>,
    pub admission: admission::Settings,
    pub inventory: Option<Arc<dyn Inventory>>,
    pub request_timeout: Duration,
    pub header_timeout: Duration,
    pub handshake_timeout: Duration,
    pub max_connections: usize,
    pub max_body: usize,
    pub drain_timeout: Duration,
}

impl ServerConfig {
    pub fn new(listen: SocketAddr, tls_cert: PathBuf, tls_key: PathBuf) -> Self {
        ServerConfig {
            listen,
            tls_cert,
            tls_key,
            client_ca: None,
            metrics_listen: None,
            admission: admission::Settings::default(),
            inventory: None,
            request_timeout: Duration::from_secs(2),
            header_timeout: Duration::from_secs(2),
            handshake_timeout: Duration::from_secs(5),
            max_connections: 1024,
            max_body: 4 << 20,
            drain_timeout: Duration::from_secs(8),
        }
    }
}

pub struct Server {
    listener: TcpListener,
    metrics: Option<TcpListener>,
    app: Arc<App>,
    certs: Arc<CertStore>,
    cfg: ServerConfig,
}

impl Server {
    pub async fn bind(cfg: ServerConfig) -> Result<Server, ServerError> {
        let certs = Arc::new(
            CertStore::load(
                cfg.tls_cert.clone(),
                cfg.tls_key.clone(),
                cfg.client_ca.clone(),
            )
            .await?,
        );
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind { addr, source })
        };
        let listener = bind(cfg.listen).await?;
        let metrics = match cfg.metrics_listen {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        let app = Arc::new(App {
            settings: cfg.admission.clone(),
            inventory: cfg.inventory.clone(),
            metrics: metrics::Metrics::default(),
            request_timeout: cfg.request_timeout,
            heavy: routes::Heavy::default(),
            memo: admission::Memo::default(),
        });
        Ok(Server {
            listener,
            metrics,
            app,
            certs,
            cfg,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.cfg.listen)
    }

    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` completes, then drains open connections for
    /// at most the drain timeout.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let Server {
            listener,
            metrics,
            app,
            certs,
            cfg,
        } = self;
        if let Some(m) = metrics {
            let router = routes::metrics_router(app.clone());
            tokio::spawn(async move {
                if let Err(e) = axum::serve(m, router).await {
                    tracing::error!(error = %e, "metrics server stopped");
                }
            });
        }
        let router = routes::router(app, cfg.max_body);
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(cfg.header_timeout);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(64);
        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(cfg.max_connections));
        tokio::pin!(shutdown);
        loop {
            let (tcp, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::warn!(%peer, "connection limit reached; closing new connection");
                drop(tcp);
                continue;
            };
            let acceptor = certs.acceptor().await;
            let handshake = cfg.handshake_timeout;
            let svc = TowerToHyperService::new(router.clone());
            let builder = builder.clone();
            let watcher = graceful.watcher();
            tokio::spawn(async move {
                let _slot = slot;
                let tls = match tokio::time::timeout(handshake, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%peer, "TLS handshake timed out");
                        return;
                    }
                };
                let conn = builder
                    .serve_connection(TokioIo::new(tls), svc)
                    .into_owned();
                if let Err(e) = watcher.watch(conn).await {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
            });
        }
        drop(listener);
        tracing::info!("shutting down: draining connections");
        if tokio::time::timeout(cfg.drain_timeout, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("drain timed out; closing remaining connections");
        }
    }
}
