//! JSON decoded the way Terway's readers decode `eni_conf`, and what each of
//! them refuses.
//!
//! # Who reads `eni_conf`, with what
//!
//! | reader | decoder | keys | fails on |
//! |---|---|---|---|
//! | daemon, unlabelled node (types/daemon/config.go MergeConfigAndUnmarshal, `len(topCfg) == 0`) | `k8s.io/apimachinery/pkg/util/json.Unmarshal` = sigs.k8s.io/json `UnmarshalCaseSensitivePreserveInts` | exact | syntax, depth > 10000, a wrong type in ANY occurrence of a key; repeats are merged into the typed fields ([`super::typed`]) |
//! | daemon, labelled node (daemon/builder.go LoadDynamicConfig → GetConfigFromFileWithMerge) | evanphx/json-patch v5.6.0 `MergePatch(base, dynamic)` (merge.go doMergePatch, `encoding/json` into maps), then the same typed decode | exact | as above, plus a `null` patch (`ErrBadJSONPatch` "Invalid JSON Patch") or `null` base (`ErrBadJSONDoc`); the maps keep the LAST of repeated keys, so earlier repeats in a dynamic config, and in the base's top level, never reach the typed decode |
//! | terway-init `terway-cli nodeconfig` (cmd/terway-cli/node.go getENIConfig) | `encoding/json.Unmarshal` into `daemon.Config` | exact, else Unicode simple case folding (Go ≥ 1.21 `foldName`; go.mod says go 1.26.2) | as the daemon, with folded keys also typed |
//! | terway-init hack/init.sh, `jq '.enable_erdma' -r </etc/eni/eni_conf` under `set -o errexit` | jq 1.7.1 (Ubuntu 24.04) src/jv_parse.c | — | a lone high surrogate escape, nesting past `MAX_PARSING_DEPTH` (256 stack slots) |
//!
//! Facts this decoder follows (Go: sigs.k8s.io/json internal/golang/encoding/json,
//! a copy of `encoding/json`; jq: jqlang/jq tag jq-1.7.1 src/jv_parse.c):
//! - strict RFC 8259; whitespace is space, tab, CR, LF; text after the value fails;
//! - nesting: scanner.go `maxNestingDepth = 10000`, more fails "exceeded max depth";
//!   jq refuses to open a container when its parse stack already holds 256
//!   entries, where an array takes one entry and an object two (it pushes the
//!   key being read): 256 nested arrays load, 129 nested objects do not;
//! - a repeated key: the value is the last one, at the position of the first,
//!   as a Go map of `interface{}` keeps it (json-patch's MergePatch, jq;
//!   serde_json's preserve_order map does the same), and every earlier one is
//!   kept as a [`Note`] because decode.go `saveError` keeps a type error from any
//!   occurrence and fails the whole Unmarshal. A decode into TYPED fields
//!   writes each occurrence into what the field holds (maps and structs
//!   merged, `null` ignored by a plain field): [`super::typed`] builds that
//!   view, which [`super::EniConf`] holds for the daemon;
//! - `\uD800`–`\uDFFF` not in a valid pair decode to U+FFFD (decode.go unquote);
//!   jq accepts a lone LOW surrogate (U+FFFD too) but refuses a high one not
//!   followed by `\uDC00`–`\uDFFF` ("Invalid \uXXXX\uXXXX surrogate pair escape");
//! - numbers are syntax only until a Go type reads them: `1e400` is fine in a
//!   skipped key, fails a float64 (ParseFloat range error); it is kept as a
//!   [`Note`] with its literal. `-0` is the integer 0 (ParseInt).
//!
//! Containers deeper than 100 levels are checked to Go's limit but kept
//! empty in the value: no Terway type reaches that deep, and a 10000-deep
//! `Value` would overflow the stack of whatever drops, clones or compares it.
//!
//! A `float32` is judged from the number's float64; the one literal range
//! where that rounds differently from `ParseFloat(s, 32)` (just under
//! MaxFloat32 + half an ulp) is stored one float64 ulp lower.
//!
//! Known gap: case folding follows the Unicode tables of the Rust
//! toolchain, not Go 1.26's.

mod parse;
mod string;
#[cfg(test)]
mod tests;

use serde_json::Value;

pub use parse::decode;

/// A JSON text as Go decodes it, and what the value alone does not tell.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The value a Go map ends with (last of repeated keys, first position).
    pub value: Value,
    /// Earlier occurrences and out-of-range numbers, in document order.
    pub notes: Vec<Note>,
    /// Why jq 1.7.1 refuses the text although Go accepts it.
    pub jq: Option<JqRefusal>,
}

/// One step from a value into one of its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// Something at `path` that Go's typed decode looks at but the value hides.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    pub path: Vec<Step>,
    pub what: Hidden,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Hidden {
    /// An earlier occurrence of a repeated key. The value is the last one;
    /// a typed decode may still merge this one into it ([`super::typed`]),
    /// and reads it for type errors either way.
    Earlier(Value),
    /// A number beyond float64 range, as written; the value holds
    /// `standin` (±f64::MAX) in its place.
    Overflow { literal: String, standin: Value },
}

/// Where and why jq 1.7.1 stops, with jq's own message.
#[derive(Debug, Clone, PartialEq)]
pub struct JqRefusal {
    pub line: usize,
    pub column: usize,
    pub message: &'static str,
}

/// What Go's decoder says about a text it refuses.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    /// Go's own wording (`invalid character 'x' after object key`).
    pub message: String,
}

/// Go's nesting limit (scanner.go maxNestingDepth).
pub const GO_MAX_DEPTH: usize = 10_000;
/// Containers deeper than this are checked but kept empty here, and kept as
/// their span only by [`super::spans`] (serde_json's own recursion limit is
/// 128): no Terway type reaches that deep.
pub const KEEP_DEPTH: usize = 100;
/// jq 1.7.1's parse stack limit (jv_parse.c MAX_PARSING_DEPTH).
pub const JQ_MAX_PARSING_DEPTH: usize = 256;

/// Go's `foldName` for one rune (encoding/json fold.go since Go 1.21): ASCII
/// letters to upper case, any other rune to the smallest rune of its simple
/// case-folding orbit, so `ſ` (U+017F) folds with `s` and the Kelvin sign
/// (U+212A) with `k`. The orbit is walked through the single-rune upper and
/// lower mappings (what `unicode.SimpleFold` follows outside its orbit table);
/// its smallest member is reachable from every member in Unicode's tables.
pub fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    let mut orbit = [c; 8];
    let mut n = 1;
    let mut i = 0;
    while i < n {
        let x = orbit[i];
        for m in [only(x.to_lowercase()), only(x.to_uppercase())]
            .into_iter()
            .flatten()
        {
            if n < orbit.len() && !orbit[..n].contains(&m) {
                orbit[n] = m;
                n += 1;
            }
        }
        i += 1;
    }
    orbit[..n].iter().copied().min().unwrap_or(c)
}

/// The mapping when it is one rune (Go's simple mappings never expand).
fn only(mut it: impl Iterator<Item = char>) -> Option<char> {
    match (it.next(), it.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    }
}

/// Whether `encoding/json` matches key `a` to field name `b` when no field
/// has `a` exactly (decode.go: `byFoldedName[foldName(key)]`).
pub fn fold_eq(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.chars().map(fold_char).eq(b.chars().map(fold_char))
}
