//! What Go's `strconv.ParseFloat` and `net.ParseCIDR` accept, for the rules
//! that judge values Terway hands to them. One place, so no rule re-implements
//! a piece of it.
//!
//! Written from Go's documentation and behaviour (strconv: "ParseFloat
//! accepts decimal and hexadecimal floating-point numbers as defined by the Go
//! syntax for floating-point literals", underscores only between digits;
//! net/netip: IPv4 fields take no leading zero), not from Go's code.
//!
//! Terway's `eni_conf` holds no value it gives to `strconv.ParseInt` or
//! `Atoi`, so there is no integer parser here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Why `strconv.ParseFloat` fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FloatError {
    /// `strconv.ErrSyntax`: "invalid syntax".
    #[error("invalid syntax")]
    Syntax,
    /// `strconv.ErrRange`: the value overflows a float64 ("value out of range").
    #[error("value out of range")]
    Range,
}

/// `strconv.ParseFloat(s, 64)`: decimal (`1e-1`, `.5`, `5.`) or hexadecimal
/// (`0x1p-2`, a `p` exponent required) with `_` only between digits or after
/// the base prefix (`1_0` is 10), a leading sign, and the case-insensitive
/// specials `Inf`, `Infinity` (signed or not) and `NaN` (unsigned). Nothing
/// around it: no spaces, no `,` as a decimal point. An overflow is
/// [`FloatError::Range`]; an underflow is 0 without error.
///
/// Hexadecimal values are exact as to sign, zero and overflow, which is all
/// the rules ask of them; their last bit may round differently from Go.
pub fn parse_float(s: &str) -> Result<f64, FloatError> {
    if let Some(v) = special(s) {
        return Ok(v);
    }
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let b = body.as_bytes();
    // Go reads "0x" as a prefix only when something follows it.
    let hex = b.len() > 2 && b[0] == b'0' && (b[1] | 0x20) == b'x';
    let mut i = if hex { 2 } else { 0 };
    let digit = |c: u8| c.is_ascii_digit() || (hex && c.is_ascii_hexdigit());
    let (mut digits, mut dot, mut underscores) = (false, false, false);
    let mut mantissa = 0f64;
    let mut frac_digits = 0i32;
    while i < b.len() {
        let c = b[i];
        if c == b'_' {
            underscores = true;
        } else if c == b'.' && !dot {
            dot = true;
        } else if digit(c) {
            digits = true;
            if hex {
                mantissa = mantissa * 16.0 + f64::from((c as char).to_digit(16).unwrap_or(0));
                frac_digits += i32::from(dot);
            }
        } else {
            break;
        }
        i += 1;
    }
    if !digits {
        return Err(FloatError::Syntax);
    }
    let exp_char = if hex { b'p' } else { b'e' };
    let mut exp = 0i64;
    if i < b.len() && (b[i] | 0x20) == exp_char {
        i += 1;
        let mut exp_neg = false;
        if let Some(&sign @ (b'+' | b'-')) = b.get(i) {
            exp_neg = sign == b'-';
            i += 1;
        }
        // The exponent's first character must be a digit.
        if !b.get(i).is_some_and(u8::is_ascii_digit) {
            return Err(FloatError::Syntax);
        }
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            if b[i] == b'_' {
                underscores = true;
            } else if exp < 100_000 {
                exp = exp * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if exp_neg {
            exp = -exp;
        }
    } else if hex {
        return Err(FloatError::Syntax);
    }
    if i != b.len() || (underscores && !underscores_ok(s)) {
        return Err(FloatError::Syntax);
    }
    let value = if hex {
        let e = exp - 4 * i64::from(frac_digits);
        // Clamped: far beyond either end the answer is 0 or overflow anyway.
        mantissa * 2f64.powi(e.clamp(-4000, 4000) as i32)
    } else {
        let plain: String = body.chars().filter(|&c| c != '_').collect();
        plain.parse::<f64>().map_err(|_| FloatError::Syntax)?
    };
    if value.is_infinite() {
        return Err(FloatError::Range);
    }
    Ok(if neg { -value } else { value })
}

/// `Inf`, `+Inf`, `-Inf`, `Infinity` (any case) and `NaN` (no sign).
fn special(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        return Some(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    (s.eq_ignore_ascii_case("nan")).then_some(f64::NAN)
}

/// Go's rule for `_` in a number literal: only between two digits, or between
/// a base prefix and a digit, never first or last.
fn underscores_ok(s: &str) -> bool {
    let b = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    // What was seen last: 'd' a digit or base prefix, '_', '!' anything else.
    let mut saw = '^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(b[1] | 0x20, b'b' | b'o' | b'x') {
        i = 2;
        saw = 'd';
        hex = (b[1] | 0x20) == b'x';
    }
    for &c in &b[i..] {
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = 'd';
        } else if c == b'_' {
            if saw != 'd' {
                return false;
            }
            saw = '_';
        } else if saw == '_' {
            return false;
        } else {
            saw = '!';
        }
    }
    saw != '_'
}

/// `net.ParseCIDR(s)`'s network, or `None` where Go refuses `s`: an address
/// and a decimal prefix length (leading zeros allowed there, no sign), the
/// address as `net/netip` reads it: IPv4 fields without leading zeros, no IPv6
/// zone. Host bits are masked off, as Go's `IPNet` has them.
///
/// An IPv4-mapped IPv6 address (`::ffff:172.16.0.0/112`) is one Terway files
/// as IPv4 (pkg/ip/ip.go IPv6: `To4() == nil`); it comes back as that IPv4
/// block, its prefix length less 96.
pub fn parse_cidr(s: &str) -> Option<IpNet> {
    let (addr, len) = s.split_once('/')?;
    if len.is_empty() || len.len() > 8 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let len: u32 = len.parse().ok()?;
    match parse_addr(addr)? {
        IpAddr::V4(a) => Some(IpNet::V4(
            Ipv4Net::new(a, u8::try_from(len).ok()?).ok()?.trunc(),
        )),
        IpAddr::V6(a) => {
            let net = Ipv6Net::new(a, u8::try_from(len).ok()?).ok()?.trunc();
            match a.to_ipv4_mapped() {
                Some(v4) => {
                    let len = net.prefix_len().saturating_sub(96);
                    Some(IpNet::V4(Ipv4Net::new(v4, len).ok()?.trunc()))
                }
                None => Some(IpNet::V6(net)),
            }
        }
    }
}

/// `netip.ParsePrefix(s)` (net/netip; terway-cli policy reads
/// `host_stack_cidrs` with it): the address as [`parse_cidr`] takes it, split
/// at the last `/`, and a prefix length without a leading zero or sign (`/08`
/// is "bad bits after slash", which `net.ParseCIDR` accepts). The error is
/// Go's text after the quoted input.
pub fn parse_prefix(s: &str) -> Result<(), String> {
    let Some((addr, bits)) = s.rsplit_once('/') else {
        return Err("no '/'".into());
    };
    let max = match parse_addr(addr) {
        Some(IpAddr::V4(_)) => 32,
        Some(IpAddr::V6(_)) => 128,
        None => return Err(format!("ParseAddr({addr:?}): unable to parse IP")),
    };
    let bad_bits = || Err(format!("bad bits after slash: {bits:?}"));
    if bits.is_empty()
        || !bits.bytes().all(|b| b.is_ascii_digit())
        || (bits.len() > 1 && bits.starts_with('0'))
    {
        return bad_bits();
    }
    match bits.parse::<u32>() {
        Ok(n) if n <= max => Ok(()),
        _ => Err("prefix length out of range".into()),
    }
}

/// `netip.ParseAddr` without zones: dotted IPv4 with no leading zeros, or
/// IPv6 whose embedded IPv4 (if any) follows the same rule.
fn parse_addr(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        // The standard library's IPv6 grammar is Go's (groups of 1-4 hex
        // digits, one `::`); only the embedded IPv4 needs Go's stricter look.
        if let Some(tail) = s.rsplit(':').next()
            && tail.contains('.')
        {
            parse_v4(tail)?;
        }
        return s.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    parse_v4(s).map(IpAddr::V4)
}

fn parse_v4(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut fields = s.split('.');
    for o in &mut octets {
        let f = fields.next()?;
        let leading_zero = f.len() > 1 && f.starts_with('0');
        if f.is_empty() || f.len() > 3 || leading_zero || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *o = f.parse().ok()?;
    }
    fields.next().is_none().then_some(Ipv4Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_reads_them() {
        let ok: &[(&str, f64)] = &[
            ("0.1", 0.1),
            ("1e-1", 0.1),
            ("1E-1", 0.1),
            (".5", 0.5),
            ("5.", 5.0),
            ("+0.5", 0.5),
            ("-0.1", -0.1),
            ("1_0", 10.0),
            ("1_000.000_1", 1000.0001),
            ("1e1_0", 1e10),
            ("0x1p-2", 0.25),
            ("0X1P-2", 0.25),
            ("0x_1p0", 1.0),
            ("0x.8p1", 1.0),
            ("0x1.8p1", 3.0),
            ("1.e1", 10.0),
            ("-0x1p-2", -0.25),
            ("1e-400", 0.0),
            ("0", 0.0),
            ("00.1", 0.1),
        ];
        for (s, want) in ok {
            assert_eq!(parse_float(s), Ok(*want), "{s:?}");
        }
        for s in ["Inf", "+inf", "INFINITY", "infinity"] {
            assert_eq!(parse_float(s), Ok(f64::INFINITY), "{s:?}");
        }
        assert_eq!(parse_float("-Inf"), Ok(f64::NEG_INFINITY));
        assert!(parse_float("NaN").is_ok_and(f64::is_nan));
        assert!(parse_float("nan").is_ok_and(f64::is_nan));
        let syntax = [
            "", " 0.1", "0.1 ", "0,1", "abc", "0.1f", "1__0", "_1", "1_", "1_.5", "1._5", "1e",
            "1e+", "1e_1", "0x1", "0x", "0x1.8", "0xp1", "+nan", "-NaN", "infin", "in", ".", "+",
            "1.2.3", "1e5.0", "0x1p", "٣", "1e1_",
        ];
        for s in syntax {
            assert_eq!(parse_float(s), Err(FloatError::Syntax), "{s:?}");
        }
        for s in ["1e400", "-1e400", "0x1p5000", "1_0e400"] {
            assert_eq!(parse_float(s), Err(FloatError::Range), "{s:?}");
        }
    }

    #[test]
    fn cidrs_as_go_reads_them() {
        let ok: &[(&str, &str)] = &[
            ("172.16.0.0/16", "172.16.0.0/16"),
            ("172.16.0.1/16", "172.16.0.0/16"),
            ("172.16.0.0/016", "172.16.0.0/16"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("fd00::/120", "fd00::/120"),
            ("FD00::1/120", "fd00::/120"),
            ("fd00:0000::/8", "fd00::/8"),
            ("::ffff:172.16.0.0/112", "172.16.0.0/16"),
            ("::/0", "::/0"),
            // kubeadm-config's serviceSubnet (kube::kubeadm) is read with this.
            ("10.96.0.0/12", "10.96.0.0/12"),
            ("10.96.1.1/12", "10.96.0.0/12"),
            ("10.96.0.0/012", "10.96.0.0/12"),
            ("fd00::/108", "fd00::/108"),
        ];
        for (s, want) in ok {
            assert_eq!(parse_cidr(s), want.parse().ok(), "{s:?}");
        }
        let bad = [
            "172.016.0.0/16",
            "172.16.0.00/16",
            "172.16.0/16",
            "172.16.0.0",
            "172.16.0.0/",
            "172.16.0.0/33",
            "172.16.0.0/+16",
            "172.16.0.0/-1",
            " 172.16.0.0/16",
            "172.16.0.0/16 ",
            "172.16.0.256/16",
            "fd00::/129",
            "fd00::1%eth0/64",
            "::ffff:172.016.0.0/112",
            "fd00:00000::/8",
            "1::2::3/64",
            "",
            "10.96.0.0/33",
            "10.96.0.0/",
            "10.96.0.0/+1",
            " 10.96.0.0/12",
        ];
        for s in bad {
            assert_eq!(parse_cidr(s), None, "{s:?}");
        }
    }
    #[test]
    fn go_cidr_and_prefix_parsers() {
        // (input, net.ParseCIDR accepts, netip.ParsePrefix accepts)
        let cases = [
            ("169.254.20.10/32", true, true),
            ("169.254.20.10", false, false),
            ("10.0.0.0/08", true, false),
            ("10.0.0.0/0", true, true),
            ("10.0.0.0/00", true, false),
            ("10.0.0.0/+8", false, false),
            ("10.0.0.0/33", false, false),
            ("10.0.0.0/", false, false),
            ("010.0.0.0/8", false, false),
            ("10.0.0.0 /8", false, false),
            ("fd00::/8", true, true),
            ("fd00::/129", false, false),
            ("::ffff:10.0.0.0/104", true, true),
            ("fe80::1%eth0/64", false, false),
            ("10.0.0.0/8/8", false, false),
            ("", false, false),
            ("10.0.0.0/99999999999", false, false),
        ];
        for (s, cidr, prefix) in cases {
            assert_eq!(parse_cidr(s).is_some(), cidr, "ParseCIDR {s:?}");
            assert_eq!(parse_prefix(s).is_ok(), prefix, "ParsePrefix {s:?}");
        }
        assert_eq!(
            parse_prefix("10.0.0.0/08").unwrap_err(),
            "bad bits after slash: \"08\""
        );
        assert_eq!(
            parse_prefix("10.0.0.0/33").unwrap_err(),
            "prefix length out of range"
        );
    }
}
