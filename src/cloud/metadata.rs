//! The ECS instance metadata server (`http://100.100.100.200`), read as
//! credentials-go reads it (credentials/providers/ecs_ram_role.go): ask for a
//! session token first (IMDSv2); if that fails or is refused, read without one
//! (IMDSv1) unless `ALIBABA_CLOUD_IMDSV1_DISABLED=true`.

use std::time::Duration;

/// The SDKs' token lifetime, in seconds (6 hours).
const TOKEN_TTL: &str = "21600";
const TIMEOUT: Duration = Duration::from_secs(1);

pub struct Metadata<'a> {
    pub http: &'a reqwest::Client,
    /// e.g. `http://100.100.100.200`, no trailing slash.
    pub base: &'a str,
    pub imdsv1_disabled: bool,
}

impl Metadata<'_> {
    /// The session token, or `None` to read without one.
    async fn token(&self) -> Result<Option<String>, String> {
        let answer = self
            .http
            .put(format!("{}/latest/api/token", self.base))
            .header("X-aliyun-ecs-metadata-token-ttl-seconds", TOKEN_TTL)
            .timeout(TIMEOUT)
            .send()
            .await;
        let failure = match answer {
            Ok(r) if r.status().is_success() => match r.text().await {
                Ok(t) => return Ok(Some(t.trim().to_string())),
                Err(e) => e.to_string(),
            },
            Ok(r) => format!("the token request was answered {}", r.status()),
            Err(e) => format!("metadata server unreachable: {e}"),
        };
        if self.imdsv1_disabled {
            Err(format!(
                "{failure}, and ALIBABA_CLOUD_IMDSV1_DISABLED forbids reading without a token"
            ))
        } else {
            Ok(None)
        }
    }

    /// GET `path` (e.g. `/latest/meta-data/region-id`), the body trimmed.
    pub async fn get(&self, path: &str) -> Result<String, String> {
        let token = self.token().await?;
        let mut req = self
            .http
            .get(format!("{}{path}", self.base))
            .timeout(TIMEOUT);
        if let Some(t) = &token {
            req = req.header("X-aliyun-ecs-metadata-token", t);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("metadata server unreachable: {e}"))?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{path} answered {status}"));
        }
        Ok(body.trim().to_string())
    }
}
