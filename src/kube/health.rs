//! How each watch (and the DaemonSet GET loop) is doing: the class of its
//! current failure, when that began, and counters per class. Logged once per
//! change of state, not once per retry; read by `/metrics`
//! (`terway_guard_watch_errors_total`) and `/readyz` (what is stale).

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::SystemTime;

use kube::runtime::watcher;

/// Why a list, watch or GET failed: a small, fixed set (a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// 404: the resource type (a CRD) or the object is not there.
    NotFound,
    /// 403: RBAC does not allow it.
    Forbidden,
    /// 401: the credentials were refused.
    Unauthorized,
    /// 5xx from the apiserver.
    ServerError,
    /// Any other status from the apiserver.
    ClientError,
    /// No answer: connection refused or reset, TLS, timeouts.
    Connection,
    /// An answer that could not be read.
    Decode,
}

impl Reason {
    pub fn label(self) -> &'static str {
        match self {
            Reason::NotFound => "not_found",
            Reason::Forbidden => "forbidden",
            Reason::Unauthorized => "unauthorized",
            Reason::ServerError => "server_error",
            Reason::ClientError => "client_error",
            Reason::Connection => "connection",
            Reason::Decode => "decode",
        }
    }

    fn of_code(code: u16) -> Reason {
        match code {
            404 => Reason::NotFound,
            403 => Reason::Forbidden,
            401 => Reason::Unauthorized,
            500..=599 => Reason::ServerError,
            _ => Reason::ClientError,
        }
    }

    pub fn of_kube(e: &kube::Error) -> Reason {
        match e {
            kube::Error::Api(s) => Reason::of_code(s.code),
            kube::Error::SerdeError(_)
            | kube::Error::FromUtf8(_)
            | kube::Error::LinesCodecMaxLineLengthExceeded => Reason::Decode,
            _ => Reason::Connection,
        }
    }

    /// `None` for a watch that expired (410 Gone): kube-runtime relists, as
    /// the apiserver asks; nothing failed.
    pub fn of_watcher(e: &watcher::Error) -> Option<Reason> {
        match e {
            watcher::Error::InitialListFailed(e)
            | watcher::Error::WatchStartFailed(e)
            | watcher::Error::WatchFailed(e) => Some(Reason::of_kube(e)),
            watcher::Error::WatchError(s) if s.code == 410 => None,
            watcher::Error::WatchError(s) => Some(Reason::of_code(s.code)),
            watcher::Error::NoResourceVersion => Some(Reason::Decode),
        }
    }
}

/// The failure a resource is in.
#[derive(Debug, Clone, PartialEq)]
pub struct Failing {
    pub reason: Reason,
    pub since: SystemTime,
    /// Failures since it began.
    pub count: u64,
}

#[derive(Debug, Default, Clone)]
struct Status {
    failing: Option<Failing>,
    /// A list of it has succeeded at least once.
    listed: bool,
}

/// Every watched resource's state, for one process.
#[derive(Default)]
pub struct WatchHealth {
    states: Mutex<BTreeMap<&'static str, Status>>,
    errors: Mutex<BTreeMap<(&'static str, Reason), u64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

static PROCESS: LazyLock<Arc<WatchHealth>> = LazyLock::new(Arc::default);

/// The process's watches (what `/metrics` and `/readyz` report).
pub fn process() -> Arc<WatchHealth> {
    PROCESS.clone()
}

impl WatchHealth {
    /// A failure of `resource`: counted always, logged when its class
    /// changes. `message` is the apiserver's or the client's text (no
    /// credentials pass through a Kubernetes error).
    pub fn failed(&self, resource: &'static str, reason: Reason, message: &dyn std::fmt::Display) {
        *lock(&self.errors).entry((resource, reason)).or_default() += 1;
        let mut states = lock(&self.states);
        let st = states.entry(resource).or_default();
        match &mut st.failing {
            Some(f) if f.reason == reason => {
                f.count += 1;
                return;
            }
            _ => {}
        }
        st.failing = Some(Failing {
            reason,
            since: SystemTime::now(),
            count: 1,
        });
        drop(states);
        let reason = reason.label();
        // An absent resource is normal for some (no Terway Node CRD on older
        // Terway); retried with back-off either way.
        if reason == "not_found" {
            tracing::info!(watch = resource, reason, error = %message, "cannot read; retrying with back-off (said once until this changes)");
        } else {
            tracing::warn!(watch = resource, reason, error = %message, "cannot read; retrying with back-off (said once until this changes)");
        }
    }

    /// `resource` was read (a full list, or a GET): its failure, if any, is over.
    pub fn listed(&self, resource: &'static str) {
        let mut states = lock(&self.states);
        let st = states.entry(resource).or_default();
        st.listed = true;
        if let Some(f) = st.failing.take() {
            drop(states);
            tracing::info!(
                watch = resource,
                reason = f.reason.label(),
                failures = f.count,
                "readable again"
            );
        }
    }

    /// A watch that failed is working again without a new list (kube-runtime
    /// resumed it): the failure is over, `listed` is unchanged.
    pub fn resumed(&self, resource: &'static str) {
        let was = lock(&self.states)
            .get_mut(resource)
            .and_then(|s| s.failing.take());
        if let Some(f) = was {
            tracing::info!(
                watch = resource,
                reason = f.reason.label(),
                failures = f.count,
                "watch resumed"
            );
        }
    }

    pub fn failing(&self, resource: &str) -> Option<Failing> {
        lock(&self.states).get(resource)?.failing.clone()
    }

    pub fn was_listed(&self, resource: &str) -> bool {
        lock(&self.states).get(resource).is_some_and(|s| s.listed)
    }

    /// Failures so far, by resource and class (for the counter).
    pub fn errors(&self) -> Vec<(&'static str, &'static str, u64)> {
        lock(&self.errors)
            .iter()
            .map(|((r, why), n)| (*r, why.label(), *n))
            .collect()
    }

    /// Every resource failing now, by name.
    pub fn failures(&self) -> Vec<(&'static str, Failing)> {
        lock(&self.states)
            .iter()
            .filter_map(|(r, s)| Some((*r, s.failing.clone()?)))
            .collect()
    }
}

/// What a failing read leaves stale, for `/readyz`; `None` where it does
/// not matter to a verdict (an absent Terway Node CRD is normal on older
/// Terway: capacities then come from the instance types).
pub fn impact(resource: &str, reason: Reason) -> Option<&'static str> {
    use super::resource::{DAEMONSET, ENI_CONFIG, EVENTS, KUBEADM, NODES, TERWAY_NODES};
    Some(match resource {
        NODES => "node facts are stale (zones, capacity, dynamic configs in use)",
        TERWAY_NODES if reason == Reason::NotFound => return None,
        TERWAY_NODES => "capacities from Terway's Node resources are stale",
        ENI_CONFIG => "the base eni-config dynamic configs are judged against is stale",
        KUBEADM => "the service_cidr fallback (kube-system/kubeadm-config) is unknown",
        DAEMONSET => "the Terway version is unknown",
        EVENTS => "Terway's events are stale",
        _ => return None,
    })
}

impl WatchHealth {
    /// One line per failing read that matters: what, why, since when, and
    /// what is stale. Empty when all is well.
    pub fn detail(&self) -> String {
        let mut out = String::new();
        for (resource, f) in self.failures() {
            let Some(stale) = impact(resource, f.reason) else {
                continue;
            };
            let since = crate::cloud::time::iso8601(f.since);
            out.push_str(&format!(
                "{resource}: cannot read ({}, {} tries since {since}): {stale}\n",
                f.reason.label(),
                f.count
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            code,
            ..Default::default()
        }))
    }

    #[test]
    fn failures_are_classed_counted_and_cleared_by_a_list() {
        let h = WatchHealth::default();
        let cases = [
            (404, Reason::NotFound),
            (403, Reason::Forbidden),
            (401, Reason::Unauthorized),
            (503, Reason::ServerError),
            (429, Reason::ClientError),
        ];
        for (code, want) in cases {
            assert_eq!(Reason::of_kube(&api(code)), want, "{code}");
        }
        let gone = watcher::Error::WatchError(Box::new(kube::core::Status {
            code: 410,
            ..Default::default()
        }));
        assert_eq!(Reason::of_watcher(&gone), None);
        let listed = watcher::Error::InitialListFailed(api(403));
        assert_eq!(Reason::of_watcher(&listed), Some(Reason::Forbidden));

        for _ in 0..3 {
            h.failed("nodes", Reason::Forbidden, &"forbidden");
        }
        h.failed("nodes", Reason::ServerError, &"boom");
        let f = h.failing("nodes").unwrap();
        assert_eq!((f.reason, f.count), (Reason::ServerError, 1));
        assert!(!h.was_listed("nodes"));
        h.listed("nodes");
        assert_eq!(h.failing("nodes"), None);
        assert!(h.was_listed("nodes"));
        assert_eq!(
            h.errors(),
            [("nodes", "forbidden", 3), ("nodes", "server_error", 1)]
        );
        h.failed("terway-nodes", Reason::NotFound, &"absent");
        h.failed("kubeadm-config", Reason::Forbidden, &"forbidden");
        let detail = h.detail();
        assert!(
            detail.starts_with("kubeadm-config: cannot read (forbidden, 1 tries since "),
            "{detail}"
        );
        assert_eq!(
            detail.lines().count(),
            1,
            "an absent CRD is not news: {detail}"
        );
        h.listed("kubeadm-config");
        h.listed("terway-nodes");
        h.failed("daemonset", Reason::Connection, &"refused");
        h.resumed("daemonset");
        assert!(h.failures().is_empty());
        assert!(!h.was_listed("daemonset"));
    }
}
