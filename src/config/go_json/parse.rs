//! The decoder itself: one pass, no recursion (Go allows 10000 levels, more
//! than a thread's stack holds for a recursive parser), no panics.

use serde_json::{Map, Number, Value};

use super::{
    Decoded, GO_MAX_DEPTH, Hidden, JQ_MAX_PARSING_DEPTH, JqRefusal, KEEP_DEPTH, Note, Step,
    SyntaxError,
};

/// Decodes `text` as Go's `encoding/json` does, or says where it refuses it.
pub fn decode(text: &str) -> Result<Decoded, SyntaxError> {
    let mut p = Parser {
        b: text.as_bytes(),
        text,
        i: 0,
        notes: Vec::new(),
        jq: None,
        jq_stack: 0,
    };
    let value = p.run()?;
    let mut notes = p.notes;
    // Steps were pushed innermost first, as each container closed.
    for n in &mut notes {
        n.path.reverse();
    }
    let jq = p.jq.map(|(at, message)| {
        let (line, column) = position(text, at);
        JqRefusal {
            line,
            column,
            message,
        }
    });
    Ok(Decoded { value, notes, jq })
}

/// MaxFloat32 plus half its ulp (2^103): a float32 rounds this and above to
/// infinity.
const F32_OVERFLOW_BOUNDARY: f64 = 3.402_823_567_797_336_6e38;

/// An open container, with the notes count when it opened.
enum Frame {
    Array(Vec<Value>, usize),
    Object(Map<String, Value>, String, usize),
}

pub(super) struct Parser<'a> {
    pub(super) b: &'a [u8],
    pub(super) text: &'a str,
    pub(super) i: usize,
    notes: Vec<Note>,
    /// The first thing jq refuses: byte offset and jq's message.
    pub(super) jq: Option<(usize, &'static str)>,
    /// jq's parse stack height: one per open array, two per open object.
    jq_stack: usize,
}

const EXPECTING: [&str; 3] = ["true", "false", "null"];

impl Parser<'_> {
    fn run(&mut self) -> Result<Value, SyntaxError> {
        let mut stack: Vec<Frame> = Vec::new();
        self.ws();
        loop {
            // A value starts here.
            let since = self.notes.len();
            let mut value = match self.peek() {
                Some(c @ (b'{' | b'[')) => {
                    if stack.len() >= GO_MAX_DEPTH {
                        return Err(self.error_at(self.i, "exceeded max depth".into()));
                    }
                    if self.jq_stack >= JQ_MAX_PARSING_DEPTH && self.jq.is_none() {
                        self.jq = Some((self.i, "Exceeds depth limit for parsing"));
                    }
                    self.i += 1;
                    self.ws();
                    if c == b'[' {
                        if self.peek() == Some(b']') {
                            self.i += 1;
                            Value::Array(Vec::new())
                        } else {
                            self.jq_stack += 1;
                            stack.push(Frame::Array(Vec::new(), since));
                            continue;
                        }
                    } else if self.peek() == Some(b'}') {
                        self.i += 1;
                        Value::Object(Map::new())
                    } else {
                        let key = self.key()?;
                        self.jq_stack += 2;
                        stack.push(Frame::Object(Map::new(), key, since));
                        continue;
                    }
                }
                Some(b'"') => Value::String(self.string()?),
                Some(b'-' | b'0'..=b'9') => self.number()?,
                Some(b't' | b'f' | b'n') => self.literal()?,
                Some(c) => return Err(self.invalid(c, "looking for beginning of value")),
                None => return Err(self.eof()),
            };
            let mut since = since;
            // Hand the value to its container; close containers that end here.
            loop {
                // Below KEEP_DEPTH the syntax is still Go's, but the values
                // are dropped: no Terway type reaches that deep, and a
                // 10000-deep Value would overflow the stack of anything
                // recursive (drop, clone, compare) that touches it.
                if stack.len() > KEEP_DEPTH {
                    self.notes.truncate(since);
                    value = Value::Null;
                }
                let keep = stack.len() <= KEEP_DEPTH;
                let Some(top) = stack.last_mut() else {
                    self.ws();
                    return match self.peek() {
                        None => Ok(value),
                        Some(c) => Err(self.invalid(c, "after top-level value")),
                    };
                };
                match top {
                    Frame::Array(items, _) => {
                        if keep {
                            self.tag(since, || Step::Index(items.len()));
                            items.push(value);
                        }
                        self.ws();
                        match self.peek() {
                            Some(b',') => {
                                self.i += 1;
                                self.ws();
                                break;
                            }
                            Some(b']') => self.i += 1,
                            Some(c) => return Err(self.invalid(c, "after array element")),
                            None => return Err(self.eof()),
                        }
                    }
                    Frame::Object(map, slot, _) => {
                        if keep {
                            self.tag(since, || Step::Key(slot.clone()));
                        }
                        match map.entry(std::mem::take(slot)) {
                            _ if !keep => {}
                            serde_json::map::Entry::Vacant(v) => {
                                v.insert(value);
                            }
                            serde_json::map::Entry::Occupied(mut o) => {
                                let path = vec![Step::Key(o.key().clone())];
                                let earlier = o.insert(value);
                                self.notes.push(Note {
                                    path,
                                    what: Hidden::Earlier(earlier),
                                });
                            }
                        }
                        self.ws();
                        match self.peek() {
                            Some(b',') => {
                                self.i += 1;
                                self.ws();
                                *slot = self.key()?;
                                break;
                            }
                            Some(b'}') => self.i += 1,
                            Some(c) => {
                                return Err(self.invalid(c, "after object key:value pair"));
                            }
                            None => return Err(self.eof()),
                        }
                    }
                }
                // The container closed: it is the value handed up next.
                match stack.pop() {
                    Some(Frame::Array(items, at)) => {
                        self.jq_stack = self.jq_stack.saturating_sub(1);
                        value = Value::Array(items);
                        since = at;
                    }
                    Some(Frame::Object(map, _, at)) => {
                        self.jq_stack = self.jq_stack.saturating_sub(2);
                        value = Value::Object(map);
                        since = at;
                    }
                    // Never: `top` above was this frame.
                    None => return Err(self.error_at(self.i, "decoder state".into())),
                }
            }
        }
    }

    /// Prefixes the notes raised inside the value just finished with its step.
    fn tag(&mut self, since: usize, step: impl FnOnce() -> Step) {
        if self.notes.len() > since {
            let step = step();
            for n in &mut self.notes[since..] {
                n.path.push(step.clone());
            }
        }
    }

    /// A key and its colon; the value follows.
    fn key(&mut self) -> Result<String, SyntaxError> {
        match self.peek() {
            Some(b'"') => {}
            Some(c) => return Err(self.invalid(c, "looking for beginning of object key string")),
            None => return Err(self.eof()),
        }
        let key = self.string()?;
        self.ws();
        match self.peek() {
            Some(b':') => {
                self.i += 1;
                self.ws();
                Ok(key)
            }
            Some(c) => Err(self.invalid(c, "after object key")),
            None => Err(self.eof()),
        }
    }

    fn number(&mut self) -> Result<Value, SyntaxError> {
        let start = self.i;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => self.digits(),
            Some(c) => return Err(self.invalid(c, "in numeric literal")),
            None => return Err(self.eof()),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.i += 1;
            self.first_digit("after decimal point in numeric literal")?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integer = false;
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            self.first_digit("in exponent of numeric literal")?;
        }
        let literal = self.text.get(start..self.i).unwrap_or_default();
        if integer {
            // As serde_json: i64 for negatives, u64 otherwise; `-0` is the
            // integer 0, as Go's ParseInt reads it.
            if negative {
                if let Ok(n) = literal.parse::<i64>() {
                    return Ok(Value::Number(n.into()));
                }
            } else if let Ok(n) = literal.parse::<u64>() {
                return Ok(Value::Number(n.into()));
            }
        }
        let mut f: f64 = literal.parse().unwrap_or(f64::INFINITY);
        // Just under MaxFloat32 + half an ulp, a literal rounds up to that
        // boundary as a float64, which a float32 then rounds to infinity,
        // although ParseFloat(s, 32) rounds the literal itself to MaxFloat32.
        // One float64 ulp down keeps the float32 reading right.
        if f.abs() == F32_OVERFLOW_BOUNDARY && literal.parse::<f32>().is_ok_and(f32::is_finite) {
            f = f64::from_bits(f.to_bits() - 1);
        }
        if let Some(n) = Number::from_f64(f) {
            return Ok(Value::Number(n));
        }
        let max = if negative { f64::MIN } else { f64::MAX };
        let standin = Number::from_f64(max).map_or(Value::Null, Value::Number);
        self.notes.push(Note {
            path: Vec::new(),
            what: Hidden::Overflow {
                literal: literal.to_string(),
                standin: standin.clone(),
            },
        });
        Ok(standin)
    }

    fn first_digit(&mut self, context: &str) -> Result<(), SyntaxError> {
        match self.peek() {
            Some(b'0'..=b'9') => {
                self.digits();
                Ok(())
            }
            Some(c) => Err(self.invalid(c, context)),
            None => Err(self.eof()),
        }
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
    }

    fn literal(&mut self) -> Result<Value, SyntaxError> {
        let (word, value) = match self.peek() {
            Some(b't') => (EXPECTING[0], Value::Bool(true)),
            Some(b'f') => (EXPECTING[1], Value::Bool(false)),
            _ => (EXPECTING[2], Value::Null),
        };
        for want in word.bytes() {
            match self.peek() {
                Some(c) if c == want => self.i += 1,
                Some(c) => {
                    let context = format!("in literal {word} (expecting {})", quote_char(want));
                    return Err(self.invalid(c, &context));
                }
                None => return Err(self.eof()),
            }
        }
        Ok(value)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    pub(super) fn invalid(&self, c: u8, context: &str) -> SyntaxError {
        self.error_at(
            self.i,
            format!("invalid character {} {context}", quote_char(c)),
        )
    }

    pub(super) fn eof(&self) -> SyntaxError {
        self.error_at(self.b.len(), "unexpected end of JSON input".into())
    }

    fn error_at(&self, at: usize, message: String) -> SyntaxError {
        let (line, column) = position(self.text, at);
        SyntaxError {
            line,
            column,
            message,
        }
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
fn position(text: &str, at: usize) -> (usize, usize) {
    let before = text.get(..at.min(text.len())).unwrap_or(text);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// A byte as Go's scanner quotes it in errors (scanner.go quoteChar).
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        b'\n' => "'\\n'".into(),
        b'\r' => "'\\r'".into(),
        b'\t' => "'\\t'".into(),
        0x07 => "'\\a'".into(),
        0x08 => "'\\b'".into(),
        0x0b => "'\\v'".into(),
        0x0c => "'\\f'".into(),
        0..=0x1f | 0x7f => format!("'\\x{c:02x}'"),
        // Go quotes the byte as the rune of the same number.
        0x80..=0xa0 | 0xad => format!("'\\u{c:04x}'"),
        _ => format!("'{}'", char::from(c)),
    }
}
