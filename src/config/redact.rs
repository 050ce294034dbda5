//! Keeps credentials that may sit in `eni_conf` out of every output.

use crate::config::{ConfigObject, EniConf};

/// Secret values found in the objects of a request.
#[derive(Debug, Default, Clone)]
pub struct Secrets(Vec<String>);

const MASK: &str = "[redacted]";

impl Secrets {
    pub fn of<'a>(objects: impl IntoIterator<Item = &'a ConfigObject>) -> Self {
        let confs: Vec<std::sync::Arc<EniConf>> = objects
            .into_iter()
            .filter_map(ConfigObject::eni_conf)
            .collect();
        Self::of_confs(confs.iter().map(|c| &**c))
    }

    /// The same, from documents already parsed.
    pub fn of_confs<'a>(confs: impl IntoIterator<Item = &'a EniConf>) -> Self {
        let mut found = Vec::new();
        for conf in confs {
            for (_, v) in conf.secret_entries() {
                collect(v, &mut found);
            }
        }
        // Longest first, so a secret containing another is masked whole.
        found.sort_by_key(|s: &String| std::cmp::Reverse(s.len()));
        found.dedup();
        Secrets(found)
    }

    /// `s` with every secret value replaced by a mask.
    pub fn scrub(&self, s: &str) -> String {
        let mut out = s.to_string();
        for secret in &self.0 {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        // Very short values are not credentials and would mask ordinary words.
        serde_json::Value::String(s) if s.len() >= 4 => out.push(s.clone()),
        serde_json::Value::Number(n) if n.to_string().len() >= 4 => out.push(n.to_string()),
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
        serde_json::Value::Object(m) => m.values().for_each(|i| collect(i, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_credentials_even_misspelt_keys() {
        let cm = crate::rules::testing::base(
            r#"{"access_key": "LTAI5tExample", "acess_secret": "s3cr3tValue!", "version": "1"}"#,
        );
        let s = Secrets::of([&cm]);
        let out = s.scrub("key LTAI5tExample and s3cr3tValue! and 1");
        assert_eq!(out, "key [redacted] and [redacted] and 1");
    }
}
