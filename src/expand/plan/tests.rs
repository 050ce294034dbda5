use super::*;
use crate::inventory::{NatGatewayFact, SnatEntryFact, StaticInventory, VpcFact};
use crate::rules::Settings;
use crate::rules::testing::base;

const INV: &str = r#"
region: cn-shanghai
vpcs:
  - {id: vpc-1, cidrs: ["192.168.0.0/16", "10.10.0.0/16"]}
vswitches:
  - {id: vsw-f1, vpc: vpc-1, zone: cn-shanghai-f, cidr: 192.168.0.0/24, available_ips: 0}
  - {id: vsw-g1, vpc: vpc-1, zone: cn-shanghai-g, cidr: 192.168.64.0/19, available_ips: 5000}
  - {id: vsw-x, vpc: vpc-1, zone: cn-shanghai-g, cidr: 192.168.40.0/22, available_ips: 100}
nodes:
  - {name: f-1, zone: cn-shanghai-f, max_pod_ips: 30}
nat_gateways:
  - id: ngw-1
    vpc: vpc-1
    snat_table_ids: [stb-1, stb-2]
    snat_entries:
      - {snat_table_id: stb-1, source_vswitch: vsw-f1, snat_ip: "47.100.1.1"}
      - {snat_table_id: stb-1, source_vswitch: vsw-g1, snat_ip: "47.100.1.2"}
      - {snat_table_id: stb-2, source_cidr: 192.168.0.0/16, snat_ip: "47.100.9.9"}
"#;

const CONF: &str = "{\n  \"service_cidr\": \"172.16.0.0/16\",\n  \"vswitches\": {\"cn-shanghai-f\": [\"vsw-f1\"], \"cn-shanghai-g\": [\"vsw-g1\"]},\n  \"min_pool_size\": 5, \"max_pool_size\": 30\n}";

fn run(conf: &str, prefix: u8, mutate: impl FnOnce(&mut VpcView)) -> Result<Plan, PlanError> {
    run_with(conf, prefix, mutate, &[], false)
}

fn run_with(
    conf: &str,
    prefix: u8,
    mutate: impl FnOnce(&mut VpcView),
    dynamic_listed: &[(String, Vec<String>)],
    force_create: bool,
) -> Result<Plan, PlanError> {
    let inv = StaticInventory::parse(INV).unwrap();
    let mut view = inv.vpc_view("vpc-1").unwrap();
    mutate(&mut view);
    let cm = base(conf);
    let query = cm.eni_conf().map(|c| c.vswitch_ids()).unwrap_or_default();
    let facts = inv.snapshot(&query);
    plan(&Request {
        zone: "cn-shanghai-f",
        prefix_len: prefix,
        view: &view,
        config: &cm,
        facts: &facts,
        settings: &Settings::default(),
        dynamic_listed,
        force_create,
    })
}

fn vsw(id: &str, cidr: &str, free: u64) -> VSwitchFact {
    VSwitchFact {
        id: id.into(),
        vpc: "vpc-1".into(),
        zone: "cn-shanghai-f".into(),
        cidr: cidr.parse().unwrap(),
        available_ips: free,
    }
}

#[test]
fn reuses_the_largest_unlisted_nearly_empty_vswitch_and_says_why_not_the_others() {
    let add = |v: &mut VpcView| {
        v.vswitches.extend([
            vsw("vsw-small", "192.168.200.0/24", 252),
            vsw("vsw-busy", "192.168.160.0/19", 4000),
            vsw("vsw-dyn", "192.168.192.0/19", 8188),
            vsw("vsw-ok", "192.168.224.0/19", 8100),
            vsw("vsw-big", "10.10.0.0/18", 16380),
        ]);
    };
    let dynamic = [("big-pool".to_string(), vec!["vsw-dyn".to_string()])];
    let p = run_with(CONF, 19, add, &dynamic, false).unwrap();
    let reuse = p.reuse.clone().expect("reuse");
    assert_eq!(reuse.id, "vsw-big", "the largest suitable one");
    assert!(
        reuse.why.contains("listed in no Terway config"),
        "{}",
        reuse.why
    );
    assert_eq!(p.vswitch.cidr, "10.10.0.0/18");
    assert_eq!(
        p.eni_conf["vswitches"]["cn-shanghai-f"],
        serde_json::json!(["vsw-f1", "vsw-big"])
    );
    let why: Vec<(&str, &str)> = p
        .rejected
        .iter()
        .map(|r| (r.id.as_str(), r.why.as_str()))
        .collect();
    assert_eq!(
        why,
        [
            ("vsw-f1", "already listed in eni-config"),
            ("vsw-small", "/24 is smaller than the /19 asked for"),
            (
                "vsw-busy",
                "only 4000 of 8188 IPs free (49 %): something already uses it"
            ),
            ("vsw-dyn", "listed in dynamic config big-pool"),
            (
                "vsw-ok",
                "also suitable, but smaller (or later by id) than the one chosen"
            ),
        ]
    );
    // --create: a new block, whatever exists.
    let p = run_with(CONF, 19, add, &dynamic, true).unwrap();
    assert!(p.reuse.is_none());
    assert_eq!(p.eni_conf["vswitches"]["cn-shanghai-f"][1], PLANNED_ID);
    // Nothing suitable: a new block.
    let p = run_with(CONF, 19, |_| {}, &[], false).unwrap();
    assert!(p.reuse.is_none());
    assert_eq!(p.vswitch.cidr, "192.168.96.0/19");
}

#[test]
fn plans_cidr_snat_and_config() {
    let p = run(CONF, 19, |_| {}).unwrap();
    assert_eq!(
        p.vswitch.cidr, "192.168.96.0/19",
        "0-63 has vsw-f1 and vsw-x, 64-95 vsw-g1"
    );
    assert_eq!(p.vswitch.name, "terway-guard-cn-shanghai-f-192-168-96-0-19");
    assert_eq!(
        p.snat,
        [
            PlannedSnat {
                snat_table_id: "stb-1".into(),
                snat_ip: "47.100.1.1".into()
            },
            PlannedSnat {
                snat_table_id: "stb-2".into(),
                snat_ip: "47.100.9.9".into()
            },
        ]
    );
    assert_eq!(
        p.eni_conf["vswitches"]["cn-shanghai-f"],
        serde_json::json!(["vsw-f1", PLANNED_ID])
    );
    let keys: Vec<&String> = p.eni_conf.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "service_cidr",
            "vswitches",
            "min_pool_size",
            "max_pool_size"
        ],
        "key order kept"
    );
    let json = serde_json::to_value(&p).unwrap();
    let top: Vec<&String> = json.as_object().unwrap().keys().collect();
    assert_eq!(top, ["zone", "vswitch", "rejected", "snat", "eni_conf"]);
}

#[test]
fn full_primary_uses_secondary_and_full_vpc_says_what_to_do() {
    let p = run(CONF, 16, |_| {}).unwrap();
    assert_eq!(p.vswitch.cidr, "10.10.0.0/16");
    let e = run(CONF, 16, |v| v.vpc.cidrs.truncate(1)).unwrap_err();
    assert!(matches!(e, PlanError::VpcFull { .. }));
    let msg = e.to_string();
    assert!(
        msg.contains("VPC vpc-1 has no free /16 block")
            && msg.contains("secondary CIDR block")
            && msg.contains("--prefix-len 17"),
        "{msg}"
    );
}

#[test]
fn refuses_what_it_cannot_do_safely() {
    assert_eq!(run(CONF, 30, |_| {}).unwrap_err(), PlanError::Prefix(30));
    assert!(matches!(run("{,", 19, |_| {}), Err(PlanError::Config(..))));
    // A planned /24 is smaller than the rules let an edit add.
    match run(CONF, 24, |_| {}) {
        Err(PlanError::SelfCheck(why)) => assert!(why.contains("[vswitch-prefix]"), "{why}"),
        other => panic!("{other:?}"),
    }
    // A problem the live config already has never blocks an expansion
    // mid-incident: it is carried as a warning.
    let bad = CONF.replace("[\"vsw-f1\"]", "[\"vsw-f1\", \"vsw-x\"]");
    let p = run(&bad, 19, |_| {}).unwrap();
    assert!(p.warnings.iter().any(|w| w.rule == "vswitch-zone"), "{p:?}");
}

#[test]
fn snat_follows_source_cidrs_too() {
    let view = VpcView {
        vpc: VpcFact {
            id: "v".into(),
            cidrs: vec![],
        },
        vswitches: vec![VSwitchFact {
            id: "vsw-a".into(),
            vpc: "v".into(),
            zone: "z".into(),
            cidr: "10.0.1.0/24".parse().unwrap(),
            available_ips: 0,
        }],
        nat_gateways: vec![NatGatewayFact {
            id: "ngw".into(),
            vpc: "v".into(),
            snat_table_ids: vec!["stb".into()],
            snat_entries: vec![SnatEntryFact {
                snat_table_id: "stb".into(),
                source_vswitch: None,
                source_cidr: Some("10.0.0.0/8".parse().unwrap()),
                snat_ip: "1.2.3.4".into(),
            }],
        }],
    };
    assert_eq!(snat_for(&view, &["vsw-a".into()]).len(), 1);
    assert!(snat_for(&view, &["vsw-other".into()]).is_empty());
}

/// The daemon merges repeated `vswitches` maps (sigs.k8s.io/json decode.go
/// `object`): a zone only an earlier member lists gets the new id there, and
/// the plan shows the merged view the daemon will read.
#[test]
fn a_zone_in_an_earlier_vswitches_member_gets_the_new_id_there() {
    let conf = r#"{"service_cidr": "172.16.0.0/16", "vswitches": {"cn-shanghai-f": ["vsw-f1"]}, "vswitches": {"cn-shanghai-g": ["vsw-g1"]}}"#;
    let p = run(conf, 19, |_| {}).unwrap();
    assert_eq!(
        p.eni_conf["vswitches"],
        serde_json::json!({"cn-shanghai-f": ["vsw-f1", PLANNED_ID], "cn-shanghai-g": ["vsw-g1"]})
    );
}
