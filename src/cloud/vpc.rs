//! Typed VPC actions on top of [`ApiClient::call`].

use std::time::Instant;

use serde::Deserialize;
use serde_json::Value;

use super::client::{ApiClient, CloudError};

/// Alibaba Cloud caps PageSize at 50.
const PAGE_SIZE: usize = 50;
/// A guard against a server that never says it is done.
const MAX_PAGES: usize = 200;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VSwitch {
    #[serde(rename = "VSwitchId")]
    pub id: String,
    pub vpc_id: String,
    pub zone_id: String,
    pub cidr_block: String,
    #[serde(default)]
    pub available_ip_address_count: u64,
    #[serde(default)]
    pub status: String,
    #[serde(rename = "VSwitchName", default)]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Vpc {
    pub id: String,
    pub cidr_block: String,
    pub secondary_cidr_blocks: Vec<String>,
    pub user_cidrs: Vec<String>,
    pub nat_gateway_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NatGateway {
    pub id: String,
    pub snat_table_ids: Vec<String>,
    /// (IP address, usable for SNAT)
    pub ips: Vec<(String, bool)>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnatEntry {
    pub snat_entry_id: String,
    pub snat_table_id: String,
    #[serde(rename = "SourceVSwitchId", default)]
    pub source_vswitch_id: String,
    #[serde(rename = "SourceCIDR", default)]
    pub source_cidr: String,
    #[serde(default)]
    pub snat_ip: String,
    #[serde(default)]
    pub status: String,
}

/// Filters for DescribeVSwitches (any combination).
#[derive(Debug, Clone, Default)]
pub struct VSwitchFilter {
    pub vpc_id: Option<String>,
    pub vswitch_id: Option<String>,
    pub zone_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CreateVSwitch {
    pub vpc_id: String,
    pub zone_id: String,
    pub cidr_block: String,
    pub name: String,
    pub description: String,
    pub client_token: String,
    pub tags: Vec<(String, String)>,
}

fn list<'a>(v: &'a Value, outer: &str, inner: &str) -> &'a [Value] {
    v.get(outer)
        .and_then(|o| o.get(inner))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn strings(v: &Value, outer: &str, inner: &str) -> Vec<String> {
    list(v, outer, inner)
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

fn decode<T: serde::de::DeserializeOwned>(action: &str, v: &Value) -> Result<T, CloudError> {
    serde_json::from_value(v.clone()).map_err(|e| CloudError::Decode {
        action: action.into(),
        message: e.to_string(),
    })
}

impl ApiClient {
    /// Every item of a paged Describe* action.
    async fn paged(
        &self,
        action: &str,
        params: &[(&str, String)],
        outer: &str,
        inner: &str,
        deadline: Instant,
    ) -> Result<Vec<Value>, CloudError> {
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut p = params.to_vec();
            p.push(("PageNumber", page.to_string()));
            p.push(("PageSize", PAGE_SIZE.to_string()));
            let v = self.call(action, &p, deadline).await?;
            let items = list(&v, outer, inner);
            out.extend(items.iter().cloned());
            let total = v.get("TotalCount").and_then(Value::as_u64).unwrap_or(0) as usize;
            if items.is_empty() || out.len() >= total {
                break;
            }
        }
        Ok(out)
    }

    pub async fn describe_vswitches(
        &self,
        f: &VSwitchFilter,
        deadline: Instant,
    ) -> Result<Vec<VSwitch>, CloudError> {
        let mut p = Vec::new();
        for (k, v) in [
            ("VpcId", &f.vpc_id),
            ("VSwitchId", &f.vswitch_id),
            ("ZoneId", &f.zone_id),
        ] {
            if let Some(v) = v {
                p.push((k, v.clone()));
            }
        }
        let items = self
            .paged("DescribeVSwitches", &p, "VSwitches", "VSwitch", deadline)
            .await?;
        items
            .iter()
            .map(|i| decode("DescribeVSwitches", i))
            .collect()
    }

    /// One vSwitch by id; `Ok(None)` when it does not exist.
    pub async fn vswitch(
        &self,
        id: &str,
        deadline: Instant,
    ) -> Result<Option<VSwitch>, CloudError> {
        let f = VSwitchFilter {
            vswitch_id: Some(id.to_string()),
            ..Default::default()
        };
        match self.describe_vswitches(&f, deadline).await {
            Ok(list) => Ok(list.into_iter().find(|v| v.id == id)),
            Err(e)
                if e.code()
                    .is_some_and(|c| c.eq_ignore_ascii_case("InvalidVSwitchId.NotFound")) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    pub async fn describe_vswitch_attributes(
        &self,
        id: &str,
        deadline: Instant,
    ) -> Result<VSwitch, CloudError> {
        let v = self
            .call(
                "DescribeVSwitchAttributes",
                &[("VSwitchId", id.to_string())],
                deadline,
            )
            .await?;
        decode("DescribeVSwitchAttributes", &v)
    }

    pub async fn describe_vpcs(
        &self,
        vpc_id: Option<&str>,
        deadline: Instant,
    ) -> Result<Vec<Vpc>, CloudError> {
        let p: Vec<(&str, String)> = vpc_id
            .map(|v| ("VpcId", v.to_string()))
            .into_iter()
            .collect();
        let items = self
            .paged("DescribeVpcs", &p, "Vpcs", "Vpc", deadline)
            .await?;
        Ok(items
            .iter()
            .map(|v| Vpc {
                id: v["VpcId"].as_str().unwrap_or_default().to_string(),
                cidr_block: v["CidrBlock"].as_str().unwrap_or_default().to_string(),
                secondary_cidr_blocks: strings(v, "SecondaryCidrBlocks", "SecondaryCidrBlock"),
                user_cidrs: strings(v, "UserCidrs", "UserCidr"),
                // The inner name is plural in the real API.
                nat_gateway_ids: strings(v, "NatGatewayIds", "NatGatewayIds"),
            })
            .collect())
    }

    pub async fn describe_nat_gateways(
        &self,
        vpc_id: &str,
        deadline: Instant,
    ) -> Result<Vec<NatGateway>, CloudError> {
        let items = self
            .paged(
                "DescribeNatGateways",
                &[("VpcId", vpc_id.to_string())],
                "NatGateways",
                "NatGateway",
                deadline,
            )
            .await?;
        Ok(items
            .iter()
            .map(|g| NatGateway {
                id: g["NatGatewayId"].as_str().unwrap_or_default().to_string(),
                snat_table_ids: strings(g, "SnatTableIds", "SnatTableId"),
                ips: list(g, "IpLists", "IpList")
                    .iter()
                    .map(|ip| {
                        let enabled = ip["SnatEntryEnabled"].as_bool().unwrap_or(false);
                        (
                            ip["IpAddress"].as_str().unwrap_or_default().to_string(),
                            enabled,
                        )
                    })
                    .collect(),
            })
            .collect())
    }

    pub async fn describe_snat_table_entries(
        &self,
        snat_table_id: &str,
        source_vswitch: Option<&str>,
        deadline: Instant,
    ) -> Result<Vec<SnatEntry>, CloudError> {
        let mut p = vec![("SnatTableId", snat_table_id.to_string())];
        if let Some(v) = source_vswitch {
            p.push(("SourceVSwitchId", v.to_string()));
        }
        let items = self
            .paged(
                "DescribeSnatTableEntries",
                &p,
                "SnatTableEntries",
                "SnatTableEntry",
                deadline,
            )
            .await?;
        items
            .iter()
            .map(|i| decode("DescribeSnatTableEntries", i))
            .collect()
    }

    /// Creates a vSwitch; the client token makes a retry return the same one.
    pub async fn create_vswitch(
        &self,
        r: &CreateVSwitch,
        deadline: Instant,
    ) -> Result<String, CloudError> {
        let mut p = vec![
            ("VpcId", r.vpc_id.clone()),
            ("ZoneId", r.zone_id.clone()),
            ("CidrBlock", r.cidr_block.clone()),
            ("VSwitchName", r.name.clone()),
            ("Description", r.description.clone()),
            ("ClientToken", r.client_token.clone()),
        ];
        let tag_keys: Vec<(String, String)> = r
            .tags
            .iter()
            .enumerate()
            .flat_map(|(i, (k, v))| {
                [
                    (format!("Tag.{}.Key", i + 1), k.clone()),
                    (format!("Tag.{}.Value", i + 1), v.clone()),
                ]
            })
            .collect();
        p.extend(tag_keys.iter().map(|(k, v)| (k.as_str(), v.clone())));
        let v = self.call("CreateVSwitch", &p, deadline).await?;
        id_field("CreateVSwitch", &v, "VSwitchId")
    }

    pub async fn create_snat_entry(
        &self,
        snat_table_id: &str,
        source_vswitch: &str,
        snat_ip: &str,
        client_token: &str,
        deadline: Instant,
    ) -> Result<String, CloudError> {
        let p = [
            ("SnatTableId", snat_table_id.to_string()),
            ("SourceVSwitchId", source_vswitch.to_string()),
            ("SnatIp", snat_ip.to_string()),
            ("ClientToken", client_token.to_string()),
        ];
        let v = self.call("CreateSnatEntry", &p, deadline).await?;
        id_field("CreateSnatEntry", &v, "SnatEntryId")
    }
}

fn id_field(action: &str, v: &Value, key: &str) -> Result<String, CloudError> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| CloudError::Decode {
            action: action.into(),
            message: format!("no {key} in the answer"),
        })
}
