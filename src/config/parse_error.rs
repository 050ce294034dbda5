//! Why `eni_conf` does not load, in Go's words, with a hint for the usual
//! paste mistakes.

use serde_json::Value;

/// Why `eni_conf` is not a document Terway can load.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// Valid JSON, but not an object (Go's typed decode refuses it).
    pub not_object: bool,
}

/// The name Go's UnmarshalTypeError gives a JSON value.
pub(super) fn go_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A hint for the mistakes people make when pasting configs from blog posts.
pub(super) fn hint(text: &str, line: usize, message: &str) -> String {
    let at = text.lines().nth(line.saturating_sub(1)).unwrap_or_default();
    let closer = message.starts_with("invalid character '}'")
        || message.starts_with("invalid character ']'");
    if closer && message.contains("looking for beginning of") {
        "; a trailing comma is not allowed".to_string()
    } else if at.contains('#') || at.contains("//") || at.contains("/*") {
        "; comments (# or //) are not allowed".to_string()
    } else if at.contains('\'') {
        "; strings and keys need double quotes".to_string()
    } else {
        String::new()
    }
}
