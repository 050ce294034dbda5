//! Text edits of `eni_conf` that keep every other byte as the user wrote it.

use super::path::quote;
use super::spans::{self, Node, Spanned};

/// `text` with `id` appended to `zone`'s vSwitch list (creating the zone, or
/// `vswitches` itself, when absent). `None` if `text` is not a JSON object.
pub fn append_vswitch(text: &str, zone: &str, id: &str) -> Option<String> {
    let root = spans::scan(text)?;
    let Node::Object(fields) = &root.node else {
        return None;
    };
    let item = quote(id);
    let Some(vsw) = vswitches(fields) else {
        return Some(insert_member(
            text,
            &root,
            &format!("{}: {{{}: [{item}]}}", quote("vswitches"), quote(zone)),
        ));
    };
    let Some(list) = zone_list(&root, zone) else {
        return match &vsw.node {
            // `"vswitches": null` reads as empty: replace the null.
            Node::Scalar => Some(splice(
                text,
                vsw.span.clone(),
                &format!("{{{}: [{item}]}}", quote(zone)),
            )),
            Node::Object(_) => Some(insert_member(
                text,
                vsw,
                &format!("{}: [{item}]", quote(zone)),
            )),
            Node::Array(_) | Node::Deep => None,
        };
    };
    match &list.node {
        Node::Array(items) => Some(match items.last() {
            Some(last) => splice(text, last.span.end..last.span.end, &format!(", {item}")),
            None => splice(text, list.span.start + 1..list.span.start + 1, &item),
        }),
        Node::Scalar => Some(splice(text, list.span.clone(), &format!("[{item}]"))),
        Node::Object(_) | Node::Deep => None,
    }
}

/// The member Terway reads its vSwitches from: the last key spelled exactly
/// `vswitches`. The daemon and the controlplane decode `eni_conf` with
/// k8s.io/apimachinery/pkg/util/json, whose keys are case-sensitive
/// (sigs.k8s.io/json `UnmarshalCaseSensitivePreserveInts`), in
/// types/daemon/config.go `MergeConfigAndUnmarshal` (AliyunContainerService/
/// terway@89aadf8; daemon/config.go and pkg/eni/node_reconcile.go read
/// `VSwitches` from it). `encoding/json` would also take a key that folds to
/// it (decode.go: `byExactName`, else `byFoldedName[foldName(key)]`; `ſ`
/// folds to `s`), but its one Terway reader, terway-init's
/// cmd/terway-cli/node.go, never reads `VSwitches`: an id appended under
/// `VSwitches` or `vſwitches` would reach no Terway code.
fn vswitches(fields: &[(String, Spanned)]) -> Option<&Spanned> {
    members(fields).last()
}

fn members(fields: &[(String, Spanned)]) -> impl Iterator<Item = &Spanned> {
    fields
        .iter()
        .filter(|(k, _)| k == "vswitches")
        .map(|(_, v)| v)
}

/// The value the daemon takes `zone`'s vSwitch list from: its last
/// occurrence in any exact `vswitches` member after the last `null` one.
/// The daemon's typed decode merges repeated `vswitches` maps (sigs.k8s.io/json
/// decode.go `object`: a non-nil map is decoded into, each entry replaced
/// whole), and a `null` resets the map (`literalStore`), see
/// [`super::typed`]. `None` when the daemon lists no such zone.
pub fn zone_list<'a>(root: &'a Spanned, zone: &str) -> Option<&'a Spanned> {
    let Node::Object(fields) = &root.node else {
        return None;
    };
    members(fields).fold(None, |found, member| match &member.node {
        Node::Object(zones) => zones
            .iter()
            .rev()
            .find(|(k, _)| k == zone)
            .map(|(_, v)| v)
            .or(found),
        // null resets the map; anything else fails the decode.
        _ => None,
    })
}

/// Inserts `member` (`"key": value`) as the last member of the object `obj`.
fn insert_member(text: &str, obj: &Spanned, member: &str) -> String {
    match &obj.node {
        Node::Object(fields) if !fields.is_empty() => {
            let end = fields[fields.len() - 1].1.span.end;
            splice(text, end..end, &format!(", {member}"))
        }
        _ => splice(text, obj.span.start + 1..obj.span.start + 1, member),
    }
}

fn splice(text: &str, range: std::ops::Range<usize>, with: &str) -> String {
    format!("{}{with}{}", &text[..range.start], &text[range.end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_keeping_everything_else() {
        let cases = [
            (
                "{\n  \"vswitches\": {\"z\": [\"vsw-a\"]},\n  \"n\": 1.50\n}",
                "{\n  \"vswitches\": {\"z\": [\"vsw-a\", \"vsw-new\"]},\n  \"n\": 1.50\n}",
            ),
            (
                r#"{"vswitches": {"z": []}}"#,
                r#"{"vswitches": {"z": ["vsw-new"]}}"#,
            ),
            (
                r#"{"vswitches": {"y": ["vsw-b"]}}"#,
                r#"{"vswitches": {"y": ["vsw-b"], "z": ["vsw-new"]}}"#,
            ),
            (
                r#"{"vswitches": {}}"#,
                r#"{"vswitches": {"z": ["vsw-new"]}}"#,
            ),
            (
                r#"{"max_pool_size": 5}"#,
                r#"{"max_pool_size": 5, "vswitches": {"z": ["vsw-new"]}}"#,
            ),
            (r#"{}"#, r#"{"vswitches": {"z": ["vsw-new"]}}"#),
            (
                r#"{"vswitches": null}"#,
                r#"{"vswitches": {"z": ["vsw-new"]}}"#,
            ),
            (
                r#"{"vswitches": {"z": null}}"#,
                r#"{"vswitches": {"z": ["vsw-new"]}}"#,
            ),
            // Keys as Go decodes them: escapes, lone surrogates (U+FFFD).
            (
                r#"{"vswitch\u0065s": {"z": ["vsw-a"]}}"#,
                r#"{"vswitch\u0065s": {"z": ["vsw-a", "vsw-new"]}}"#,
            ),
            (
                r#"{"\ud800": "\udc00", "vswitches": {"\u007a": []}}"#,
                r#"{"\ud800": "\udc00", "vswitches": {"\u007a": ["vsw-new"]}}"#,
            ),
        ];
        for (text, want) in cases {
            let got = append_vswitch(text, "z", "vsw-new").unwrap();
            assert_eq!(got, want);
            assert!(crate::config::go_json::decode(&got).is_ok(), "{got}");
        }
        assert_eq!(append_vswitch("[1]", "z", "vsw-new"), None);
        assert_eq!(
            append_vswitch(r#"{"vswitches": {"z": {"a": 1}}}"#, "z", "vsw-new"),
            None
        );
    }

    /// Only `vswitches` spelled exactly is Terway's list (the daemon's keys
    /// are case-sensitive): a folded spelling (`VSwitches`, `vſwitches` with
    /// U+017F, which `encoding/json` would fold to it) is left alone, and
    /// where several exact ones are repeated, the last is the one read.
    #[test]
    fn appends_to_the_key_the_daemon_reads() {
        let cases = [
            (
                r#"{"VSwitches": {"z": ["vsw-a"]}}"#,
                r#"{"VSwitches": {"z": ["vsw-a"]}, "vswitches": {"z": ["vsw-new"]}}"#,
            ),
            (
                "{\"vſwitches\": {\"z\": [\"vsw-a\"]}}",
                "{\"vſwitches\": {\"z\": [\"vsw-a\"]}, \"vswitches\": {\"z\": [\"vsw-new\"]}}",
            ),
            (
                "{\"vswitches\": {\"z\": [\"vsw-a\"]}, \"vſwitches\": {\"z\": [\"vsw-b\"]}}",
                "{\"vswitches\": {\"z\": [\"vsw-a\", \"vsw-new\"]}, \"vſwitches\": {\"z\": [\"vsw-b\"]}}",
            ),
            (
                r#"{"VSWITCHES": {"z": ["vsw-b"]}, "vswitches": {"z": ["vsw-a"]}}"#,
                r#"{"VSWITCHES": {"z": ["vsw-b"]}, "vswitches": {"z": ["vsw-a", "vsw-new"]}}"#,
            ),
            (
                r#"{"vswitches": {"z": ["vsw-a"]}, "vswitches": {"z": ["vsw-b"]}}"#,
                r#"{"vswitches": {"z": ["vsw-a"]}, "vswitches": {"z": ["vsw-b", "vsw-new"]}}"#,
            ),
            // The daemon merges repeated vswitches maps: the zone's list is
            // its last occurrence, in whichever member that is.
            (
                r#"{"vswitches": {"z": ["vsw-a"]}, "vswitches": {"y": ["vsw-b"]}}"#,
                r#"{"vswitches": {"z": ["vsw-a", "vsw-new"]}, "vswitches": {"y": ["vsw-b"]}}"#,
            ),
            (
                r#"{"vswitches": {"z": ["vsw-a"], "z": null}, "vswitches": {"y": []}}"#,
                r#"{"vswitches": {"z": ["vsw-a"], "z": ["vsw-new"]}, "vswitches": {"y": []}}"#,
            ),
            (
                r#"{"vswitches": {"y": ["vsw-b"]}, "vswitches": {"x": []}}"#,
                r#"{"vswitches": {"y": ["vsw-b"]}, "vswitches": {"x": [], "z": ["vsw-new"]}}"#,
            ),
            // null resets the map: what came before is not the daemon's.
            (
                r#"{"vswitches": {"z": ["vsw-a"]}, "vswitches": null}"#,
                r#"{"vswitches": {"z": ["vsw-a"]}, "vswitches": {"z": ["vsw-new"]}}"#,
            ),
            (
                r#"{"vswitches": {"z": ["vsw-a"]}, "vswitches": null, "vswitches": {"y": []}}"#,
                r#"{"vswitches": {"z": ["vsw-a"]}, "vswitches": null, "vswitches": {"y": [], "z": ["vsw-new"]}}"#,
            ),
        ];
        for (text, want) in cases {
            let got = append_vswitch(text, "z", "vsw-new").unwrap();
            assert_eq!(got, want);
            // The daemon's view is the old one with the new id last in z.
            let zones = |t: &str| {
                let conf = crate::config::EniConf::parse(t).unwrap();
                conf.get("vswitches").map(|e| e.value.clone())
            };
            let mut expect = zones(text).filter(|v| v.is_object()).unwrap_or_default();
            let list = &mut expect["z"];
            if !list.is_array() {
                *list = serde_json::json!([]);
            }
            if let Some(ids) = list.as_array_mut() {
                ids.push("vsw-new".into());
            }
            assert_eq!(zones(&got), Some(expect), "{text}");
        }
        // The spellings left alone are ones encoding/json would fold.
        for k in ["VSwitches", "vſwitches", "VSWITCHES"] {
            assert!(crate::config::go_json::fold_eq(k, "vswitches"), "{k}");
        }
    }

    /// Texts only Go's decoder reads (lone surrogates, nesting past serde's
    /// and jq's limits, up to Go's) are edited too, every other byte kept.
    #[test]
    fn appends_to_texts_only_go_reads() {
        let nest = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let cases = [
            (r#""\ud800": 1"#.to_string(), true),
            (r#""x": "\ud800\u0041""#.to_string(), true),
            (format!(r#""x": {}"#, nest(300)), true),
            // With the root object and `x`'s lists, 10000 levels: Go's limit.
            (format!(r#""x": {}"#, nest(9_999)), true),
            (format!(r#""x": {}"#, nest(10_000)), false),
        ];
        for (member, go_reads) in cases {
            let text = format!(r#"{{{member}, "vswitches": {{"z": ["vsw-a"]}}}}"#);
            let name: String = member.chars().take(30).collect();
            assert_eq!(
                crate::config::EniConf::parse(&text).is_ok(),
                go_reads,
                "{name}"
            );
            let got = append_vswitch(&text, "z", "vsw-new");
            let want = format!(r#"{{{member}, "vswitches": {{"z": ["vsw-a", "vsw-new"]}}}}"#);
            assert_eq!(got, go_reads.then_some(want), "{name}");
        }
    }
}
