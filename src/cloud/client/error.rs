//! What a cloud call can fail with, and which failures are worth another
//! try or a fresh credential.

use crate::cloud::credentials::CredentialError;

#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error("{action} failed: {code}: {message} (HTTP {status}, request {request_id})")]
    Api {
        action: String,
        status: u16,
        code: String,
        message: String,
        request_id: String,
    },
    #[error("{action}: cannot reach {endpoint}: {message}")]
    Transport {
        action: String,
        endpoint: String,
        message: String,
    },
    #[error("{action}: no answer within the deadline")]
    Deadline { action: String },
    #[error("{action}: unexpected answer: {message}")]
    Decode { action: String, message: String },
    #[error(transparent)]
    Credentials(#[from] CredentialError),
}

impl CloudError {
    pub fn code(&self) -> Option<&str> {
        match self {
            CloudError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Throttling, server trouble and conflicts are worth another try: the
    /// codes Terway retries (pkg/aliyun/client/errors/errors.go: Throttling,
    /// InternalError, Operation.Conflict) plus the VPC API's busy states.
    pub fn retryable(&self) -> bool {
        match self {
            CloudError::Api { status, code, .. } => {
                *status >= 500
                    || *status == 429
                    || code.starts_with("Throttling")
                    || code.starts_with("IncorrectStatus")
                    || [
                        "ServiceUnavailable",
                        "InternalError",
                        "Operation.Conflict",
                        "OperationConflict",
                        "TaskConflict",
                        "OperationFailed.IdempotentTokenProcessing",
                        "IncorrectVSwitchStatus",
                    ]
                    .contains(&code.as_str())
            }
            CloudError::Transport { .. } => true,
            _ => false,
        }
    }

    /// The credential was revoked or its token expired early: fetch new ones.
    pub fn stale_credential(&self) -> bool {
        self.code().is_some_and(|c| {
            c.starts_with("InvalidSecurityToken") || c.starts_with("InvalidAccessKeyId")
        })
    }
}
