//! The Alibaba Cloud SDKs' credential chain: environment, RRSA (OIDC → STS),
//! ECS RAM role (metadata server), Terway's encrypted credential file.
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

    /// The sources the SDKs would use, read from `env` (a lookup such as
    /// `std::env::var`), with the metadata endpoint and Terway's file path.
    pub fn sources_from(
        env: impl Fn(&str) -> Option<String>,
        metadata: &str,
        credential_path: Option<PathBuf>,
    ) -> Vec<Source> {
        let get = |k: &str| env(k).filter(|v| !v.is_empty());
        let mut out = Vec::new();
        if let (Some(id), Some(secret)) = (
            get("ALIBABA_CLOUD_ACCESS_KEY_ID"),
            get("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
        ) {
            out.push(Source::Env(Credential {
                access_key_id: Secret::new(id),
                access_key_secret: Secret::new(secret),
                security_token: get("ALIBABA_CLOUD_SECURITY_TOKEN").map(Secret::new),
                expiration: None,
                source: "environment",
            }));
        }
        if let (Some(role_arn), Some(provider_arn), Some(token_file)) = (
            get("ALIBABA_CLOUD_ROLE_ARN"),
            get("ALIBABA_CLOUD_OIDC_PROVIDER_ARN"),
            get("ALIBABA_CLOUD_OIDC_TOKEN_FILE"),
        ) {
            let sts =
                get("ALIBABA_CLOUD_STS_ENDPOINT").unwrap_or_else(|| "sts.aliyuncs.com".into());
            out.push(Source::Rrsa {
                role_arn,
                provider_arn,
                token_file: token_file.into(),
                session_name: get("ALIBABA_CLOUD_ROLE_SESSION_NAME")
                    .unwrap_or_else(|| "terway-guard".into()),
                sts_endpoint: with_scheme(&sts),
            });
        }
        if get("ALIBABA_CLOUD_ECS_METADATA_DISABLED").as_deref() != Some("true") {
            out.push(Source::EcsRamRole {
                metadata: metadata.trim_end_matches('/').to_string(),
                role: get("ALIBABA_CLOUD_ECS_METADATA"),
            });
        }
        if let Some(p) = credential_path {
            out.push(Source::TerwayFile(p));
        }
        out
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
        Source::Env(c) => Ok(c.clone()),
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
        Source::EcsRamRole { metadata, role } => {
            ecs_ram_role(http, metadata, role.as_deref()).await
        }
        Source::TerwayFile(p) => super::terway_file::read(p),
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
            expiration: self.expiration.as_deref().and_then(parse_iso8601),
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
    http: &reqwest::Client,
    metadata: &str,
    role: Option<&str>,
) -> Result<Credential, CredentialError> {
    const S: &str = "ECS RAM role";
    let t = Duration::from_secs(1);
    let token = http
        .put(format!("{metadata}/latest/api/token"))
        .header("X-aliyun-ecs-metadata-token-ttl-seconds", "21600")
        .timeout(t)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| err(S, format!("metadata server unreachable: {e}")))?
        .text()
        .await
        .map_err(|e| err(S, e.to_string()))?;
    let base = format!("{metadata}/latest/meta-data/ram/security-credentials/");
    let get = |url: String| {
        http.get(url)
            .header("X-aliyun-ecs-metadata-token", token.trim())
            .timeout(t)
            .send()
    };
    let role = match role {
        Some(r) => r.to_string(),
        None => get(base.clone())
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| err(S, format!("no RAM role attached to this instance: {e}")))?
            .text()
            .await
            .map_err(|e| err(S, e.to_string()))?
            .trim()
            .to_string(),
    };
    let body: Value = get(format!("{base}{role}"))
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| err(S, format!("cannot read credentials of role {role}: {e}")))?
        .json()
        .await
        .map_err(|e| err(S, e.to_string()))?;
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
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
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
                "ECS RAM role",
                "Terway credential file"
            ]
        );
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
