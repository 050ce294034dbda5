//! What the controller tells people: Events on eni-config, and proposals
//! announced once per change or cool-down (recorded on the Lease).

use std::collections::BTreeMap;

use ::kube::api::{Api, PostParams};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::{Controller, TickError};
use crate::config::BASE_NAME;

/// Proposals announced (zone → message digest, time), shared by replicas.
const PROPOSALS_ANNOTATION: &str = "terway-guard.io/proposals";

impl Controller {
    /// A proposal is re-announced when it changes, or once per cool-down.
    /// What was announced is kept on the Lease, so a new leader does not
    /// announce it again.
    pub(super) async fn fresh_proposal(&self, key: &str, msg: &str, now: i64) -> bool {
        let api: Api<Lease> = Api::namespaced(self.kube.clone(), &self.namespace);
        let lease = api.get_opt(&self.lease_name).await.ok().flatten();
        let mut shared: BTreeMap<String, (String, i64)> = lease
            .as_ref()
            .and_then(|l| l.metadata.annotations.as_ref())
            .and_then(|a| a.get(PROPOSALS_ANNOTATION))
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or_default();
        let digest = crate::cloud::sign::sha256_hex(msg.as_bytes())[..16].to_string();
        let fresh = {
            let mut local = self.proposed.lock().unwrap_or_else(|p| p.into_inner());
            let seen = shared.get(key).or_else(|| local.get(key));
            let fresh =
                seen.is_none_or(|(m, t)| *m != digest || now - t >= self.policy.cooldown_secs);
            if fresh {
                local.insert(key.to_string(), (digest.clone(), now));
            }
            fresh
        };
        if fresh {
            shared.insert(key.to_string(), (digest, now));
            let patch = serde_json::json!({"metadata": {"annotations": {
                PROPOSALS_ANNOTATION: serde_json::to_string(&shared).unwrap_or_default()
            }}});
            if let Err(e) = api
                .patch(
                    &self.lease_name,
                    &::kube::api::PatchParams::default(),
                    &::kube::api::Patch::Merge(&patch),
                )
                .await
            {
                tracing::warn!(error = %e, "cannot record the proposal on the Lease");
            }
        }
        fresh
    }

    /// Terway's events: from the watch when there is one, else listed.
    pub(super) async fn terway_events(&self) -> Result<Vec<Event>, TickError> {
        if let Some(store) = &self.events {
            return Ok(store.events());
        }
        Ok(crate::kube::snapshot::terway_events(&self.kube).await?)
    }

    pub(super) async fn event(
        &self,
        reason: &str,
        message: &str,
        kind: &str,
    ) -> Result<(), TickError> {
        self.leading()?;
        let now = Time(k8s_openapi::jiff::Timestamp::now());
        let e = Event {
            metadata: ObjectMeta {
                generate_name: Some(format!("{BASE_NAME}.")),
                namespace: Some(self.namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("ConfigMap".into()),
                name: Some(BASE_NAME.into()),
                namespace: Some(self.namespace.clone()),
                ..ObjectReference::default()
            },
            reason: Some(reason.into()),
            message: Some(message.into()),
            type_: Some(kind.into()),
            count: Some(1),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            source: Some(EventSource {
                component: Some("terway-guard".into()),
                host: None,
            }),
            reporting_component: Some("terway-guard".into()),
            reporting_instance: Some(self.identity.clone()),
            ..Event::default()
        };
        Api::<Event>::namespaced(self.kube.clone(), &self.namespace)
            .create(&PostParams::default(), &e)
            .await?;
        Ok(())
    }
}
