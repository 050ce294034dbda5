//! Alibaba Cloud request signing: V3 (`ACS3-HMAC-SHA256`, what the official
//! VPC SDK uses) and the older RPC `HMAC-SHA1` scheme. Pure functions, proven
//! against the published example signatures.

use ring::{digest, hmac};

pub const ALGORITHM_V3: &str = "ACS3-HMAC-SHA256";

/// RFC 3986 percent-encoding as Alibaba Cloud specifies it: only
/// `A-Z a-z 0-9 - _ . ~` stay, everything else (space too) becomes `%XX`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

/// `k=v` pairs, encoded and sorted by key, joined by `&`.
pub fn canonical_query(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// What a V3 signature covers.
#[derive(Debug, Clone)]
pub struct V3Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a [(String, String)],
    /// Headers to sign (`host`, `content-type`, `x-acs-*`); names any case.
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

/// The pieces of a V3 signature, kept apart so tests can check each one.
#[derive(Debug, Clone, PartialEq)]
pub struct V3Signature {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signed_headers: String,
    pub signature: String,
}

impl V3Signature {
    pub fn authorization(&self, access_key_id: &str) -> String {
        format!(
            "{ALGORITHM_V3} Credential={access_key_id},SignedHeaders={},Signature={}",
            self.signed_headers, self.signature
        )
    }
}

pub fn sign_v3(req: &V3Request, secret: &str) -> V3Signature {
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .filter(|(k, _)| k == "host" || k == "content-type" || k.starts_with("x-acs-"))
        .collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        req.path,
        canonical_query(req.query),
        canonical_headers,
        signed_headers,
        sha256_hex(req.body)
    );
    let string_to_sign = format!(
        "{ALGORITHM_V3}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let signature = hex(hmac::sign(&key, string_to_sign.as_bytes()).as_ref());
    V3Signature {
        canonical_request,
        string_to_sign,
        signed_headers,
        signature,
    }
}

/// RPC-style `SignatureVersion=1.0`: base64(HMAC-SHA1(secret + "&", StringToSign)).
pub fn sign_rpc(method: &str, params: &[(String, String)], secret: &str) -> String {
    let string_to_sign = format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical_query(params))
    );
    let key = hmac::Key::new(
        hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        format!("{secret}&").as_bytes(),
    );
    base64(hmac::sign(&key, string_to_sign.as_bytes()).as_ref())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 decoding (padding optional, whitespace ignored).
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace()) {
        if c == b'=' {
            break;
        }
        let v = B64.iter().position(|b| *b == c)? as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The published V3 example (RunInstances on ECS, empty body).
    #[test]
    fn v3_matches_the_published_example() {
        let query = pairs(&[
            (
                "ImageId",
                "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
            ),
            ("RegionId", "cn-shanghai"),
        ]);
        let headers = pairs(&[
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-version", "2014-05-26"),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            ("x-acs-content-sha256", &sha256_hex(b"")),
        ]);
        let sig = sign_v3(
            &V3Request {
                method: "POST",
                path: "/",
                query: &query,
                headers: &headers,
                body: b"",
            },
            "YourAccessKeySecret",
        );
        assert_eq!(
            sig.string_to_sign,
            "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        assert_eq!(
            sig.signature,
            "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
        assert_eq!(
            sig.signed_headers,
            "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
        );
        assert!(
            sig.authorization("YourAccessKeyId")
                .starts_with("ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;")
        );
    }

    #[test]
    fn rpc_matches_the_published_examples() {
        let common = [
            ("AccessKeyId", "testid"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("Version", "2014-05-26"),
        ];
        let mut hosts = pairs(&common);
        hosts.extend(pairs(&[
            ("Action", "DescribeDedicatedHosts"),
            ("Format", "JSON"),
            ("RegionId", "cn-beijing"),
            ("SignatureNonce", "edb2b34af0af9a6d14deaf7c1a5315eb"),
            ("Timestamp", "2023-03-13T08:34:30Z"),
        ]));
        assert_eq!(
            sign_rpc("GET", &hosts, "testsecret"),
            "9NaGiOspFP5UPcwX8Iwt2YJXXuk="
        );
        let mut regions = pairs(&common);
        regions.extend(pairs(&[
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
        ]));
        assert_eq!(
            sign_rpc("GET", &regions, "testsecret"),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
    }

    #[test]
    fn encoding_keeps_only_unreserved() {
        let cases = [
            ("a b", "a%20b"),
            ("a*b", "a%2Ab"),
            ("~_-.", "~_-."),
            ("é", "%C3%A9"),
            ("a+b/c=", "a%2Bb%2Fc%3D"),
        ];
        for (raw, want) in cases {
            assert_eq!(percent_encode(raw), want);
        }
    }

    #[test]
    fn base64_round_trips() {
        for data in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            b"fooba",
            b"foobar",
            &[0xff, 0x00, 0x10],
        ] {
            assert_eq!(base64_decode(&base64(data)).unwrap(), data);
        }
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert!(base64_decode("@@").is_none());
    }
}
