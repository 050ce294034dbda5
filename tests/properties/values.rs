//! The values edits write: edge values of Go's decoders, a value of every
//! other JSON type, values the rules single out per field, and key variants
//! under Go's case folding. Raw JSON text, written as an operator could.

use terway_guard::config::fields::Kind;

/// `depth` nested arrays around `0`.
pub fn nest(depth: usize) -> String {
    format!("{}0{}", "[".repeat(depth), "]".repeat(depth))
}

/// Values Go may read differently from serde_json, or that sit on an edge of
/// a Go type (raw JSON text).
pub fn edge_values() -> Vec<String> {
    let mut v: Vec<String> = [
        "-0",
        "1e400",
        "3.4028235e38",
        "3.5e38",
        "1e2",
        "10.0",
        "9223372036854775808",
        "9223372036854775807",
        "-9223372036854775808",
        r#""1_0""#,
        r#""""#,
        "null",
        r#""\ud800""#,
        r#""\udc00""#,
        r#""\ud83d\ude00""#,
        r#""a\/b""#,
        r#"" ""#,
        r#""\t""#,
    ]
    .map(String::from)
    .to_vec();
    v.push(nest(200));
    v.push(nest(300));
    v
}

/// A value of another JSON type for every type a field might have.
pub const RETYPES: &[&str] = &[
    r#""1""#,
    "1",
    "1.5",
    "true",
    r#""true""#,
    "[]",
    "{}",
    r#"["x"]"#,
    r#"{"x": 1}"#,
];

/// Part of the value written for a secret field in edits.
pub const SECRET_MARKER: &str = "SECRETmarker";

/// Values worth trying for a field: what Go reads, near misses, and values the
/// rules single out.
pub fn values_for(name: &str, kind: Kind) -> Vec<&'static str> {
    let special: &[&str] = match name {
        "service_cidr" => &[
            r#""10.96.0.0/12""#,
            r#""172.16.0.0/16""#,
            r#""10.96.0.0/12,fd00::/120""#,
            r#""fd00::/120,10.96.0.0/12""#,
            r#""172.016.0.0/16""#,
            r#"" 10.96.0.0/12""#,
            r#""10.96.0.0/12 ""#,
            r#""10.96.0.0/12, fd00::/120""#,
            r#""192.168.0.0/16""#,
            r#""10.96.0.0""#,
            r#""10.96.0.0\/12""#,
        ],
        "ip_stack" => &[
            r#""ipv4""#,
            r#""dual""#,
            r#""ipv6""#,
            r#""IPv4""#,
            r#"" dual""#,
        ],
        "ipam_type" => &[r#""crd""#, r#""CRD""#, r#"" crd""#, r#""default""#, r#""""#],
        "idle_ip_reclaim_after" | "idle_ip_reclaim_interval" | "ip_pool_sync_period" => &[
            r#""10m""#,
            r#""1h30m""#,
            r#""10""#,
            r#""-1s""#,
            r#""1d""#,
            r#"" 10m""#,
            r#""0""#,
        ],
        "idle_ip_reclaim_jitter_factor" => &[
            r#""0.1""#,
            r#""-0.1""#,
            r#""0,1""#,
            r#""1_0""#,
            r#""1e400""#,
            r#"" 0.1""#,
            r#""0x1p-2""#,
            r#""NaN""#,
            r#""inf""#,
        ],
        // A marker that must never reach a message (property: secrets).
        "access_key" | "access_secret" => &[r#""LTAI5tSECRETmarker""#, r#""LTAI5tSECRETmarker\n""#],
        "security_group" => &[r#""sg-abc""#, r#""sg-1,sg-2""#, r#""abc""#],
        "security_groups" => &[
            r#"["sg-1"]"#,
            r#"["sg-1", "sg-2"]"#,
            r#"[]"#,
            r#"[null]"#,
            r#"["sg-1", ""]"#,
            r#"["sg-1","sg-2","sg-3","sg-4","sg-5","sg-6","sg-7","sg-8","sg-9","sg-10","sg-11"]"#,
        ],
        "vswitch_selection_policy" => &[r#""ordered""#, r#""random""#, r#""Ordered""#],
        "eni_selection_policy" => &[r#""least_ips""#, r#""most_ips""#, r#""LEAST_IPS""#],
        "vswitches" => &[
            r#"{"cn-hangzhou-g": ["vsw-xxx"]}"#,
            r#"{"cn-hangzhou-g": ["vsw-xxx", "vsw-10000"]}"#,
            r#"{"cn-hangzhou-h": ["vsw-h24"]}"#,
            r#"{"cn-hangzhou-g": ["vsw-other"]}"#,
            r#"{"cn-hangzhou-g": null}"#,
            r#"{}"#,
            r#"{"cn-hangzhou-i": ["vsw-i1"]}"#,
            r#"{"cn-hangzhou-g": ["vsw-xxx", "vsw-xxx"]}"#,
            r#"{"cn-hangzhou-g": ["vsw-nope"]}"#,
            r#"{"cn-hangzhou-h": ["vsw-xxx"]}"#,
            r#"{"": ["vsw-xxx"]}"#,
        ],
        "eni_tags" | "eni_tag_filter" => &[
            r#"{}"#,
            r#"{"k": "v"}"#,
            r#"{"creator": "x"}"#,
            r#"{"aliyun-x": "y"}"#,
            r#"{"": "y"}"#,
        ],
        "rate_limit" => &[
            r#"{"DescribeNetworkInterfaces": 0}"#,
            r#"{"AssignPrivateIpAddresses": -1}"#,
            r#"{"CreateNetworkInterface": 10}"#,
            r#"{"CreateNetworkInterface": 0}"#,
            r#"{"X": "1"}"#,
            r#"{"DescribeNetworkInterfaces": -0}"#,
        ],
        "backoff_override" => &[
            r#"{"x": {"Duration": 1000000000, "Steps": 3}}"#,
            r#"{"x": {"Duration": "1s"}}"#,
            r#"{"x": {"duration": "1s"}}"#,
            r#"{"x": 5}"#,
        ],
        "extra_routes" => &[
            r#"[{"dst": "10.0.0.0/8"}]"#,
            r#"[{"dst": 1}]"#,
            r#"[{"DST": 1}]"#,
            r#"["10.0.0.0/8"]"#,
        ],
        "eni_tag_block_list" => &[
            r#"[{"key": "a", "value": "b"}]"#,
            r#"[{"key": 1}]"#,
            r#"[{"Key": 1}]"#,
            r#"["a=b"]"#,
        ],
        "kube_client_qps" => &[r#"20"#, r#"-1"#, r#"0"#, r#"3.4028235e38"#, r#"1e39"#],
        "kube_client_burst" => &[r#"30"#, r#"-1"#, r#"0"#],
        "min_pool_size" | "max_pool_size" | "ip_warm_up_size" => {
            &["0", "5", "50", "500", "-1", "10000"]
        }
        "ipv4_prefix_count" | "ipv6_prefix_count" => &["0", "1", "2", "-1"],
        "enable_ip_prefix" | "enable_erdma" | "enable_eni_trunking" => &["true", "false"],
        _ => &[],
    };
    let generic: &[&str] = match kind {
        Kind::String => &[r#""x""#, r#""""#],
        Kind::Int => &["0", "3", "-3"],
        Kind::Float | Kind::Float32 => &["0.5", "0", "-1"],
        Kind::Bool => &["true", "false"],
        Kind::List(_) => &["[]", "[null]"],
        Kind::Map(_) | Kind::Struct(_) => &["{}"],
    };
    special.iter().chain(generic).copied().collect()
}

/// Case variants of a key: ASCII and Unicode simple folding (`ſ` folds to
/// `s`, the Kelvin sign to `k`), and a near miss that folds to nothing.
pub fn renames(key: &str) -> Vec<String> {
    let mut out = vec![key.to_ascii_uppercase()];
    let mut title = key.to_string();
    if let Some(first) = title.get(0..1) {
        title.replace_range(0..1, &first.to_ascii_uppercase());
    }
    out.push(title);
    if key.contains('s') {
        out.push(key.replacen('s', "\u{17f}", 1));
    }
    if key.contains('k') {
        out.push(key.replacen('k', "\u{212a}", 1));
    }
    out.push(format!("{key} "));
    out
}
