//! Choosing the CIDR block of a new vSwitch. Pure.

use ipnet::{IpNet, Ipv4Net};

/// The lowest free, aligned IPv4 block of `prefix_len` inside `blocks`
/// (searched in order: the VPC's primary block first, then its secondary
/// blocks) that overlaps nothing in `taken`.
pub fn lowest_free(blocks: &[IpNet], taken: &[IpNet], prefix_len: u8) -> Option<Ipv4Net> {
    let taken: Vec<(u32, u32)> = taken
        .iter()
        .filter_map(|t| match t {
            IpNet::V4(v4) => Some((u32::from(v4.network()), u32::from(v4.broadcast()))),
            IpNet::V6(_) => None,
        })
        .collect();
    blocks.iter().find_map(|b| match b {
        IpNet::V4(block) => in_block(block, &taken, prefix_len),
        IpNet::V6(_) => None,
    })
}

fn in_block(block: &Ipv4Net, taken: &[(u32, u32)], prefix_len: u8) -> Option<Ipv4Net> {
    if prefix_len < block.prefix_len() || prefix_len > 32 {
        return None;
    }
    let size: u64 = 1 << (32 - u32::from(prefix_len));
    let first = u64::from(u32::from(block.network()));
    let last = u64::from(u32::from(block.broadcast()));
    let mut candidate = first;
    while candidate + size - 1 <= last {
        let end = candidate + size - 1;
        // Skip past everything this candidate collides with, staying aligned.
        let blocker = taken
            .iter()
            .filter(|(s, e)| u64::from(*s) <= end && u64::from(*e) >= candidate)
            .map(|(_, e)| u64::from(*e))
            .max();
        match blocker {
            None => {
                return Ipv4Net::new(std::net::Ipv4Addr::from(candidate as u32), prefix_len).ok();
            }
            Some(e) => candidate = (e + 1).div_ceil(size) * size,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn picks_the_lowest_aligned_free_block() {
        /// (VPC blocks, taken, prefix, expected)
        type Case = (
            &'static [&'static str],
            &'static [&'static str],
            u8,
            Option<&'static str>,
        );
        let cases: &[Case] = &[
            (&["192.168.0.0/16"], &[], 19, Some("192.168.0.0/19")),
            (
                &["192.168.0.0/16"],
                &["192.168.0.0/24"],
                19,
                Some("192.168.32.0/19"),
            ),
            // Fragmented: small vSwitches scattered over the first blocks.
            (
                &["192.168.0.0/16"],
                &["192.168.0.0/24", "192.168.40.0/24", "192.168.70.0/26"],
                19,
                Some("192.168.96.0/19"),
            ),
            (
                &["192.168.0.0/16"],
                &["192.168.0.0/24"],
                24,
                Some("192.168.1.0/24"),
            ),
            // The service CIDR counts as taken.
            (
                &["172.16.0.0/12"],
                &["172.16.0.0/16"],
                19,
                Some("172.17.0.0/19"),
            ),
            // Primary full: the secondary block is used.
            (
                &["192.168.0.0/18", "10.10.0.0/16"],
                &["192.168.0.0/19", "192.168.32.0/19"],
                19,
                Some("10.10.0.0/19"),
            ),
            // Full everywhere.
            (
                &["192.168.0.0/18"],
                &["192.168.0.0/19", "192.168.32.0/20", "192.168.48.0/20"],
                19,
                None,
            ),
            // A block too small for the prefix is skipped.
            (
                &["192.168.0.0/20", "10.0.0.0/8"],
                &[],
                19,
                Some("10.0.0.0/19"),
            ),
            // A taken range wider than the block.
            (&["10.0.0.0/16"], &["10.0.0.0/8"], 19, None),
        ];
        for (blocks, taken, prefix, want) in cases {
            let got = lowest_free(&nets(blocks), &nets(taken), *prefix).map(|n| n.to_string());
            assert_eq!(got.as_deref(), *want, "{blocks:?} {taken:?} /{prefix}");
        }
    }

    /// Property: over many pseudo-random VPCs, the chosen block is aligned,
    /// inside a VPC block, overlaps nothing, and no lower block would do.
    #[test]
    fn chosen_blocks_are_aligned_inside_and_free() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..300 {
            let vpc: Ipv4Net = format!("10.{}.0.0/{}", next(200), 14 + next(4))
                .parse::<Ipv4Net>()
                .unwrap()
                .trunc();
            let mut taken = Vec::new();
            for _ in 0..next(40) {
                let len = 20 + next(9) as u8;
                let host = u32::from(vpc.network())
                    + next(1u64 << (32 - u32::from(vpc.prefix_len()))) as u32;
                taken.push(IpNet::V4(Ipv4Net::new(host.into(), len).unwrap().trunc()));
            }
            let prefix = 19 + next(6) as u8;
            let Some(got) = lowest_free(&[IpNet::V4(vpc)], &taken, prefix) else {
                continue;
            };
            assert_eq!(got.prefix_len(), prefix);
            assert_eq!(
                u32::from(got.network()) % (1 << (32 - u32::from(prefix))),
                0,
                "aligned"
            );
            assert!(vpc.contains(&got), "{got} inside {vpc}");
            for t in &taken {
                let IpNet::V4(t) = t else { continue };
                assert!(
                    !(t.contains(&got.network()) || got.contains(&t.network())),
                    "{got} overlaps {t}"
                );
            }
            // Lowest: every aligned block below it collides with something.
            let size = 1u32 << (32 - u32::from(prefix));
            let mut c = u32::from(vpc.network());
            while c < u32::from(got.network()) {
                let cand = Ipv4Net::new(c.into(), prefix).unwrap();
                assert!(taken.iter().any(|t| matches!(t, IpNet::V4(t) if t.contains(&cand.network()) || cand.contains(&t.network()))), "{cand} was free and lower than {got}");
                c += size;
            }
        }
    }
}
