//! The ECS RAM role: the instance's role credentials from the metadata server.

use serde_json::Value;

use super::{Credential, CredentialError, StsCredentials, err};
use crate::cloud::metadata::Metadata;

pub(super) async fn fetch(
    md: &Metadata<'_>,
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
