//! The webhook's answer, and the AdmissionReview it is sent as, written
//! straight into the body: no kube-core `AdmissionResponse` (a HashMap of
//! annotations, a `TypeMeta` copy) built and then serialized. The bytes are
//! the ones kube-core's serializer writes for the same answer (its field
//! order, its escaping, its patch as an array of bytes), with the audit
//! annotations in key order where kube-core's HashMap has none;
//! `tests/review_replay.rs` holds the two to that.

use std::collections::BTreeMap;

use super::review::RequestInfo;

#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub allowed: bool,
    /// HTTP-like status code of a denial (0: none).
    pub code: u16,
    pub message: String,
    pub reason: String,
    /// The JSON Patch the mutating webhook sends.
    pub patch: Option<json_patch::Patch>,
    pub audit_annotations: BTreeMap<String, String>,
    pub warnings: Option<Vec<String>>,
}

impl Answer {
    pub fn allow() -> Self {
        Answer {
            allowed: true,
            code: 0,
            message: String::new(),
            reason: String::new(),
            patch: None,
            audit_annotations: BTreeMap::new(),
            warnings: None,
        }
    }

    pub fn deny(&mut self, code: u16, reason: &str, message: String) {
        self.allowed = false;
        self.code = code;
        self.reason = reason.to_string();
        self.message = message;
    }

    /// The AdmissionReview the apiserver expects, for the request `info`.
    pub fn to_json(&self, info: &RequestInfo) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.message.len());
        out.extend_from_slice(b"{\"apiVersion\":");
        string(&mut out, &info.api_version);
        out.extend_from_slice(b",\"kind\":");
        string(&mut out, &info.review_kind);
        out.extend_from_slice(b",\"response\":{\"uid\":");
        string(&mut out, &info.uid);
        out.extend_from_slice(if self.allowed {
            b",\"allowed\":true,\"status\":{"
        } else {
            b",\"allowed\":false,\"status\":{"
        });
        let mut sep = "";
        if self.code != 0 {
            out.extend_from_slice(format!("\"code\":{}", self.code).as_bytes());
            sep = ",";
        }
        for (key, value) in [("message", &self.message), ("reason", &self.reason)] {
            if !value.is_empty() {
                out.extend_from_slice(format!("{sep}\"{key}\":").as_bytes());
                string(&mut out, value);
                sep = ",";
            }
        }
        out.push(b'}');
        if let Some(patch) = &self.patch {
            // kube-core sends the patch's JSON as a byte array, which Go's
            // encoding/json reads into the []byte field as well as base64.
            let json = serde_json::to_vec(patch).unwrap_or_default();
            out.extend_from_slice(b",\"patch\":[");
            for (i, b) in json.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                decimal(&mut out, *b);
            }
            out.extend_from_slice(b"],\"patchType\":\"JSONPatch\"");
        }
        if !self.audit_annotations.is_empty() {
            out.extend_from_slice(b",\"auditAnnotations\":{");
            for (i, (k, v)) in self.audit_annotations.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(&mut out, k);
                out.push(b':');
                string(&mut out, v);
            }
            out.push(b'}');
        }
        if let Some(warnings) = &self.warnings {
            out.extend_from_slice(b",\"warnings\":[");
            for (i, w) in warnings.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(&mut out, w);
            }
            out.push(b']');
        }
        out.extend_from_slice(b"}}");
        out
    }
}

/// A JSON string, escaped exactly as serde_json escapes it. Denial and
/// warning texts are long and mostly plain: 16-byte blocks are tested at
/// once (a fold the compiler vectorizes) and copied whole when clean, where
/// serde_json looks each byte up.
fn string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let needs = |b: u8| b < 0x20 || b == b'"' || b == b'\\';
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let (mut plain, mut i) = (0, 0);
    while i < bytes.len() {
        let block = &bytes[i..bytes.len().min(i + 16)];
        if !block.iter().fold(false, |any, &b| any | needs(b)) {
            i += block.len();
            continue;
        }
        for &b in block {
            if needs(b) {
                out.extend_from_slice(&bytes[plain..i]);
                match b {
                    b'"' => out.extend_from_slice(b"\\\""),
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    0x08 => out.extend_from_slice(b"\\b"),
                    0x0c => out.extend_from_slice(b"\\f"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    _ => out.extend_from_slice(&[
                        b'\\',
                        b'u',
                        b'0',
                        b'0',
                        HEX[usize::from(b >> 4)],
                        HEX[usize::from(b & 15)],
                    ]),
                }
                plain = i + 1;
            }
            i += 1;
        }
    }
    out.extend_from_slice(&bytes[plain..]);
    out.push(b'"');
}

fn decimal(out: &mut Vec<u8>, b: u8) {
    if b >= 100 {
        out.push(b'0' + b / 100);
    }
    if b >= 10 {
        out.push(b'0' + b / 10 % 10);
    }
    out.push(b'0' + b % 10);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut cases: Vec<String> = (0u8..0x80).map(|b| char::from(b).to_string()).collect();
        cases.extend([
            String::new(),
            "plain text longer than one block of sixteen".into(),
            "a\"b\\c\nd\u{1}e\u{7f}é😀\u{2028}/".into(),
            format!("{}\t{}", "x".repeat(15), "y".repeat(17)),
            "\u{1f}".repeat(40),
        ]);
        for s in cases {
            let mut out = Vec::new();
            string(&mut out, &s);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&s).unwrap(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn bytes_are_written_as_decimals() {
        for b in [0u8, 7, 10, 99, 100, 109, 255] {
            let mut out = Vec::new();
            decimal(&mut out, b);
            assert_eq!(String::from_utf8(out).unwrap(), b.to_string());
        }
    }
}
