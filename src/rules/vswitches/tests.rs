use crate::rules::testing::*;

const OLD: &str = r#"{"service_cidr": "172.16.0.0/16", "vswitches": {"cn-shanghai-f": ["vsw-f19"], "cn-shanghai-g": ["vsw-g19"]}}"#;

#[test]
fn listing_rules_without_inventory() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        (r#"{"vswitches": {"cn-a": ["vsw-abc1"]}}"#, &[], &[]),
        (
            r#"{"vswitches": {"cn-a": ["vsw-ABC"]}}"#,
            &["vswitch-id"],
            &[],
        ),
        (
            r#"{"vswitches": {"cn-a": ["sw-abc"]}}"#,
            &["vswitch-id"],
            &[],
        ),
        (r#"{"vswitches": {"cn-a": ["vsw-"]}}"#, &["vswitch-id"], &[]),
        (r#"{"vswitches": {"": ["vsw-a"]}}"#, &[], &["vswitch-id"]),
        (
            r#"{"vswitches": {"cn-a": ["vsw-a", "vsw-a"]}}"#,
            &[],
            &["vswitch-duplicate"],
        ),
        (
            r#"{"vswitches": {"cn-a": ["vsw-a"], "cn-b": ["vsw-a"]}}"#,
            &["vswitch-zones"],
            &[],
        ),
    ];
    assert_base_cases(cases);
}

#[test]
fn inventory_rules_on_update() {
    let old = base(OLD);
    // Each zone keeps its listed vSwitch and may gain one more.
    let list = |kept: &str, added: &str| match added {
        "" => format!(r#""{kept}""#),
        added => format!(r#""{kept}", "{added}""#),
    };
    let with = |f: &str, g: &str| {
        let (f, g) = (list("vsw-f19", f), list("vsw-g19", g));
        base(&format!(
            r#"{{"service_cidr": "172.16.0.0/16", "vswitches": {{"cn-shanghai-f": [{f}], "cn-shanghai-g": [{g}]}}}}"#
        ))
    };
    // (added to cn-shanghai-f, added to cn-shanghai-g, denied); none warns.
    let cases: &[(&str, &str, &[&str])] = &[
        ("", "", &[]),
        ("", "vsw-g18", &[]),
        ("vsw-nope", "", &["vswitch-exists"]),
        ("vsw-g18", "", &["vswitch-zone"]),
        ("vsw-f24", "", &["vswitch-prefix"]),
        ("vsw-other", "", &["vswitch-vpc"]),
        ("vsw-inside", "", &["vswitch-overlap"]),
        ("vsw-svc", "", &["vswitch-overlap"]),
    ];
    for (f, g, deny) in cases {
        let got = update_with_facts(&old, &with(f, g));
        assert_denies(&got, deny);
        assert_warns(&got, &[]);
    }
}

#[test]
fn small_vswitches_already_present_only_warn() {
    let small = base(r#"{"vswitches": {"cn-shanghai-f": ["vsw-f19", "vsw-f24"]}}"#);
    let got = update_with_facts(&small, &small);
    assert_denies(&got, &[]);
    assert_warns(&got, &["vswitch-prefix"]);
    let got = create_with_facts(&small);
    assert_denies(&got, &[]);
    assert_warns(&got, &["vswitch-prefix"]);
}

#[test]
fn a_list_under_an_empty_zone_is_never_read() {
    // (listing, denied, warned): Terway never looks up zone "".
    let cases: &[(&str, &[&str], &[&str])] = &[
        (r#"{"": ["vsw-f19"]}"#, &[], &["vswitch-id"]),
        (r#"{"": ["vsw-nosuch1"]}"#, &[], &["vswitch-id"]),
        (
            r#"{"": ["vsw-g18"], "cn-shanghai-g": ["vsw-g18"]}"#,
            &[],
            &["vswitch-id"],
        ),
        (r#"{"cn-shanghai-f": ["vsw-g18"]}"#, &["vswitch-zone"], &[]),
    ];
    for (listing, deny, warn) in cases {
        let got = create_with_facts(&base(&format!(r#"{{"vswitches": {listing}}}"#)));
        assert_denies(&got, deny);
        assert_warns(&got, warn);
    }
}

#[test]
fn zone_message_names_both_zones() {
    let got = create_with_facts(&base(r#"{"vswitches": {"cn-shanghai-f": ["vsw-g18"]}}"#));
    let m = message(&got, "vswitch-zone");
    assert!(
        m.contains("cn-shanghai-g") && m.contains("cn-shanghai-f"),
        "{m}"
    );
}

#[test]
fn failed_lookups_deny_only_what_is_added() {
    use crate::inventory::Lookup;
    use crate::rules::Operation;
    let old = base(r#"{"vswitches": {"cn-shanghai-f": ["vsw-f19"]}}"#);
    let new = base(r#"{"vswitches": {"cn-shanghai-f": ["vsw-f19", "vsw-new1"]}}"#);
    let mut facts = facts_for(&[&old, &new]);
    for v in facts.vswitches.values_mut() {
        *v = Lookup::Failed("timeout".into());
    }
    let got = run(
        Operation::Update,
        Some(&new),
        Some(&old),
        None,
        Some(&facts),
    );
    assert_denies(&got, &["vswitch-lookup"]);
    assert_warns(&got, &["vswitch-lookup"]);
    assert_eq!(got.iter().filter(|f| f.rule == "vswitch-lookup").count(), 2);
}

#[test]
fn a_dynamic_config_filled_in_adds_only_what_it_lists() {
    // The base lists a /24 (vswitch-prefix denies one an UPDATE adds).
    let b =
        base(r#"{"service_cidr": "172.20.0.0/16", "vswitches": {"cn-shanghai-f": ["vsw-f24"]}}"#);
    let cases: &[(&str, &str, &[&str])] = &[
        ("", r#"{"max_pool_size": 5}"#, &[]),
        ("{}", r#"{"max_pool_size": 5}"#, &[]),
        ("not json", r#"{"max_pool_size": 5}"#, &[]),
        (
            "",
            r#"{"vswitches": {"cn-shanghai-f": ["vsw-f24", "vsw-f19"]}}"#,
            &[],
        ),
        (
            "",
            r#"{"vswitches": {"cn-shanghai-g": ["vsw-g19", "vsw-f19"]}}"#,
            &["vswitch-zone"],
        ),
    ];
    for (old, new, want) in cases {
        let old = dynamic("big-pool", old);
        let new = dynamic("big-pool", new);
        let facts = facts_for(&[&b, &old, &new]);
        use crate::rules::Operation;
        let update = run(
            Operation::Update,
            Some(&new),
            Some(&old),
            Some(&b),
            Some(&facts),
        );
        let create = run(Operation::Create, Some(&new), None, Some(&b), Some(&facts));
        assert_denies(&update, want);
        assert_denies(&create, want);
    }
}
