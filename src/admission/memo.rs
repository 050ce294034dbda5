//! What reviews share: every review of an edit carries the stored
//! `eni-config` as `oldObject`, the same bytes until an edit lands, and an
//! UPDATE with a denial judges that old object as if new (to soften what was
//! already so). Both are done once per stored object here, not per review:
//! the old object is read (and its `eni_conf` parsed) once, keyed by its
//! exact JSON, and judged once per (base config, facts it reads). One entry
//! each, the latest: an apiserver reviews edits of one stored object at a
//! time, and a landed edit replaces it.

use std::sync::{Arc, Mutex};

use crate::config::ConfigObject;
use crate::inventory::{Facts, Query};
use crate::rules::{self, Finding, Input};

/// Objects above this are read per review and not kept (a real `eni-config`
/// is a few KiB; a kept one costs about ten times its text).
pub const KEEP_AT_MOST: usize = 64 * 1024;

/// Per process (per settings: the webhook builds one next to them).
#[derive(Default)]
pub struct Memo {
    old: Mutex<Option<Arc<OldObject>>>,
    base: Mutex<Option<Arc<ConfigObject>>>,
}

/// A stored object as a review's `oldObject` carried it.
pub struct OldObject {
    raw: Box<str>,
    request_name: Box<str>,
    /// The object, or why it cannot be read as a ConfigMap.
    pub(super) object: Result<Arc<ConfigObject>, String>,
    judged: Mutex<Option<Arc<Judged>>>,
    keys: std::sync::OnceLock<Arc<Vec<Finding>>>,
}

/// The old object judged as if created, and what that judgement read
/// (the settings too: the webhook's are fixed, a caller's may not be).
struct Judged {
    settings: rules::Settings,
    base: Option<Arc<ConfigObject>>,
    /// The vSwitch ids the judgement looks up: those the old object and the
    /// base list (both part of the key, so the ids are too).
    ids: Query,
    facts: Option<Facts>,
    findings: Arc<Vec<Finding>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Memo {
    /// The kept old object when `raw` is its JSON exactly (and the request
    /// names it alike, for an object without a name); else `read` reads it,
    /// and it is kept when small enough.
    pub(super) fn old<E>(
        &self,
        raw: &str,
        request_name: &str,
        read: impl FnOnce() -> Result<Result<ConfigObject, String>, E>,
    ) -> Result<Arc<OldObject>, E> {
        if let Some(kept) = lock(&self.old).as_ref()
            && &*kept.raw == raw
            && &*kept.request_name == request_name
        {
            return Ok(kept.clone());
        }
        let object = read()?.map(Arc::new);
        let entry = Arc::new(OldObject {
            raw: raw.into(),
            request_name: request_name.into(),
            object,
            judged: Mutex::new(None),
            keys: Default::default(),
        });
        if raw.len() <= KEEP_AT_MOST {
            *lock(&self.old) = Some(entry.clone());
        }
        Ok(entry)
    }

    /// The kept base config when `base` has its content, so its `eni_conf`
    /// is parsed once; otherwise `base`, kept.
    pub fn base(&self, base: Option<ConfigObject>) -> Option<Arc<ConfigObject>> {
        let base = base?;
        let mut kept = lock(&self.base);
        if let Some(k) = kept.as_ref().filter(|k| ***k == base) {
            return Some(k.clone());
        }
        let size: usize = base.data.values().map(String::len).sum();
        let base = Arc::new(base);
        if size <= KEEP_AT_MOST {
            *kept = Some(base.clone());
        }
        Some(base)
    }
}

impl rules::Kept for OldObject {
    /// [`rules::judge_as_created`] of `input` (whose `old` is this object),
    /// kept while the base config and the facts it reads stay the same.
    fn as_created(&self, input: &Input) -> Arc<Vec<Finding>> {
        let seen = lock(&self.judged).clone();
        if let Some(j) = seen
            && j.settings == *input.settings
            && j.base.as_deref() == input.base
            && same_facts(j.facts.as_ref(), input.facts, &j.ids)
        {
            return j.findings.clone();
        }
        let findings = Arc::new(rules::judge_as_created(input));
        // The rules look facts up by the ids an object lists.
        let ids = crate::inventory::query_for(input.old.into_iter().chain(input.base));
        *lock(&self.judged) = Some(Arc::new(Judged {
            settings: input.settings.clone(),
            base: input.base.map(|b| Arc::new(b.clone())),
            facts: input.facts.map(|f| project(f, &ids)),
            ids,
            findings: findings.clone(),
        }));
        findings
    }

    /// Its data keys but `eni_conf` judged once: they read nothing else.
    fn keys_unchanged(&self, old: &ConfigObject) -> Arc<Vec<Finding>> {
        self.keys
            .get_or_init(|| Arc::new(rules::judge_keys_unchanged(old)))
            .clone()
    }
}

/// `facts` less the vSwitches no judgement of the old object reads.
fn project(facts: &Facts, ids: &Query) -> Facts {
    Facts {
        vswitches: facts
            .vswitches
            .iter()
            .filter(|(id, _)| ids.contains(*id))
            .map(|(id, l)| (id.clone(), l.clone()))
            .collect(),
        ..facts.clone()
    }
}

/// Whether `now` tells what `kept` told about everything but vSwitches
/// outside `ids`. Nodes are compared by identity: the inventory replaces
/// the list when a node changes, and the kept copy holds the old list, so
/// its address cannot be reused (two empty lists are the same list).
fn same_facts(kept: Option<&Facts>, now: Option<&Facts>, ids: &Query) -> bool {
    let (Some(k), Some(n)) = (kept, now) else {
        return kept.is_none() && now.is_none();
    };
    fn same<T>(a: &Arc<Vec<T>>, b: &Arc<Vec<T>>) -> bool {
        Arc::ptr_eq(a, b) || (a.is_empty() && b.is_empty())
    }
    same(&k.nodes, &n.nodes)
        && same(&k.node_groups, &n.node_groups)
        && k.terway_version == n.terway_version
        && k.region == n.region
        && k.cluster_vpc == n.cluster_vpc
        && k.vpcs == n.vpcs
        && k.kubeadm == n.kubeadm
        && ids
            .iter()
            .all(|id| k.vswitches.get(id) == n.vswitches.get(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> impl FnOnce() -> Result<Result<ConfigObject, String>, ()> + '_ {
        move || Ok(Ok(crate::rules::testing::base(text)))
    }

    #[test]
    fn the_stored_object_is_read_once_while_its_json_stays_the_same() {
        let memo = Memo::default();
        let raw = r#"{"data": {"eni_conf": "{}"}}"#;
        let first = memo.old(raw, "eni-config", read("{}")).unwrap();
        let again = memo
            .old(raw, "eni-config", || -> Result<_, ()> {
                panic!("read again")
            })
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        // Another text, or another request name for it, is read anew.
        let other = memo
            .old(r#"{"data": {}}"#, "eni-config", read("{}"))
            .unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
        let renamed = memo.old(r#"{"data": {}}"#, "x", read("{}")).unwrap();
        assert!(!Arc::ptr_eq(&other, &renamed));
        // An object too large to keep is read but not kept.
        let huge = format!(r#"{{"x": "{}"}}"#, "a".repeat(KEEP_AT_MOST));
        memo.old(&huge, "x", read("{}")).unwrap();
        let kept = lock(&memo.old).clone().unwrap();
        assert!(Arc::ptr_eq(&kept, &renamed));
    }

    #[test]
    fn a_kept_judgement_follows_settings_and_facts() {
        use rules::Kept;
        let memo = Memo::default();
        let text = r#"{"version": "1", "vswitches": {"cn-shanghai-f": ["vsw-a"]}}"#;
        let old = memo.old("{}", "eni-config", read(text)).unwrap();
        let object = old.object.clone().unwrap();
        let settings = rules::Settings::default();
        let facts = Facts::default();
        let input = |settings, facts| Input {
            operation: rules::Operation::Update,
            new: Some(&*object),
            old: Some(&*object),
            base: None,
            facts,
            settings,
        };
        let first = old.as_created(&input(&settings, Some(&facts)));
        // The same settings and facts (empty node lists are the same list,
        // whatever their address): the kept judgement.
        let fresh = Facts::default();
        let again = old.as_created(&input(&settings, Some(&fresh)));
        assert!(Arc::ptr_eq(&first, &again));
        // Other settings, other facts it reads, no facts: judged anew.
        let strict = rules::Settings {
            max_prefix_len: 16,
            ..Default::default()
        };
        let other = old.as_created(&input(&strict, Some(&facts)));
        assert!(!Arc::ptr_eq(&again, &other));
        let region = Facts {
            region: Some("cn-hangzhou".into()),
            ..Default::default()
        };
        let moved = old.as_created(&input(&strict, Some(&region)));
        assert!(!Arc::ptr_eq(&other, &moved));
        let none = old.as_created(&input(&strict, None));
        assert!(!Arc::ptr_eq(&moved, &none));
        // A vSwitch the old object does not list is not read: still kept.
        let mut unrelated = region.clone();
        unrelated
            .vswitches
            .insert("vsw-other".into(), crate::inventory::Lookup::NotFound);
        let kept = old.as_created(&input(&strict, Some(&region)));
        let still = old.as_created(&input(&strict, Some(&unrelated)));
        assert!(Arc::ptr_eq(&kept, &still));
    }

    #[test]
    fn the_base_is_shared_while_its_content_stays_the_same() {
        let memo = Memo::default();
        let a = memo.base(Some(crate::rules::testing::base("{}"))).unwrap();
        let b = memo.base(Some(crate::rules::testing::base("{}"))).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let c = memo.base(Some(crate::rules::testing::base("{ }"))).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(memo.base(None).is_none());
    }
}
