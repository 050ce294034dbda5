//! Go's `time.ParseDuration` syntax, which Terway uses for reclaim timings.

/// The magnitude Go's `time.ParseDuration` accumulates up to (1<<63).
const GO_LIMIT: i128 = 1 << 63;

/// Parses a Go duration into nanoseconds, or says why Go would refuse it.
pub fn parse(s: &str) -> Result<i128, String> {
    let orig = s;
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(format!("invalid duration {orig:?}"));
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac_part = "";
        if let Some(after) = rest.strip_prefix('.') {
            let n = after.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &after[..n];
            rest = &after[n..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(format!("invalid duration {orig:?}"));
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(rest.len(), |(i, _)| i);
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("missing unit in duration {orig:?}")),
            other => return Err(format!("unknown unit {other:?} in duration {orig:?}")),
        };
        let int: i128 = if int_part.is_empty() {
            0
        } else {
            int_part
                .parse::<i128>()
                .ok()
                .filter(|v| *v <= GO_LIMIT)
                .ok_or_else(|| format!("invalid duration {orig:?}"))?
        };
        let mut frac_ns: i128 = 0;
        let mut div: i128 = 1;
        for d in frac_part.bytes().take(30) {
            frac_ns = frac_ns * 10 + i128::from(d - b'0');
            div *= 10;
        }
        total += int * scale + frac_ns * scale / div;
        if total > GO_LIMIT {
            return Err(format!("invalid duration {orig:?}"));
        }
    }
    // Go sums in a uint64 up to 1<<63, so only a negative duration may
    // reach it: "-9223372036854775808ns" is the minimum, its positive twin
    // overflows.
    if !neg && total > i64::MAX as i128 {
        return Err(format!("invalid duration {orig:?}"));
    }
    Ok(if neg { -total } else { total })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_go_accepts() {
        let cases = [
            ("0", 0),
            ("10m", 600_000_000_000),
            ("1h30m", 5_400_000_000_000),
            ("1.5s", 1_500_000_000),
            (".5s", 500_000_000),
            ("3.s", 3_000_000_000),
            ("-2ms", -2_000_000),
            ("+1us", 1_000),
            ("1µs", 1_000),
            ("300ns", 300),
            ("2562047h", 9_223_369_200_000_000_000),
            ("-9223372036854775808ns", -(1 << 63)),
            ("9223372036854775807ns", i64::MAX as i128),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn refuses_what_go_refuses() {
        for text in [
            "",
            "10",
            "1d",
            "m",
            ".s",
            "1.5.5s",
            "10 m",
            "-",
            "3000000h",
            "9223372036854775808ns",
            "-9223372036854775809ns",
            "-2562048h",
            "1h 2m",
            "ten minutes",
        ] {
            assert!(parse(text).is_err(), "{text:?} should fail");
        }
    }
}
