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
        timestamp(&mut w, std::time::SystemTime::now())?;
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
        self.member(field, |w| {
            w.write_char('"')?;
            write!(Escaping(w), "{value:?}")?;
            w.write_char('"')
        });
    }
}

/// RFC 3339 UTC with microseconds, as tracing-subscriber's `SystemTime`
/// writes it, from integer arithmetic rather than a dozen `{:02}` formats.
fn timestamp(w: &mut Writer<'_>, now: std::time::SystemTime) -> fmt::Result {
    let Ok(since) = now.duration_since(std::time::UNIX_EPOCH) else {
        return SystemTime.format_time(w);
    };
    let secs = since.as_secs();
    let days = secs / 86_400;
    let (year, month, day) = civil(days);
    if year > 9999 {
        return SystemTime.format_time(w);
    }
    let rem = secs % 86_400;
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut v: u64| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month);
    put(8, 2, day);
    put(11, 2, rem / 3600);
    put(14, 2, rem / 60 % 60);
    put(17, 2, rem % 60);
    put(20, 6, u64::from(since.subsec_micros()));
    // Only ASCII digits and separators were written.
    w.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic
/// Gregorian; Howard Hinnant's `civil_from_days`).
fn civil(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// `s` as a JSON string literal.
fn string(w: &mut impl Write, s: &str) -> fmt::Result {
    w.write_char('"')?;
    escaped(w, s)?;
    w.write_char('"')
}

/// `s` escaped for the inside of a JSON string (`config::json_escape`
/// finds what to escape, 16 bytes at a time).
fn escaped(w: &mut impl Write, s: &str) -> fmt::Result {
    crate::config::json_escape::split(s, |run, b| {
        w.write_str(run)?;
        match b {
            None => Ok(()),
            Some(b'"') => w.write_str("\\\""),
            Some(b'\\') => w.write_str("\\\\"),
            Some(b'\n') => w.write_str("\\n"),
            Some(b'\r') => w.write_str("\\r"),
            Some(b'\t') => w.write_str("\\t"),
            Some(b) => write!(w, "\\u{:04x}", b),
        }
    })
}

/// Escapes what is formatted through it, so a `Display` or `Debug` value is
/// written into the line without a `String` of its own.
struct Escaping<'a, W>(&'a mut W);

impl<W: Write> Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escaped(self.0, s)
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        use std::time::{Duration, UNIX_EPOCH};
        for (secs, micros, want) in [
            (0, 0, "1970-01-01T00:00:00.000000Z"),
            (68_169_600, 1, "1972-02-29T00:00:00.000001Z"),
            (951_782_400, 500_000, "2000-02-29T00:00:00.500000Z"),
            (1_780_000_000, 123_456, "2026-05-28T20:26:40.123456Z"),
            (1_798_761_599, 999_999, "2026-12-31T23:59:59.999999Z"),
            (253_402_300_799, 0, "9999-12-31T23:59:59.000000Z"),
        ] {
            let at = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros);
            let mut out = String::new();
            timestamp(&mut Writer::new(&mut out), at).unwrap();
            assert_eq!(out, want, "{secs}.{micros:06}");
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_does() {
        for s in [
            "",
            "plain",
            "quote \" and \\ backslash",
            "lines\nand\rtabs\t",
            "\u{0}\u{1}\u{1f} control",
            "ünïcode ✓ and \u{7f}",
            "a block of sixteen then \"quoted\" across the edge of the next",
            "sixteen bytes!!!\n",
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
                why = %"say \"hi\"\n\tnow ✓",
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
        assert_eq!(
            f["why"], "say \"hi\"\n\tnow ✓",
            "Display escaped as it is written"
        );
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
