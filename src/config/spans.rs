//! Byte spans of values inside a JSON text, so an edit can remove one array
//! item and leave every other byte (formatting, key order, numbers) as the
//! user wrote it. Only used on text that already parsed as valid JSON.

use std::ops::Range;

#[derive(Debug, Clone)]
pub enum Node {
    Object(Vec<(String, Spanned)>),
    Array(Vec<Spanned>),
    Scalar,
}

#[derive(Debug, Clone)]
pub struct Spanned {
    pub span: Range<usize>,
    pub node: Node,
}

/// Spans of a valid JSON text; `None` if it is not valid JSON after all.
pub fn scan(text: &str) -> Option<Spanned> {
    let mut s = Scanner {
        b: text.as_bytes(),
        text,
        i: 0,
    };
    let v = s.value(0)?;
    s.ws();
    (s.i == s.b.len()).then_some(v)
}

/// `text` with the listed array items removed, each with the comma before it.
/// Every item must be at index ≥ 1 of its array (a repeat is never the first).
pub fn remove_items(text: &str, items: &[(Range<usize>, Range<usize>)]) -> String {
    // Each pair is (end of the previous item, end of the item to drop).
    let mut cuts: Vec<Range<usize>> = items.iter().map(|(prev, it)| prev.end..it.end).collect();
    cuts.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for cut in cuts {
        if cut.start < at {
            continue;
        }
        out.push_str(&text[at..cut.start]);
        at = cut.end;
    }
    out.push_str(&text[at..]);
    out
}

struct Scanner<'a> {
    b: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Scanner<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Option<Spanned> {
        if depth > 256 {
            return None;
        }
        self.ws();
        let start = self.i;
        let node = match *self.b.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        let k = self.string()?;
                        let key: String = serde_json::from_str(&self.text[k]).ok()?;
                        self.ws();
                        (self.b.get(self.i) == Some(&b':')).then_some(())?;
                        self.i += 1;
                        fields.push((key, self.value(depth + 1)?));
                        self.ws();
                        match self.b.get(self.i)? {
                            b',' => self.i += 1,
                            b'}' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                Node::Object(fields)
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                } else {
                    loop {
                        items.push(self.value(depth + 1)?);
                        self.ws();
                        match self.b.get(self.i)? {
                            b',' => self.i += 1,
                            b']' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                Node::Array(items)
            }
            b'"' => {
                self.string()?;
                Node::Scalar
            }
            _ => {
                while self.i < self.b.len()
                    && !matches!(
                        self.b[self.i],
                        b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r'
                    )
                {
                    self.i += 1;
                }
                (self.i > start).then_some(())?;
                Node::Scalar
            }
        };
        Some(Spanned {
            span: start..self.i,
            node,
        })
    }

    fn string(&mut self) -> Option<Range<usize>> {
        let start = self.i;
        (self.b.get(self.i) == Some(&b'"')).then_some(())?;
        self.i += 1;
        loop {
            match *self.b.get(self.i)? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return Some(start..self.i);
                }
                _ => self.i += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(text: &str, key: &str) -> Vec<Range<usize>> {
        let root = scan(text).unwrap();
        let Node::Object(fields) = root.node else {
            panic!()
        };
        let (_, v) = fields.into_iter().find(|(k, _)| k == key).unwrap();
        let Node::Array(items) = v.node else { panic!() };
        items.into_iter().map(|i| i.span).collect()
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

    #[test]
    fn refuses_invalid_text() {
        for text in ["{", "[1,]", "{\"a\" 1}", "[1] 2"] {
            assert!(scan(text).is_none(), "{text}");
        }
    }
}
