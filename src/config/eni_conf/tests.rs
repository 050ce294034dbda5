use super::*;

#[test]
fn parse_errors_name_line_and_column() {
    let cases = [
        ("{\n  \"a\": 1,\n}", 3, "trailing comma"),
        (
            "{\n  \"version\": \"1\",  # v\n  \"b\": 2\n}",
            2,
            "comments",
        ),
        ("{'a': 1}", 1, "double quotes"),
        ("", 1, "unexpected end of JSON input"),
        ("[1]", 1, "cannot unmarshal array into Go value"),
        (
            "{\"a\": 1} x",
            1,
            "invalid character 'x' after top-level value",
        ),
    ];
    for (text, line, want) in cases {
        let err = EniConf::parse(text).unwrap_err();
        assert_eq!(err.line, line, "{text:?}");
        assert!(err.message.contains(want), "{text:?}: {}", err.message);
    }
}

#[test]
fn fields_match_like_the_daemon() {
    let conf = EniConf::parse(r#"{"max_pool_size": 5, "MAX_POOL_SIZE": 7}"#).unwrap();
    let entry = conf.get("max_pool_size").unwrap();
    assert_eq!(entry.key, "max_pool_size");
    assert_eq!(conf.int("max_pool_size"), Some(5));
    let conf = EniConf::parse(r#"{"max_pool_size": 5, "max_pool_size": 7}"#).unwrap();
    assert_eq!(conf.int("max_pool_size"), Some(7), "the last repeat wins");
    assert_eq!(conf.int("min_pool_size"), None);
    let conf = EniConf::parse(r#"{"max_pool_size": 5.0}"#).unwrap();
    assert_eq!(conf.int("max_pool_size"), None);
}

#[test]
fn earlier_repeats_of_secrets_are_secrets() {
    let conf = EniConf::parse(
        r#"{"access_secret": "TOPSECRET1", "access_secret": "", "x": {"token": "T2", "token": 1}}"#,
    )
    .unwrap();
    assert!(conf.has_inline_credentials());
    let values: Vec<String> = conf.secret_entries().map(|(_, v)| v.to_string()).collect();
    assert_eq!(values, ["\"\"", "\"TOPSECRET1\""]);
}

#[test]
fn lists_vswitches_with_paths() {
    let conf =
        EniConf::parse(r#"{"vswitches": {"cn-a": ["vsw-1", 3, "vsw-2"], "cn-b": null}}"#).unwrap();
    let listed = conf.vswitches();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].id, "vsw-2");
    assert_eq!(listed[1].index, 2);
    assert_eq!(
        listed[1].path().as_str(),
        r#"eni_conf.vswitches["cn-a"][2]"#
    );
}

#[test]
fn merge_follows_rfc7396() {
    let base =
        EniConf::parse(r#"{"a": 1, "vswitches": {"z1": ["vsw-1"], "z2": ["vsw-2"]}}"#).unwrap();
    let patch =
        EniConf::parse(r#"{"a": null, "b": 2, "vswitches": {"z1": null, "z3": ["vsw-3"]}}"#)
            .unwrap();
    let merged = base.merged(&patch);
    let want: Value =
        serde_json::from_str(r#"{"vswitches": {"z2": ["vsw-2"], "z3": ["vsw-3"]}, "b": 2}"#)
            .unwrap();
    assert_eq!(Value::Object(merged.doc), want);
}

/// The daemon's typed decode merges repeats (unlabelled nodes);
/// json-patch keeps the last top-level occurrence of the base and the
/// last occurrence of everything in a dynamic config (labelled nodes).
#[test]
fn repeats_read_as_each_reader_reads_them() {
    let base = EniConf::parse(
        r#"{"vswitches": {"a": ["vsw-1"]}, "max_pool_size": 5, "vswitches": {"b": ["vsw-2"]}, "max_pool_size": null}"#,
    )
    .unwrap();
    let ids: Vec<&str> = base.vswitches().iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["vsw-1", "vsw-2"]);
    assert_eq!(base.int("max_pool_size"), Some(5), "null keeps an int");
    let patch = EniConf::parse(r#"{"eni_tags": {"x": "1"}, "eni_tags": {"y": "2"}}"#).unwrap();
    let want: Value = serde_json::from_str(
        r#"{"vswitches": {"b": ["vsw-2"]}, "max_pool_size": null, "eni_tags": {"y": "2"}}"#,
    )
    .unwrap();
    assert_eq!(Value::Object(base.merged(&patch).doc), want);
    let as_patch = patch.as_merge_patch().unwrap();
    assert_eq!(
        as_patch
            .get("eni_tags")
            .unwrap()
            .value
            .as_object()
            .unwrap()
            .len(),
        1
    );
    assert!(base.merged(&as_patch) == base.merged(&patch));
    // The hash is of the last-wins value, as it always was.
    let last = EniConf::parse(r#"{"vswitches": {"b": ["vsw-2"]}, "max_pool_size": null}"#).unwrap();
    assert_eq!(base.normalized_sha256(), last.normalized_sha256());
    assert_eq!(last.as_merge_patch(), None);
}

/// What [`crate::config::typed::Views::merge_base`] says of the members
/// json-patch recurses into: read last-wins there, they merge the same.
#[test]
fn merging_into_a_repeating_base_agrees_with_json_patch() {
    use crate::config::{canonical::merge_patch, field_table::FIELDS, go_types::Kind};
    for f in FIELDS {
        assert!(
            !matches!(f.kind, Kind::Struct(_)),
            "{} is a struct: model json-patch's last-wins reading below the top level",
            f.name
        );
    }
    let base = r#"{"vswitches": {"a": ["vsw-1"], "a": ["vsw-2"], "b": ["vsw-3"], "b": null},
        "eni_tags": {"k": "1", "k": "2"},
        "backoff_override": {"x": {"Steps": 1}, "x": {"Duration": "1s"}}}"#;
    let patch = r#"{"vswitches": {"c": ["vsw-4"]}, "eni_tags": {"j": "3"},
        "backoff_override": {"y": {"Steps": 2}}}"#;
    let mut json_patch = go_json::decode(base).unwrap().value;
    merge_patch(&mut json_patch, &go_json::decode(patch).unwrap().value);
    let merged = EniConf::parse(base)
        .unwrap()
        .merged(&EniConf::parse(patch).unwrap());
    assert_eq!(Value::Object(merged.doc), json_patch);
}

#[test]
fn hash_ignores_formatting_and_key_order() {
    let a = EniConf::parse(r#"{"a": 1, "b": [1, 2]}"#).unwrap();
    let b = EniConf::parse("{\n \"b\": [1,2],\n \"a\": 1\n}").unwrap();
    let c = EniConf::parse(r#"{"a": 1, "b": [2, 1]}"#).unwrap();
    assert_eq!(a.normalized_sha256(), b.normalized_sha256());
    assert_ne!(a.normalized_sha256(), c.normalized_sha256());
    assert_eq!(a.normalized_sha256().len(), 64);
    // Pinned: the hash is stamped on objects and pod templates, so it
    // must not change between releases. Same as Python's
    // json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False).
    let d = EniConf::parse(
        r#"{"vswitches": {"cn-b": ["vsw-2"], "cn-a": ["vsw-1"]}, "max_pool_size": 5, "name": "x\"y é", "f": 1.5, "n": null, "t": true}"#,
    )
    .unwrap();
    assert_eq!(
        d.normalized_sha256(),
        "0e9bd3f71348ff1d5aa51c1e50b391647e61fe1d3248b02bc280ef79d4e21819"
    );
}
