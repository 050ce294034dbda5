use super::*;

fn fields(root: &Spanned) -> &[(String, Spanned)] {
    match &root.node {
        Node::Object(fields) => fields,
        other => panic!("not an object: {other:?}"),
    }
}

fn arr(text: &str, key: &str) -> Vec<Range<usize>> {
    let root = scan(text).unwrap();
    let (_, v) = fields(&root).iter().find(|(k, _)| k == key).unwrap();
    let Node::Array(items) = &v.node else {
        panic!()
    };
    items.iter().map(|i| i.span.clone()).collect()
}

/// `{"x": <n containers, arrays inside objects>, "vswitches": {...}}`: `n`
/// levels inside a member other than `vswitches`, `n + 1` with the root.
fn deep(n: usize) -> String {
    let open: String = (0..n)
        .map(|i| if i % 2 == 0 { "[" } else { "{\"k\": " })
        .collect();
    let close: String = (0..n)
        .rev()
        .map(|i| if i % 2 == 0 { "]" } else { "}" })
        .collect();
    format!("{{\"x\": {open}1{close}, \"vswitches\": {{\"z\": [\"vsw-a\", \"vsw-a\"]}}}}")
}

#[test]
fn removes_items_keeping_the_rest_byte_for_byte() {
    let cases = [
        (r#"{"a": ["x", "y", "x"]}"#, vec![2], r#"{"a": ["x", "y"]}"#),
        (
            "{\"a\": [\n  \"x\",\n  \"x\",\n  \"y\"\n], \"n\": 1.50}",
            vec![1],
            "{\"a\": [\n  \"x\",\n  \"y\"\n], \"n\": 1.50}",
        ),
        (r#"{"a": ["x","x","x"]}"#, vec![1, 2], r#"{"a": ["x"]}"#),
        (r#"{"a": ["x\"]", "x\"]"]}"#, vec![1], r#"{"a": ["x\"]"]}"#),
        // Lone surrogates in keys and values are no obstacle.
        (
            r#"{"\ud800": "\udc00", "a": ["\ud800", "\ud800"]}"#,
            vec![1],
            r#"{"\ud800": "\udc00", "a": ["\ud800"]}"#,
        ),
    ];
    for (text, drop, want) in cases {
        let spans = arr(text, "a");
        let items: Vec<_> = drop
            .iter()
            .map(|&i| (spans[i - 1].clone(), spans[i].clone()))
            .collect();
        assert_eq!(remove_items(text, &items), want);
    }
}

/// Keys read as Go reads them (decode.go unquote), the same as the key
/// go_json gives the value.
#[test]
fn keys_decode_as_go_decodes_them() {
    let cases = [
        (r#"{"vswitches": 1}"#, "vswitches"),
        (r#"{"vswitch\u0065s": 1}"#, "vswitches"),
        (r#"{"\u0076\u0073witches": 1}"#, "vswitches"),
        (r#"{"a\/b\"\\\n": 1}"#, "a/b\"\\\n"),
        // A lone surrogate, high or low, is U+FFFD; a pair is one rune.
        (r#"{"\ud800": 1}"#, "\u{FFFD}"),
        (r#"{"\udc00x": 1}"#, "\u{FFFD}x"),
        (r#"{"\ud800\u0041": 1}"#, "\u{FFFD}A"),
        (r#"{"\ud800\ud800": 1}"#, "\u{FFFD}\u{FFFD}"),
        (r#"{"\ud83d\ude00": 1}"#, "\u{1F600}"),
        (r#"{"\ud83d\ude00\udc00": 1}"#, "\u{1F600}\u{FFFD}"),
        ("{\"ſ\": 1}", "ſ"),
    ];
    for (text, want) in cases {
        let root = scan(text).unwrap_or_else(|| panic!("{text}"));
        let keys: Vec<&str> = fields(&root).iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, [want], "{text}");
        let go = crate::config::go_json::decode(text).unwrap().value;
        let go_keys: Vec<&String> = go.as_object().unwrap().keys().collect();
        assert_eq!(go_keys, [want], "{text}");
    }
}

/// Whatever Go's decoder accepts gets its spans, to Go's nesting limit
/// (10000 levels, the root included) and no further.
#[test]
fn scans_what_go_accepts_to_its_depth_limit() {
    let cases = [
        (deep(126), true),
        (deep(127), true),
        (deep(255), true),
        (deep(300), true),
        (deep(GO_MAX_DEPTH - 1), true),
        (deep(GO_MAX_DEPTH), false),
        (
            format!("{}{}", "[".repeat(GO_MAX_DEPTH), "]".repeat(GO_MAX_DEPTH)),
            true,
        ),
        (
            format!(
                "{}{}",
                "[".repeat(GO_MAX_DEPTH + 1),
                "]".repeat(GO_MAX_DEPTH + 1)
            ),
            false,
        ),
        (r#"{"\ud800": "\ud800", "vswitches": {}}"#.to_string(), true),
    ];
    for (text, go_accepts) in cases {
        let name: String = text.chars().take(40).collect();
        assert_eq!(
            crate::config::go_json::decode(&text).is_ok(),
            go_accepts,
            "{name}"
        );
        // Far less stack than a recursive scan of 10000 levels needs.
        let scanned = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || scan(&text).map(|root| (root.span, text.len())))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(scanned.is_some(), go_accepts, "{name}");
        if let Some((span, len)) = scanned {
            assert_eq!(span, 0..len, "{name}");
        }
    }
}

#[test]
fn containers_past_keep_depth_keep_their_span_only() {
    let text = deep(300);
    let root = scan(&text).unwrap();
    // The vSwitch list after the deep member is read whole.
    let (_, vsw) = fields(&root)
        .iter()
        .find(|(k, _)| k == "vswitches")
        .unwrap();
    let Node::Object(zones) = &vsw.node else {
        panic!()
    };
    let Node::Array(items) = &zones[0].1.node else {
        panic!()
    };
    assert_eq!(&text[items[1].span.clone()], "\"vsw-a\"");
    // Walk down `x`: containers to depth KEEP_DEPTH hold their members, the
    // one below is Deep, with the span of its whole text.
    let mut at = &fields(&root)[0].1;
    let mut depth = 2;
    loop {
        match &at.node {
            Node::Array(items) => at = &items[0],
            Node::Object(members) => at = &members[0].1,
            Node::Deep => break,
            Node::Scalar => panic!("the scalar at depth {depth}"),
        }
        depth += 1;
    }
    assert_eq!(depth, KEEP_DEPTH + 1);
    let inner = &text[at.span.clone()];
    assert!(inner.starts_with('[') || inner.starts_with('{'), "{inner}");
    assert_eq!(
        crate::config::go_json::decode(inner).map(|_| ()),
        Ok(()),
        "the Deep span is one whole value"
    );
    // Empty containers past the depth are Deep too.
    let text = format!("{}{{}}{}", "[".repeat(KEEP_DEPTH), "]".repeat(KEEP_DEPTH));
    let mut at = &scan(&text).unwrap();
    for _ in 0..KEEP_DEPTH {
        let Node::Array(items) = &at.node else {
            panic!()
        };
        at = &items[0];
    }
    assert!(matches!(at.node, Node::Deep), "{:?}", at.node);
}

#[test]
fn refuses_invalid_text() {
    for text in [
        "{",
        "[1,]",
        "{\"a\" 1}",
        "[1] 2",
        "{\"a\": 1,}",
        "{\"\\u12\": 1}",
        "{\"\\x\": 1}",
        "{1: 2}",
        "[1 2]",
        "{\"a\": [}",
        "",
    ] {
        assert!(scan(text).is_none(), "{text}");
    }
}

/// No input panics: every prefix of texts with escapes, surrogates and
/// multibyte runes is scanned (mostly refused) without a panic.
#[test]
fn no_prefix_panics() {
    let texts = [
        r#"{"\ud800": ["é", "\udc00"], "vſ": {"k": [1, -2.5e3, true, null]}}"#,
        r#"[{"a\\": "b\""}, [[], {}], "😀"]"#,
    ];
    for text in texts {
        for (end, _) in text.char_indices() {
            let _ = scan(&text[..end]);
        }
        assert!(scan(text).is_some(), "{text}");
    }
}
