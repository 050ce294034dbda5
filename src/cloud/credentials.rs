//! The credential chain, in Terway's order: access keys from the environment,
//! RRSA (OIDC → STS), Terway's encrypted credential file, then the ECS RAM
//! role (terway daemon/builder.go setupAliyunClient: AccessKey → encrypted
//! file → ECS metadata). On an ECS node the metadata server always answers,
//! so the file must come before it or it is never read.
//! Secrets live in [`Secret`], whose Debug and Display never show them.

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::Value;

use super::sign::percent_encode;
use super::time::{iso8601, parse_iso8601};

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
                sts_endpoint: with_scheme(&super::endpoints::sts_host(&env)),
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
        Source::Env(c) => {
            let mut c = c.clone();
            if c.security_token.is_some() {
                c.expiration = Some(SystemTime::now() + UNKNOWN_EXPIRY);
            }
            Ok(c)
        }
        Source::Rrsa {
            role_arn,
            provider_arn,
            token_file,
            session_name,
            sts_endpoint,
        } => {
            rrsa(
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
            let md = super::metadata::Metadata {
                http,
                base: metadata,
                imdsv1_disabled: *imdsv1_disabled,
            };
            ecs_ram_role(&md, role.as_deref()).await
        }
        Source::TerwayFile(p) => super::terway_file::read(p).map(|mut c| {
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

async fn rrsa(
    http: &reqwest::Client,
    role_arn: &str,
    provider_arn: &str,
    token_file: &PathBuf,
    session: &str,
    sts: &str,
) -> Result<Credential, CredentialError> {
    const S: &str = "RRSA";
    let token = std::fs::read_to_string(token_file).map_err(|e| {
        err(
            S,
            format!("cannot read OIDC token file {}: {e}", token_file.display()),
        )
    })?;
    let query = format!(
        "Action=AssumeRoleWithOIDC&Version=2015-04-01&Format=JSON&Timestamp={}",
        percent_encode(&iso8601(SystemTime::now()))
    );
    let form: Vec<String> = [
        ("RoleArn", role_arn),
        ("OIDCProviderArn", provider_arn),
        ("OIDCToken", token.trim()),
        ("RoleSessionName", session),
        ("DurationSeconds", "3600"),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", percent_encode(v)))
    .collect();
    let resp = http
        .post(format!("{sts}/?{query}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.join("&"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| err(S, format!("STS unreachable: {e}")))?;
    let status = resp.status();
    let body: Value = resp.json().await.map_err(|e| {
        err(
            S,
            format!("STS answered {status} with a body that is not JSON: {e}"),
        )
    })?;
    if !status.is_success() {
        return Err(err(
            S,
            format!(
                "STS refused AssumeRoleWithOIDC: {} {}",
                body["Code"].as_str().unwrap_or("?"),
                body["Message"].as_str().unwrap_or("")
            ),
        ));
    }
    let c: StsCredentials = serde_json::from_value(body["Credentials"].clone())
        .map_err(|e| err(S, format!("STS answer lacks Credentials: {e}")))?;
    Ok(c.into_credential("RRSA"))
}

async fn ecs_ram_role(
    md: &super::metadata::Metadata<'_>,
    role: Option<&str>,
) -> Result<Credential, CredentialError> {
    const S: &str = "ECS RAM role";
    let base = "/latest/meta-data/ram/security-credentials/";
    let role = match role {
        Some(r) => r.to_string(),
        None => md
            .get(base)
            .await
            .map_err(|e| err(S, format!("no RAM role attached to this instance: {e}")))?,
    };
    let body = md
        .get(&format!("{base}{role}"))
        .await
        .map_err(|e| err(S, format!("cannot read credentials of role {role}: {e}")))?;
    let body: Value = serde_json::from_str(&body).map_err(|e| err(S, e.to_string()))?;
    if body
        .get("Code")
        .and_then(Value::as_str)
        .is_some_and(|c| c != "Success")
    {
        return Err(err(S, format!("metadata server says {}", body["Code"])));
    }
    let c: StsCredentials = serde_json::from_value(body).map_err(|e| err(S, e.to_string()))?;
    Ok(c.into_credential("ECS RAM role"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_with_an_unreadable_expiry_is_short_lived() {
        for expiration in [None, Some("next tuesday".to_string())] {
            let c = StsCredentials {
                access_key_id: "id".into(),
                access_key_secret: "s".into(),
                security_token: Some("t".into()),
                expiration: expiration.clone(),
            }
            .into_credential("RRSA");
            let left = c
                .expiration
                .expect("never forever")
                .duration_since(SystemTime::now())
                .unwrap();
            assert!(left <= UNKNOWN_EXPIRY, "{expiration:?}");
        }
    }

    #[test]
    fn secrets_do_not_print() {
        let c = Credential {
            access_key_id: Secret::new("LTAIexampleid"),
            access_key_secret: Secret::new("very-secret"),
            security_token: Some(Secret::new("sts-token")),
            expiration: None,
            source: "environment",
        };
        let shown = format!("{c:?} {} {}", c.access_key_secret, c.access_key_id);
        for s in ["LTAIexampleid", "very-secret", "sts-token"] {
            assert!(!shown.contains(s), "{shown}");
        }
    }

    #[test]
    fn chain_order_follows_the_sdks() {
        let env = crate::cloud::env_of;
        let all = env(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "id"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s"),
            ("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1:role/x"),
            (
                "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
                "acs:ram::1:oidc-provider/y",
            ),
            ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "/var/run/token"),
        ]);
        let names: Vec<&str> = Chain::sources_from(
            all,
            "http://100.100.100.200",
            Some("/var/addon/token-config".into()),
        )
        .iter()
        .map(Source::name)
        .collect();
        assert_eq!(
            names,
            [
                "environment",
                "RRSA",
                "Terway credential file",
                "ECS RAM role"
            ]
        );
        let legacy = env(&[
            ("ALICLOUD_ACCESS_KEY", "old-id"),
            ("ALICLOUD_SECRET_KEY", "old-secret"),
            ("ALICLOUD_ACCESS_KEY_STS_TOKEN", "old-token"),
            ("ALIBABA_CLOUD_IMDSV1_DISABLED", "true"),
        ]);
        let sources = Chain::sources_from(legacy, "http://x", None);
        match &sources[..] {
            [
                Source::Env(c),
                Source::EcsRamRole {
                    imdsv1_disabled: true,
                    ..
                },
            ] => {
                assert_eq!(c.access_key_id.expose(), "old-id");
                assert!(c.security_token.is_some());
                let left = c
                    .expiration
                    .unwrap()
                    .duration_since(SystemTime::now())
                    .unwrap();
                assert!(left <= UNKNOWN_EXPIRY, "a token never lives forever");
            }
            other => panic!("{other:?}"),
        }
        let none = env(&[
            ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true"),
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "id"),
        ]);
        assert!(Chain::sources_from(none, "http://x", None).is_empty());
        let sts = env(&[
            ("ALIBABA_CLOUD_ROLE_ARN", "a"),
            ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "b"),
            ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "c"),
            ("ALIBABA_CLOUD_STS_ENDPOINT", "sts.cn-shanghai.aliyuncs.com"),
        ]);
        match &Chain::sources_from(sts, "http://x", None)[0] {
            Source::Rrsa {
                sts_endpoint,
                session_name,
                ..
            } => {
                assert_eq!(sts_endpoint, "https://sts.cn-shanghai.aliyuncs.com");
                assert_eq!(session_name, "terway-guard");
            }
            other => panic!("{other:?}"),
        }
    }
}
