//! ECS facts: how many pod IPs an instance type can hold.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::Value;

use super::client::{ApiClient, CloudError};

/// ENI limits of an instance type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceLimits {
    pub eni_quantity: u64,
    pub ips_per_eni: u64,
}

impl InstanceLimits {
    /// Pod IPs in ENI multi-IP mode: every ENI but the primary carries pods.
    pub fn pod_ips(&self) -> u64 {
        self.eni_quantity.saturating_sub(1) * self.ips_per_eni
    }
}

/// DescribeInstanceTypes accepts up to 10 `InstanceTypes.N` per call.
const BATCH: usize = 10;

impl ApiClient {
    pub async fn describe_instance_types(
        &self,
        types: &[String],
        deadline: Instant,
    ) -> Result<HashMap<String, InstanceLimits>, CloudError> {
        let mut out = HashMap::new();
        for chunk in types.chunks(BATCH) {
            let keys: Vec<String> = (1..=chunk.len())
                .map(|i| format!("InstanceTypes.{i}"))
                .collect();
            let params: Vec<(&str, String)> = keys
                .iter()
                .map(String::as_str)
                .zip(chunk.iter().cloned())
                .collect();
            let v = self
                .call("DescribeInstanceTypes", &params, deadline)
                .await?;
            let list = v
                .pointer("/InstanceTypes/InstanceType")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for t in list {
                let (Some(id), Some(enis), Some(ips)) = (
                    t["InstanceTypeId"].as_str(),
                    t["EniQuantity"].as_u64(),
                    t["EniPrivateIpAddressQuantity"].as_u64(),
                ) else {
                    continue;
                };
                out.insert(
                    id.to_string(),
                    InstanceLimits {
                        eni_quantity: enis,
                        ips_per_eni: ips,
                    },
                );
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_primary_eni_carries_no_pods() {
        let l = InstanceLimits {
            eni_quantity: 4,
            ips_per_eni: 15,
        };
        assert_eq!(l.pod_ips(), 45);
        assert_eq!(
            InstanceLimits {
                eni_quantity: 0,
                ips_per_eni: 10
            }
            .pod_ips(),
            0
        );
    }
}
