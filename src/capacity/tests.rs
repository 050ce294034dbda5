use super::*;
use crate::rules::testing::{base, facts_for};

fn node(adapters: u64, per: u64, erdma: u64, exclusive: bool) -> NodeFact {
    NodeFact {
        name: "n".into(),
        zone: "z".into(),
        limits: Some(NodeLimits {
            adapters,
            total_adapters: adapters + 2,
            ipv4_per_adapter: per,
            erdma_adapters: erdma,
        }),
        exclusive_eni: exclusive,
        ..NodeFact::default()
    }
}

#[test]
fn pod_ips_follow_terway_per_mode() {
    use Mode::{Crd, Legacy};
    const PREFIX: &str = r#"{"enable_ip_prefix": true}"#;
    // (adapters, ipv4 per adapter, erdma adapters, exclusive, eni_conf, mode, pod IPs)
    let cases: &[(u64, u64, u64, bool, &str, Mode, u64)] = &[
        (4, 15, 0, false, "{}", Legacy, 45),
        (4, 15, 0, false, "{}", Crd, 45),
        (8, 30, 0, false, r#"{"max_eni": 3}"#, Legacy, 90),
        (8, 30, 0, false, r#"{"max_eni": 3}"#, Crd, 210),
        (8, 30, 0, false, r#"{"eni_cap_ratio": 0.5}"#, Legacy, 90),
        (8, 30, 0, false, r#"{"eni_cap_shift": -2}"#, Legacy, 150),
        (8, 30, 1, false, r#"{"enable_erdma": true}"#, Legacy, 180),
        (8, 30, 1, false, r#"{"enable_erdma": true}"#, Crd, 180),
        (8, 30, 0, false, r#"{"enable_erdma": true}"#, Crd, 210),
        (8, 30, 0, false, PREFIX, Crd, 29 * 16 * 9),
        (8, 30, 0, false, PREFIX, Legacy, 210),
        (8, 30, 0, true, "{}", Crd, 7),
        (1, 10, 0, false, "{}", Legacy, 0),
    ];
    for (adapters, per, erdma, excl, conf, mode, want) in cases {
        let n = node(*adapters, *per, *erdma, *excl);
        let conf = EniConf::parse(conf).unwrap();
        assert_eq!(
            pod_ips(&n, &conf, *mode),
            Some(*want),
            "{adapters}x{per} erdma {erdma} excl {excl} {conf:?} {mode:?}"
        );
    }
    let plain = NodeFact {
        max_pod_ips: Some(33),
        ..NodeFact::default()
    };
    assert_eq!(
        pod_ips(&plain, &EniConf::parse("{}").unwrap(), Mode::Crd),
        Some(33)
    );
}

#[test]
fn extreme_values_saturate_instead_of_overflowing() {
    let n = node(8, 30, 1, false);
    // (eni_conf, mode, pod IPs, idle IPs): Go's int wraps here; the guard
    // saturates, and must not panic whatever an edit writes.
    let cases: &[(&str, Mode, u64, u64)] = &[
        (r#"{"eni_cap_ratio": 1e300}"#, Mode::Legacy, u64::MAX, 0),
        (
            r#"{"eni_cap_shift": 9223372036854775807}"#,
            Mode::Legacy,
            u64::MAX,
            0,
        ),
        (
            r#"{"eni_cap_shift": -9223372036854775808}"#,
            Mode::Legacy,
            0,
            0,
        ),
        (
            r#"{"eni_cap_ratio": 1e300, "enable_erdma": true}"#,
            Mode::Legacy,
            u64::MAX - 30,
            0,
        ),
        (
            r#"{"min_eni": 9223372036854775807, "max_pool_size": 5}"#,
            Mode::Legacy,
            210,
            5,
        ),
    ];
    for (conf, mode, pods, idle) in cases {
        let c = EniConf::parse(conf).unwrap();
        assert_eq!(pod_ips(&n, &c, *mode), Some(*pods), "{conf}");
        assert_eq!(idle_per_node(Some(&c), *mode, &n), *idle, "{conf}");
    }
}

#[test]
fn idle_ips_per_mode() {
    let n = node(4, 15, 0, false);
    // (eni_conf, mode, idle IPs kept)
    let cases: &[(&str, Mode, u64)] = &[
        (
            r#"{"min_pool_size": 5, "max_pool_size": 10}"#,
            Mode::Legacy,
            5,
        ),
        (
            r#"{"min_pool_size": 20, "max_pool_size": 10}"#,
            Mode::Legacy,
            10,
        ),
        (
            r#"{"min_pool_size": 20, "max_pool_size": 10}"#,
            Mode::Crd,
            20,
        ),
        (
            r#"{"min_pool_size": 80, "max_pool_size": 90}"#,
            Mode::Crd,
            45,
        ),
        (
            r#"{"min_pool_size": 5, "max_pool_size": 40, "min_eni": 2}"#,
            Mode::Legacy,
            30,
        ),
        (
            r#"{"min_pool_size": 5, "max_pool_size": 40, "min_eni": 2}"#,
            Mode::Crd,
            5,
        ),
        (
            r#"{"min_pool_size": 5, "enable_ip_prefix": true}"#,
            Mode::Crd,
            0,
        ),
        (r#"{"min_pool_size": 5}"#, Mode::Legacy, 0),
    ];
    for (conf, mode, want) in cases {
        let c = EniConf::parse(conf).unwrap();
        assert_eq!(idle_per_node(Some(&c), *mode, &n), *want, "{conf} {mode:?}");
    }
}

#[test]
fn zones_add_up_and_stand_out() {
    let cm = base(
        r#"{"min_pool_size": 20, "max_pool_size": 30, "vswitches": {"cn-shanghai-f": ["vsw-f19", "vsw-f24"], "cn-shanghai-g": ["vsw-g19", "vsw-g19"], "cn-shanghai-x": ["vsw-nope"], "cn-shanghai-h": ["vsw-h19"]}}"#,
    );
    let facts = facts_for(&[&cm]);
    let r = report(&cm.eni_conf().unwrap(), &facts, None);
    assert_eq!(r.len(), 4);
    let f = &r[0];
    assert_eq!(
        (f.size, f.free, f.nodes, f.reserve),
        (8188 + 252, 8010, 2, 40)
    );
    assert_eq!(f.state, State::Ok);
    assert_eq!(f.vswitches[1].used_pct, Some(96.0));
    let g = &r[1];
    assert_eq!(g.vswitches.len(), 1, "repeats count once");
    assert_eq!((g.free, g.reserve, g.headroom), (100, 40, 60));
    assert_eq!(g.state, State::Exhausted, "98.8 % used");
    let h = &r[2];
    assert_eq!(h.state, State::Unknown);
    assert_eq!(h.vswitches[0].problem.as_deref(), Some("does not exist"));
    assert_eq!((r[3].used_pct, r[3].state), (87.8, State::Low));
    let tight = base(
        r#"{"min_pool_size": 60, "max_pool_size": 60, "vswitches": {"cn-shanghai-g": ["vsw-g19"]}}"#,
    );
    let r = report(&tight.eni_conf().unwrap(), &facts_for(&[&tight]), None);
    assert_eq!((r[0].headroom, r[0].state), (-20, State::Exhausted));
}
