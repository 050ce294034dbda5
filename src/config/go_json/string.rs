//! Strings as Go's decoder reads them (decode.go unquote), and what jq
//! 1.7.1 refuses in them (src/jv_parse.c found_string).

use super::SyntaxError;
use super::parse::Parser;

impl Parser<'_> {
    pub(super) fn string(&mut self) -> Result<String, SyntaxError> {
        self.i += 1; // the opening quote
        let start = self.i;
        // Most strings have no escapes: one scan, one copy.
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b'"' => {
                    let s = self.text.get(start..self.i).unwrap_or_default().to_string();
                    self.i += 1;
                    return Ok(s);
                }
                b'\\' => break,
                0..=0x1f => return Err(self.invalid(c, "in string literal")),
                _ => self.i += 1,
            }
        }
        let mut out = String::from(self.text.get(start..self.i).unwrap_or_default());
        loop {
            let run = self.i;
            while let Some(&c) = self.b.get(self.i) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.i += 1;
            }
            out.push_str(self.text.get(run..self.i).unwrap_or_default());
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => self.escape(&mut out)?,
                Some(c) => return Err(self.invalid(c, "in string literal")),
                None => return Err(self.eof()),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), SyntaxError> {
        let at = self.i;
        self.i += 1;
        let c = match self.peek() {
            Some(c) => c,
            None => return Err(self.eof()),
        };
        self.i += 1;
        let plain = match c {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                out.push(self.unit(at, unit));
                return Ok(());
            }
            _ => {
                self.i -= 1;
                return Err(self.invalid(c, "in string escape code"));
            }
        };
        out.push(plain);
        Ok(())
    }

    /// The rune for a `\uXXXX` just read (at `at`): a pair joins with the
    /// escape after it; a surrogate alone is U+FFFD (decode.go unquote).
    fn unit(&mut self, at: usize, unit: u32) -> char {
        if !(0xD800..=0xDFFF).contains(&unit) {
            return char::from_u32(unit).unwrap_or('\u{FFFD}');
        }
        let low = self.peek_low_surrogate();
        if unit <= 0xDBFF {
            if let Some(low) = low {
                self.i += 6;
                let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                return char::from_u32(c).unwrap_or('\u{FFFD}');
            }
            if self.jq.is_none() {
                self.jq = Some((at, "Invalid \\uXXXX\\uXXXX surrogate pair escape"));
            }
        }
        '\u{FFFD}'
    }

    /// A `\uDC00`–`\uDFFF` escape right here, not consumed.
    fn peek_low_surrogate(&self) -> Option<u32> {
        let s = self.b.get(self.i..self.i + 6)?;
        if s[0] != b'\\' || s[1] != b'u' {
            return None;
        }
        let v = s[2..]
            .iter()
            .try_fold(0u32, |acc, &h| Some(acc * 16 + hex(h)?))?;
        (0xDC00..=0xDFFF).contains(&v).then_some(v)
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let c = self.peek().ok_or_else(|| self.eof())?;
            let Some(d) = hex(c) else {
                return Err(self.invalid(c, "in \\u hexadecimal character escape"));
            };
            v = v * 16 + d;
            self.i += 1;
        }
        Ok(v)
    }
}

fn hex(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}
