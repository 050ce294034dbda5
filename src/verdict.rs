//! The one decision every front end shares: findings from the rules plus the
//! mutation (hash stamp, repeat removal). The webhook, `check` and the planner
//! all call [`judge`].

use serde::Serialize;
use serde_json::{Value, json};

use crate::config::spans::{self, Node};
use crate::config::{BYPASS_ANNOTATION, ConfigObject, EniConf, HASH_ANNOTATION, Role};
use crate::rules::{self, Finding, Input, Operation};

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub allowed: bool,
    pub findings: Vec<Finding>,
    /// RFC 6902 operations the mutating webhook would send.
    pub patch: json_patch::Patch,
}

impl Verdict {
    pub fn denials(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_deny())
    }
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.is_deny())
    }
}

pub fn judge(input: &Input) -> Verdict {
    let findings = rules::evaluate(input);
    let patch = match (input.operation, input.new) {
        (Operation::Create | Operation::Update, Some(new)) => mutation_from(new, input.old),
        _ => json_patch::Patch(Vec::new()),
    };
    Verdict {
        allowed: !findings.iter().any(Finding::is_deny),
        findings,
        patch,
    }
}

/// Records who changed `eni_conf` and when, on the object: added to a patch
/// that stamps a new hash, so the controller can name the edit when Terway
/// later reports a `ConfigError`. A re-invocation (hash unchanged) adds nothing.
pub fn stamp_edit(patch: &mut json_patch::Patch, user: &str, at: &str) {
    let hash_key = format!(
        "/metadata/annotations/{}",
        HASH_ANNOTATION.replace('~', "~0").replace('/', "~1")
    );
    let hash = patch.0.iter().find_map(|op| match op {
        json_patch::PatchOperation::Add(a) if a.path.as_str() == hash_key => {
            a.value.as_str().map(str::to_string)
        }
        json_patch::PatchOperation::Add(a) if a.path.as_str() == "/metadata/annotations" => a
            .value
            .get(HASH_ANNOTATION)
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    });
    let Some(hash) = hash else { return };
    let edit = Edit {
        user: user.to_string(),
        at: at.to_string(),
        hash,
    };
    let key = LAST_EDIT_ANNOTATION.replace('~', "~0").replace('/', "~1");
    if let Ok(op) = serde_json::from_value(json!({
        "op": "add",
        "path": format!("/metadata/annotations/{key}"),
        "value": serde_json::to_string(&edit).unwrap_or_default(),
    })) {
        patch.0.push(op);
    }
}

/// Annotation the mutation stamps with the last edit of `eni_conf`.
pub const LAST_EDIT_ANNOTATION: &str = "terway-guard.io/last-edit";

/// Who changed `eni_conf`, when (RFC 3339) and to what (its hash).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Edit {
    pub user: String,
    pub at: String,
    pub hash: String,
}

impl Edit {
    pub fn of(obj: &ConfigObject) -> Option<Edit> {
        serde_json::from_str(obj.annotations.get(LAST_EDIT_ANNOTATION)?).ok()
    }
}

/// The patch that stamps the hash annotation and drops vSwitch ids repeated
/// within a zone. Applying it to its own result yields an empty patch.
pub fn mutation(obj: &ConfigObject) -> json_patch::Patch {
    mutation_from(obj, None)
}

/// [`mutation`] for an edit of `old`; it also removes a bypass annotation the
/// edit left as it was, so a bypass never outlives the request that set it.
pub fn mutation_from(obj: &ConfigObject, old: Option<&ConfigObject>) -> json_patch::Patch {
    let mut patch = mutation_of(obj);
    let leftover = obj
        .annotations
        .get(BYPASS_ANNOTATION)
        .is_some_and(|v| old.and_then(|o| o.annotations.get(BYPASS_ANNOTATION)) == Some(v));
    if leftover
        && let Ok(op) = serde_json::from_value(json!({
            "op": "remove",
            "path": format!("/metadata/annotations/{}", BYPASS_ANNOTATION.replace('~', "~0").replace('/', "~1")),
        }))
    {
        patch.0.push(op);
    }
    patch
}

fn mutation_of(obj: &ConfigObject) -> json_patch::Patch {
    let empty = json_patch::Patch(Vec::new());
    if obj.role() == Role::Other {
        return empty;
    }
    let Some(text) = obj.eni_conf_text() else {
        return empty;
    };
    let Some(mut conf) = obj.eni_conf() else {
        return empty;
    };
    let mut ops: Vec<Value> = Vec::new();
    // A rewrite would carry inline credentials in the patch: stamp the hash only.
    let rewrite = if conf.has_inline_credentials() {
        None
    } else {
        without_repeats(text, &conf)
    };
    if let Some(new_text) = rewrite {
        if let Ok(fixed) = EniConf::parse(&new_text) {
            conf = std::sync::Arc::new(fixed);
        }
        ops.push(json!({"op": "replace", "path": "/data/eni_conf", "value": new_text}));
    }
    let hash = conf.normalized_sha256();
    if obj.annotations.get(HASH_ANNOTATION) != Some(&hash) {
        if obj.annotations.is_empty() {
            ops.push(json!({"op": "add", "path": "/metadata/annotations", "value": {HASH_ANNOTATION: hash}}));
        } else {
            let key = HASH_ANNOTATION.replace('~', "~0").replace('/', "~1");
            ops.push(
                json!({"op": "add", "path": format!("/metadata/annotations/{key}"), "value": hash}),
            );
        }
    }
    serde_json::from_value(Value::Array(ops)).unwrap_or(empty)
}

/// `text` with repeated vSwitch ids removed, every other byte kept; `None`
/// when there is nothing to remove.
fn without_repeats(text: &str, conf: &EniConf) -> Option<String> {
    let repeats = crate::rules::repeats(conf);
    if repeats.is_empty() {
        return None;
    }
    let root = spans::scan(text)?;
    let mut cuts = Vec::new();
    for r in repeats {
        // The zone's list may sit in any repeated `vswitches` member.
        let Node::Array(items) = &crate::config::edit::zone_list(&root, &r.zone)?.node else {
            return None;
        };
        let prev = items.get(r.index.checked_sub(1)?)?;
        cuts.push((prev.span.clone(), items.get(r.index)?.span.clone()));
    }
    Some(spans::remove_items(text, &cuts))
}

/// Applies `patch` to the ConfigMap JSON `object` (used to prove idempotence).
pub fn apply(object: &Value, patch: &json_patch::Patch) -> Result<Value, json_patch::PatchError> {
    let mut doc = object.clone();
    json_patch::patch(&mut doc, patch)?;
    Ok(doc)
}

/// Convenience for `check`: judge files already loaded.
pub fn judge_objects(
    new: &ConfigObject,
    old: Option<&ConfigObject>,
    base: Option<&ConfigObject>,
    facts: Option<&crate::inventory::Facts>,
    settings: &rules::Settings,
) -> Verdict {
    judge(&Input {
        operation: if old.is_some() {
            Operation::Update
        } else {
            Operation::Create
        },
        new: Some(new),
        old,
        base,
        facts,
        settings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm_json(eni_conf: &str, annotations: Option<Value>) -> Value {
        let mut v = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "eni-config", "namespace": "kube-system"}, "data": {"eni_conf": eni_conf}});
        if let Some(a) = annotations {
            v["metadata"]["annotations"] = a;
        }
        v
    }

    fn object(v: &Value) -> ConfigObject {
        crate::config::manifest::from_value(v.clone()).unwrap()
    }

    #[test]
    fn mutation_is_idempotent_and_keeps_formatting() {
        let text = "{\n  \"vswitches\": {\n    \"cn-a\": [\"vsw-1\", \"vsw-2\", \"vsw-1\"],\n    \"cn-b\": [\"vsw-3\",\n      \"vsw-3\"]\n  },\n  \"max_pool_size\": 5.0e0\n}";
        let cases = [None, Some(json!({})), Some(json!({"team": "net"}))];
        for annotations in cases {
            let v = cm_json(text, annotations.clone());
            let patch = mutation(&object(&v));
            let once = apply(&v, &patch).unwrap();
            let eni = once["data"]["eni_conf"].as_str().unwrap();
            assert_eq!(
                eni,
                "{\n  \"vswitches\": {\n    \"cn-a\": [\"vsw-1\", \"vsw-2\"],\n    \"cn-b\": [\"vsw-3\"]\n  },\n  \"max_pool_size\": 5.0e0\n}"
            );
            assert_eq!(
                once["metadata"]["annotations"][HASH_ANNOTATION]
                    .as_str()
                    .unwrap()
                    .len(),
                64
            );
            if let Some(Value::Object(a)) = &annotations {
                for (k, val) in a {
                    assert_eq!(&once["metadata"]["annotations"][k], val);
                }
            }
            assert!(
                mutation(&object(&once)).0.is_empty(),
                "second pass must be empty"
            );
        }
    }

    /// The daemon merges repeated `vswitches` maps (sigs.k8s.io/json decode.go
    /// `object`): a repeat in a zone only an earlier member lists is the
    /// daemon's too, and is removed where it is written.
    #[test]
    fn repeats_are_removed_in_the_member_the_daemon_reads_them_from() {
        let cases = [
            (
                r#"{"vswitches": {"cn-a": ["vsw-1", "vsw-1"]}, "vswitches": {"cn-b": ["vsw-2"]}}"#,
                r#"{"vswitches": {"cn-a": ["vsw-1"]}, "vswitches": {"cn-b": ["vsw-2"]}}"#,
            ),
            // The earlier cn-a list is replaced by the later one: only the
            // later one's repeat is the daemon's.
            (
                r#"{"vswitches": {"cn-a": ["vsw-1", "vsw-1"]}, "vswitches": {"cn-a": ["vsw-2", "vsw-2"]}}"#,
                r#"{"vswitches": {"cn-a": ["vsw-1", "vsw-1"]}, "vswitches": {"cn-a": ["vsw-2"]}}"#,
            ),
        ];
        for (text, want) in cases {
            let v = cm_json(text, None);
            let once = apply(&v, &mutation(&object(&v))).unwrap();
            assert_eq!(once["data"]["eni_conf"].as_str(), Some(want), "{text}");
            let twice = mutation(&object(&once));
            assert!(twice.0.is_empty(), "{text}: {twice:?}");
        }
    }

    #[test]
    fn credentials_are_never_copied_into_a_patch() {
        let text = r#"{"access_secret": "s3cr3t-value", "vswitches": {"z": ["vsw-1", "vsw-1"]}}"#;
        let patch = mutation(&object(&cm_json(text, None)));
        let shown = serde_json::to_string(&patch).unwrap();
        assert!(!shown.contains("s3cr3t-value"), "{shown}");
        assert_eq!(patch.0.len(), 1, "only the hash stamp");
    }

    #[test]
    fn stale_hash_is_restamped_and_bad_json_left_alone() {
        let v = cm_json("{\"a\": 1}", Some(json!({HASH_ANNOTATION: "old"})));
        let patch = mutation(&object(&v));
        assert_eq!(patch.0.len(), 1);
        let v = cm_json("{\"a\": 1,}", None);
        assert!(mutation(&object(&v)).0.is_empty());
        let mut other = object(&v);
        other.name = "kube-proxy".into();
        other.data.clear();
        assert!(mutation(&other).0.is_empty());
    }

    #[test]
    fn an_edit_is_stamped_with_who_and_when_only_when_the_hash_changes() {
        let cases = [
            None,
            Some(json!({})),
            Some(json!({"team": "net"})),
            Some(json!({HASH_ANNOTATION: "old"})),
        ];
        for annotations in cases {
            let v = cm_json("{\"a\": 1}", annotations.clone());
            let mut patch = mutation(&object(&v));
            stamp_edit(&mut patch, "alice@example.com", "2026-11-26T10:00:00Z");
            let once = apply(&v, &patch).unwrap();
            let edit =
                Edit::of(&object(&once)).unwrap_or_else(|| panic!("{annotations:?}: {once}"));
            assert_eq!(edit.user, "alice@example.com");
            assert_eq!(edit.at, "2026-11-26T10:00:00Z");
            assert_eq!(
                Some(edit.hash.as_str()),
                once["metadata"]["annotations"][HASH_ANNOTATION].as_str()
            );
            // Re-invoked on its own result: the hash is current, nothing is added.
            let mut again = mutation(&object(&once));
            stamp_edit(&mut again, "bob", "2026-11-26T11:00:00Z");
            assert!(again.0.is_empty(), "{annotations:?}");
        }
    }
}
