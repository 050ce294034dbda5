//! The value Go's typed decode ends with when `eni_conf` repeats a key.
//!
//! [`super::go_json`] keeps the last of repeated keys, as a Go map of
//! `interface{}` does (json-patch's MergePatch, jq). The daemon on an
//! unlabelled node decodes the text straight into `daemon.Config`
//! (types/daemon/config.go `MergeConfigAndUnmarshal`, `len(topCfg) == 0`,
//! k8s.io/apimachinery util/json = sigs.k8s.io/json, a fork of
//! `encoding/json`), and a typed decode writes each occurrence INTO what the
//! field already holds (sigs.k8s.io/json internal/golang/encoding/json
//! decode.go, verified at cfa47c3):
//! - a map (`object`: `if v.IsNil() { v.Set(reflect.MakeMap(t)) }`): a later
//!   occurrence adds its keys to the existing map; each of its entries is
//!   decoded into a fresh zero value (`mapElem.SetZero()`) and replaces the
//!   entry (`SetMapIndex`), so zones of repeated `vswitches` are merged and a
//!   zone in both takes the later list;
//! - a struct (`object`, `subv = subv.Field(i)` of the existing struct): merged
//!   member by member;
//! - a slice (`array`): the length becomes the new element count, each element
//!   decoded into the one already at that index (`d.value(v.Index(i))`);
//!   `[]` is a new empty slice;
//! - `null` (`literalStore`): sets a map, slice, pointer or interface to nil,
//!   and is ignored for a string, number, bool or struct, which keep what an
//!   earlier occurrence wrote;
//! - `interface{}` (`objectInterface`, `arrayInterface`): replaced.
//!
//! Known gap: a slice element past the new length but within the capacity
//! an earlier, longer occurrence left behind is decoded into that stale
//! element (`array`: `v.SetLen(i + 1)` without zeroing). This matters only
//! for lists of objects (`extra_routes`, `eni_tag_block_list`) written three
//! times or more, shorter then longer; here such an element starts empty.

use serde_json::{Map, Value};

use super::field_table;
use super::go_json;
use super::go_types::{Keys, Kind};
use super::spans::{self, Node, Spanned};

/// Views of a text that repeats a key, where they differ from the last-wins
/// value.
#[derive(Debug, Clone, PartialEq)]
pub struct Views {
    /// The daemon's typed decode of the whole text (unlabelled nodes).
    pub daemon: Map<String, Value>,
    /// What json-patch's MergePatch starts from when the text is a base
    /// (labelled nodes): its top level is a Go map (merge.go `partialDoc`), so
    /// only the last occurrence of each top-level key is kept, and that
    /// value is copied raw (`lazyNode`) into the text the daemon decodes,
    /// with the repeats inside it merged as above. Where the node's config
    /// also sets a member to an object, MergePatch recurses into it and reads
    /// it as a Go map too (evanphx/json-patch v5.6.0, Terway's pin: merge.go
    /// `merge` → patch.go `lazyNode.intoDoc`), last-wins at that level; this
    /// view still agrees, because every object-typed field of `daemon.Config`
    /// is a map, whose entries a typed decode replaces whole. A struct-typed
    /// field would need that level read last-wins here.
    pub merge_base: Map<String, Value>,
}

/// The typed views of `text`, whose last-wins value is `collapsed`; `None` if
/// it is not an object.
pub fn views(text: &str, collapsed: &Map<String, Value>) -> Option<Views> {
    let root = spans::scan(text)?;
    let Node::Object(members) = &root.node else {
        return None;
    };
    let mut daemon = collapsed.clone();
    let mut merge_base = collapsed.clone();
    // Each key is written in turn, so its first position is kept.
    for v in daemon.values_mut().chain(merge_base.values_mut()) {
        *v = Value::Null;
    }
    for (key, node) in members {
        let want = Want::field(key);
        if let Some(slot) = daemon.get_mut(key) {
            let acc = std::mem::take(slot);
            *slot = into(text, want, Some(acc).filter(|v| !v.is_null()), node);
        }
        if let Some(slot) = merge_base.get_mut(key) {
            *slot = into(text, want, None, node);
        }
    }
    Some(Views { daemon, merge_base })
}

/// The Go type a value is decoded into.
#[derive(Clone, Copy)]
struct Want {
    /// `None`: a key no field takes, or `interface{}`: the value is replaced.
    kind: Option<Kind>,
    pointer: bool,
}

impl Want {
    /// A key no field takes: the value is replaced.
    const ANY: Want = Want {
        kind: None,
        pointer: false,
    };

    fn field(key: &str) -> Want {
        field_table::lookup(key).map_or(Want::ANY, |f| Want {
            kind: Some(f.kind),
            pointer: f.pointer,
        })
    }

    fn of(kind: Kind) -> Want {
        Want {
            kind: Some(kind),
            pointer: false,
        }
    }
}

/// Decodes the occurrence `node` into a Go value of type `want` that holds
/// `acc` already (`None`: its zero value).
fn into(text: &str, want: Want, acc: Option<Value>, node: &Spanned) -> Value {
    let Some(kind) = want.kind else {
        return last_wins(text, node);
    };
    match (&node.node, kind) {
        // A map entry is decoded into a fresh zero value (`mapElem.SetZero`),
        // a struct member into what the member holds.
        (Node::Object(members), Kind::Map(item)) => {
            object(text, acc, members, |_, _| (Want::of(*item), None))
        }
        (Node::Object(members), Kind::Struct(fields)) => object(text, acc, members, |k, map| {
            let want = Keys::Exact
                .member(fields, k)
                .map_or(Want::ANY, |m| Want::of(m.kind));
            (want, map.get_mut(k).map(std::mem::take))
        }),
        (Node::Array(items), Kind::List(item)) => {
            let mut old = match acc {
                Some(Value::Array(old)) => old,
                _ => Vec::new(),
            };
            let items = items.iter().enumerate().map(|(i, child)| {
                let acc = old.get_mut(i).map(std::mem::take);
                into(text, Want::of(*item), acc, child)
            });
            Value::Array(items.collect())
        }
        (Node::Scalar, _) => {
            let v = last_wins(text, node);
            let resets = want.pointer || matches!(kind, Kind::Map(_) | Kind::List(_));
            match acc {
                Some(acc) if v.is_null() && !resets => acc,
                _ => v,
            }
        }
        // A type Go refuses (the type rule reports it), or past the depth
        // kept: the value as written.
        _ => last_wins(text, node),
    }
}

/// An object occurrence decoded into the object `acc` holds (a new one if
/// none): `slot` says, per key, the type its value decodes into and what it
/// decodes onto.
fn object(
    text: &str,
    acc: Option<Value>,
    members: &[(String, Spanned)],
    mut slot: impl FnMut(&str, &mut Map<String, Value>) -> (Want, Option<Value>),
) -> Value {
    let mut map = match acc {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for (k, child) in members {
        let (want, acc) = slot(k, &mut map);
        let v = into(text, want, acc, child);
        map.insert(k.clone(), v);
    }
    Value::Object(map)
}

/// The occurrence alone, repeats inside it resolved last-wins.
fn last_wins(text: &str, node: &Spanned) -> Value {
    text.get(node.span.clone())
        .and_then(|t| go_json::decode(t).ok())
        .map_or(Value::Null, |d| d.value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn daemon(text: &str) -> Value {
        let collapsed = go_json::decode(text).unwrap().value;
        let Value::Object(collapsed) = collapsed else {
            panic!("{text}")
        };
        Value::Object(views(text, &collapsed).unwrap().daemon)
    }

    fn merge_base(text: &str) -> Value {
        let Value::Object(collapsed) = go_json::decode(text).unwrap().value else {
            panic!("{text}")
        };
        Value::Object(views(text, &collapsed).unwrap().merge_base)
    }

    #[test]
    fn repeats_decode_into_what_the_field_holds() {
        let cases = [
            // map[string][]string: zones merged, a zone in both takes the later list.
            (
                r#"{"vswitches": {"a": ["vsw-1"], "b": ["vsw-2"]}, "vswitches": {"b": ["vsw-3"], "c": []}}"#,
                json!({"vswitches": {"a": ["vsw-1"], "b": ["vsw-3"], "c": []}}),
            ),
            // Inside one occurrence a repeated zone is replaced, too.
            (
                r#"{"vswitches": {"a": ["vsw-1", "vsw-2"], "a": ["vsw-3"]}}"#,
                json!({"vswitches": {"a": ["vsw-3"]}}),
            ),
            // null resets a map; what follows starts from nothing.
            (
                r#"{"vswitches": {"a": ["vsw-1"]}, "vswitches": null, "vswitches": {"b": ["vsw-2"]}}"#,
                json!({"vswitches": {"b": ["vsw-2"]}}),
            ),
            (
                r#"{"eni_tags": {"k1": "v1", "k2": "v2"}, "max_pool_size": 5, "eni_tags": {"k2": "w2"}}"#,
                json!({"eni_tags": {"k1": "v1", "k2": "w2"}, "max_pool_size": 5}),
            ),
            // map[string]struct: entries merged, a repeated entry replaced
            // whole (fresh zero value), members inside one entry merged.
            (
                r#"{"backoff_override": {"a": {"Steps": 1, "Factor": 2}}, "backoff_override": {"a": {"Steps": 3}, "b": {"Cap": 4, "Cap": null}}}"#,
                json!({"backoff_override": {"a": {"Steps": 3}, "b": {"Cap": 4}}}),
            ),
            // null is ignored by a plain field, resets a pointer one.
            (
                r#"{"max_pool_size": 5, "max_pool_size": null, "ip_warm_up_size": 3, "ip_warm_up_size": null}"#,
                json!({"max_pool_size": 5, "ip_warm_up_size": null}),
            ),
            // A slice takes the new length; elements decode into the old ones.
            (
                r#"{"security_groups": ["sg-1", "sg-2"], "security_groups": [null]}"#,
                json!({"security_groups": ["sg-1"]}),
            ),
            (
                r#"{"extra_routes": [{"dst": "10.0.0.0/8"}], "extra_routes": [{"x": 1}, {"dst": "b"}]}"#,
                json!({"extra_routes": [{"dst": "10.0.0.0/8", "x": 1}, {"dst": "b"}]}),
            ),
            (
                r#"{"security_groups": ["sg-1"], "security_groups": []}"#,
                json!({"security_groups": []}),
            ),
            // Keys no field takes, and key spellings the daemon does not
            // match, are replaced.
            (
                r#"{"x": {"a": 1}, "x": {"b": 2}, "VSwitches": {"a": []}, "VSwitches": {"b": []}}"#,
                json!({"x": {"b": 2}, "VSwitches": {"b": []}}),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(daemon(text), want, "{text}");
        }
    }

    #[test]
    fn a_merge_patch_base_keeps_the_last_top_level_occurrence() {
        let text = r#"{"vswitches": {"a": ["vsw-1"]}, "vswitches": {"b": ["vsw-2"], "b": ["vsw-3"]}, "backoff_override": {"x": {"Steps": 1, "Steps": null}}}"#;
        assert_eq!(
            merge_base(text),
            json!({"vswitches": {"b": ["vsw-3"]}, "backoff_override": {"x": {"Steps": 1}}})
        );
    }
}
