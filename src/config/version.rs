//! Terway release versions, read from `--terway-version` or an image tag.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u16,
    pub minor: u16,
    pub patch: u16,
}

impl Version {
    pub const fn new(major: u16, minor: u16, patch: u16) -> Self {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// The version in a container image reference such as
    /// `registry-cn-hangzhou.ack.aliyuncs.com/acs/terway:v1.16.4.1-g1c2d3e4-aliyun`.
    pub fn from_image(image: &str) -> Option<Self> {
        let image = image.split('@').next()?;
        let tag = image.rsplit_once(':')?.1;
        if tag.contains('/') {
            return None;
        }
        tag.parse().ok()
    }
}

impl FromStr for Version {
    type Err = String;

    /// `v1.16.4`, `1.16`, `v1.16.4-aliyun.1`: the leading numbers count.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
        let mut nums = [0u16; 3];
        let mut parts = t.split('.');
        for (i, slot) in nums.iter_mut().enumerate() {
            let Some(p) = parts.next() else {
                if i >= 2 {
                    break;
                }
                return Err(format!("{s:?} is not a version like v1.16.4"));
            };
            let digits: &str = &p[..p.bytes().take_while(u8::is_ascii_digit).count()];
            if digits.is_empty() {
                return Err(format!("{s:?} is not a version like v1.16.4"));
            }
            *slot = digits
                .parse()
                .map_err(|_| format!("{s:?} is not a version like v1.16.4"))?;
            if digits.len() != p.len() {
                break;
            }
        }
        Ok(Version::new(nums[0], nums[1], nums[2]))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tags_and_images() {
        let cases = [
            ("v1.16.4", Some((1, 16, 4))),
            ("1.17", Some((1, 17, 0))),
            ("v1.13.4-aliyun.1", Some((1, 13, 4))),
            ("v1.16.4.1-g1c2d3e4", Some((1, 16, 4))),
            ("latest", None),
            ("", None),
        ];
        for (s, want) in cases {
            let got = s
                .parse::<Version>()
                .ok()
                .map(|v| (v.major, v.minor, v.patch));
            assert_eq!(got, want, "{s}");
        }
        let img = "registry-cn-hangzhou.ack.aliyuncs.com/acs/terway:v1.16.7@sha256:ab";
        assert_eq!(Version::from_image(img), Some(Version::new(1, 16, 7)));
        assert_eq!(Version::from_image("localhost:5000/terway"), None);
        assert!(Version::new(1, 9, 6) < Version::new(1, 13, 7));
    }
}
