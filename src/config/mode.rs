//! Terway's IPAM mode, read from `eni_conf`: the capacity arithmetic and the
//! rules both branch on it, so it lives below both of them.

use serde::Serialize;

use super::EniConf;

/// Terway's IPAM mode, chosen by the base config's `ipam_type`
/// (daemon/daemon.go newNetworkService: `crd` means the CRD-based IPAM run by
/// terway-controlplane; anything else the legacy per-node pool).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Legacy,
    Crd,
}

impl Mode {
    pub fn of(conf: &EniConf) -> Mode {
        if conf.str("ipam_type") == Some("crd") {
            Mode::Crd
        } else {
            Mode::Legacy
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Legacy => "legacy IPAM",
            Mode::Crd => "CRD IPAM (ipam_type: crd)",
        }
    }
}
