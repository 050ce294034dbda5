//! Table tests of the single-field rules: Go types as each reader decodes
//! them, names, versions, credentials.

use crate::config::Version;
use crate::rules::testing::*;
use crate::rules::{Input, Operation, Settings, evaluate};

#[test]
fn field_rules() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        (r#"{"max_pool_size": 5}"#, &[], &[]),
        (r#"{"max_pool_size": "80"}"#, &["field-type"], &[]),
        (r#"{"max_pool_size": 8.5}"#, &["field-type"], &[]),
        (r#"{"enable_erdma": "true"}"#, &["field-type"], &[]),
        (r#"{"vswitches": {"cn-a": "vsw-1"}}"#, &["field-type"], &[]),
        (r#"{"eni_cap_ratio": 0.5, "kube_client_qps": 20}"#, &[], &[]),
        (r#"{"max_pool_sise": 5}"#, &[], &["unknown-field"]),
        (r#"{"eni_cap_policy": "x"}"#, &[], &["unknown-field"]),
        (r#"{"Max_Pool_Size": 5}"#, &[], &["field-case"]),
        // Go's decoders, not serde_json: an earlier wrong-typed repeat
        // fails (saveError); -0 is an int; float32 rounds before it
        // overflows; 1e400 fails a float64 only.
        (
            r#"{"max_pool_size": "5", "max_pool_size": 5}"#,
            &["field-type"],
            &[],
        ),
        (r#"{"max_pool_size": 5, "max_pool_size": 6}"#, &[], &[]),
        (r#"{"eni_tags": {"a": 1, "a": "x"}}"#, &["field-type"], &[]),
        (r#"{"max_pool_size": -0}"#, &[], &[]),
        (r#"{"max_pool_size": -0.0}"#, &["field-type"], &[]),
        (r#"{"kube_client_qps": 3.4028235e38}"#, &[], &[]),
        (r#"{"kube_client_qps": 3.5e38}"#, &["field-type"], &[]),
        (r#"{"eni_cap_ratio": 1e400}"#, &["field-type"], &[]),
        (r#"{"eni_cap_ratio": 1e308}"#, &[], &[]),
        (r#"{"junk": 1e400}"#, &[], &["unknown-field"]),
        (
            r#"{"backoff_override": {"x": {"Factor": 1e400}}}"#,
            &["field-type"],
            &[],
        ),
        // terway-init folds keys by Unicode rules: ſ is s, K is k.
        (
            r#"{"max_pool_\u017fize": "5"}"#,
            &["field-type"],
            &["field-case"],
        ),
        (r#"{"\u212aube_client_burst": 5}"#, &[], &["field-case"]),
        (
            r#"{"Max_Pool_Size": "5"}"#,
            &["field-type"],
            &["field-case"],
        ),
        (
            r#"{"eni_tag_block_list": [{"key": "k", "value": "v"}]}"#,
            &[],
            &[],
        ),
        (r#"{"eni_tag_block_list": ["k=v"]}"#, &["field-type"], &[]),
        (r#"{"extra_routes": [{"dst": "10.0.0.0/8"}]}"#, &[], &[]),
        (r#"{"extra_routes": [{"DST": 1}]}"#, &["field-type"], &[]),
        (
            r#"{"backoff_override": {"eni_ops": {"Duration": "1s"}}}"#,
            &["field-type"],
            &[],
        ),
        (
            r#"{"security_group": "sg-abc123", "security_groups": ["sg-def456"]}"#,
            &[],
            &[],
        ),
        (r#"{"security_group": "sgabc"}"#, &["security-group"], &[]),
        (
            r#"{"security_groups": ["sg-1","sg-2","sg-3","sg-4","sg-5","sg-6","sg-7","sg-8","sg-9","sg-10","sg-11"]}"#,
            &["security-group"],
            &[],
        ),
        (
            r#"{"security_group": "sg-1", "security_groups": ["sg-1","sg-2","sg-3","sg-4","sg-5","sg-6","sg-7","sg-8","sg-9","sg-10"]}"#,
            &[],
            &[],
        ),
        (
            r#"{"security_group": "sg-0", "security_groups": ["sg-1","sg-2","sg-3","sg-4","sg-5","sg-6","sg-7","sg-8","sg-9","sg-10"]}"#,
            &["security-group"],
            &[],
        ),
        (r#"{"eni_tags": {"team": "net"}}"#, &[], &[]),
        (r#"{"eni_tags": {"creator": "me"}}"#, &[], &["eni-tags"]),
        (r#"{"eni_tags": {"aliyun-x": "y"}}"#, &["eni-tags"], &[]),
        (r#"{"eni_tags": {"acs:x": "y"}}"#, &["eni-tags"], &[]),
        (r#"{"eni_tags": {"": "y"}}"#, &["eni-tags"], &[]),
        (
            r#"{"access_key": "AKID1234", "access_secret": "s3cr3t-value"}"#,
            &[],
            &["inline-credentials"],
        ),
    ];
    assert_base_cases(cases);
    let long_tag = format!(r#"{{"eni_tags": {{"k": "{}"}}}}"#, "v".repeat(129));
    assert_denies(&create(&base(&long_tag)), &["eni-tags"]);
    let tags: Vec<String> = (0..20).map(|i| format!("\"t{i}\": \"v\"")).collect();
    let many = format!(r#"{{"eni_tags": {{{}}}}}"#, tags.join(","));
    assert_denies(&create(&base(&many)), &["eni-tags"]);
}

#[test]
fn junk_keys_cost_little_and_say_little() {
    let keys: Vec<String> = (0..5000).map(|i| format!("\"junk_{i}\": {i}")).collect();
    let f = create(&base(&format!("{{{}}}", keys.join(","))));
    let unknown: Vec<_> = f.iter().filter(|f| f.rule == "unknown-field").collect();
    assert_eq!(unknown.len(), 21, "20 explained and one count");
    assert!(
        unknown[20].message.contains("4980 more"),
        "{:?}",
        unknown[20]
    );
    let tags: Vec<String> = (0..300).map(|i| format!("\"aliyun{i}\": \"v\"")).collect();
    let f = create(&base(&format!(r#"{{"eni_tags": {{{}}}}}"#, tags.join(","))));
    let denied: Vec<_> = f.iter().filter(|f| f.rule == "eni-tags").collect();
    assert_eq!(denied.len(), 21, "{denied:#?}");
    assert!(denied[20].message.contains("more eni-tags findings"));
}

#[test]
fn case_variants_only_break_the_base() {
    let f = create(&dynamic("x", r#"{"Max_Pool_Size": "5"}"#));
    assert_denies(&f, &[]);
    assert_warns(&f, &["field-case"]);
}

#[test]
fn repeats_only_break_the_base() {
    // MergePatch decodes a dynamic config into Go maps first, which keep
    // the last repeat (evanphx/json-patch merge.go); a float64 overflow
    // still reaches the daemon's typed decode.
    let f = create(&dynamic(
        "x",
        r#"{"max_pool_size": "5", "max_pool_size": 5}"#,
    ));
    assert_denies(&f, &[]);
    let f = create(&base(r#"{"max_pool_size": "5", "max_pool_size": 5}"#));
    assert!(
        message(&f, "field-type").contains("earlier occurrence"),
        "{f:#?}"
    );
    let f = create(&dynamic("x", r#"{"eni_cap_ratio": 1e400}"#));
    assert_denies(&f, &["field-type"]);
    assert!(message(&f, "field-type").contains("1e400"), "{f:#?}");
    // An overflow reaches the daemon only from the occurrence MergePatch
    // keeps, the last one, at any depth.
    // (dynamic eni_conf, whether its last occurrence overflows)
    let cases = [
        (r#"{"eni_cap_ratio": 1e400, "eni_cap_ratio": 1}"#, false),
        (r#"{"eni_cap_ratio": 1, "eni_cap_ratio": 1e400}"#, true),
        (r#"{"eni_cap_ratio": 1e400, "eni_cap_ratio": 2e400}"#, true),
        (
            r#"{"backoff_override": {"x": {"Factor": 1e400, "Factor": 2}}}"#,
            false,
        ),
        (
            r#"{"backoff_override": {"x": {"Factor": 1e400}}, "backoff_override": {}}"#,
            false,
        ),
        (
            r#"{"backoff_override": {"x": {"Factor": 2, "Factor": 1e400}}}"#,
            true,
        ),
    ];
    for (conf, overflows) in cases {
        let deny: &[&str] = if overflows { &["field-type"] } else { &[] };
        assert_denies(&create(&dynamic("x", conf)), deny);
        // The base's own decoders read every occurrence.
        assert_denies(&create(&base(conf)), &["field-type"]);
    }
}

#[test]
fn versions_shape_the_verdict() {
    let judge = |conf: &str, v: Option<Version>| {
        let settings = Settings {
            terway_version: v,
            ..Settings::default()
        };
        let cm = base(conf);
        evaluate(&Input {
            operation: Operation::Create,
            new: Some(&cm),
            old: None,
            base: None,
            facts: None,
            settings: &settings,
        })
    };
    let old = Some(Version::new(1, 13, 4));
    let new = Some(Version::new(1, 17, 1));
    let f = judge(r#"{"ip_warm_up_size": 5}"#, old);
    assert_warns(&f, &["field-version"]);
    assert!(message(&f, "field-version").contains("v1.16.4"));
    assert_warns(&judge(r#"{"ip_warm_up_size": 5}"#, new), &[]);
    assert_warns(&judge(r#"{"ip_warm_up_size": 5}"#, None), &[]);
    let six = r#"{"security_groups": ["sg-1","sg-2","sg-3","sg-4","sg-5","sg-6"]}"#;
    assert_denies(&judge(six, old), &["security-group"]);
    assert_denies(&judge(six, new), &[]);
}

#[test]
fn messages_name_the_value_and_the_fix() {
    let f = create(&base(r#"{"max_pool_size": "80", "vswitchs": {}}"#));
    assert!(message(&f, "field-type").contains("write 80 without quotes"));
    assert!(message(&f, "unknown-field").contains("Did you mean \"vswitches\""));
    let f = create(&base(r#"{"kube_client_burst": 9223372036854775808}"#));
    assert!(
        message(&f, "field-type").contains("Go's int is 64-bit"),
        "{f:#?}"
    );
    let f = create(&base(r#"{"kube_client_burst": -9223372036854775809}"#));
    assert!(
        message(&f, "field-type").contains("Go's int is 64-bit"),
        "{f:#?}"
    );
    let f = create(&base(r#"{"kube_client_burst": 1e2}"#));
    assert!(message(&f, "field-type").contains("without a fraction or exponent"));
    let f = create(&base(r#"{"extra_routes": [{"dst": 5}]}"#));
    assert!(
        message(&f, "field-type")
            .contains("eni_conf.extra_routes[0].dst must be a string, got the number 5")
    );
}

#[test]
fn secret_values_are_never_echoed() {
    let f = create(&base(
        r#"{"access_key": 12345678, "acess_secret": "TOPSECRETVALUE", "Access_Secret": 87654321}"#,
    ));
    for finding in &f {
        assert!(!finding.message.contains("12345678"), "{finding:?}");
        assert!(!finding.message.contains("87654321"), "{finding:?}");
        assert!(!finding.message.contains("TOPSECRETVALUE"), "{finding:?}");
    }
    assert_denies(&f, &["field-type"]);
}
