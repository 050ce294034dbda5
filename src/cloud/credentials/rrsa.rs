//! RRSA: a pod's OIDC token exchanged at STS for a role's temporary keys
//! (AssumeRoleWithOIDC), as the ALIBABA_CLOUD_ROLE_ARN, _OIDC_PROVIDER_ARN and
//! _OIDC_TOKEN_FILE variables configure it.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::{Credential, CredentialError, StsCredentials, err};
use crate::cloud::sign::percent_encode;
use crate::cloud::time::iso8601;

pub(super) async fn fetch(
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
