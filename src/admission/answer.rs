//! The webhook's answer, and the AdmissionReview it is sent as, written
//! straight into the body: no kube-core `AdmissionResponse` (a HashMap of
//! annotations, a `TypeMeta` copy) built and then serialized. The bytes are
//! the ones kube-core's serializer writes for the same answer (its field
//! order, its escaping, its patch as an array of bytes), with the audit
//! annotations in key order where kube-core's HashMap has none;
//! `tests/review_replay.rs` holds the two to that.

use std::collections::BTreeMap;
use std::io::Write;

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
        // Writing into a Vec cannot fail.
        let mut sep = "";
        if self.code != 0 {
            let _ = write!(out, "\"code\":{}", self.code);
            sep = ",";
        }
        for (key, value) in [("message", &self.message), ("reason", &self.reason)] {
            if !value.is_empty() {
                let _ = write!(out, "{sep}\"{key}\":");
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

/// A JSON string, escaped exactly as serde_json escapes it (denial and
/// warning texts are long and mostly plain: see `config::json_escape`).
fn string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push(b'"');
    let _ = crate::config::json_escape::split::<std::convert::Infallible>(s, |run, b| {
        out.extend_from_slice(run.as_bytes());
        let Some(b) = b else { return Ok(()) };
        out.extend_from_slice(match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            _ => {
                let hex = [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]];
                out.extend_from_slice(b"\\u00");
                out.extend_from_slice(&hex);
                return Ok(());
            }
        });
        Ok(())
    });
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
