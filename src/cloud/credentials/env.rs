//! Access keys from the environment (read by [`super::Chain::sources_from`]).

use std::time::SystemTime;

use super::{Credential, UNKNOWN_EXPIRY};

/// The keys as read; a security token among them is trusted for
/// [`UNKNOWN_EXPIRY`] from each fetch, since its real expiry is not given.
pub(super) fn fetch(c: &Credential) -> Credential {
    let mut c = c.clone();
    if c.security_token.is_some() {
        c.expiration = Some(SystemTime::now() + UNKNOWN_EXPIRY);
    }
    c
}
