//! Rules on single `eni_conf` fields: Go types, names, versions, inline credentials.

use serde_json::Value;

use super::{Finding, id};
use crate::config::fields::{self, Keys, Kind};
use crate::config::path::{quote, quote_short};
use crate::config::{ENI_CONF, EniConf, Path, Role, Version};

/// Checks on the document as the user wrote it.
pub(super) fn check(conf: &EniConf, role: Role, version: Option<Version>, out: &mut Vec<Finding>) {
    types_and_names(conf, role, version, out);
    super::eni_create::security_group_ids(conf, out);
    super::eni_create::eni_tags(conf, out);
    for field in ["access_key", "access_secret"] {
        if let Some(e) = conf.get(field)
            && e.value.as_str().is_some_and(|s| !s.is_empty())
        {
            out.push(Finding::warn(
                id::INLINE_CREDENTIALS,
                &e.path(),
                format!("{field} is set in the ConfigMap, readable by anyone who can read kube-system ConfigMaps; prefer credential_path or RRSA"),
            ));
        }
    }
}

fn types_and_names(conf: &EniConf, role: Role, version: Option<Version>, out: &mut Vec<Finding>) {
    let root = Path::root(ENI_CONF);
    // Unknown keys cost a did-you-mean each: describe the first few, count
    // the rest, so a document of junk keys costs little.
    let mut unknown = 0usize;
    for (key, value) in conf.doc() {
        // Each key is looked up once: exactly, then (only if that misses)
        // case-insensitively.
        let exact = fields::lookup(key);
        let folded = exact.or_else(|| fields::lookup_ignoring_case(key));
        if folded.is_none() && fields::removed(key).is_none() {
            unknown += 1;
            if unknown > super::MAX_PER_RULE {
                continue;
            }
        }
        // Built only when there is something to say about the key.
        let path = || root.key(key);
        let secret = || fields::looks_secret(key);
        // Earlier repeats fail the base's decoders; in a dynamic config
        // json-patch's MergePatch keeps only the last one before the daemon's
        // typed decode (evanphx/json-patch v5.6.0 merge.go, into Go maps), so
        // only what the last occurrence holds (an overflow) reaches it.
        let hidden = || {
            conf.hidden_under(key).filter(move |(steps, h)| {
                role == Role::Base || fields::survives_map_decode(value, steps, h)
            })
        };
        if let Some(field) = exact {
            if let Some(m) = field.kind.mismatch_with(value, hidden(), path, Keys::Exact) {
                out.push(type_finding(&m, field.secret || secret(), "the daemon (k8s.io/apimachinery/pkg/util/json, types/daemon/config.go) refuses it and Terway does not start"));
            } else if role == Role::Base
                && field.kind.matches_keys()
                && let Some(m) = field.kind.mismatch_with(value, hidden(), path, Keys::Fold)
            {
                out.push(type_finding(&m, field.secret || secret(), "terway-init decodes eni-config with encoding/json, which matches keys case-insensitively (cmd/terway-cli/node.go), and fails on it"));
            }
            if let (Some(since), Some(running)) = (field.since, version)
                && running < since
            {
                out.push(Finding::warn(
                    id::FIELD_VERSION,
                    &path(),
                    format!("{key} is read by Terway {since} and later; the cluster runs Terway {running}, which ignores it until it is upgraded"),
                ));
            }
            continue;
        }
        if let Some(field) = folded {
            out.push(Finding::warn(
                id::FIELD_CASE,
                &path(),
                format!(
                    "{} is ignored: the daemon matches keys exactly (k8s.io/apimachinery/pkg/util/json), so only {} is read; rename it",
                    quote_short(key, 60),
                    quote(field.name)
                ),
            ));
            if role == Role::Base
                && let Some(m) = field.kind.mismatch_with(value, hidden(), path, Keys::Fold)
            {
                out.push(type_finding(&m, field.secret || secret(), &format!("terway-init decodes eni-config with encoding/json, which reads this key as {} (cmd/terway-cli/node.go), and fails on it", field.name)));
            }
            continue;
        }
        if let Some(gone) = fields::removed(key) {
            out.push(Finding::warn(
                id::UNKNOWN_FIELD,
                &path(),
                format!("{key} was removed in Terway {gone} and is ignored; delete it"),
            ));
            continue;
        }
        let hint = fields::suggest(key)
            .map(|s| format!(" Did you mean {s:?}?"))
            .unwrap_or_default();
        out.push(Finding::warn(
            id::UNKNOWN_FIELD,
            &path(),
            format!(
                "{} is not a field Terway knows, so it is ignored.{hint}",
                quote_short(key, 60)
            ),
        ));
    }
    if unknown > super::MAX_PER_RULE {
        out.push(
            Finding::warn(
                id::UNKNOWN_FIELD,
                &root,
                format!(
                    "… and {} more keys Terway does not know",
                    unknown - super::MAX_PER_RULE
                ),
            )
            .about("more:unknown-field"),
        );
    }
}

/// 2^63: Go's int holds -2^63 up to 2^63 - 1; a float64 reading of
/// -2^63 - 1 is -2^63, so the bound is inclusive on both sides.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

fn type_finding(m: &fields::Mismatch, secret: bool, why: &str) -> Finding {
    let got = m.got;
    let shown = match m.literal {
        _ if secret => crate::config::eni_conf::type_name(got).to_string(),
        Some(literal) => format!(
            "the number {}, beyond float64 range (strconv.ParseFloat: value out of range)",
            quote_short(literal, 40)
        ),
        None => describe(got),
    };
    let fix = match (m.want, got) {
        (Kind::Int | Kind::Float | Kind::Float32, Value::String(s))
            if s.trim().parse::<f64>().is_ok() =>
        {
            format!("; write {} without quotes", s.trim())
        }
        (Kind::Bool, Value::String(s)) if s == "true" || s == "false" => {
            format!("; write {s} without quotes")
        }
        // Go's int is 64-bit (strconv.ParseInt(s, 10, 64): value out of range).
        (Kind::Int, Value::Number(n))
            if n.as_i64().is_none()
                && (n.is_u64() || n.as_f64().is_some_and(|f| f.abs() >= TWO_63)) =>
        {
            "; Go's int is 64-bit: from -9223372036854775808 to 9223372036854775807".to_string()
        }
        (Kind::Int, Value::Number(n)) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
            "; write a whole number without a fraction or exponent".to_string()
        }
        (Kind::Struct(members), _) => format!(
            "; write an object with {}",
            members
                .iter()
                .map(|m| quote(m.name))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => String::new(),
    };
    // Go decodes every occurrence of a repeated key and keeps the first
    // type error (encoding/json decode.go saveError), though the last wins.
    let which = if m.earlier {
        " in an earlier occurrence of this repeated key"
    } else {
        ""
    };
    Finding::deny(
        id::FIELD_TYPE,
        &m.path,
        format!(
            "{} must be {}, got {shown}{which}; {why}{fix}",
            m.path,
            m.want.describe()
        ),
    )
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string {}", quote_short(s, 40)),
        Value::Number(n) => format!("the number {n}"),
        Value::Bool(b) => format!("{b}"),
        other => crate::config::eni_conf::type_name(other).to_string(),
    }
}

#[cfg(test)]
mod tests;
