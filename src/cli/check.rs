//! `terway-guard check`: the verdict engine on files.

use std::io::Read;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::{CheckArgs, Output};
use crate::admission::Secrets;
use crate::config::{ConfigObject, manifest};
use crate::inventory::Query;
use crate::rules::Finding;
#[cfg(test)]
use crate::rules::Settings;
use crate::verdict::{self, Verdict};

pub async fn run(args: &CheckArgs) -> Result<i32> {
    let new = load(&args.new)?;
    let old = args.old.as_deref().map(load).transpose()?;
    let base = args.base.as_deref().map(load).transpose()?;
    let objects: Vec<&ConfigObject> = [Some(&new), old.as_ref(), base.as_ref()]
        .into_iter()
        .flatten()
        .collect();
    let facts = match super::inventory::open(&args.inventory, super::inventory::Caller::Cli).await?
    {
        Some(inv) => Some(inv.facts(&query(&objects)).await),
        None => None,
    };
    let settings = args.rules.settings();
    let v = verdict::judge_objects(&new, old.as_ref(), base.as_ref(), facts.as_ref(), &settings);
    let secrets = Secrets::of(objects.iter().copied());
    if new.role() == crate::config::Role::Other {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "note: {} is neither eni-config nor has an eni_conf key, so Terway does not read it; nothing to check",
            args.new
        );
    }
    match args.output {
        Output::Json => super::out(&format!("{}\n", to_json(&v, &secrets))),
        Output::Text => super::out(&to_text(&v, &secrets, super::color())),
    }
    Ok(if v.allowed { 0 } else { 1 })
}

/// The vSwitch ids the objects list.
pub fn query(objects: &[&ConfigObject]) -> Query {
    crate::inventory::query_for(objects.iter().copied())
}

pub fn load(path: &str) -> Result<ConfigObject> {
    let text = if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read stdin")?;
        s
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
    };
    manifest::parse(&text).with_context(|| format!("{path} is not a readable ConfigMap"))
}

/// The one JSON object `check -o json` prints; secret values are masked.
pub fn to_json(v: &Verdict, secrets: &Secrets) -> Value {
    let findings: Vec<Value> = v
        .findings
        .iter()
        .map(|f| json!({"rule": f.rule, "severity": f.severity, "path": secrets.scrub(&f.path), "message": secrets.scrub(&f.message)}))
        .collect();
    let mut patch = serde_json::to_value(&v.patch).unwrap_or(Value::Array(Vec::new()));
    scrub_value(&mut patch, secrets);
    json!({"allowed": v.allowed, "findings": findings, "patch": patch})
}

fn scrub_value(v: &mut Value, secrets: &Secrets) {
    match v {
        Value::String(s) => *s = secrets.scrub(s),
        Value::Array(items) => items.iter_mut().for_each(|i| scrub_value(i, secrets)),
        Value::Object(m) => m.values_mut().for_each(|i| scrub_value(i, secrets)),
        _ => {}
    }
}

pub fn to_text(v: &Verdict, secrets: &Secrets, color: bool) -> String {
    let paint = |code: &str, s: &str| super::paint(color, code, s);
    let mut out = String::new();
    let group = |title: &str, code: &str, items: Vec<&Finding>, out: &mut String| {
        if items.is_empty() {
            return;
        }
        out.push_str(&paint(code, title));
        out.push('\n');
        for f in items {
            out.push_str(&format!(
                "  [{}] {}: {}\n",
                f.rule,
                secrets.scrub(&f.path),
                secrets.scrub(&f.message)
            ));
        }
    };
    group("DENY", "1;31", v.denials().collect(), &mut out);
    group("WARN", "1;33", v.warnings().collect(), &mut out);
    if !v.patch.0.is_empty() {
        out.push_str(&paint("1;36", "MUTATION"));
        out.push('\n');
        for op in &v.patch.0 {
            let path = serde_json::to_value(op)
                .ok()
                .and_then(|o| o.get("path").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            let what = if path == "/data/eni_conf" {
                "remove repeated vSwitch ids from eni_conf"
            } else {
                "stamp the terway-guard.io/eni-conf-sha256 annotation"
            };
            out.push_str(&format!("  {what}\n"));
        }
    }
    let denies = v.denials().count();
    let warns = v.warnings().count();
    let verdict = if v.allowed {
        paint("1;32", "allowed")
    } else {
        paint("1;31", "denied")
    };
    out.push_str(&format!("{verdict}: {denies} deny, {warns} warn\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{base, create};

    #[test]
    fn text_is_one_line_per_finding_and_colours_only_on_request() {
        let cm = base(r#"{"max_pool_size": "80", "vswitches": {"z": ["vsw-1", "vsw-1"]}}"#);
        let v = verdict::judge_objects(&cm, None, None, None, &Settings::default());
        let secrets = Secrets::of([&cm]);
        let plain = to_text(&v, &secrets, false);
        let lines: Vec<&str> = plain.lines().collect();
        assert_eq!(lines[0], "DENY");
        assert!(
            lines[1].starts_with("  [field-type] eni_conf.max_pool_size: "),
            "{plain}"
        );
        assert!(
            plain.contains("MUTATION\n  remove repeated vSwitch ids"),
            "{plain}"
        );
        assert!(plain.ends_with("denied: 1 deny, 3 warn\n"), "{plain}");
        assert!(!plain.contains('\x1b'));
        assert!(to_text(&v, &secrets, true).contains("\x1b[1;31mDENY\x1b[0m"));
        assert_eq!(create(&cm).len(), v.findings.len());
    }

    #[test]
    fn json_never_carries_credentials() {
        let cm = base(
            r#"{"access_key": "LTAI-VERY-SECRET", "max_pool_size": "x", "vswitches": {"z": ["vsw-1", "vsw-1"]}}"#,
        );
        let v = verdict::judge_objects(&cm, None, None, None, &Settings::default());
        let json = to_json(&v, &Secrets::of([&cm])).to_string();
        assert!(!json.contains("LTAI-VERY-SECRET"), "{json}");
        assert!(
            json.contains("inline-credentials") && json.contains("terway-guard.io/eni-conf-sha256")
        );
    }
}
