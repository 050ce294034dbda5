//! Byte spans of values inside a JSON text, so an edit can remove one array
//! item and leave every other byte (formatting, key order, numbers) as the
//! user wrote it. Only used on text that already parsed as valid JSON.
//!
//! It reads every text Terway reads: object keys decode as Go's
//! `encoding/json` decodes them (decode.go unquote, through
//! [`go_json::decode`]: a lone surrogate escape is U+FFFD, `"vswitch\u0065s"`
//! is `vswitches`), so a key here is the key of [`super::EniConf`]; nesting
//! goes to Go's limit (scanner.go maxNestingDepth, [`GO_MAX_DEPTH`]), with no
//! recursion, as in [`go_json`].

use std::ops::Range;

use super::go_json::{self, GO_MAX_DEPTH};

#[derive(Debug, Clone)]
pub enum Node {
    Object(Vec<(String, Spanned)>),
    Array(Vec<Spanned>),
    Scalar,
    /// A container nested deeper than [`KEEP_DEPTH`]: its span only. No
    /// edit reaches that deep, and a 10000-deep tree would overflow the
    /// stack of whatever drops or clones it.
    Deep,
}

#[derive(Debug, Clone)]
pub struct Spanned {
    pub span: Range<usize>,
    pub node: Node,
}

/// Containers deeper than this (the top-level value is at depth 1) are
/// [`Node::Deep`]: as deep as [`go_json`] keeps values.
pub use super::go_json::KEEP_DEPTH;

/// Spans of a valid JSON text; `None` if it is not valid JSON after all, or
/// nests deeper than Go's decoder allows.
pub fn scan(text: &str) -> Option<Spanned> {
    let mut s = Scanner {
        b: text.as_bytes(),
        text,
        i: 0,
    };
    s.run()
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

/// An open container: where it starts and what it holds so far (nothing
/// past [`KEEP_DEPTH`]).
struct Frame {
    start: usize,
    open: Open,
}

enum Open {
    /// The members so far and the key whose value is being read.
    Object(Vec<(String, Spanned)>, String),
    Array(Vec<Spanned>),
}

struct Scanner<'a> {
    b: &'a [u8],
    text: &'a str,
    i: usize,
}

impl Scanner<'_> {
    /// One pass with an explicit stack, as go_json/parse.rs does: Go allows
    /// 10000 levels, more than a thread's stack holds for a recursive scan.
    fn run(&mut self) -> Option<Spanned> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            // A value starts here, inside `stack.len()` containers.
            self.ws();
            let start = self.i;
            let mut done = match *self.b.get(self.i)? {
                c @ (b'{' | b'[') => {
                    if stack.len() >= GO_MAX_DEPTH {
                        return None;
                    }
                    self.i += 1;
                    self.ws();
                    let close = if c == b'{' { b'}' } else { b']' };
                    if self.b.get(self.i) == Some(&close) {
                        self.i += 1;
                        let node = match c {
                            _ if stack.len() >= KEEP_DEPTH => Node::Deep,
                            b'{' => Node::Object(Vec::new()),
                            _ => Node::Array(Vec::new()),
                        };
                        Spanned {
                            span: start..self.i,
                            node,
                        }
                    } else {
                        let open = if c == b'{' {
                            Open::Object(Vec::new(), self.key()?)
                        } else {
                            Open::Array(Vec::new())
                        };
                        stack.push(Frame { start, open });
                        continue;
                    }
                }
                b'"' => {
                    self.string()?;
                    Spanned {
                        span: start..self.i,
                        node: Node::Scalar,
                    }
                }
                _ => {
                    self.scalar()?;
                    Spanned {
                        span: start..self.i,
                        node: Node::Scalar,
                    }
                }
            };
            // Hand the value to its container; close containers that end here.
            loop {
                // The container on top is at depth `stack.len()`.
                let keep = stack.len() <= KEEP_DEPTH;
                let Some(top) = stack.last_mut() else {
                    self.ws();
                    return (self.i == self.b.len()).then_some(done);
                };
                let close = match &mut top.open {
                    Open::Object(fields, key) => {
                        let key = std::mem::take(key);
                        if keep {
                            fields.push((key, done));
                        }
                        b'}'
                    }
                    Open::Array(items) => {
                        if keep {
                            items.push(done);
                        }
                        b']'
                    }
                };
                self.ws();
                match *self.b.get(self.i)? {
                    b',' => {
                        self.i += 1;
                        if let Open::Object(_, key) = &mut top.open {
                            self.ws();
                            *key = self.key()?;
                        }
                        break;
                    }
                    c if c == close => self.i += 1,
                    _ => return None,
                }
                let frame = stack.pop()?;
                let node = match frame.open {
                    _ if !keep => Node::Deep,
                    Open::Object(fields, _) => Node::Object(fields),
                    Open::Array(items) => Node::Array(items),
                };
                done = Spanned {
                    span: frame.start..self.i,
                    node,
                };
            }
        }
    }

    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    /// A key, decoded as Go decodes it, and its colon.
    fn key(&mut self) -> Option<String> {
        let k = self.string()?;
        let raw = self.text.get(k.start + 1..k.end - 1)?;
        // Most keys have no escape: they are their own text.
        let key = if raw.contains('\\') {
            match go_json::decode(self.text.get(k)?).ok()?.value {
                serde_json::Value::String(s) => s,
                _ => return None,
            }
        } else {
            raw.to_string()
        };
        self.ws();
        (self.b.get(self.i) == Some(&b':')).then_some(())?;
        self.i += 1;
        Some(key)
    }

    /// A number or literal: syntax was checked by the parse this follows.
    fn scalar(&mut self) -> Option<()> {
        let start = self.i;
        while self.i < self.b.len()
            && !matches!(
                self.b[self.i],
                b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r'
            )
        {
            self.i += 1;
        }
        (self.i > start).then_some(())
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
mod tests;
