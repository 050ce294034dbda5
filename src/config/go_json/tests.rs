//! Go's and jq's documented behaviour, one row each (sources in the module
//! docs): what decodes, to what, and what each of them says when it refuses.

use serde_json::{Value, json};

use super::*;

fn ok(text: &str) -> Decoded {
    decode(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
}

#[test]
fn accepts_what_go_accepts_with_the_value_go_ends_with() {
    let cases: &[(&str, Value)] = &[
        ("{}", json!({})),
        (
            " \t\r\n{\"a\" : [ 1 , -2 , 3.5 , true , false , null ] } \n",
            json!({"a": [1, -2, 3.5, true, false, null]}),
        ),
        (r#""\u00e9\n\/\"""#, json!("é\n/\"")),
        ("null", json!(null)),
        // A pair joins; any surrogate alone is U+FFFD (decode.go unquote).
        (r#""\ud83d\ude00""#, json!("😀")),
        (r#""\udc00""#, json!("\u{FFFD}")),
        (r#""\ud800x""#, json!("\u{FFFD}x")),
        (r#""\ud800\u0041""#, json!("\u{FFFD}A")),
        (r#""\ud800\ud800\udc00""#, json!("\u{FFFD}\u{10000}")),
        // `-0` is the integer 0 (ParseInt); big integers stay exact.
        ("-0", json!(0)),
        ("18446744073709551615", json!(18_446_744_073_709_551_615u64)),
        ("-9223372036854775808", json!(i64::MIN)),
        ("1e-400", json!(0.0)),
        ("1E+2", json!(100.0)),
        // Repeated key: the last value, at the first position.
        (r#"{"a": 1, "b": 2, "a": 3}"#, json!({"a": 3, "b": 2})),
    ];
    for (text, want) in cases {
        assert_eq!(&ok(text).value, want, "{text}");
    }
    let order: Vec<String> = match ok(r#"{"a": 1, "b": 2, "a": 3}"#).value {
        Value::Object(m) => m.keys().cloned().collect(),
        _ => Vec::new(),
    };
    assert_eq!(order, ["a", "b"]);
}

#[test]
fn refuses_what_go_refuses_in_go_words() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("", 1, 1, "unexpected end of JSON input"),
        (
            "{\"a\": 1,}",
            1,
            9,
            "invalid character '}' looking for beginning of object key string",
        ),
        (
            "[1,]",
            1,
            4,
            "invalid character ']' looking for beginning of value",
        ),
        (
            "{'a': 1}",
            1,
            2,
            "invalid character '\\'' looking for beginning of object key string",
        ),
        ("{\"a\" 1}", 1, 6, "invalid character '1' after object key"),
        (
            "{\"a\": 1 \"b\": 2}",
            1,
            9,
            "invalid character '\"' after object key:value pair",
        ),
        ("[1 2]", 1, 4, "invalid character '2' after array element"),
        (
            "{}\n x",
            2,
            2,
            "invalid character 'x' after top-level value",
        ),
        ("01", 1, 2, "invalid character '1' after top-level value"),
        ("-", 1, 2, "unexpected end of JSON input"),
        ("-a", 1, 2, "invalid character 'a' in numeric literal"),
        ("1.", 1, 3, "unexpected end of JSON input"),
        (
            "1.e3",
            1,
            3,
            "invalid character 'e' after decimal point in numeric literal",
        ),
        ("1e+", 1, 4, "unexpected end of JSON input"),
        (
            "1ex",
            1,
            3,
            "invalid character 'x' in exponent of numeric literal",
        ),
        (
            "+1",
            1,
            1,
            "invalid character '+' looking for beginning of value",
        ),
        (
            ".5",
            1,
            1,
            "invalid character '.' looking for beginning of value",
        ),
        (
            "NaN",
            1,
            1,
            "invalid character 'N' looking for beginning of value",
        ),
        ("tru", 1, 4, "unexpected end of JSON input"),
        (
            "trUe",
            1,
            3,
            "invalid character 'U' in literal true (expecting 'u')",
        ),
        (
            "nul1",
            1,
            4,
            "invalid character '1' in literal null (expecting 'l')",
        ),
        (
            "\"a\tb\"",
            1,
            3,
            "invalid character '\\t' in string literal",
        ),
        (
            "\"\\x\"",
            1,
            3,
            "invalid character 'x' in string escape code",
        ),
        (
            "\"\\u12g4\"",
            1,
            6,
            "invalid character 'g' in \\u hexadecimal character escape",
        ),
        ("\"abc", 1, 5, "unexpected end of JSON input"),
        (
            "\u{feff}{}",
            1,
            1,
            "invalid character 'ï' looking for beginning of value",
        ),
        (
            "{\"a\": 1} // c",
            1,
            10,
            "invalid character '/' after top-level value",
        ),
        (
            "\u{a0}{}",
            1,
            1,
            "invalid character 'Â' looking for beginning of value",
        ),
    ];
    for (text, line, column, want) in cases {
        let e = decode(text).expect_err(text);
        assert_eq!(e.message, *want, "{text:?}");
        assert_eq!((e.line, e.column), (*line, *column), "{text:?}");
    }
}

#[test]
fn float32_range_as_parse_float_32_reads_the_literal() {
    let fits = |t: &str| ok(t).value.as_f64().is_some_and(|f| (f as f32).is_finite());
    let cases = [
        ("3.4028234663852886e38", true),
        ("3.4028235e38", true),
        // MaxFloat32 + half an ulp is the first value a float32 cannot hold.
        ("3.40282356779733661637539395458142568447e38", true),
        ("3.40282356779733661637539395458142568448e38", false),
        ("-3.40282356779733661637539395458142568447e38", true),
        ("3.5e38", false),
    ];
    for (text, want) in cases {
        assert_eq!(fits(text), want, "{text}");
        let parsed = text.parse::<f32>().is_ok_and(f32::is_finite);
        assert_eq!(parsed, want, "Rust's own f32 parse agrees: {text}");
    }
}

#[test]
fn nesting_limits_of_go_and_jq() {
    let arrays = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let objects = |n: usize| format!("{}1{}", r#"{"a":"#.repeat(n), "}".repeat(n));
    // Go: at most 10000 open containers (scanner.go maxNestingDepth).
    assert!(decode(&arrays(10_000)).is_ok());
    let e = decode(&arrays(10_001)).unwrap_err();
    assert_eq!(e.message, "exceeded max depth");
    assert!(decode(&objects(10_000)).is_ok());
    assert!(decode(&objects(10_001)).is_err());
    // jq: refuses to open a container once its stack holds 256 entries;
    // one per array, two per object (the key read is pushed too).
    let jq = |t: &str| ok(t).jq.map(|r| r.message);
    let depth = Some("Exceeds depth limit for parsing");
    assert_eq!(jq(&arrays(256)), None);
    assert_eq!(jq(&arrays(257)), depth);
    assert_eq!(jq(&objects(128)), None);
    assert_eq!(jq(&objects(129)), depth);
    // Empty containers count when they open.
    assert_eq!(
        jq(&format!("{}[]{}", "[".repeat(256), "]".repeat(256))),
        depth
    );
    let refusal = ok(&arrays(300)).jq.unwrap();
    assert_eq!((refusal.line, refusal.column), (1, 257));
}

#[test]
fn jq_surrogates() {
    let bad = Some("Invalid \\uXXXX\\uXXXX surrogate pair escape");
    let cases: &[(&str, Option<&str>)] = &[
        (r#""\ud83d\ude00""#, None),
        (r#""\udc00""#, None),
        (r#""\udfff\ud800\udc00""#, None),
        (r#""\ud800""#, bad),
        (r#""\udbffx""#, bad),
        (r#""\ud800\u0041""#, bad),
        (r#""\ud800\ud800""#, bad),
    ];
    for (text, want) in cases {
        assert_eq!(ok(text).jq.map(|r| r.message), *want, "{text}");
    }
}

#[test]
fn notes_keep_earlier_repeats_and_overflows_with_their_paths() {
    let d = ok(r#"{"a": {"x": "1", "x": 2, "y": [0, 1e400]}, "a": 5, "b": -1e999}"#);
    assert_eq!(d.value, json!({"a": 5, "b": f64::MIN}));
    let key = |k: &str| Step::Key(k.to_string());
    let paths: Vec<(Vec<Step>, String)> = d
        .notes
        .iter()
        .map(|n| {
            let what = match &n.what {
                Hidden::Earlier(v) => format!("earlier {v}"),
                Hidden::Overflow { literal, .. } => format!("overflow {literal}"),
            };
            (n.path.clone(), what)
        })
        .collect();
    assert_eq!(
        paths,
        [
            (vec![key("a"), key("x")], "earlier \"1\"".to_string()),
            (
                vec![key("a"), key("y"), Step::Index(1)],
                "overflow 1e400".to_string()
            ),
            (
                vec![key("a")],
                format!("earlier {}", json!({"x": 2, "y": [0, f64::MAX]}))
            ),
            (vec![key("b")], "overflow -1e999".to_string()),
        ]
    );
}

#[test]
fn never_panics_on_junk() {
    let junk = [
        "{",
        "[",
        "\"",
        "\\",
        "{\"",
        "{\"a\"",
        "{\"a\":",
        "[1,",
        "\"\\u",
        "\"\\ud800\\u",
        "\"\\ud800\\",
        "-",
        "1e",
        "{\"a\":1,\"a\"",
        "\u{1F600}",
        "\"\u{1F600}",
    ];
    for text in junk {
        let _ = decode(text);
        for cut in 0..text.len() {
            if let Some(prefix) = text.get(..cut) {
                let _ = decode(prefix);
            }
        }
    }
}

#[test]
fn folds_as_go_folds_names() {
    let cases = [
        ("max_pool_size", "MAX_POOL_SIZE", true),
        ("ſecurity_group", "security_group", true),
        ("\u{212A}ube_client_qps", "kube_client_qps", true),
        // Go's foldName follows SimpleFold to the orbit's smallest rune: ı
        // (U+0131) reaches 'I' through ToUpper.
        ("ıpam_type", "ipam_type", true),
        ("İpam_type", "ipam_type", false),
        ("ß", "ẞ", true),
        ("ß", "ss", false),
        ("max-pool-size", "max_pool_size", false),
        ("Σ", "ς", true),
    ];
    for (a, b, want) in cases {
        assert_eq!(fold_eq(a, b), want, "{a} ~ {b}");
    }
}

/// Where serde_json and Go agree (no `-0`, no lone surrogate, shallow), the
/// value is serde_json's; byte mutations of valid texts are refused by both
/// or accepted by both with the same value.
#[test]
fn agrees_with_serde_json_where_go_does() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n.max(1)
    };
    fn value_of(next: &mut impl FnMut(u64) -> u64, depth: u32) -> Value {
        match next(if depth > 3 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(next(2) == 1),
            2 => json!(next(1 << 40) as i64 - (1 << 39)),
            3 => json!((next(1 << 20) as f64) / 1024.0 + 0.5),
            4 => json!(["a", "é\"\\\n", "\u{1F600}", "\u{7f}"][next(4) as usize]),
            5 => Value::Array((0..next(4)).map(|_| value_of(next, depth + 1)).collect()),
            _ => Value::Object(
                (0..next(4))
                    .map(|i| (format!("k{i}{}", next(3)), value_of(next, depth + 1)))
                    .collect(),
            ),
        }
    }
    let (mut both_ok, mut both_err) = (0, 0);
    for round in 0..600 {
        let v = value_of(&mut next, 0);
        let text = if round % 2 == 0 {
            serde_json::to_string(&v).unwrap()
        } else {
            serde_json::to_string_pretty(&v).unwrap()
        };
        assert_eq!(
            ok(&text).value,
            serde_json::from_str::<Value>(&text).unwrap()
        );
        let mut bytes = text.into_bytes();
        if !bytes.is_empty() {
            let at = next(bytes.len() as u64) as usize;
            bytes[at] = b"{}[]\",:01-.eE \\u\t"[next(17) as usize];
        }
        let Ok(mutated) = String::from_utf8(bytes) else {
            continue;
        };
        let decoded = decode(&mutated);
        let overflow = decoded.as_ref().is_ok_and(|d| {
            d.notes
                .iter()
                .any(|n| matches!(n.what, Hidden::Overflow { .. }))
        });
        let ours = decoded.map(|d| d.value);
        let serde = serde_json::from_str::<Value>(&mutated);
        match (&ours, &serde) {
            (Ok(a), Ok(b)) => {
                both_ok += 1;
                if !mutated.contains("-0") {
                    assert_eq!(a, b, "{mutated}");
                }
            }
            (Err(_), Err(_)) => both_err += 1,
            // Go reads `\uD800`-style escapes alone, `-0` as an integer and
            // `1e400` as syntax only.
            (Ok(_), Err(_)) if overflow || mutated.contains("\\u") || mutated.contains("-0") => {}
            _ => panic!("{mutated:?}: ours {ours:?}, serde {serde:?}"),
        }
    }
    // The mutations reach both outcomes often enough to mean something.
    assert!(both_ok > 40 && both_err > 40, "{both_ok} {both_err}");
}
