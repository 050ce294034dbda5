//! Reading kube-apiserver audit logs (audit.k8s.io/v1 Event JSON lines) for
//! the story of Terway's configs: who changed them, what the webhook said.
//! Pure: one event (and what earlier events showed) in, one change out.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use crate::config::{BASE_NAME, ConfigObject, EniConf, manifest};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub time: String,
    pub user: String,
    pub verb: String,
    pub namespace: String,
    pub name: String,
    /// allowed, denied or bypassed
    pub decision: String,
    pub rules: Vec<String>,
    pub vswitches_added: Vec<String>,
    pub vswitches_removed: Vec<String>,
    /// `min_pool_size 5 -> 20`-style lines, when the objects show them.
    #[serde(skip)]
    pub pool_changes: Vec<String>,
    /// Whether the mutating webhook patched the object.
    #[serde(skip)]
    pub mutated: bool,
    #[serde(skip)]
    pub bypass_reason: Option<String>,
    /// For Terway's own events in the timeline: what it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// What earlier events showed of each config, to tell what a later one changed.
#[derive(Debug, Default)]
pub struct History {
    last: BTreeMap<(String, String), ConfigObject>,
}

/// Terway's own events from `kubectl get events -A -o json` (an EventList),
/// as timeline entries: verb `event`, decision the reason (ConfigError, or
/// an exhaustion reason whose message says IPs ran out), user the reporting
/// component, name the object. Other events are left out.
pub fn terway_events(list: &Value) -> Vec<Change> {
    let items = list
        .get("items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    items
        .iter()
        .filter_map(|item| {
            serde_json::from_value::<k8s_openapi::api::core::v1::Event>(item.clone()).ok()
        })
        .filter(|e| {
            crate::events::is_config_error(e) || crate::kube::terway_events::is_exhaustion(e)
        })
        .map(|e| {
            let o = &e.involved_object;
            let time = crate::kube::terway_events::happened(&e)
                .map(|t| t.to_string())
                .unwrap_or_default();
            let user = e
                .reporting_component
                .clone()
                .filter(|c| !c.is_empty())
                .or_else(|| e.source.as_ref().and_then(|s| s.component.clone()))
                .unwrap_or_else(|| "terway".into());
            let count = e.count.unwrap_or(1).max(1);
            let message = crate::events::short(e.message.as_deref().unwrap_or_default());
            Change {
                time,
                user,
                verb: "event".into(),
                namespace: o.namespace.clone().unwrap_or_default(),
                name: format!(
                    "{}/{}",
                    o.kind.as_deref().unwrap_or("?"),
                    o.name.as_deref().unwrap_or("?")
                ),
                decision: e.reason.clone().unwrap_or_default(),
                rules: Vec::new(),
                vswitches_added: Vec::new(),
                vswitches_removed: Vec::new(),
                pool_changes: Vec::new(),
                mutated: false,
                bypass_reason: None,
                message: Some(if count > 1 {
                    format!("{message} (×{count})")
                } else {
                    message
                }),
            }
        })
        .collect()
}

const VERBS: [&str; 4] = ["create", "update", "patch", "delete"];
const POOL_FIELDS: [&str; 3] = ["min_pool_size", "max_pool_size", "ip_warm_up_size"];

/// Our annotations, as the apiserver records them: `<webhook name>/<key>`.
fn ours<'a>(annotations: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a str> {
    annotations.iter().find_map(|(k, v)| {
        let (prefix, suffix) = k.rsplit_once('/')?;
        (suffix == key && prefix.contains("terway-guard"))
            .then(|| v.as_str())
            .flatten()
    })
}

fn list(s: Option<&str>) -> Vec<String> {
    s.map(|s| {
        s.split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

fn vswitch_set(o: &ConfigObject) -> BTreeSet<String> {
    o.eni_conf().map(|c| c.vswitch_ids()).unwrap_or_default()
}

fn pool(c: &EniConf, f: &str) -> Option<i64> {
    c.int(f)
}

impl History {
    /// The change an audit event records, if it is about a Terway config in
    /// `namespace`; `None` for everything else.
    pub fn read(&mut self, event: &Value, namespace: &str) -> Option<Change> {
        let stage = event.get("stage").and_then(Value::as_str);
        if stage.is_some_and(|s| s != "ResponseComplete" && s != "Panic") {
            return None;
        }
        let o = event.get("objectRef")?;
        let s = |v: &Value, k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let verb = s(event, "verb");
        if o.get("resource").and_then(Value::as_str) != Some("configmaps")
            || s(o, "namespace") != namespace
            || !VERBS.contains(&verb.as_str())
        {
            return None;
        }
        let empty = serde_json::Map::new();
        let ann = event
            .get("annotations")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let obj = |k: &str| {
            event
                .get(k)
                .filter(|v| v.get("kind").and_then(Value::as_str) == Some("ConfigMap"))
                .and_then(|v| manifest::from_value(v.clone()).ok())
        };
        let request = obj("requestObject");
        let response = obj("responseObject");
        let name = s(o, "name");
        let has_ours = ours(ann, "decision").is_some();
        let is_terway = name == BASE_NAME
            || has_ours
            || [&request, &response]
                .iter()
                .any(|x| x.as_ref().is_some_and(|c| c.eni_conf_text().is_some()));
        if !is_terway {
            return None;
        }
        let status = event.get("responseStatus");
        let code = status
            .and_then(|st| st.get("code"))
            .and_then(Value::as_u64)
            .unwrap_or(200);
        let message = status.map(|st| s(st, "message")).unwrap_or_default();
        let denied_by_webhook = code >= 400
            && message.contains("admission webhook")
            && message.contains("denied the request");
        let decision = match ours(ann, "decision") {
            Some("bypassed") => "bypassed",
            Some("denied") => "denied",
            _ if denied_by_webhook => "denied",
            _ => "allowed",
        }
        .to_string();
        let mut rules = list(ours(ann, "rules"));
        if rules.is_empty() && denied_by_webhook {
            // Without our annotations, the message still names the rules: "- [rule] path: ...".
            rules = message
                .lines()
                .filter_map(|l| {
                    l.trim()
                        .strip_prefix("- [")?
                        .split_once(']')
                        .map(|(r, _)| r.to_string())
                })
                .collect();
        }
        let key = (namespace.to_string(), name.clone());
        // What the object is now: the stored result, else the request (a full object).
        let after = response.or(request.filter(|_| verb != "patch"));
        // A create starts from nothing: everything it lists is added.
        let nothing = ConfigObject::default();
        let before = self
            .last
            .get(&key)
            .or((verb == "create").then_some(&nothing));
        let (mut added, mut removed) = (
            list(ours(ann, "vswitches-added")),
            list(ours(ann, "vswitches-removed")),
        );
        let mut pool_changes = Vec::new();
        if let (Some(b), Some(a)) = (before, after.as_ref()) {
            if added.is_empty() && removed.is_empty() {
                let (bs, as_) = (vswitch_set(b), vswitch_set(a));
                added = as_.difference(&bs).cloned().collect();
                removed = bs.difference(&as_).cloned().collect();
            }
            if let (Some(bc), Some(ac)) = (b.eni_conf(), a.eni_conf()) {
                for f in POOL_FIELDS {
                    let (x, y) = (pool(&bc, f), pool(&ac, f));
                    if x != y {
                        let show =
                            |v: Option<i64>| v.map_or("unset".to_string(), |v| v.to_string());
                        pool_changes.push(format!("{f} {} -> {}", show(x), show(y)));
                    }
                }
            }
        }
        if decision != "denied" && code < 400 {
            match (&verb[..], after) {
                ("delete", _) => {
                    self.last.remove(&key);
                }
                (_, Some(a)) => {
                    self.last.insert(key, a);
                }
                _ => {}
            }
        }
        let mutated = ann.iter().any(|(k, _)| {
            k.starts_with("mutation.webhook.admission.k8s.io/")
                || (k.contains("terway-guard") && k.ends_with("/mutation"))
        });
        Some(Change {
            time: event
                .get("stageTimestamp")
                .or(event.get("requestReceivedTimestamp"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            user: event
                .pointer("/user/username")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            verb,
            namespace: namespace.to_string(),
            name,
            decision,
            rules,
            vswitches_added: added,
            vswitches_removed: removed,
            pool_changes,
            mutated,
            bypass_reason: ours(ann, "bypass-reason").map(str::to_string),
            message: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm(eni: &str) -> Value {
        json!({"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "eni-config", "namespace": "kube-system"}, "data": {"eni_conf": eni}})
    }

    fn ev(verb: &str, ann: Value, code: u64, message: &str, obj: Option<Value>) -> Value {
        json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse", "stage": "ResponseComplete", "verb": verb,
               "user": {"username": "alice"}, "objectRef": {"resource": "configmaps", "namespace": "kube-system", "name": "eni-config"},
               "responseStatus": {"code": code, "message": message}, "annotations": ann, "requestObject": obj.clone(), "responseObject": if code < 400 { obj } else { None },
               "stageTimestamp": "2026-11-25T10:00:00.000000Z"})
    }

    #[test]
    fn tells_the_story() {
        let mut h = History::default();
        let c1 = h
            .read(
                &ev(
                    "update",
                    json!({"validate.terway-guard.io/decision": "allowed"}),
                    200,
                    "",
                    Some(cm(r#"{"min_pool_size": 5, "vswitches": {"z": ["vsw-a"]}}"#)),
                ),
                "kube-system",
            )
            .unwrap();
        assert_eq!(c1.decision, "allowed");
        let c2 = h.read(&ev("update", json!({"validate.terway-guard.io/decision": "allowed", "validate.terway-guard.io/rules": "vswitch-prefix"}), 200, "", Some(cm(r#"{"min_pool_size": 20, "vswitches": {"z": ["vsw-b"]}}"#))), "kube-system").unwrap();
        assert_eq!(
            (c2.vswitches_added.clone(), c2.vswitches_removed.clone()),
            (vec!["vsw-b".to_string()], vec!["vsw-a".to_string()])
        );
        assert_eq!(c2.pool_changes, ["min_pool_size 5 -> 20"]);
        assert_eq!(c2.rules, ["vswitch-prefix"]);
        let msg = "admission webhook \"validate.terway-guard.io\" denied the request: terway-guard denied this change to ConfigMap eni-config (1 problem(s)):\n- [vswitch-zone] eni_conf.vswitches[\"z\"][1]: ...";
        let c3 = h
            .read(
                &ev("update", json!({}), 403, msg, Some(cm("{}"))),
                "kube-system",
            )
            .unwrap();
        assert_eq!(
            (c3.decision.as_str(), c3.rules.clone()),
            ("denied", vec!["vswitch-zone".to_string()])
        );
        let c4 = h.read(&ev("update", json!({"validate.terway-guard.io/decision": "bypassed", "validate.terway-guard.io/bypassed-rules": "vswitch-prefix", "validate.terway-guard.io/rules": "vswitch-prefix"}), 200, "", Some(cm(r#"{"min_pool_size": 20, "vswitches": {"z": ["vsw-b", "vsw-c"]}}"#))), "kube-system").unwrap();
        assert_eq!(
            (c4.decision.as_str(), c4.vswitches_added.clone()),
            ("bypassed", vec!["vsw-c".to_string()])
        );
    }

    #[test]
    fn ignores_what_is_not_about_terway() {
        let mut h = History::default();
        let mut other = ev("update", json!({}), 200, "", None);
        other["objectRef"]["name"] = json!("coredns");
        assert!(h.read(&other, "kube-system").is_none());
        let mut get = ev("get", json!({}), 200, "", None);
        get["verb"] = json!("get");
        assert!(h.read(&get, "kube-system").is_none());
        let mut early = ev("update", json!({}), 200, "", None);
        early["stage"] = json!("RequestReceived");
        assert!(h.read(&early, "kube-system").is_none());
        let mut secret = ev("update", json!({}), 200, "", None);
        secret["objectRef"]["resource"] = json!("secrets");
        assert!(h.read(&secret, "kube-system").is_none());
        assert!(
            h.read(&ev("update", json!({}), 200, "", None), "default")
                .is_none()
        );
    }
}
