//! Human paths into a config, e.g. `eni_conf.vswitches["cn-shanghai-f"][1]`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path(String);

impl Path {
    pub fn root(name: &str) -> Self {
        Path(name.to_string())
    }

    /// `.key` for plain identifiers, `["key"]` (JSON-escaped) for anything else.
    pub fn key(&self, key: &str) -> Self {
        let plain = !key.is_empty() && key.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
        let mut p = String::with_capacity(self.0.len() + key.len() + 6);
        p.push_str(&self.0);
        if plain {
            p.push('.');
            p.push_str(key);
        } else {
            p.push('[');
            p.push_str(&quote(key));
            p.push(']');
        }
        Path(p)
    }

    pub fn index(&self, i: usize) -> Self {
        use std::fmt::Write;
        let mut p = String::with_capacity(self.0.len() + 8);
        p.push_str(&self.0);
        let _ = write!(p, "[{i}]");
        Path(p)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// JSON string literal of `s`, for messages that name user-provided text.
pub fn quote(s: &str) -> String {
    // Serializing a str cannot fail.
    serde_json::to_string(s).unwrap_or_default()
}

/// Like [`quote`], but cut to `max` characters so a huge value cannot flood a message.
pub fn quote_short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        quote(s)
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{}…", quote(&cut))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_keys_and_indexes() {
        let cases = [
            (
                Path::root("eni_conf").key("max_pool_size"),
                "eni_conf.max_pool_size",
            ),
            (
                Path::root("eni_conf")
                    .key("vswitches")
                    .key("cn-shanghai-f")
                    .index(1),
                r#"eni_conf.vswitches["cn-shanghai-f"][1]"#,
            ),
            (
                Path::root("data").key("10-terway.conf"),
                r#"data["10-terway.conf"]"#,
            ),
            (Path::root("x").key(""), r#"x[""]"#),
            (Path::root("x").key("a\"b"), r#"x["a\"b"]"#),
        ];
        for (path, want) in cases {
            assert_eq!(path.as_str(), want);
        }
    }

    #[test]
    fn shortens_long_values() {
        assert_eq!(quote_short("abcdef", 3), "\"abc\"…");
        assert_eq!(quote_short("abc", 3), "\"abc\"");
    }
}
