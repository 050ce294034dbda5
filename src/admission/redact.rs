//! Kept for its path: the redaction lives beside the config that holds the secrets.
pub use crate::config::redact::*;
