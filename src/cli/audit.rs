//! `terway-guard audit`: a streaming read of an audit log.

use std::io::{BufRead, BufReader, Read};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, anyhow};

use super::{AuditArgs, Output};
use crate::audit::{Change, History};
use crate::cloud::time::parse_iso8601;
use crate::config::duration;

pub fn run(args: &AuditArgs) -> Result<i32> {
    let input: Box<dyn Read> = if args.file == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(&args.file)
                .with_context(|| format!("cannot open {}", args.file))?,
        )
    };
    let cutoff = match &args.since {
        Some(d) => {
            let ns = duration::parse(d).map_err(|e| anyhow!("--since: {e}"))?;
            Some(
                SystemTime::now()
                    - Duration::from_nanos(u64::try_from(ns.max(0)).unwrap_or(u64::MAX)),
            )
        }
        None => None,
    };
    let (mut changes, malformed) = read(
        BufReader::new(input),
        &args.namespace.terway_namespace,
        cutoff,
    )?;
    if let Some(path) = &args.events {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
        let list: serde_json::Value = serde_json::from_str(&text).with_context(|| {
            format!("{path} is not JSON; write it with kubectl get events -A -o json")
        })?;
        if list
            .get("items")
            .and_then(serde_json::Value::as_array)
            .is_none()
        {
            anyhow::bail!(
                "{path} has no \"items\" list; write it with kubectl get events -A -o json"
            );
        }
        let events = crate::audit::terway_events(&list)
            .into_iter()
            .filter(|c| cutoff.is_none_or(|cut| parse_iso8601(&c.time).is_none_or(|t| t >= cut)));
        changes.extend(events);
        // One timeline: by time (edits keep their order among equals).
        changes.sort_by_key(|c| parse_iso8601(&c.time));
    }
    if malformed > 0 {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "skipped {malformed} malformed line(s)");
    }
    match args.output {
        Output::Json => super::out(&format!("{}\n", serde_json::to_value(&changes)?)),
        Output::Text => super::out(&text(&changes)),
    }
    Ok(0)
}

/// Changes in the log, oldest first, and the number of lines that were not events.
pub fn read(
    input: impl BufRead,
    namespace: &str,
    cutoff: Option<SystemTime>,
) -> Result<(Vec<Change>, usize)> {
    let mut history = History::default();
    let (mut out, mut malformed) = (Vec::new(), 0);
    for line in input.split(b'\n') {
        let line = line.context("cannot read the audit log")?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Ok(event) = serde_json::from_slice::<serde_json::Value>(&line) else {
            malformed += 1;
            continue;
        };
        if !event.is_object() {
            malformed += 1;
            continue;
        }
        // Replayed for its history even when older than the cutoff.
        let Some(change) = history.read(&event, namespace) else {
            continue;
        };
        if cutoff.is_some_and(|c| parse_iso8601(&change.time).is_some_and(|t| t < c)) {
            continue;
        }
        out.push(change);
    }
    Ok((out, malformed))
}

fn text(changes: &[Change]) -> String {
    let mut out = format!(
        "{:<20} {:<24} {:<7} {:<9} {}\n",
        "TIME", "USER", "VERB", "DECISION", "WHAT"
    );
    for c in changes {
        let mut what = Vec::new();
        if !c.rules.is_empty() {
            what.push(format!("rules: {}", c.rules.join(",")));
        }
        what.extend(c.vswitches_added.iter().map(|v| format!("+{v}")));
        what.extend(c.vswitches_removed.iter().map(|v| format!("-{v}")));
        what.extend(c.pool_changes.iter().cloned());
        if c.mutated {
            what.push("mutated".into());
        }
        if let Some(r) = &c.bypass_reason {
            what.push(format!("reason: {r}"));
        }
        if let Some(m) = &c.message {
            what.push(m.clone());
        }
        let time: String = c.time.chars().take(19).collect();
        let target = if c.namespace.is_empty() {
            c.name.clone()
        } else {
            format!("{}/{}", c.namespace, c.name)
        };
        out.push_str(&format!(
            "{:<20} {:<24} {:<7} {:<9} {target} {}\n",
            time,
            c.user,
            c.verb,
            c.decision,
            what.join(" ")
        ));
    }
    if changes.is_empty() {
        out.push_str("(no changes to Terway configs in this log)\n");
    }
    out
}
