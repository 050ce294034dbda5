//! The Alibaba Cloud side: request signing, credentials, VPC actions.

pub mod client;
pub mod credentials;
pub mod ecs;
pub mod endpoints;
pub mod limit;
pub mod metadata;
pub mod sign;
pub mod time;
pub mod vpc;

pub use credentials::terway_file;

/// An environment lookup over fixed pairs, for tests of env-driven choices.
#[cfg(test)]
pub(crate) fn env_of(
    pairs: &'static [(&'static str, &'static str)],
) -> impl Fn(&str) -> Option<String> + Clone {
    move |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    }
}
