//! TLS with reload: the key pair is re-read for every new connection, so a
//! rotated Secret (kubelet swaps a `..data` symlink) is picked up by
//! construction. A broken new pair keeps the last good one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate")]
    NoCert { path: String },
    #[error("{path} holds no PEM private key")]
    NoKey { path: String },
    #[error("certificate and key do not form a usable pair: {0}")]
    Pair(#[from] rustls::Error),
}

struct Loaded {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    acceptor: TlsAcceptor,
}

pub struct CertStore {
    cert: PathBuf,
    key: PathBuf,
    current: Mutex<Loaded>,
}

impl CertStore {
    /// Loads the pair; the first load must succeed.
    pub async fn load(cert: PathBuf, key: PathBuf) -> Result<Self, TlsError> {
        let (cert_pem, key_pem) = read_pair(&cert, &key).await?;
        let acceptor = build(&cert, &key, &cert_pem, &key_pem)?;
        Ok(CertStore {
            cert,
            key,
            current: Mutex::new(Loaded {
                cert_pem,
                key_pem,
                acceptor,
            }),
        })
    }

    /// The acceptor for a new connection, rebuilt if the files changed.
    pub async fn acceptor(&self) -> TlsAcceptor {
        let read = read_pair(&self.cert, &self.key).await;
        let mut cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let (cert_pem, key_pem) = match read {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read TLS files; keeping the last good pair");
                return cur.acceptor.clone();
            }
        };
        if cert_pem == cur.cert_pem && key_pem == cur.key_pem {
            return cur.acceptor.clone();
        }
        match build(&self.cert, &self.key, &cert_pem, &key_pem) {
            Ok(acceptor) => {
                tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
                *cur = Loaded {
                    cert_pem,
                    key_pem,
                    acceptor,
                };
            }
            Err(e) => {
                tracing::warn!(error = %e, "new TLS pair is not usable; keeping the last good pair");
                // Remember the bad bytes so we do not re-parse (and re-log) them per connection.
                cur.cert_pem = cert_pem;
                cur.key_pem = key_pem;
            }
        }
        cur.acceptor.clone()
    }
}

async fn read_pair(cert: &PathBuf, key: &PathBuf) -> Result<(Vec<u8>, Vec<u8>), TlsError> {
    let read = |p: &PathBuf| {
        let p = p.clone();
        async move {
            tokio::fs::read(&p).await.map_err(|source| TlsError::Read {
                path: p.display().to_string(),
                source,
            })
        }
    };
    Ok((read(cert).await?, read(key).await?))
}

fn build(
    cert: &Path,
    key: &Path,
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<TlsAcceptor, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::NoCert {
            path: cert.display().to_string(),
        });
    }
    let private = PrivateKeyDer::from_pem_slice(key_pem).map_err(|_| TlsError::NoKey {
        path: key.display().to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, private)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
