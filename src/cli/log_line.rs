//! The JSON log line, written straight into the line buffer.
//!
//! Same shape as tracing-subscriber's `.json()`:
//! `{"timestamp","level","fields":{"message",...},"target"}`, plus `"spans"`
//! (root first, each with its fields and `"name"`) inside a span. Its own
//! formatter sends every token through a serde serializer and an io-to-fmt
//! adaptor; on the webhook's review path that was about 5 % of a review's CPU.

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

pub(crate) struct JsonLine;

impl<S> FormatEvent<S, JsonFields> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        w.write_str("{\"timestamp\":\"")?;
        SystemTime.format_time(&mut w)?;
        w.write_str("\",\"level\":\"")?;
        w.write_str(meta.level().as_str())?;
        w.write_str("\",\"fields\":{")?;
        let mut fields = Fields {
            w: &mut w,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        w.write_str("},\"target\":")?;
        string(&mut w, meta.target())?;
        if let Some(scope) = ctx.event_scope() {
            w.write_str(",\"spans\":[")?;
            for (i, span) in scope.from_root().enumerate() {
                if i > 0 {
                    w.write_char(',')?;
                }
                // JsonFields keeps each span's fields as a JSON object's text.
                let ext = span.extensions();
                let own = ext
                    .get::<FormattedFields<JsonFields>>()
                    .map(|f| f.fields.as_str())
                    .filter(|f| f.len() > 2 && f.starts_with('{') && f.ends_with('}'));
                match own {
                    Some(f) => {
                        w.write_str(&f[..f.len() - 1])?;
                        w.write_char(',')?;
                    }
                    None => w.write_char('{')?,
                }
                w.write_str("\"name\":")?;
                string(&mut w, span.name())?;
                w.write_char('}')?;
            }
            w.write_char(']')?;
        }
        w.write_str("}\n")
    }
}

/// Writes an event's fields as JSON members.
struct Fields<'a, 'w> {
    w: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl Fields<'_, '_> {
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if !std::mem::take(&mut self.first) {
                self.w.write_char(',')?;
            }
            string(self.w, field.name())?;
            self.w.write_char(':')?;
            value(self.w)
        })();
    }
}

impl Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |w| string(w, value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |w| w.write_str(if value { "true" } else { "false" }));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |w| write!(w, "{value}"));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |w| write!(w, "{value}"));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity: those are written as strings.
        self.member(field, |w| {
            if value.is_finite() {
                write!(w, "{value}")
            } else {
                string(w, &value.to_string())
            }
        });
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.member(field, |w| string(w, &value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |w| string(w, &format!("{value:?}")));
    }
}

/// `s` as a JSON string literal.
fn string(w: &mut impl Write, s: &str) -> fmt::Result {
    w.write_char('"')?;
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        let escaped = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if (c as u32) < 0x20 => "",
            _ => continue,
        };
        w.write_str(&s[plain..i])?;
        if escaped.is_empty() {
            write!(w, "\\u{:04x}", c as u32)?;
        } else {
            w.write_str(escaped)?;
        }
        plain = i + c.len_utf8();
    }
    w.write_str(&s[plain..])?;
    w.write_char('"')
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn strings_are_escaped_as_serde_json_does() {
        for s in [
            "",
            "plain",
            "quote \" and \\ backslash",
            "lines\nand\rtabs\t",
            "\u{0}\u{1}\u{1f} control",
            "ünïcode ✓ and \u{7f}",
        ] {
            let mut out = String::new();
            string(&mut out, s).unwrap();
            let back: String = serde_json::from_str(&out).unwrap();
            assert_eq!(back, s, "{out}");
            assert_eq!(out, serde_json::to_string(s).unwrap());
        }
    }

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_line_is_one_json_document_with_every_field() {
        let buf = Buf::default();
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(JsonFields::new())
            .event_format(JsonLine)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(
                endpoint = "validate",
                micros = 297u64,
                delta = -3i64,
                dry_run = false,
                ratio = 0.5f64,
                odd = f64::NAN,
                rules = %"a,b",
                user = ?"al\"ice",
                "admission review"
            );
            let span = tracing::info_span!("request", id = 7u64);
            let _in = span.enter();
            tracing::warn!("inside \"a\" span");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        let f = &lines[0]["fields"];
        assert_eq!(f["message"], "admission review");
        assert_eq!(f["endpoint"], "validate");
        assert_eq!(f["micros"], 297);
        assert_eq!(f["delta"], -3);
        assert_eq!(f["dry_run"], false);
        assert_eq!(f["ratio"], 0.5);
        assert_eq!(f["odd"], "NaN");
        assert_eq!(f["rules"], "a,b");
        assert_eq!(f["user"], "\"al\\\"ice\"");
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(lines[0]["target"], module_path!());
        assert!(lines[0]["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(lines[0].get("spans").is_none());
        assert_eq!(lines[1]["fields"]["message"], "inside \"a\" span");
        assert_eq!(lines[1]["level"], "WARN");
        assert_eq!(
            lines[1]["spans"],
            serde_json::json!([{"id": 7, "name": "request"}])
        );
    }
}
