//! A small signed client for Alibaba Cloud's RPC-style OpenAPIs (VPC
//! 2016-04-28, ECS 2014-05-26) over V3 signing, with retries inside a deadline.
//! Its errors and their retry classes are in `client/error.rs`.

mod error;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use super::credentials::Chain;
use super::endpoints::{self, EndpointType, Product};
use super::limit::Limiter;
use super::sign::{self, V3Request, canonical_query, sha256_hex};
use super::time::iso8601;
pub use error::CloudError;

pub const VPC_VERSION: &str = "2016-04-28";
pub const ECS_VERSION: &str = "2014-05-26";

#[derive(Debug, Clone)]
pub struct Retry {
    pub base: Duration,
    pub cap: Duration,
    pub attempt_timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(5),
        }
    }
}

pub struct ApiClient {
    http: reqwest::Client,
    version: &'static str,
    endpoint: String,
    host: String,
    pub region: String,
    credentials: Arc<Chain>,
    retry: Retry,
    limiter: Arc<Limiter>,
}

/// The public VPC endpoint of `region` (see [`super::endpoints`]).
pub fn default_endpoint(region: &str) -> String {
    endpoints::url(Product::Vpc, region, EndpointType::Public)
}

/// An HTTPS client on rustls with ring and the Mozilla roots.
pub fn http_client() -> reqwest::Client {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth());
    let builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .user_agent(concat!("terway-guard/", env!("CARGO_PKG_VERSION")));
    let builder = match tls {
        Ok(cfg) => builder.use_preconfigured_tls(cfg),
        Err(_) => builder,
    };
    builder.build().unwrap_or_default()
}

impl ApiClient {
    /// A client for the VPC API.
    pub fn new(
        region: &str,
        endpoint: Option<&str>,
        credentials: Arc<Chain>,
        http: reqwest::Client,
    ) -> Self {
        Self::product(
            Product::Vpc,
            VPC_VERSION,
            region,
            endpoint,
            credentials,
            http,
        )
    }

    /// A client for the ECS API (instance types).
    pub fn ecs(
        region: &str,
        endpoint: Option<&str>,
        credentials: Arc<Chain>,
        http: reqwest::Client,
    ) -> Self {
        Self::product(
            Product::Ecs,
            ECS_VERSION,
            region,
            endpoint,
            credentials,
            http,
        )
    }

    fn product(
        product: Product,
        version: &'static str,
        region: &str,
        endpoint: Option<&str>,
        credentials: Arc<Chain>,
        http: reqwest::Client,
    ) -> Self {
        let endpoint = endpoint.map_or_else(
            || endpoints::url(product, region, EndpointType::Public),
            |e| e.trim_end_matches('/').to_string(),
        );
        let host = endpoint
            .split("://")
            .nth(1)
            .unwrap_or(&endpoint)
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        ApiClient {
            http,
            version,
            endpoint,
            host,
            region: region.to_string(),
            credentials,
            retry: Retry::default(),
            limiter: Arc::new(Limiter::default()),
        }
    }

    /// Shares `limiter` with other clients, so one bound holds for the process.
    pub fn with_limiter(mut self, limiter: Arc<Limiter>) -> Self {
        self.limiter = limiter;
        self
    }

    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Calls `action` with `params` (RegionId is added), retrying what is
    /// worth retrying until `deadline`.
    pub async fn call(
        &self,
        action: &str,
        params: &[(&str, String)],
        deadline: Instant,
    ) -> Result<Value, CloudError> {
        let mut attempt = 0u32;
        let mut renewed = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(CloudError::Deadline {
                    action: action.into(),
                });
            }
            let result = tokio::time::timeout(
                left.min(self.retry.attempt_timeout),
                self.once(action, params),
            )
            .await;
            let err = match result {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e)) => e,
                Err(_) => CloudError::Transport {
                    action: action.into(),
                    endpoint: self.endpoint.clone(),
                    message: "timed out".into(),
                },
            };
            // A revoked key or a token that died early: one more try with
            // credentials fetched anew.
            if err.stale_credential() && !renewed {
                renewed = true;
                self.credentials.invalidate().await;
                tracing::info!(action, error = %err, "credentials refused; fetching new ones");
                continue;
            }
            if !err.retryable() {
                return Err(err);
            }
            let backoff = backoff(&self.retry, attempt);
            if Instant::now() + backoff >= deadline {
                return Err(err);
            }
            tracing::debug!(action, attempt, error = %err, "retrying");
            tokio::time::sleep(backoff).await;
            attempt += 1;
        }
    }

    async fn once(&self, action: &str, params: &[(&str, String)]) -> Result<Value, CloudError> {
        let _slot = self.limiter.acquire().await;
        let cred = self.credentials.get().await?;
        let mut query: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        if !params.iter().any(|(k, _)| *k == "RegionId") {
            query.push(("RegionId".into(), self.region.clone()));
        }
        let body: &[u8] = b"";
        let mut headers = vec![
            ("host".to_string(), self.host.clone()),
            ("x-acs-action".to_string(), action.to_string()),
            ("x-acs-version".to_string(), self.version.to_string()),
            ("x-acs-date".to_string(), iso8601(SystemTime::now())),
            ("x-acs-signature-nonce".to_string(), nonce()),
            ("x-acs-content-sha256".to_string(), sha256_hex(body)),
        ];
        if let Some(t) = &cred.security_token {
            headers.push(("x-acs-security-token".to_string(), t.expose().to_string()));
        }
        let sig = sign::sign_v3(
            &V3Request {
                method: "POST",
                path: "/",
                query: &query,
                headers: &headers,
                body,
            },
            cred.access_key_secret.expose(),
        );
        // The SDKs always ask for JSON; RPC APIs may answer XML otherwise
        // (darabonba-openapi client.go). Not signed: neither x-acs-* nor
        // content-type.
        let mut req = self
            .http
            .post(format!("{}/?{}", self.endpoint, canonical_query(&query)))
            .header("accept", "application/json");
        for (k, v) in headers.iter().filter(|(k, _)| k != "host") {
            req = req.header(k, v);
        }
        req = req.header(
            "authorization",
            sig.authorization(cred.access_key_id.expose()),
        );
        let resp = req.send().await.map_err(|e| CloudError::Transport {
            action: action.into(),
            endpoint: self.endpoint.clone(),
            message: e.to_string(),
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| CloudError::Transport {
            action: action.into(),
            endpoint: self.endpoint.clone(),
            message: e.to_string(),
        })?;
        let v: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            // A gateway in front of the API may answer busy or broken in
            // plain text or HTML: a server-side failure, worth a retry.
            Err(_) if status >= 500 || status == 429 => {
                return Err(CloudError::Api {
                    action: action.into(),
                    status,
                    code: format!("HTTP{status}"),
                    message: "the answer is not JSON".into(),
                    request_id: String::new(),
                });
            }
            Err(e) => {
                return Err(CloudError::Decode {
                    action: action.into(),
                    message: format!("HTTP {status}, body is not JSON: {e}"),
                });
            }
        };
        if status >= 400 || v.get("Code").is_some_and(|c| c.is_string()) && status != 200 {
            let s = |k: &str| {
                v.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            return Err(CloudError::Api {
                action: action.into(),
                status,
                code: s("Code"),
                message: s("Message"),
                request_id: s("RequestId"),
            });
        }
        Ok(v)
    }
}

/// Capped exponential backoff with full jitter in [half, full].
fn backoff(r: &Retry, attempt: u32) -> Duration {
    let full = r.base.saturating_mul(1u32 << attempt.min(16)).min(r.cap);
    let jitter = f64::from(random_u32() % 1000) / 1000.0;
    full.mul_f64(0.5 + jitter / 2.0)
}

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    u32::from_le_bytes(b)
}

fn nonce() -> String {
    let mut b = [0u8; 16];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
    sign::hex(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_and_retry_classes() {
        assert_eq!(
            default_endpoint("cn-shanghai"),
            "https://vpc.cn-shanghai.aliyuncs.com"
        );
        assert_eq!(default_endpoint("cn-hangzhou"), "https://vpc.aliyuncs.com");
        let api = |status: u16, code: &str| CloudError::Api {
            action: "A".into(),
            status,
            code: code.into(),
            message: String::new(),
            request_id: String::new(),
        };
        let cases = [
            (api(400, "Throttling.User"), true),
            (api(503, "ServiceUnavailable"), true),
            (api(500, "Whatever"), true),
            (api(400, "OperationConflict"), true),
            (api(400, "Operation.Conflict"), true),
            (api(400, "IncorrectStatus.VSwitch"), true),
            (api(429, "HTTP429"), true),
            (api(502, "HTTP502"), true),
            (api(400, "OperationFailed.IdempotentTokenProcessing"), true),
            (api(404, "InvalidVSwitchId.NotFound"), false),
            (api(400, "InvalidCidrBlock.Overlapped"), false),
            (api(403, "Forbidden.RAM"), false),
        ];
        for (e, want) in cases {
            assert_eq!(e.retryable(), want, "{e}");
        }
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let r = Retry::default();
        for attempt in 0..20 {
            let b = backoff(&r, attempt);
            assert!(b <= r.cap, "{b:?}");
            assert!(b >= r.base.saturating_mul(1 << attempt.min(16)).min(r.cap) / 2);
        }
    }
}
