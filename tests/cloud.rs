//! The VPC client and the credential chain against the fake endpoint.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fake_vpc::{Fake, SECRET};
use terway_guard::cloud::client::{ApiClient, CloudError, Retry, http_client};
use terway_guard::cloud::credentials::Chain;
use terway_guard::cloud::vpc::VSwitchFilter;

fn env_creds(secret: &str, token: Option<&str>) -> Arc<Chain> {
    common::fake_vpc::chain(secret, token)
}

fn client(fake: &Fake, creds: Arc<Chain>) -> ApiClient {
    ApiClient::new("cn-shanghai", Some(&fake.url()), creds, http_client()).with_retry(Retry {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        attempt_timeout: Duration::from_secs(2),
    })
}

/// RRSA against the fake STS, with `token_file` as the OIDC token.
fn rrsa_chain(fake: &Fake, token_file: std::path::PathBuf) -> Arc<Chain> {
    let url = fake.url();
    let env = move |k: &str| -> Option<String> {
        Some(match k {
            "ALIBABA_CLOUD_ROLE_ARN" => "acs:ram::123:role/terway-guard".into(),
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN" => "acs:ram::123:oidc-provider/ack-rrsa".into(),
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE" => token_file.display().to_string(),
            "ALIBABA_CLOUD_STS_ENDPOINT" => url.clone(),
            "ALIBABA_CLOUD_ECS_METADATA_DISABLED" => "true".into(),
            _ => return None,
        })
    };
    Arc::new(Chain::new(
        Chain::sources_from(env, "http://127.0.0.1:1", None),
        http_client(),
    ))
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(5)
}

#[tokio::test]
async fn pages_through_every_vswitch() {
    let fake = Fake::start().await;
    for i in 0..120 {
        fake.add_vswitch(
            &format!("vsw-{i:04}"),
            "vpc-1",
            "cn-shanghai-f",
            &format!("10.{}.{}.0/24", i / 256, i % 256),
            250,
        );
    }
    fake.add_vswitch("vsw-other", "vpc-2", "cn-shanghai-f", "172.16.0.0/24", 1);
    let c = client(&fake, env_creds(SECRET, None));
    let f = VSwitchFilter {
        vpc_id: Some("vpc-1".into()),
        ..Default::default()
    };
    let all = c.describe_vswitches(&f, soon()).await.unwrap();
    assert_eq!(all.len(), 120);
    assert_eq!(
        fake.calls("DescribeVSwitches"),
        3,
        "PageSize 50: 50 + 50 + 20"
    );
    assert_eq!(all[119].id, "vsw-0119");
    assert_eq!(all[0].available_ip_address_count, 250);
    assert_eq!(
        c.vswitch("vsw-other", soon())
            .await
            .unwrap()
            .unwrap()
            .vpc_id,
        "vpc-2"
    );
    assert_eq!(c.vswitch("vsw-missing", soon()).await.unwrap(), None);
}

#[tokio::test]
async fn retries_throttling_and_5xx_but_not_client_errors() {
    let fake = Fake::start().await;
    fake.add_vswitch("vsw-a", "vpc-1", "z", "10.0.0.0/24", 1);
    let c = client(&fake, env_creds(SECRET, None));
    fake.with(|s| {
        s.faults.push_back((400, "Throttling.User".into()));
        s.faults.push_back((503, "ServiceUnavailable".into()));
        s.faults.push_back((500, "InternalError".into()));
    });
    assert!(c.vswitch("vsw-a", soon()).await.unwrap().is_some());
    assert_eq!(fake.calls("DescribeVSwitches"), 4);

    fake.with(|s| s.faults.push_back((403, "Forbidden.RAM".into())));
    let e = c.vswitch("vsw-a", soon()).await.unwrap_err();
    assert_eq!(e.code(), Some("Forbidden.RAM"));
    assert!(
        e.to_string()
            .contains("DescribeVSwitches failed: Forbidden.RAM"),
        "{e}"
    );
    assert_eq!(fake.calls("DescribeVSwitches"), 5, "not retried");
}

#[tokio::test]
async fn a_slow_endpoint_hits_the_deadline() {
    let fake = Fake::start().await;
    fake.with(|s| s.delay = Duration::from_secs(3));
    let c = client(&fake, env_creds(SECRET, None));
    let started = Instant::now();
    let e = c
        .vswitch("vsw-a", Instant::now() + Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(
            e,
            CloudError::Transport { .. } | CloudError::Deadline { .. }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_wrong_secret_is_rejected_by_signature_check() {
    let fake = Fake::start().await;
    let c = client(&fake, env_creds("not-the-secret", None));
    let e = c.vswitch("vsw-a", soon()).await.unwrap_err();
    assert_eq!(e.code(), Some("SignatureDoesNotMatch"));
    assert_eq!(fake.calls("DescribeVSwitches"), 1);
    // The right secret with an STS token passes (the token is signed too).
    let c = client(&fake, env_creds(SECRET, Some("CAIS-fake-sts-token")));
    assert_eq!(c.vswitch("vsw-a", soon()).await.unwrap(), None);
}

#[tokio::test]
async fn credentials_from_rrsa_metadata_and_terway_file() {
    let fake = Fake::start().await;
    fake.add_vswitch("vsw-a", "vpc-1", "z", "10.0.0.0/24", 7);
    let dir = common::temp_dir("creds");

    // RRSA: an OIDC token file exchanged at the fake STS.
    let token_file = dir.join("token");
    std::fs::write(&token_file, "oidc-token-from-file\n").unwrap();
    let chain = rrsa_chain(&fake, token_file);
    assert_eq!(chain.get().await.unwrap().source, "RRSA");
    assert_eq!(
        client(&fake, chain.clone())
            .vswitch("vsw-a", soon())
            .await
            .unwrap()
            .unwrap()
            .available_ip_address_count,
        7
    );
    chain.get().await.unwrap();
    assert_eq!(
        fake.calls("AssumeRoleWithOIDC"),
        1,
        "cached until close to expiry"
    );

    // ECS RAM role via the metadata server.
    let metadata = fake.url();
    let chain = Arc::new(Chain::new(
        Chain::sources_from(|_| None, &metadata, None),
        http_client(),
    ));
    let c = chain.get().await.unwrap();
    assert_eq!(
        (c.source, c.security_token.unwrap().expose()),
        ("ECS RAM role", "CAIS-fake-sts-token")
    );

    // Terway's credential file, encrypted with AES-CBC.
    let file = dir.join("token-config");
    std::fs::write(&file, common::fake_vpc::terway_credential_file()).unwrap();
    let env = |k: &str| (k == "ALIBABA_CLOUD_ECS_METADATA_DISABLED").then(|| "true".to_string());
    let chain = Arc::new(Chain::new(
        Chain::sources_from(env, "http://127.0.0.1:1", Some(file)),
        http_client(),
    ));
    assert_eq!(chain.get().await.unwrap().source, "Terway credential file");
    assert!(
        client(&fake, chain)
            .vswitch("vsw-a", soon())
            .await
            .unwrap()
            .is_some()
    );

    // Nothing works: the error lists every source and no secret.
    let env = |k: &str| (k == "ALIBABA_CLOUD_ECS_METADATA_DISABLED").then(|| "true".to_string());
    let chain = Chain::new(
        Chain::sources_from(env, "http://127.0.0.1:1", Some(dir.join("absent"))),
        http_client(),
    );
    let e = chain.get().await.unwrap_err().to_string();
    assert!(
        e.contains("Terway credential file") && !e.contains(SECRET),
        "{e}"
    );
}

#[tokio::test]
async fn instance_type_limits_come_in_batches_of_ten() {
    let fake = Fake::start().await;
    let types: Vec<String> = (0..13).map(|i| format!("ecs.g7.{i}xlarge")).collect();
    fake.with(|s| s.instance_types = types.iter().map(|t| (t.clone(), 4, 15)).collect());
    let ecs = ApiClient::ecs(
        "cn-shanghai",
        Some(&fake.url()),
        env_creds(SECRET, None),
        http_client(),
    );
    let limits = ecs.describe_instance_types(&types, soon()).await.unwrap();
    assert_eq!(limits.len(), 13);
    assert_eq!(limits["ecs.g7.12xlarge"].pod_ips(), 45);
    assert_eq!(fake.calls("DescribeInstanceTypes"), 2);
}

#[tokio::test]
async fn nat_snat_and_creation_speak_the_real_shapes() {
    use serde_json::json;
    use terway_guard::cloud::vpc::CreateVSwitch;
    let fake = Fake::start().await;
    fake.add_vswitch("vsw-a", "vpc-1", "cn-shanghai-f", "192.168.0.0/24", 3);
    fake.with(|s| {
        s.vpcs.push(json!({"VpcId": "vpc-1", "CidrBlock": "192.168.0.0/16", "SecondaryCidrBlocks": {"SecondaryCidrBlock": ["10.10.0.0/16"]}, "UserCidrs": {"UserCidr": []}, "NatGatewayIds": {"NatGatewayIds": ["ngw-1"]}}));
        s.nat_gateways.push(json!({"NatGatewayId": "ngw-1", "VpcId": "vpc-1", "SnatTableIds": {"SnatTableId": ["stb-1"]}, "IpLists": {"IpList": [{"IpAddress": "47.100.1.1", "SnatEntryEnabled": true}, {"IpAddress": "47.100.1.2", "SnatEntryEnabled": false}]}}));
        s.snat_entries.push(json!({"SnatEntryId": "snat-a", "SnatTableId": "stb-1", "SourceVSwitchId": "vsw-a", "SourceCIDR": "192.168.0.0/24", "SnatIp": "47.100.1.1", "Status": "Available"}));
    });
    let c = client(&fake, env_creds(SECRET, None));
    let vpcs = c.describe_vpcs(Some("vpc-1"), soon()).await.unwrap();
    assert_eq!(vpcs[0].secondary_cidr_blocks, ["10.10.0.0/16"]);
    assert_eq!(vpcs[0].nat_gateway_ids, ["ngw-1"]);
    let ngw = c.describe_nat_gateways("vpc-1", soon()).await.unwrap();
    assert_eq!(ngw[0].snat_table_ids, ["stb-1"]);
    assert_eq!(
        ngw[0].ips,
        [
            ("47.100.1.1".to_string(), true),
            ("47.100.1.2".to_string(), false)
        ]
    );
    let entries = c
        .describe_snat_table_entries("stb-1", Some("vsw-a"), soon())
        .await
        .unwrap();
    assert_eq!(
        (
            entries[0].snat_ip.as_str(),
            entries[0].source_vswitch_id.as_str()
        ),
        ("47.100.1.1", "vsw-a")
    );
    assert_eq!(
        c.describe_vswitch_attributes("vsw-a", soon())
            .await
            .unwrap()
            .status,
        "Available"
    );

    let req = CreateVSwitch {
        vpc_id: "vpc-1".into(),
        zone_id: "cn-shanghai-f".into(),
        cidr_block: "192.168.32.0/19".into(),
        name: "terway-guard-cn-shanghai-f".into(),
        description: "created by terway-guard".into(),
        client_token: "tg-create-1".into(),
        tags: vec![("terway-guard.io/managed".into(), "true".into())],
    };
    let id = c.create_vswitch(&req, soon()).await.unwrap();
    assert_eq!(
        c.create_vswitch(&req, soon()).await.unwrap(),
        id,
        "same ClientToken, same vSwitch"
    );
    let overlap = CreateVSwitch {
        cidr_block: "192.168.0.0/23".into(),
        client_token: "tg-create-2".into(),
        ..req.clone()
    };
    assert_eq!(
        c.create_vswitch(&overlap, soon()).await.unwrap_err().code(),
        Some("InvalidCidrBlock.Overlapped")
    );
    let snat = c
        .create_snat_entry("stb-1", &id, "47.100.1.1", "tg-snat-1", soon())
        .await
        .unwrap();
    assert_eq!(
        c.create_snat_entry("stb-1", &id, "47.100.1.1", "tg-snat-1", soon())
            .await
            .unwrap(),
        snat
    );
    assert_eq!(
        c.describe_snat_table_entries("stb-1", Some(&id), soon())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn asks_for_json_and_the_fake_would_answer_xml_otherwise() {
    let fake = Fake::start().await;
    fake.add_vswitch("vsw-a", "vpc-1", "z", "10.0.0.0/24", 7);
    client(&fake, env_creds(SECRET, None))
        .vswitch("vsw-a", soon())
        .await
        .unwrap();
    let accepts = fake.with(|s| s.accepts.clone());
    assert!(!accepts.is_empty());
    assert!(
        accepts.iter().all(|a| a == "application/json"),
        "{accepts:?}"
    );
    // Without the header, an RPC API answers XML, which no JSON decoder reads.
    let body = http_client()
        .post(format!("{}/?RegionId=cn-shanghai", fake.url()))
        .header("x-acs-action", "DescribeVSwitches")
        .header("x-acs-version", "2016-04-28")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.starts_with("<?xml") && body.contains("<Code>MissingAuthorization</Code>"),
        "{body}"
    );
}

#[tokio::test]
async fn the_fake_holds_the_client_to_the_api_metadata() {
    let fake = Fake::start().await;
    let c = client(&fake, env_creds(SECRET, None));
    let e = c
        .call(
            "CreateVSwitch",
            &[("VpcId", "vpc-1".into()), ("ZoneId", "z".into())],
            soon(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("MissingParameter"), "{e}");
    assert!(e.to_string().contains("CidrBlock"), "{e}");
    let e = c
        .call(
            "DescribeVSwitches",
            &[("VSwitchIds", "vsw-a".into())],
            soon(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidParameter"), "{e}");
    // Repeat lists (Tag.N.Key, InstanceTypes.N) are what the metadata allows.
    c.call(
        "DescribeVSwitches",
        &[("Tag.1.Key", "k".into()), ("Tag.1.Value", "v".into())],
        soon(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_terway_credential_file_comes_before_the_instance_role() {
    let fake = Fake::start().await;
    let dir = common::temp_dir("order");
    let file = dir.join("token-config");
    std::fs::write(&file, common::fake_vpc::terway_credential_file()).unwrap();
    // The metadata server answers (it always does on ECS), yet the file wins.
    let chain = Chain::new(
        Chain::sources_from(|_| None, &fake.url(), Some(file)),
        http_client(),
    );
    assert_eq!(chain.get().await.unwrap().source, "Terway credential file");
    assert_eq!(
        fake.with(|s| s.calls.iter().filter(|c| c.starts_with("metadata")).count()),
        0
    );
}

#[tokio::test]
async fn the_instance_role_is_read_with_imdsv1_when_tokens_are_refused() {
    let fake = Fake::start().await;
    fake.with(|s| s.imds_v1_only = true);
    let chain = Chain::new(
        Chain::sources_from(|_| None, &fake.url(), None),
        http_client(),
    );
    assert_eq!(chain.get().await.unwrap().source, "ECS RAM role");
    let strict = |k: &str| (k == "ALIBABA_CLOUD_IMDSV1_DISABLED").then(|| "true".to_string());
    let chain = Chain::new(
        Chain::sources_from(strict, &fake.url(), None),
        http_client(),
    );
    let e = chain.get().await.unwrap_err().to_string();
    assert!(e.contains("ALIBABA_CLOUD_IMDSV1_DISABLED"), "{e}");
}

#[tokio::test]
async fn a_refused_token_is_replaced_once() {
    let fake = Fake::start().await;
    fake.add_vswitch("vsw-a", "vpc-1", "z", "10.0.0.0/24", 7);
    let dir = common::temp_dir("revoked");
    let token_file = dir.join("token");
    std::fs::write(&token_file, "oidc-token-from-file").unwrap();
    let chain = rrsa_chain(&fake, token_file);
    let c = client(&fake, chain);
    c.vswitch("vsw-a", soon()).await.unwrap();
    assert_eq!(fake.calls("AssumeRoleWithOIDC"), 1);
    fake.with(|s| {
        s.faults
            .push_back((400, "InvalidSecurityToken.Expired".into()))
    });
    c.vswitch("vsw-a", soon()).await.unwrap();
    assert_eq!(
        fake.calls("AssumeRoleWithOIDC"),
        2,
        "fetched anew after the refusal"
    );
    // Twice refused: the second refusal is the caller's to see.
    fake.with(|s| {
        s.faults
            .push_back((400, "InvalidAccessKeyId.Inactive".into()));
        s.faults
            .push_back((400, "InvalidAccessKeyId.Inactive".into()));
    });
    let e = c.vswitch("vsw-a", soon()).await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidAccessKeyId.Inactive"));
}

#[tokio::test]
async fn a_gateway_error_page_is_retried_not_misread() {
    let fake = Fake::start().await;
    fake.add_vswitch("vsw-a", "vpc-1", "z", "10.0.0.0/24", 7);
    fake.with(|s| {
        s.raw_faults
            .push_back((502, "<html><body>502 Bad Gateway</body></html>".into()));
        s.raw_faults.push_back((429, "Too Many Requests".into()));
    });
    let got = client(&fake, env_creds(SECRET, None))
        .vswitch("vsw-a", soon())
        .await
        .unwrap();
    assert!(got.is_some());
    assert_eq!(fake.calls("DescribeVSwitches"), 3);
}
