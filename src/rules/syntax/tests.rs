use crate::config::ConfigObject;
use crate::rules::Operation;
use crate::rules::testing::*;

#[test]
fn eni_conf_must_be_loadable() {
    type Case = (
        &'static [(&'static str, &'static str)],
        &'static [&'static str],
        &'static [&'static str],
    );
    let cases: &[Case] = &[
        (&[("eni_conf", "{}")], &[], &[]),
        (
            &[("disable_network_policy", "true")],
            &["eni-conf-json"],
            &[],
        ),
        (&[("eni_conf", "{\"a\": 1,}")], &["eni-conf-json"], &[]),
        (&[("eni_conf", "")], &["eni-conf-json"], &[]),
        // Read as `{}` (the base needs none of its keys to start), but no
        // dynamic config merges onto it: warned without an inventory.
        (&[("eni_conf", "null")], &[], &["eni-conf-json"]),
        (&[("eni_conf", " null\n")], &[], &["eni-conf-json"]),
        // Go accepts what serde_json refuses: a lone surrogate, deep nesting.
        (
            &[("eni_conf", r#"{"x": "\udc00"}"#)],
            &[],
            &["unknown-field"],
        ),
        (&[("eni_conf", r#"{"x": 1e400}"#)], &[], &["unknown-field"]),
        // jq 1.7.1 (hack/init.sh) refuses a lone high surrogate.
        (
            &[("eni_conf", r#"{"x": "\ud800"}"#)],
            &["eni-conf-json"],
            &["unknown-field"],
        ),
    ];
    for (data, deny, warn) in cases {
        let f = create(&base_with_cni(data));
        assert_denies(&f, deny);
        assert_warns(&f, warn);
    }
}

#[test]
fn disable_network_policy_as_terway_init_reads_it() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("true", &[], &[]),
        ("false", &[], &[]),
        ("0", &[], &["disable-network-policy"]),
        ("", &[], &["disable-network-policy"]),
        ("no", &["disable-network-policy"], &[]),
        ("False", &["disable-network-policy"], &[]),
        ("off", &["disable-network-policy"], &[]),
        ("false\n", &["disable-network-policy"], &[]),
        ("yes", &[], &["disable-network-policy"]),
        ("True", &[], &["disable-network-policy"]),
    ];
    for (value, deny, warn) in cases {
        let f = create(&base_with_cni(&[
            ("eni_conf", "{}"),
            ("disable_network_policy", value),
        ]));
        assert_denies(&f, deny);
        assert_warns(&f, warn);
    }
}

#[test]
fn valid_json_is_never_called_invalid() {
    let cases: &[(&str, &str)] = &[
        ("[1]", "cannot unmarshal array into Go value"),
        ("\"x\"", "cannot unmarshal string into Go value"),
        (
            "{\"a\": 1,}",
            "not valid JSON at line 1 column 9: invalid character '}'",
        ),
    ];
    for (text, want) in cases {
        let f = create(&base(text));
        let msg = message(&f, "eni-conf-json");
        assert!(msg.contains(want), "{text}: {msg}");
        let valid = serde_json::from_str::<serde_json::Value>(text).is_ok();
        assert_eq!(msg.contains("not valid JSON"), !valid, "{text}: {msg}");
    }
}

#[test]
fn null_breaks_only_a_dynamic_config() {
    let f = create(&dynamic("x", "null"));
    assert_denies(&f, &["eni-conf-json"]);
    assert!(message(&f, "eni-conf-json").contains("Invalid JSON Patch"));
    assert_denies(&create(&dynamic("x", "{}")), &[]);
}

#[test]
fn a_null_base_refuses_every_dynamic_config_merged_onto_it() {
    // (base eni_conf, old dynamic eni_conf, new dynamic eni_conf, denied)
    let cases: [(&str, Option<&str>, &str, &[&str]); 6] = [
        ("null", None, r#"{"max_pool_size": 5}"#, &["eni-conf-json"]),
        ("null", None, "{}", &["eni-conf-json"]),
        // An empty eni_conf is not merged: the base alone decodes.
        ("null", None, "", &[]),
        // From "no dynamic config" to one: the edit is what breaks.
        ("null", Some(""), "{}", &["eni-conf-json"]),
        // Already merged (and refused) before: not this edit's doing.
        ("null", Some("{}"), r#"{"max_pool_size": 5}"#, &[]),
        ("{}", None, r#"{"max_pool_size": 5}"#, &[]),
    ];
    for (b, old, new, deny) in cases {
        let base = base(b);
        let new = dynamic("eni-config-node1", new);
        let old = old.map(|o| dynamic("eni-config-node1", o));
        let op = if old.is_some() {
            Operation::Update
        } else {
            Operation::Create
        };
        let f = run(op, Some(&new), old.as_ref(), Some(&base), None);
        assert_denies(&f, deny);
        if !deny.is_empty() {
            assert!(message(&f, "eni-conf-json").contains("ErrBadJSONDoc"));
        }
    }
}

#[test]
fn a_null_base_breaks_the_nodes_labelled_for_a_dynamic_config() {
    let labelled = dynamic("eni-config-node1", "{}");
    let with_labels = facts_for(&[&labelled]);
    let mut without_labels = facts_for(&[]);
    let unlabelled: Vec<_> = without_labels
        .nodes
        .iter()
        .filter(|n| n.config.is_none())
        .cloned()
        .collect();
    without_labels.set_nodes(unlabelled);
    let was = base(r#"{"max_pool_size": 5}"#);
    let null = base("null");
    // (old, facts, denied, warned)
    type Case<'a> = (
        &'a ConfigObject,
        Option<&'a crate::inventory::Facts>,
        &'a [&'a str],
        &'a [&'a str],
    );
    let cases: [Case; 4] = [
        (&was, Some(&with_labels), &["eni-conf-json"], &[]),
        (&was, Some(&without_labels), &[], &[]),
        (&was, None, &[], &["eni-conf-json"]),
        // Null before as well: not this edit's doing.
        (&null, Some(&with_labels), &[], &["eni-conf-json"]),
    ];
    for (old, facts, deny, warn) in cases {
        let f = run(Operation::Update, Some(&null), Some(old), None, facts);
        let f: Vec<_> = f.into_iter().filter(|f| f.rule != "service-cidr").collect();
        assert_denies(&f, deny);
        assert_warns(&f, warn);
    }
}

#[test]
fn nesting_as_go_and_jq_count_it() {
    // jq 1.7.1 refuses to open a container on a full parse stack of 256
    // entries (an array takes one, an object two: the key); Go stops past
    // 10000 containers.
    let arrays = |n: usize| format!(r#"{{"x": {}{}}}"#, "[".repeat(n), "]".repeat(n));
    let cases: &[(String, bool, &str)] = &[
        (arrays(254), false, ""),
        (arrays(255), true, "Exceeds depth limit"),
        (arrays(9_999), true, "Exceeds depth limit"),
        (arrays(10_000), true, "exceeded max depth"),
    ];
    for (text, denied, want) in cases {
        let f = create(&base(text));
        if *denied {
            assert_denies(&f, &["eni-conf-json"]);
            assert!(message(&f, "eni-conf-json").contains(want), "{want}");
        } else {
            assert_denies(&f, &[]);
        }
    }
}

#[test]
fn empty_dynamic_config_means_none() {
    let f = create(&dynamic("empty", ""));
    assert!(f.iter().all(|f| f.rule == "inventory-missing"), "{f:#?}");
    let mut d = dynamic("x", "{}");
    d.data.insert("disable_network_policy".into(), "no".into());
    let f = create(&d);
    assert_denies(&f, &[]);
    assert_warns(&f, &["dynamic-base-only"]);
}

#[test]
fn json_error_names_line_and_column() {
    let cm = base("{\n  \"version\": \"1\",  # version\n  \"max_pool_size\": 5\n}");
    let f = create(&cm);
    let msg = &f
        .iter()
        .find(|f| f.rule == "eni-conf-json")
        .unwrap()
        .message;
    assert!(msg.contains("line 2 column"), "{msg}");
    assert!(msg.contains("comments"), "{msg}");
}
