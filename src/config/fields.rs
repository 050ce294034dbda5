//! The `eni_conf` field table and the Go types it uses, under one name for
//! the rules: the table lives in [`super::field_table`], the Go type checks in
//! [`super::go_types`].

pub use super::field_table::*;
pub use super::go_json::{Hidden, Step};
pub use super::go_types::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Path;
    use serde_json::{Value, json};

    fn kind(name: &str) -> Kind {
        lookup(name).unwrap().kind
    }

    #[test]
    fn kinds_accept_what_go_accepts() {
        let cases = [
            ("max_pool_size", json!(80), true),
            ("max_pool_size", json!("80"), false),
            ("max_pool_size", json!(80.0), false),
            ("max_pool_size", json!(-3), true),
            ("max_pool_size", json!(null), true),
            ("max_pool_size", json!(9_223_372_036_854_775_808u64), false),
            ("eni_cap_ratio", json!(0.5), true),
            ("eni_cap_ratio", json!("0.5"), false),
            ("kube_client_qps", json!(20), true),
            ("kube_client_qps", json!(1e39), false),
            ("kube_client_qps", json!(3.4028235e38), true),
            ("kube_client_qps", json!(3.5e38), false),
            ("enable_erdma", json!("true"), false),
            ("security_groups", json!(["a", null]), true),
            ("security_groups", json!(["a", 1]), false),
            ("vswitches", json!({"z": ["vsw-1"]}), true),
            ("vswitches", json!({"z": "vsw-1"}), false),
            ("vswitches", json!(["vsw-1"]), false),
            ("eni_tags", json!({"k": 1}), false),
            ("rate_limit", json!({"k": 1}), true),
            (
                "eni_tag_block_list",
                json!([{"key": "a", "value": "b"}]),
                true,
            ),
            ("eni_tag_block_list", json!(["a=b"]), false),
            ("eni_tag_block_list", json!([{"key": 1}]), false),
            ("extra_routes", json!([{"dst": "10.0.0.0/8"}]), true),
            ("extra_routes", json!(["10.0.0.0/8"]), false),
            ("extra_routes", json!([{"dst": 1}]), false),
            ("extra_routes", json!([{"Dst": 1}]), true),
            (
                "backoff_override",
                json!({"x": {"Duration": 1000, "Steps": 3}}),
                true,
            ),
            ("backoff_override", json!({"x": {"Duration": "1s"}}), false),
            ("backoff_override", json!({"x": {"duration": "1s"}}), true),
            ("backoff_override", json!({"x": 5}), false),
        ];
        let root = Path::root("eni_conf");
        for (name, value, want) in cases {
            let got = kind(name)
                .mismatch(&value, || root.clone(), Keys::Exact)
                .is_none();
            assert_eq!(got, want, "{name} {value}");
        }
    }

    #[test]
    fn folded_keys_reach_nested_members() {
        let root = Path::root("eni_conf").key("extra_routes");
        let bad = json!([{"dst": "ok"}, {"DST": 7}]);
        assert!(
            kind("extra_routes")
                .mismatch(&bad, || root.clone(), Keys::Exact)
                .is_none()
        );
        let m = kind("extra_routes")
            .mismatch(&bad, || root.clone(), Keys::Fold)
            .unwrap();
        assert_eq!(m.path.as_str(), "eni_conf.extra_routes[1].DST");
        assert_eq!(m.want, Kind::String);
    }

    #[test]
    fn hidden_repeats_and_overflows_fail_where_go_types_them() {
        let doc = crate::config::go_json::decode(
            r#"{"backoff_override": {"x": {"steps": "3", "Steps": 3, "Factor": 2, "Factor": 1e999}}}"#,
        )
        .unwrap();
        let Value::Object(map) = &doc.value else {
            panic!("an object")
        };
        let v = &map["backoff_override"];
        let hidden = || notes_under(&doc.notes, "backoff_override");
        let root = || Path::root("eni_conf").key("backoff_override");
        let m = kind("backoff_override")
            .mismatch_with(v, hidden(), root, Keys::Exact)
            .unwrap();
        assert_eq!(m.path.as_str(), "eni_conf.backoff_override.x.Factor");
        assert_eq!(m.literal, Some("1e999"));
        let m = kind("backoff_override")
            .mismatch_with(v, hidden(), root, Keys::Fold)
            .unwrap();
        assert_eq!(m.path.as_str(), "eni_conf.backoff_override.x.steps");
        assert_eq!(m.want, Kind::Int);
        assert!(
            kind("backoff_override")
                .mismatch(v, root, Keys::Exact)
                .is_none()
        );
    }
}
