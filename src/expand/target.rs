//! What a run acts on and how it writes its progress: the cluster and cloud
//! handles, the leadership check before each write, saving the state on
//! `eni-config` and waiting. Both the apply steps and the zone restart use
//! them, so they live apart from both.

use std::time::{Duration, Instant};

use ::kube::api::{Api, PostParams};
use k8s_openapi::api::core::v1::ConfigMap;

use super::progress::Progress;
use super::state::{ApplyError, RestartScope, State};
use crate::cloud::client::ApiClient;
use crate::config::{BASE_NAME, ENI_CONF};

/// Annotation on `eni-config` holding the expansion's progress.
pub const STATE_ANNOTATION: &str = "terway-guard.io/expansion";

pub struct Target<'a> {
    pub kube: ::kube::Client,
    pub vpc: &'a ApiClient,
    pub namespace: String,
    pub daemonset: String,
    pub rollout_timeout: Duration,
    /// Which Terway pods a new expansion restarts.
    pub restart: RestartScope,
    /// Share of the zone's Terway pods restarted at once (percent).
    pub batch_percent: u8,
    /// The controller's leadership: no write happens once it is lost.
    pub leader: Option<crate::controller::lease::Leadership>,
}

impl Target<'_> {
    /// Before every write to the cloud or the cluster, and while waiting.
    pub(super) fn ensure(&self) -> Result<(), ApplyError> {
        match &self.leader {
            Some(l) if !l.is_leader() => Err(ApplyError::LostLead),
            _ => Ok(()),
        }
    }
}

const CONFLICT_RETRIES: usize = 5;

pub(super) fn cms(t: &Target) -> Api<ConfigMap> {
    Api::namespaced(t.kube.clone(), &t.namespace)
}

/// Writes `state` (and, when given, a new `eni_conf`) with a resourceVersion
/// precondition, re-reading and retrying on conflict.
pub(super) async fn save(
    t: &Target<'_>,
    state: &State,
    eni_conf: impl Fn(&str) -> Option<String>,
) -> Result<(), ApplyError> {
    let api = cms(t);
    for _ in 0..CONFLICT_RETRIES {
        let mut cm = api.get(BASE_NAME).await?;
        t.ensure()?;
        cm.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(
                STATE_ANNOTATION.to_string(),
                serde_json::to_string(state).unwrap_or_default(),
            );
        let data = cm.data.get_or_insert_with(Default::default);
        if let Some(new) = data.get(ENI_CONF).and_then(|old| eni_conf(old)) {
            data.insert(ENI_CONF.to_string(), new);
        }
        match api.replace(BASE_NAME, &PostParams::default(), &cm).await {
            Ok(_) => return Ok(()),
            Err(::kube::Error::Api(e)) if e.code == 409 => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApplyError::Stuck(format!(
        "{BASE_NAME} kept changing under us ({CONFLICT_RETRIES} conflicts); run again"
    )))
}

pub(super) async fn wait_for<F, Fut>(
    t: &Target<'_>,
    p: &mut Progress,
    what: &str,
    limit: Duration,
    mut check: F,
) -> Result<(), ApplyError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, ApplyError>>,
{
    let until = Instant::now() + limit;
    loop {
        t.ensure()?;
        if check().await? {
            return Ok(());
        }
        if Instant::now() >= until {
            return Err(ApplyError::Stuck(format!(
                "timed out after {}s waiting for {what}; run again to resume",
                limit.as_secs()
            )));
        }
        (p.say)(&format!("waiting for {what}"));
        tokio::time::sleep(p.poll).await;
    }
}
