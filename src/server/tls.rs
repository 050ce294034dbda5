//! TLS with reload: the key pair is re-read for every new connection, so a
//! rotated Secret (kubelet swaps a `..data` symlink) is picked up by
//! construction. A broken new pair keeps the last good one. Optionally,
//! clients must present a certificate signed by a given CA (mTLS).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
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
    #[error("client CA {path} is not usable: {message}")]
    ClientCa { path: String, message: String },
}

/// The files a TLS configuration is built from, as last read.
#[derive(PartialEq)]
struct Files {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

struct Loaded {
    files: Files,
    acceptor: TlsAcceptor,
}

pub struct CertStore {
    cert: PathBuf,
    key: PathBuf,
    client_ca: Option<PathBuf>,
    current: Mutex<Loaded>,
}

impl CertStore {
    /// Loads the pair (and client CA); the first load must succeed.
    pub async fn load(
        cert: PathBuf,
        key: PathBuf,
        client_ca: Option<PathBuf>,
    ) -> Result<Self, TlsError> {
        let files = read_files(&cert, &key, client_ca.as_deref()).await?;
        let acceptor = build(&cert, &key, client_ca.as_deref(), &files)?;
        Ok(CertStore {
            cert,
            key,
            client_ca,
            current: Mutex::new(Loaded { files, acceptor }),
        })
    }

    /// The acceptor for a new connection, rebuilt if the files changed.
    pub async fn acceptor(&self) -> TlsAcceptor {
        let read = read_files(&self.cert, &self.key, self.client_ca.as_deref()).await;
        let mut cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let files = match read {
            Ok(files) => files,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read TLS files; keeping the last good pair");
                return cur.acceptor.clone();
            }
        };
        if files == cur.files {
            return cur.acceptor.clone();
        }
        match build(&self.cert, &self.key, self.client_ca.as_deref(), &files) {
            Ok(acceptor) => {
                tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
                cur.acceptor = acceptor;
            }
            // Remember the bad bytes so they are not re-parsed (and re-logged) per connection.
            Err(e) => {
                tracing::warn!(error = %e, "new TLS files are not usable; keeping the last good pair")
            }
        }
        cur.files = files;
        cur.acceptor.clone()
    }
}

async fn read_files(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<Files, TlsError> {
    let read = |p: &Path| {
        let p = p.to_path_buf();
        async move {
            tokio::fs::read(&p).await.map_err(|source| TlsError::Read {
                path: p.display().to_string(),
                source,
            })
        }
    };
    let client_ca = match client_ca {
        Some(p) => Some(read(p).await?),
        None => None,
    };
    Ok(Files {
        cert: read(cert).await?,
        key: read(key).await?,
        client_ca,
    })
}

fn build(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
    files: &Files,
) -> Result<TlsAcceptor, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&files.cert)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(TlsError::NoCert {
            path: cert.display().to_string(),
        });
    }
    let private = PrivateKeyDer::from_pem_slice(&files.key).map_err(|_| TlsError::NoKey {
        path: key.display().to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let builder = match (client_ca, &files.client_ca) {
        (Some(path), Some(pem)) => {
            let bad = |message: String| TlsError::ClientCa {
                path: path.display().to_string(),
                message,
            };
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(pem) {
                roots
                    .add(c.map_err(|e| bad(e.to_string()))?)
                    .map_err(|e| bad(e.to_string()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| bad(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        _ => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, private)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
