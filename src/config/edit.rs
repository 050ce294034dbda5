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
    // Go lets the last key matching "vswitches" case-insensitively win.
    let Some((_, vsw)) = fields
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case("vswitches"))
    else {
        return Some(insert_member(
            text,
            &root,
            &format!("{}: {{{}: [{item}]}}", quote("vswitches"), quote(zone)),
        ));
    };
    if matches!(vsw.node, Node::Scalar) {
        // `"vswitches": null` reads as empty: replace the null.
        return Some(splice(
            text,
            vsw.span.clone(),
            &format!("{{{}: [{item}]}}", quote(zone)),
        ));
    }
    let Node::Object(zones) = &vsw.node else {
        return None;
    };
    match zones.iter().rev().find(|(k, _)| k == zone) {
        None => Some(insert_member(
            text,
            vsw,
            &format!("{}: [{item}]", quote(zone)),
        )),
        Some((_, list)) => match &list.node {
            Node::Array(items) => Some(match items.last() {
                Some(last) => splice(text, last.span.end..last.span.end, &format!(", {item}")),
                None => splice(text, list.span.start + 1..list.span.start + 1, &item),
            }),
            Node::Scalar => Some(splice(text, list.span.clone(), &format!("[{item}]"))),
            Node::Object(_) | Node::Deep => None,
        },
    }
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
            (
                r#"{"VSwitches": {"z": ["vsw-a"]}}"#,
                r#"{"VSwitches": {"z": ["vsw-a", "vsw-new"]}}"#,
            ),
        ];
        for (text, want) in cases {
            let got = append_vswitch(text, "z", "vsw-new").unwrap();
            assert_eq!(got, want);
            assert!(serde_json::from_str::<serde_json::Value>(&got).is_ok());
        }
        assert_eq!(append_vswitch("[1]", "z", "vsw-new"), None);
        assert_eq!(
            append_vswitch(r#"{"vswitches": {"z": {"a": 1}}}"#, "z", "vsw-new"),
            None
        );
    }
}
