//! The chain's order, expiry and secrecy.

use super::*;

#[test]
fn a_token_with_an_unreadable_expiry_is_short_lived() {
    for expiration in [None, Some("next tuesday".to_string())] {
        let c = StsCredentials {
            access_key_id: "id".into(),
            access_key_secret: "s".into(),
            security_token: Some("t".into()),
            expiration: expiration.clone(),
        }
        .into_credential("RRSA");
        let left = c
            .expiration
            .expect("never forever")
            .duration_since(SystemTime::now())
            .unwrap();
        assert!(left <= UNKNOWN_EXPIRY, "{expiration:?}");
    }
}

#[test]
fn secrets_do_not_print() {
    let c = Credential {
        access_key_id: Secret::new("LTAIexampleid"),
        access_key_secret: Secret::new("very-secret"),
        security_token: Some(Secret::new("sts-token")),
        expiration: None,
        source: "environment",
    };
    let shown = format!("{c:?} {} {}", c.access_key_secret, c.access_key_id);
    for s in ["LTAIexampleid", "very-secret", "sts-token"] {
        assert!(!shown.contains(s), "{shown}");
    }
}

#[test]
fn chain_order_follows_the_sdks() {
    let env = crate::cloud::env_of;
    let all = env(&[
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "id"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s"),
        ("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1:role/x"),
        (
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            "acs:ram::1:oidc-provider/y",
        ),
        ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "/var/run/token"),
    ]);
    let names: Vec<&str> = Chain::sources_from(
        all,
        "http://100.100.100.200",
        Some("/var/addon/token-config".into()),
    )
    .iter()
    .map(Source::name)
    .collect();
    assert_eq!(
        names,
        [
            "environment",
            "RRSA",
            "Terway credential file",
            "ECS RAM role"
        ]
    );
    let legacy = env(&[
        ("ALICLOUD_ACCESS_KEY", "old-id"),
        ("ALICLOUD_SECRET_KEY", "old-secret"),
        ("ALICLOUD_ACCESS_KEY_STS_TOKEN", "old-token"),
        ("ALIBABA_CLOUD_IMDSV1_DISABLED", "true"),
    ]);
    let sources = Chain::sources_from(legacy, "http://x", None);
    match &sources[..] {
        [
            Source::Env(c),
            Source::EcsRamRole {
                imdsv1_disabled: true,
                ..
            },
        ] => {
            assert_eq!(c.access_key_id.expose(), "old-id");
            assert!(c.security_token.is_some());
            let left = c
                .expiration
                .unwrap()
                .duration_since(SystemTime::now())
                .unwrap();
            assert!(left <= UNKNOWN_EXPIRY, "a token never lives forever");
        }
        other => panic!("{other:?}"),
    }
    let none = env(&[
        ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true"),
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "id"),
    ]);
    assert!(Chain::sources_from(none, "http://x", None).is_empty());
    let sts = env(&[
        ("ALIBABA_CLOUD_ROLE_ARN", "a"),
        ("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "b"),
        ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "c"),
        ("ALIBABA_CLOUD_STS_ENDPOINT", "sts.cn-shanghai.aliyuncs.com"),
    ]);
    match &Chain::sources_from(sts, "http://x", None)[0] {
        Source::Rrsa {
            sts_endpoint,
            session_name,
            ..
        } => {
            assert_eq!(sts_endpoint, "https://sts.cn-shanghai.aliyuncs.com");
            assert_eq!(session_name, "terway-guard");
        }
        other => panic!("{other:?}"),
    }
}
