//! Which host serves an API for a region, as Alibaba Cloud's SDKs and Terway
//! resolve it.
//!
//! Terway builds its clients with network type `vpc` unless
//! `ALICLOUD_ENDPOINT_TYPE=public` (terway pkg/aliyun/credential/wire.go
//! NewNetworkType). With network `vpc`, alibaba-cloud-sdk-go skips its
//! endpoint map and builds `<product>-vpc.<region>.aliyuncs.com`
//! (sdk/client.go DefaultResolver.TryResolve, GetEndpointRules); with the
//! public network it uses the map, then `<product>.<region>.aliyuncs.com`.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointType {
    /// `<product>-vpc.<region>.aliyuncs.com`: reachable from inside any VPC,
    /// also without internet egress.
    Vpc,
    /// The public endpoints.
    Public,
}

impl FromStr for EndpointType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "vpc" => Ok(EndpointType::Vpc),
            "public" => Ok(EndpointType::Public),
            other => Err(format!("endpoint type {other:?}: use vpc or public")),
        }
    }
}

impl fmt::Display for EndpointType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndpointType::Vpc => "vpc",
            EndpointType::Public => "public",
        })
    }
}

impl EndpointType {
    /// What Terway itself would use given `ALICLOUD_ENDPOINT_TYPE`: public
    /// only for exactly `public`, else vpc. `None` when it is unset.
    pub fn from_terway_env(value: Option<&str>) -> Option<Self> {
        value.map(|v| {
            if v == "public" {
                EndpointType::Public
            } else {
                EndpointType::Vpc
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Vpc,
    Ecs,
}

impl Product {
    fn code(self) -> &'static str {
        match self {
            Product::Vpc => "vpc",
            Product::Ecs => "ecs",
        }
    }

    /// Public endpoints that differ from `<product>.<region>.aliyuncs.com`:
    /// the `EndpointMap` of alibabacloud-go/vpc-20160428 (commit cf668a2) and
    /// alibabacloud-go/ecs-20140526 (commit d024e14) client/client.go, for the
    /// regions an ACK cluster can be in.
    fn public_exceptions(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Product::Vpc => &[
                ("cn-hangzhou", "vpc.aliyuncs.com"),
                ("cn-shanghai-finance-1", "vpc.aliyuncs.com"),
                ("cn-shenzhen-finance-1", "vpc.aliyuncs.com"),
                ("cn-north-2-gov-1", "vpc.aliyuncs.com"),
                ("cn-beijing-finance-pop", "vpc.aliyuncs.com"),
                ("cn-beijing-gov-1", "vpc.aliyuncs.com"),
                ("cn-fujian", "vpc.aliyuncs.com"),
                ("cn-hangzhou-finance", "vpc.aliyuncs.com"),
                ("cn-hongkong-finance-pop", "vpc.aliyuncs.com"),
                ("cn-wuhan", "vpc.aliyuncs.com"),
                ("cn-yushanfang", "vpc.aliyuncs.com"),
                ("cn-zhangbei", "vpc.aliyuncs.com"),
                ("ap-northeast-2-pop", "vpc.aliyuncs.com"),
                ("rus-west-1-pop", "vpc.aliyuncs.com"),
                ("cn-edge-1", "vpc-nebula.cn-qingdao-nebula.aliyuncs.com"),
                (
                    "cn-qingdao-nebula",
                    "vpc-nebula.cn-qingdao-nebula.aliyuncs.com",
                ),
            ],
            Product::Ecs => &[
                ("cn-hangzhou", "ecs-cn-hangzhou.aliyuncs.com"),
                ("cn-shanghai-finance-1", "ecs-cn-hangzhou.aliyuncs.com"),
                ("cn-shenzhen-finance-1", "ecs-cn-hangzhou.aliyuncs.com"),
                ("cn-fujian", "ecs-cn-hangzhou.aliyuncs.com"),
                ("cn-north-2-gov-1", "ecs.aliyuncs.com"),
                ("cn-beijing-finance-pop", "ecs.aliyuncs.com"),
                ("cn-beijing-gov-1", "ecs.aliyuncs.com"),
                ("cn-hangzhou-finance", "ecs.aliyuncs.com"),
                ("cn-hongkong-finance-pop", "ecs.aliyuncs.com"),
                ("cn-wuhan", "ecs.aliyuncs.com"),
                ("cn-yushanfang", "ecs.aliyuncs.com"),
                ("cn-zhangbei", "ecs.aliyuncs.com"),
                ("ap-northeast-2-pop", "ecs.aliyuncs.com"),
                ("rus-west-1-pop", "ecs.aliyuncs.com"),
                ("cn-edge-1", "ecs.cn-qingdao-nebula.aliyuncs.com"),
            ],
        }
    }
}

/// The HTTPS URL for `product` in `region`.
pub fn url(product: Product, region: &str, ty: EndpointType) -> String {
    let code = product.code();
    let host = match ty {
        EndpointType::Vpc => format!("{code}-vpc.{region}.aliyuncs.com"),
        EndpointType::Public => product
            .public_exceptions()
            .iter()
            .find(|(r, _)| *r == region)
            .map_or_else(
                || format!("{code}.{region}.aliyuncs.com"),
                |(_, h)| h.to_string(),
            ),
    };
    format!("https://{host}")
}

/// The STS host for RRSA, as credentials-go builds it
/// (credentials/providers/oidc.go): an explicit endpoint wins; with
/// `ALIBABA_CLOUD_STS_REGION`, `sts[-vpc].<region>.aliyuncs.com`, `-vpc` when
/// `ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true`; else `sts.aliyuncs.com`.
pub fn sts_host(env: &dyn Fn(&str) -> Option<String>) -> String {
    let get = |k: &str| env(k).filter(|v| !v.is_empty());
    if let Some(e) = get("ALIBABA_CLOUD_STS_ENDPOINT") {
        return e;
    }
    let vpc =
        get("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let prefix = if vpc { "sts-vpc" } else { "sts" };
    match get("ALIBABA_CLOUD_STS_REGION") {
        Some(region) => format!("{prefix}.{region}.aliyuncs.com"),
        None => "sts.aliyuncs.com".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_as_the_sdks_build_them() {
        use EndpointType::{Public, Vpc};
        let cases = [
            (
                Product::Vpc,
                "cn-shanghai",
                Vpc,
                "https://vpc-vpc.cn-shanghai.aliyuncs.com",
            ),
            (
                Product::Vpc,
                "cn-hangzhou",
                Vpc,
                "https://vpc-vpc.cn-hangzhou.aliyuncs.com",
            ),
            (
                Product::Ecs,
                "cn-hangzhou",
                Vpc,
                "https://ecs-vpc.cn-hangzhou.aliyuncs.com",
            ),
            (
                Product::Vpc,
                "cn-shanghai",
                Public,
                "https://vpc.cn-shanghai.aliyuncs.com",
            ),
            (
                Product::Vpc,
                "cn-hangzhou",
                Public,
                "https://vpc.aliyuncs.com",
            ),
            (Product::Vpc, "cn-wuhan", Public, "https://vpc.aliyuncs.com"),
            (
                Product::Ecs,
                "cn-hangzhou",
                Public,
                "https://ecs-cn-hangzhou.aliyuncs.com",
            ),
            (
                Product::Ecs,
                "ap-southeast-1",
                Public,
                "https://ecs.ap-southeast-1.aliyuncs.com",
            ),
        ];
        for (product, region, ty, want) in cases {
            assert_eq!(url(product, region, ty), want, "{product:?} {region} {ty}");
        }
    }

    #[test]
    fn terway_reads_its_env_loosely() {
        assert_eq!(EndpointType::from_terway_env(None), None);
        assert_eq!(
            EndpointType::from_terway_env(Some("public")),
            Some(EndpointType::Public)
        );
        assert_eq!(
            EndpointType::from_terway_env(Some("PUBLIC")),
            Some(EndpointType::Vpc)
        );
        assert!("intranet".parse::<EndpointType>().is_err());
    }

    #[test]
    fn sts_hosts() {
        let env = crate::cloud::env_of;
        let cases: [(&'static [(&str, &str)], &str); 4] = [
            (&[], "sts.aliyuncs.com"),
            (
                &[("ALIBABA_CLOUD_STS_REGION", "cn-shanghai")],
                "sts.cn-shanghai.aliyuncs.com",
            ),
            (
                &[
                    ("ALIBABA_CLOUD_STS_REGION", "cn-shanghai"),
                    ("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED", "true"),
                ],
                "sts-vpc.cn-shanghai.aliyuncs.com",
            ),
            (
                &[
                    ("ALIBABA_CLOUD_STS_REGION", "cn-shanghai"),
                    ("ALIBABA_CLOUD_STS_ENDPOINT", "sts.example.internal"),
                ],
                "sts.example.internal",
            ),
        ];
        for (pairs, want) in cases {
            assert_eq!(sts_host(&env(pairs)), want, "{pairs:?}");
        }
    }
}
