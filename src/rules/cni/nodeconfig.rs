//! terway-init's `terway-cli nodeconfig`, run right after `terway-cli cni`
//! (hack/init.sh): its symmetric-routing task reads the written
//! /etc/cni/net.d/10-terway.conflist, takes the first plugin whose `type` is
//! exactly "terway", and decodes its `symmetric_routing_config` (exact key)
//! into `SymmetricRoutingConfig` whenever the key is there, even with
//! `symmetric_routing` off (cmd/terway-cli/node.go setSymmetricRouting, at
//! 89aadf8). The key lives in the terway plugin of `10-terway.conf` /
//! `10-terway.conflist`, not in `eni_conf`.

use serde_json::Value;

use super::plugin::SYMMETRIC_ROUTING;
use super::terway_cli::Plugin;
use super::{Reader, Report, decode_as, json_kind, shown};

const SOURCE: &str = "cmd/terway-cli/node.go setSymmetricRouting";

pub(super) fn check(first: &Plugin, report: &mut Report) {
    let reader = Reader::NodeConfig;
    let Some(v) = first.conf.get("symmetric_routing_config") else {
        return;
    };
    let at = first.at.key("symmetric_routing_config");
    match v {
        Value::Object(conf) => {
            decode_as(
                conf,
                SYMMETRIC_ROUTING,
                &at,
                reader,
                "SymmetricRoutingConfig",
                SOURCE,
                report,
            );
        }
        Value::Null => {}
        other => report.deny(
            at,
            reader,
            format!("symmetric_routing_config is {}; it must be an object: {} fails with \"failed to parse symmetric_routing_config: json: cannot unmarshal {} into Go value of type types.SymmetricRoutingConfig\" ({SOURCE}), even with symmetric_routing off; {}", shown(other), reader.name(), json_kind(other), reader.impact()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;

    #[test]
    fn nodeconfig() {
        table(
            "10-terway.conf",
            &[
                (
                    r#"{"type":"terway","symmetric_routing_config":{"interface":"eth0","mark":16,"table_id":100}}"#,
                    &[],
                ),
                (
                    r#"{"type":"terway","symmetric_routing_config":"eth0"}"#,
                    &[(
                        D,
                        r#"data["10-terway.conf"].symmetric_routing_config"#,
                        "failed to parse symmetric_routing_config",
                    )],
                ),
                (
                    r#"{"type":"terway","symmetric_routing":false,"symmetric_routing_config":{"mark":"0x10"}}"#,
                    &[(
                        D,
                        r#"data["10-terway.conf"].symmetric_routing_config.mark"#,
                        "nodeconfig",
                    )],
                ),
                (r#"{"type":"terway","symmetric_routing_config":null}"#, &[]),
                // Only the binary reads a case variant.
                (
                    r#"{"type":"terway","Symmetric_Routing_Config":{"mark":"x"}}"#,
                    &[(
                        D,
                        r#"data["10-terway.conf"].Symmetric_Routing_Config.mark"#,
                        "terway CNI binary",
                    )],
                ),
            ],
        );
    }
}
