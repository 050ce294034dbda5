//! Go's two CIDR parsers, as Terway's Go (1.26) has them. Both take the
//! address as `netip.ParseAddr` does — dotted decimal without leading zeros,
//! or IPv6 — which Rust's `IpAddr` parser matches; they differ on the
//! prefix length:
//! - `net.ParseCIDR` (src/net/ip.go): split at the first `/`, no zone, the
//!   length in decimal digits, leading zeros allowed (`/08`);
//! - `netip.ParsePrefix` (src/net/netip/netip.go): split at the last `/`, no
//!   zone, and "bad bits after slash" for a leading zero or a sign.
//!
//! The error texts are Go's.

use std::net::IpAddr;

fn addr_bits(addr: &str) -> Option<u32> {
    match addr.parse::<IpAddr>().ok()? {
        IpAddr::V4(_) => Some(32),
        IpAddr::V6(_) => Some(128),
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Go's dtoi stops at 0xFFFFFF; anything that long is out of range anyway.
    s.parse::<u32>().ok().or(Some(u32::MAX))
}

/// `net.ParseCIDR`; the error is Go's text.
pub(super) fn parse_cidr(s: &str) -> Result<(), String> {
    let bad = || Err(format!("invalid CIDR address: {s}"));
    let Some((addr, mask)) = s.split_once('/') else {
        return bad();
    };
    match (addr_bits(addr), digits(mask)) {
        (Some(max), Some(n)) if n <= max => Ok(()),
        _ => bad(),
    }
}

/// `netip.ParsePrefix`; the error is Go's text after the quoted input.
pub(super) fn parse_prefix(s: &str) -> Result<(), String> {
    let Some((addr, bits)) = s.rsplit_once('/') else {
        return Err("no '/'".into());
    };
    let Some(max) = addr_bits(addr) else {
        return Err(format!("ParseAddr({addr:?}): unable to parse IP"));
    };
    let bad_bits = || Err(format!("bad bits after slash: {bits:?}"));
    if bits.len() > 1 && !bits.starts_with(|c: char| ('1'..='9').contains(&c)) {
        return bad_bits();
    }
    match digits(bits) {
        Some(n) if n <= max => Ok(()),
        Some(_) => Err("prefix length out of range".into()),
        None => bad_bits(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_cidr_parsers() {
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
            assert_eq!(parse_cidr(s).is_ok(), cidr, "ParseCIDR {s:?}");
            assert_eq!(parse_prefix(s).is_ok(), prefix, "ParsePrefix {s:?}");
        }
        assert_eq!(
            parse_cidr("169.254.20.10").unwrap_err(),
            "invalid CIDR address: 169.254.20.10"
        );
        assert_eq!(
            parse_prefix("10.0.0.0/08").unwrap_err(),
            "bad bits after slash: \"08\""
        );
    }
}
