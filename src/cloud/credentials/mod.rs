//! The credential chain, in Terway's order: access keys from the environment,
//! RRSA (OIDC → STS), Terway's encrypted credential file, then the ECS RAM
//! role (terway daemon/builder.go setupAliyunClient: AccessKey → encrypted
//! file → ECS metadata). On an ECS node the metadata server always answers,
//! so the file must come before it or it is never read.
//! Secrets live in [`Secret`], whose Debug and Display never show them.
//!
//! Laid out as the official credentials library (aliyun/credentials-go) does:
//! the chain and the shared types here, one provider per file.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::cloud::time::parse_iso8601;

mod ecs_ram_role;
mod env;
mod rrsa;
pub mod terway_file;

/// A credential value; printing it shows `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Clone, Debug)]
pub struct Credential {
    pub access_key_id: Secret,
    pub access_key_secret: Secret,
    pub security_token: Option<Secret>,
    pub expiration: Option<SystemTime>,
    /// Which source it came from (for logs).
    pub source: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("{origin}: {message}")]
    Source {
        origin: &'static str,
        message: String,
    },
    #[error("no Alibaba Cloud credentials found: {0}")]
    None(String),
}

pub(super) fn err(source: &'static str, message: impl Into<String>) -> CredentialError {
    CredentialError::Source {
        origin: source,
        message: message.into(),
    }
}

/// Where credentials may come from, in the order they are tried.
#[derive(Debug, Clone)]
pub enum Source {
    Env(Credential),
    Rrsa {
        role_arn: String,
        provider_arn: String,
        token_file: PathBuf,
        session_name: String,
        sts_endpoint: String,
    },
    EcsRamRole {
        metadata: String,
        role: Option<String>,
        /// `ALIBABA_CLOUD_IMDSV1_DISABLED=true`: never read without a token.
        imdsv1_disabled: bool,
    },
    TerwayFile(PathBuf),
}

impl Source {
    fn name(&self) -> &'static str {
        match self {
            Source::Env(_) => "environment",
            Source::Rrsa { .. } => "RRSA",
            Source::EcsRamRole { .. } => "ECS RAM role",
            Source::TerwayFile(_) => "Terway credential file",
        }
    }
}

/// Refresh temporary credentials this long before they expire.
const REFRESH_BEFORE: Duration = Duration::from_secs(180);
/// A security token whose expiry cannot be read is trusted this long, never
/// forever.
const UNKNOWN_EXPIRY: Duration = Duration::from_secs(15 * 60);

pub struct Chain {
    sources: Vec<Source>,
    http: reqwest::Client,
    cached: tokio::sync::Mutex<Option<Credential>>,
}

impl Chain {
    pub fn new(sources: Vec<Source>, http: reqwest::Client) -> Self {
        Chain {
            sources,
            http,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    /// The sources, read from `env` (a lookup such as `std::env::var`), with
    /// the metadata endpoint and Terway's credential file, in Terway's order.
    pub fn sources_from(
        env: impl Fn(&str) -> Option<String>,
        metadata: &str,
        credential_path: Option<PathBuf>,
    ) -> Vec<Source> {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        let mut out = Vec::new();
        // The ALICLOUD_* names are alibaba-cloud-sdk-go's older ones.
        let either = |new: &str, old: &str| get(new).or_else(|| get(old));
        if let (Some(id), Some(secret)) = (
            either("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY"),
            either("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALICLOUD_SECRET_KEY"),
        ) {
            let token = either(
                "ALIBABA_CLOUD_SECURITY_TOKEN",
                "ALICLOUD_ACCESS_KEY_STS_TOKEN",
            );
            out.push(Source::Env(Credential {
                access_key_id: Secret::new(id),
                access_key_secret: Secret::new(secret),
                expiration: token.as_ref().map(|_| SystemTime::now() + UNKNOWN_EXPIRY),
                security_token: token.map(Secret::new),
                source: "environment",
            }));
        }
        if let (Some(role_arn), Some(provider_arn), Some(token_file)) = (
            get("ALIBABA_CLOUD_ROLE_ARN"),
            get("ALIBABA_CLOUD_OIDC_PROVIDER_ARN"),
            get("ALIBABA_CLOUD_OIDC_TOKEN_FILE"),
        ) {
            out.push(Source::Rrsa {
                role_arn,
                provider_arn,
                token_file: token_file.into(),
                session_name: get("ALIBABA_CLOUD_ROLE_SESSION_NAME")
                    .unwrap_or_else(|| "terway-guard".into()),
                sts_endpoint: with_scheme(&crate::cloud::endpoints::sts_host(&env)),
            });
        }
        if let Some(p) = credential_path {
            out.push(Source::TerwayFile(p));
        }
        if get("ALIBABA_CLOUD_ECS_METADATA_DISABLED")
            .is_none_or(|v| !v.eq_ignore_ascii_case("true"))
        {
            out.push(Source::EcsRamRole {
                metadata: metadata.trim_end_matches('/').to_string(),
                role: get("ALIBABA_CLOUD_ECS_METADATA"),
                imdsv1_disabled: get("ALIBABA_CLOUD_IMDSV1_DISABLED")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            });
        }
        out
    }

    /// Forgets the cached credential, so the next call fetches anew (after the
    /// API refused it as revoked or expired).
    pub async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    /// A usable credential, refreshed ahead of expiry.
    pub async fn get(&self) -> Result<Credential, CredentialError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && c.expiration
                .is_none_or(|e| e > SystemTime::now() + REFRESH_BEFORE)
        {
            return Ok(c.clone());
        }
        let mut why = Vec::new();
        for s in &self.sources {
            match fetch(s, &self.http).await {
                Ok(c) => {
                    tracing::debug!(source = c.source, "credentials obtained");
                    *cached = Some(c.clone());
                    return Ok(c);
                }
                Err(e) => why.push(format!("{}: {e}", s.name())),
            }
        }
        // A still-valid old credential beats none while a source is flaky.
        if let Some(c) = cached.as_ref()
            && c.expiration.is_none_or(|e| e > SystemTime::now())
        {
            return Ok(c.clone());
        }
        Err(CredentialError::None(if why.is_empty() {
            "no source configured".into()
        } else {
            why.join("; ")
        }))
    }
}

fn with_scheme(host: &str) -> String {
    if host.starts_with("http://") || host.starts_with("https://") {
        host.trim_end_matches('/').to_string()
    } else {
        format!("https://{}", host.trim_end_matches('/'))
    }
}

async fn fetch(s: &Source, http: &reqwest::Client) -> Result<Credential, CredentialError> {
    match s {
        Source::Env(c) => Ok(env::fetch(c)),
        Source::Rrsa {
            role_arn,
            provider_arn,
            token_file,
            session_name,
            sts_endpoint,
        } => {
            rrsa::fetch(
                http,
                role_arn,
                provider_arn,
                token_file,
                session_name,
                sts_endpoint,
            )
            .await
        }
        Source::EcsRamRole {
            metadata,
            role,
            imdsv1_disabled,
        } => {
            let md = crate::cloud::metadata::Metadata {
                http,
                base: metadata,
                imdsv1_disabled: *imdsv1_disabled,
            };
            ecs_ram_role::fetch(&md, role.as_deref()).await
        }
        Source::TerwayFile(p) => terway_file::read(p).map(|mut c| {
            if c.security_token.is_some() && c.expiration.is_none() {
                c.expiration = Some(SystemTime::now() + UNKNOWN_EXPIRY);
            }
            c
        }),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsCredentials {
    access_key_id: String,
    access_key_secret: String,
    security_token: Option<String>,
    expiration: Option<String>,
}

impl StsCredentials {
    fn into_credential(self, source: &'static str) -> Credential {
        Credential {
            access_key_id: Secret::new(self.access_key_id),
            access_key_secret: Secret::new(self.access_key_secret),
            security_token: self
                .security_token
                .filter(|t| !t.is_empty())
                .map(Secret::new),
            expiration: Some(
                self.expiration
                    .as_deref()
                    .and_then(parse_iso8601)
                    .unwrap_or_else(|| SystemTime::now() + UNKNOWN_EXPIRY),
            ),
            source,
        }
    }
}

#[cfg(test)]
mod tests;
