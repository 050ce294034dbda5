//! Leader election on a coordination.k8s.io Lease, so two replicas never
//! expand at once. The decision is pure; the I/O is one get and one write.

use ::kube::api::{Api, PostParams};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseAction {
    Create,
    Renew,
    TakeOver,
    Follow,
}

/// What to do with `lease` as `me` at `now` (epoch seconds).
pub fn lease_action(lease: Option<&Lease>, me: &str, now: i64) -> LeaseAction {
    let Some(spec) = lease.and_then(|l| l.spec.as_ref()) else {
        return if lease.is_some() {
            LeaseAction::TakeOver
        } else {
            LeaseAction::Create
        };
    };
    if spec.holder_identity.as_deref() == Some(me) {
        return LeaseAction::Renew;
    }
    let renewed = spec
        .renew_time
        .as_ref()
        .map_or(i64::MIN / 2, |t| t.0.as_second());
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(15));
    if spec.holder_identity.as_deref().is_none_or(str::is_empty) || now > renewed + duration {
        LeaseAction::TakeOver
    } else {
        LeaseAction::Follow
    }
}

/// Tries to hold the lease; true when this replica leads.
pub async fn acquire(
    api: &Api<Lease>,
    name: &str,
    me: &str,
    duration_secs: i32,
) -> Result<bool, ::kube::Error> {
    let now = Timestamp::now();
    let current = api.get_opt(name).await?;
    let action = lease_action(current.as_ref(), me, now.as_second());
    if action == LeaseAction::Follow {
        return Ok(false);
    }
    let transitions = current
        .as_ref()
        .and_then(|l| l.spec.as_ref())
        .and_then(|s| s.lease_transitions)
        .unwrap_or(0);
    let mut lease = current.unwrap_or_else(|| Lease {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..ObjectMeta::default()
        },
        spec: None,
    });
    let mut spec = lease.spec.take().unwrap_or_default();
    if action != LeaseAction::Renew {
        spec.acquire_time = Some(MicroTime(now));
        spec.lease_transitions = Some(transitions + i32::from(action == LeaseAction::TakeOver));
    }
    spec = LeaseSpec {
        holder_identity: Some(me.to_string()),
        lease_duration_seconds: Some(duration_secs),
        renew_time: Some(MicroTime(now)),
        ..spec
    };
    lease.spec = Some(spec);
    // Create and replace both carry a precondition: a racing replica gets 409 and follows.
    let written = match action {
        LeaseAction::Create => api.create(&PostParams::default(), &lease).await,
        _ => api.replace(name, &PostParams::default(), &lease).await,
    };
    match written {
        Ok(_) => Ok(true),
        Err(::kube::Error::Api(e)) if e.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether this replica leads, as the renewer last established it. It
/// stops leading on its own when renewals stop succeeding, before another
/// replica may take over (that waits for the full lease duration).
#[derive(Debug, Clone, Default)]
pub struct Leadership {
    /// Epoch milliseconds until which this replica may act; 0 = never.
    valid_until: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// Set once a background renewer runs (then ticks only read the state).
    renewing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

impl Leadership {
    pub fn is_leader(&self) -> bool {
        now_ms() < self.valid_until.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn renewing(&self) -> bool {
        self.renewing.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// One attempt to hold the lease; the validity starts before the request
    /// and ends early by a margin, so clock skew and latency stay on the safe side.
    pub async fn renew(
        &self,
        api: &Api<Lease>,
        name: &str,
        me: &str,
        duration_secs: i32,
    ) -> Result<bool, ::kube::Error> {
        use std::sync::atomic::Ordering;
        let started = now_ms();
        match acquire(api, name, me, duration_secs).await {
            Ok(true) => {
                let margin = i64::from(duration_secs) * 1000 / 4;
                self.valid_until.store(
                    started + i64::from(duration_secs) * 1000 - margin,
                    Ordering::SeqCst,
                );
                Ok(true)
            }
            Ok(false) => {
                self.valid_until.store(0, Ordering::SeqCst);
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Renews every third of the lease, whatever the controller is busy with.
    pub fn spawn_renewal(
        &self,
        api: Api<Lease>,
        name: String,
        me: String,
        duration_secs: i32,
    ) -> tokio::task::JoinHandle<()> {
        self.renewing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let me_ = self.clone();
        let every = std::time::Duration::from_millis((duration_secs.max(3) as u64) * 1000 / 3);
        tokio::spawn(async move {
            loop {
                let was = me_.is_leader();
                match me_.renew(&api, &name, &me, duration_secs).await {
                    Ok(now) if now != was => tracing::info!(leader = now, "leadership changed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot renew the lease"),
                }
                tokio::time::sleep(every).await;
            }
        })
    }

    /// Gives the lease up (on shutdown), so another replica takes over at once.
    pub async fn release(&self, api: &Api<Lease>, name: &str, me: &str) {
        self.valid_until
            .store(0, std::sync::atomic::Ordering::SeqCst);
        if let Ok(Some(mut lease)) = api.get_opt(name).await
            && let Some(spec) = lease.spec.as_mut()
            && spec.holder_identity.as_deref() == Some(me)
        {
            spec.holder_identity = None;
            let _ = api.replace(name, &PostParams::default(), &lease).await;
        }
    }

    /// For tests: act as if the lease were lost now.
    pub fn lose(&self) {
        self.valid_until
            .store(0, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: Option<&str>, renewed: i64, duration: i32) -> Lease {
        Lease {
            metadata: ObjectMeta::default(),
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_string),
                renew_time: Some(MicroTime(Timestamp::from_second(renewed).unwrap())),
                lease_duration_seconds: Some(duration),
                ..LeaseSpec::default()
            }),
        }
    }

    #[test]
    fn one_leader_at_a_time() {
        let cases = [
            (None, LeaseAction::Create),
            (Some(lease(Some("me"), 100, 30)), LeaseAction::Renew),
            (Some(lease(Some("other"), 100, 30)), LeaseAction::Follow),
            (Some(lease(Some("other"), 50, 30)), LeaseAction::TakeOver),
            (Some(lease(None, 100, 30)), LeaseAction::TakeOver),
            (Some(Lease::default()), LeaseAction::TakeOver),
        ];
        for (l, want) in cases {
            assert_eq!(lease_action(l.as_ref(), "me", 110), want, "{l:?}");
        }
    }
}
