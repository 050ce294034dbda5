//! Where a JSON string needs escapes: one scan shared by everything that
//! writes JSON text by hand (the webhook's answer, the log line), each with
//! its own spelling of an escape.

/// Splits `s` into the runs a JSON string may hold as they are and the
/// bytes between them that must be escaped (`"`, `\`, control characters):
/// `each` gets every run with the byte that ends it, and the last run with
/// `None`. Only ASCII bytes are ever escaped, so every run is whole UTF-8.
/// Most text has nothing to escape: 16-byte blocks are tested at once (a
/// fold the compiler vectorizes) and passed over when clean.
pub fn split<E>(s: &str, mut each: impl FnMut(&str, Option<u8>) -> Result<(), E>) -> Result<(), E> {
    let needs = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
    let bytes = s.as_bytes();
    let (mut from, mut i) = (0, 0);
    while i < bytes.len() {
        let block = &bytes[i..bytes.len().min(i + 16)];
        if !block.iter().fold(false, |any, &b| any | needs(b)) {
            i += block.len();
            continue;
        }
        for &b in block {
            if needs(b) {
                each(&s[from..i], Some(b))?;
                from = i + 1;
            }
            i += 1;
        }
    }
    each(&s[from..], None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_escapes_come_in_order() {
        for (s, want) in [
            ("", vec![""]),
            ("plain", vec!["plain"]),
            ("a\"b", vec!["a", "<22>", "b"]),
            ("\\\n", vec!["", "<5c>", "", "<0a>", ""]),
            ("é😀\u{1}x", vec!["é😀", "<01>", "x"]),
        ] {
            let mut got = Vec::new();
            split::<()>(s, |run, b| {
                got.push(run.to_string());
                got.extend(b.map(|b| format!("<{b:02x}>")));
                Ok(())
            })
            .unwrap();
            assert_eq!(got, want, "{s:?}");
        }
        let long = format!("{}\"{}", "x".repeat(17), "y".repeat(40));
        let mut runs = Vec::new();
        split::<()>(&long, |r, _| {
            runs.push(r.len());
            Ok(())
        })
        .unwrap();
        assert_eq!(runs, [17, 40]);
    }
}
