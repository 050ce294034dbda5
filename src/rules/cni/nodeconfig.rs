//! terway-init's `terway-cli nodeconfig`, run right after `terway-cli cni`
//! (hack/init.sh): its symmetric-routing task reads the written
//! /etc/cni/net.d/10-terway.conflist, takes the first plugin whose `type` is
//! exactly "terway", and decodes its `symmetric_routing_config` (exact key)
//! into `SymmetricRoutingConfig` whenever the key is there, even with
//! `symmetric_routing` off (cmd/terway-cli/node.go setSymmetricRouting, at
//! 89aadf8). The key lives in the terway plugin of `10-terway.conf` /
//! `10-terway.conflist`, not in `eni_conf`.

use serde_json::Value;

use crate::config::fields::Keys;

use super::plugin::SYMMETRIC_ROUTING;
use super::terway_cli::Plugin;
use super::{Reader, Report, shown};

const SOURCE: &str = "cmd/terway-cli/node.go setSymmetricRouting";

pub(super) fn check(first: &Plugin, report: &mut Report) {
    let reader = Reader::NodeConfig;
    let Some(v) = first.conf.get("symmetric_routing_config") else {
        return;
    };
    let at = || first.at.key("symmetric_routing_config");
    if let Some(bad) = SYMMETRIC_ROUTING.mismatch(v, at, Keys::Fold) {
        if matches!(v, Value::Object(_)) {
            report.mismatch(&bad, reader, "types.SymmetricRoutingConfig", SOURCE);
        } else {
            report.deny(
                at(),
                reader,
                format!("symmetric_routing_config is {}; it must be an object: {} fails with \"failed to parse symmetric_routing_config\" ({SOURCE}), even with symmetric_routing off; {}", shown(v), reader.name(), reader.impact()),
            );
        }
    }
}
