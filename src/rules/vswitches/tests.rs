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
    let with = |f: &str, g: &str| {
        base(&format!(
            r#"{{"service_cidr": "172.16.0.0/16", "vswitches": {{"cn-shanghai-f": [{f}], "cn-shanghai-g": [{g}]}}}}"#
        ))
    };
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        (r#""vsw-f19""#, r#""vsw-g19""#, &[], &[]),
        (r#""vsw-f19""#, r#""vsw-g19", "vsw-g18""#, &[], &[]),
        (
            r#""vsw-f19", "vsw-nope""#,
            r#""vsw-g19""#,
            &["vswitch-exists"],
            &[],
        ),
        (
            r#""vsw-f19", "vsw-g18""#,
            r#""vsw-g19""#,
            &["vswitch-zone"],
            &[],
        ),
        (
            r#""vsw-f19", "vsw-f24""#,
            r#""vsw-g19""#,
            &["vswitch-prefix"],
            &[],
        ),
        (
            r#""vsw-f19", "vsw-other""#,
            r#""vsw-g19""#,
            &["vswitch-vpc"],
            &[],
        ),
        (
            r#""vsw-f19", "vsw-inside""#,
            r#""vsw-g19""#,
            &["vswitch-overlap"],
            &[],
        ),
        (
            r#""vsw-f19", "vsw-svc""#,
            r#""vsw-g19""#,
            &["vswitch-overlap"],
            &[],
        ),
    ];
    for (f, g, deny, warn) in cases {
        let got = update_with_facts(&old, &with(f, g));
        assert_denies(&got, deny);
        assert_warns(&got, warn);
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
