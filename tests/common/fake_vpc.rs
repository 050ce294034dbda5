//! A fake Alibaba Cloud endpoint on 127.0.0.1 that speaks the real wire
//! format: VPC actions (V3-signed, every signature verified), STS
//! AssumeRoleWithOIDC, and the ECS metadata server. Faults can be injected.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use terway_guard::cloud::sign::{V3Request, sha256_hex, sign_v3};

pub const AK: &str = "LTAI5tFakeAccessKeyId";
pub const SECRET: &str = "fake-access-key-secret-for-tests";

/// A credential chain holding the fake's access key with `secret` (and an
/// optional STS token), as the environment would give it.
pub fn chain(secret: &str, token: Option<&str>) -> Arc<terway_guard::cloud::credentials::Chain> {
    use terway_guard::cloud::credentials::{Chain, Credential, Secret, Source};
    let c = Credential {
        access_key_id: Secret::new(AK),
        access_key_secret: Secret::new(secret),
        security_token: token.map(Secret::new),
        expiration: None,
        source: "environment",
    };
    Arc::new(Chain::new(
        vec![Source::Env(c)],
        terway_guard::cloud::client::http_client(),
    ))
}

/// Terway's credential file (`/var/addon/token-config`) holding the fake's
/// key and STS token, each AES-CBC sealed with the file's keyring.
pub fn terway_credential_file() -> String {
    use cbc::cipher::{BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
    let keyring = "0123456789abcdef";
    let seal = |plain: &str| {
        let iv = [42u8; 16];
        let ct = cbc::Encryptor::<aes::Aes128>::new_from_slices(keyring.as_bytes(), &iv)
            .unwrap()
            .encrypt_padded_vec_mut::<Pkcs7>(plain.as_bytes());
        terway_guard::cloud::sign::base64(&[&iv[..], &ct].concat())
    };
    json!({"access.key.id": seal(AK), "access.key.secret": seal(SECRET), "security.token": seal("CAIS-fake-sts-token"), "expiration": "2099-01-01T00:00:00Z", "keyring": keyring}).to_string()
}

/// The binary's environment against the fakes: the fake's access key (and
/// no metadata server), `kubeconfig` for the fake cluster.
pub trait FakeEnv {
    fn fake_env(&mut self, kubeconfig: impl AsRef<std::ffi::OsStr>) -> &mut Self;
}

impl FakeEnv for std::process::Command {
    fn fake_env(&mut self, kubeconfig: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.env("KUBECONFIG", kubeconfig)
            .env("ALIBABA_CLOUD_ACCESS_KEY_ID", AK)
            .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
            .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
    }
}

/// `--inventory aliyun` against the fake at `url`, in the examples' region and VPC.
pub fn fake_cloud_args(url: &str) -> Vec<String> {
    [
        "--inventory",
        "aliyun",
        "--region",
        "cn-shanghai",
        "--vpc-id",
        "vpc-uf6demo0001",
        "--vpc-endpoint",
        url,
        "--ecs-endpoint",
        url,
    ]
    .map(String::from)
    .to_vec()
}

/// A VPC client for the fake at `endpoint`, with the right secret.
pub fn vpc_client_at(endpoint: &str) -> terway_guard::cloud::client::ApiClient {
    use terway_guard::cloud::client::{ApiClient, http_client};
    ApiClient::new(
        "cn-shanghai",
        Some(endpoint),
        chain(SECRET, None),
        http_client(),
    )
}

#[derive(Debug, Clone)]
pub struct FakeVSwitch {
    pub id: String,
    pub vpc: String,
    pub zone: String,
    pub cidr: String,
    pub free: u64,
}

#[derive(Default)]
pub struct State_ {
    pub vswitches: Vec<FakeVSwitch>,
    pub vpcs: Vec<Value>,
    /// Answers to give before the real one: (HTTP status, error code).
    pub faults: VecDeque<(u16, String)>,
    pub delay: Duration,
    /// Every action called, in order (signed or not).
    pub calls: Vec<String>,
    /// The OIDC token STS expects, and the role it hands out.
    pub oidc_token: String,
    pub metadata_role: String,
    /// Security token the VPC side expects when one is sent.
    pub sts_token: String,
    /// ECS instance types: (id, ENIs, IPs per ENI).
    pub instance_types: Vec<(String, u64, u64)>,
    /// NAT gateways as DescribeNatGateways returns them.
    pub nat_gateways: Vec<Value>,
    /// SNAT entries as DescribeSnatTableEntries returns them.
    pub snat_entries: Vec<Value>,
    /// ClientToken → id of what it created (CreateVSwitch, CreateSnatEntry).
    pub tokens: std::collections::HashMap<String, String>,
    /// The metadata server refuses session tokens (IMDSv1 only), as older
    /// instances and some images do.
    pub imds_v1_only: bool,
    /// The region the metadata server reports.
    pub region_id: String,
    /// Every Accept header the API side saw.
    pub accepts: Vec<String>,
    /// The RegionId of every API call.
    pub regions: Vec<String>,
    /// Answers that are not JSON (a gateway's HTML error page): (status, body).
    pub raw_faults: VecDeque<(u16, String)>,
}

#[derive(Clone)]
pub struct Fake {
    pub addr: SocketAddr,
    pub state: Arc<Mutex<State_>>,
}

impl Fake {
    pub async fn start() -> Fake {
        let state = Arc::new(Mutex::new(State_ {
            oidc_token: "oidc-token-from-file".into(),
            metadata_role: "terway-guard-role".into(),
            sts_token: "CAIS-fake-sts-token".into(),
            region_id: "cn-shanghai".into(),
            ..Default::default()
        }));
        let app = axum::Router::new()
            .fallback(route)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake { addr, state }
    }

    /// The example inventory (examples/inventory.yaml), served by the fake.
    pub async fn like_examples() -> Fake {
        let fake = Fake::start().await;
        let vpc = "vpc-uf6demo0001";
        fake.add_vswitch("vsw-uf6aaa0001", vpc, "cn-shanghai-f", "192.168.0.0/24", 2);
        fake.add_vswitch(
            "vsw-uf6bbb0002",
            vpc,
            "cn-shanghai-f",
            "192.168.32.0/19",
            8188,
        );
        fake.add_vswitch(
            "vsw-uf6ccc0003",
            vpc,
            "cn-shanghai-g",
            "192.168.64.0/19",
            6000,
        );
        fake.with(|s| s.vpcs.push(json!({"VpcId": vpc, "CidrBlock": "192.168.0.0/16", "SecondaryCidrBlocks": {"SecondaryCidrBlock": []}})));
        fake
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State_) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    pub fn calls(&self, action: &str) -> usize {
        self.with(|s| s.calls.iter().filter(|c| *c == action).count())
    }

    pub fn add_vswitch(&self, id: &str, vpc: &str, zone: &str, cidr: &str, free: u64) {
        self.with(|s| {
            s.vswitches.push(FakeVSwitch {
                id: id.into(),
                vpc: vpc.into(),
                zone: zone.into(),
                cidr: cidr.into(),
                free,
            })
        });
    }
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// A JSON body with its content type (axum's json feature is off).
struct Json(Value);

impl IntoResponse for Json {
    fn into_response(self) -> Response {
        ([("content-type", "application/json")], self.0.to_string()).into_response()
    }
}

/// An error as the OpenAPI gateway answers it (the fields darabonba-openapi
/// reads: Code, Message, RequestId, HostId, Recommend).
fn error(status: u16, code: &str, message: &str) -> Response {
    let body = json!({"RequestId": "fake-request-id", "HostId": "vpc.fake.aliyuncs.com", "Code": code, "Message": message, "Recommend": "https://api.aliyun.com/troubleshoot?q=fake"});
    (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
}

/// The official parameter metadata of the actions the fake serves
/// (tests/fixtures/openapi-meta.json, from aliyun/aliyun-openapi-meta).
fn openapi_meta() -> &'static Value {
    static META: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    META.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/openapi-meta.json"
        );
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    })
}

/// Refuses what the API metadata says the action cannot take: a parameter it
/// does not have (RegionId, which the SDKs always send, aside), or a missing
/// required one.
fn check_parameters(
    version: &str,
    action: &str,
    query: &[(String, String)],
) -> Result<(), Box<Response>> {
    let product = match version {
        "2016-04-28" => "vpc",
        "2014-05-26" => "ecs",
        _ => {
            return Err(Box::new(error(
                400,
                "InvalidVersion",
                "unknown API version",
            )));
        }
    };
    let Some(params) = openapi_meta()["products"][product][action].as_array() else {
        return Ok(());
    };
    for (k, _) in query {
        let known = k == "RegionId"
            || params.iter().any(|p| {
                let name = p["name"].as_str().unwrap_or_default();
                k == name
                    || (p["type"] == "RepeatList"
                        && k.strip_prefix(name)
                            .and_then(|r| r.strip_prefix('.'))
                            .is_some_and(|r| {
                                r.split('.')
                                    .next()
                                    .is_some_and(|n| n.parse::<u32>().is_ok())
                            }))
            });
        if !known {
            return Err(Box::new(error(
                400,
                "InvalidParameter",
                &format!("{action} has no parameter {k}"),
            )));
        }
    }
    for p in params.iter().filter(|p| p["required"] == true) {
        let name = p["name"].as_str().unwrap_or_default();
        if !query.iter().any(|(k, _)| k == name) {
            return Err(Box::new(error(
                400,
                "MissingParameter",
                &format!(
                    "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
                ),
            )));
        }
    }
    Ok(())
}

/// RPC APIs answer XML unless asked for JSON: the fake does too, so a client
/// that forgets `Accept: application/json` fails to decode, as it would.
async fn route(
    state: State<Arc<Mutex<State_>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let api = headers.contains_key("x-acs-action");
    let accept = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if api {
        state.0.lock().unwrap().accepts.push(accept.clone());
    }
    let resp = handle(state, method, uri, headers, body).await;
    if !api || accept.contains("application/json") {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 24)
        .await
        .unwrap_or_default();
    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    let root = if v.get("Code").is_some() {
        "Error"
    } else {
        "Response"
    };
    let mut xml = String::from("<?xml version='1.0' encoding='UTF-8'?>");
    to_xml(root, &v, &mut xml);
    let mut resp = Response::from_parts(parts, axum::body::Body::from(xml));
    resp.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("text/xml;charset=utf-8"),
    );
    resp
}

fn to_xml(name: &str, v: &Value, out: &mut String) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| to_xml(name, i, out)),
        Value::Object(map) => {
            out.push_str(&format!("<{name}>"));
            for (k, x) in map {
                to_xml(k, x, out);
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::String(s) => out.push_str(&format!("<{name}>{s}</{name}>")),
        other => out.push_str(&format!("<{name}>{other}</{name}>")),
    }
}

async fn handle(
    State(state): State<Arc<Mutex<State_>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = pairs(uri.query().unwrap_or(""));
    let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let delay = state.lock().unwrap().delay;
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    // The ECS metadata server.
    if uri.path().starts_with("/latest/") {
        return metadata(&state, &method, uri.path(), &headers);
    }
    // STS: anonymous AssumeRoleWithOIDC.
    if param("Action").as_deref() == Some("AssumeRoleWithOIDC") {
        state
            .lock()
            .unwrap()
            .calls
            .push("AssumeRoleWithOIDC".into());
        let form = pairs(std::str::from_utf8(&body).unwrap_or(""));
        let get = |k: &str| {
            form.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let s = state.lock().unwrap();
        if get("OIDCToken") != s.oidc_token
            || get("RoleArn").is_empty()
            || get("OIDCProviderArn").is_empty()
        {
            return error(400, "AuthenticationFail.OIDCToken.Invalid", "bad token");
        }
        return Json(json!({"RequestId": "r", "Credentials": {"AccessKeyId": AK, "AccessKeySecret": SECRET, "SecurityToken": s.sts_token, "Expiration": "2099-01-01T00:00:00Z"}})).into_response();
    }
    let action = headers
        .get("x-acs-action")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    state.lock().unwrap().calls.push(action.clone());
    if let Err((status, code, message)) = verify(&state, &method, &uri, &headers, &query, &body) {
        return error(status, code, &message);
    }
    let version = headers
        .get("x-acs-version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Err(resp) = check_parameters(version, &action, &query) {
        return *resp;
    }
    if let Some(r) = param("RegionId") {
        state.lock().unwrap().regions.push(r);
    }
    if let Some((status, code)) = state.lock().unwrap().faults.pop_front() {
        return error(status, &code, "injected fault");
    }
    if let Some((status, body)) = state.lock().unwrap().raw_faults.pop_front() {
        return (
            StatusCode::from_u16(status).unwrap(),
            [("content-type", "text/html")],
            body,
        )
            .into_response();
    }
    let s = state.lock().unwrap();
    let page = |items: Vec<Value>, outer: &str, inner: &str| {
        let n: usize = param("PageNumber")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let size: usize = param("PageSize").and_then(|p| p.parse().ok()).unwrap_or(10);
        let total = items.len();
        let slice: Vec<Value> = items.into_iter().skip((n - 1) * size).take(size).collect();
        Json(json!({"RequestId": "r", "TotalCount": total, "PageNumber": n, "PageSize": size, outer: {inner: slice}})).into_response()
    };
    match action.as_str() {
        "DescribeVSwitches" => {
            let items = s
                .vswitches
                .iter()
                .filter(|v| param("VSwitchId").is_none_or(|id| id == v.id))
                .filter(|v| param("VpcId").is_none_or(|id| id == v.vpc))
                .filter(|v| param("ZoneId").is_none_or(|z| z == v.zone))
                .map(|v| json!({"VSwitchId": v.id, "VpcId": v.vpc, "ZoneId": v.zone, "CidrBlock": v.cidr, "AvailableIpAddressCount": v.free, "Status": "Available", "VSwitchName": ""}))
                .collect();
            page(items, "VSwitches", "VSwitch")
        }
        "DescribeVpcs" => page(
            s.vpcs
                .iter()
                .filter(|v| param("VpcId").is_none_or(|id| v["VpcId"] == id.as_str()))
                .cloned()
                .collect(),
            "Vpcs",
            "Vpc",
        ),
        "DescribeVSwitchAttributes" => match s.vswitches.iter().find(|v| param("VSwitchId").as_deref() == Some(v.id.as_str())) {
            Some(v) => Json(json!({"RequestId": "r", "VSwitchId": v.id, "VpcId": v.vpc, "ZoneId": v.zone, "CidrBlock": v.cidr, "AvailableIpAddressCount": v.free, "Status": "Available"})).into_response(),
            None => error(404, "InvalidVSwitchId.NotFound", "The specified vSwitch does not exist."),
        },
        "DescribeNatGateways" => page(s.nat_gateways.iter().filter(|g| param("VpcId").is_none_or(|id| g["VpcId"] == id.as_str())).cloned().collect(), "NatGateways", "NatGateway"),
        "DescribeSnatTableEntries" => page(
            s.snat_entries
                .iter()
                .filter(|e| param("SnatTableId").is_some_and(|t| e["SnatTableId"] == t.as_str()))
                .filter(|e| param("SourceVSwitchId").is_none_or(|v| e["SourceVSwitchId"] == v.as_str()))
                .cloned()
                .collect(),
            "SnatTableEntries",
            "SnatTableEntry",
        ),
        "CreateVSwitch" | "CreateSnatEntry" => {
            drop(s);
            create(&state, &action, &param)
        }
        "DescribeInstanceTypes" => {
            let wanted: Vec<String> = query
                .iter()
                .filter(|(k, _)| k.starts_with("InstanceTypes."))
                .map(|(_, v)| v.clone())
                .collect();
            if wanted.len() > 10 {
                return error(400, "InvalidParameter", "at most 10 InstanceTypes.N");
            }
            let items: Vec<Value> = s
                .instance_types
                .iter()
                .filter(|(id, _, _)| wanted.contains(id))
                .map(|(id, enis, ips)| json!({"InstanceTypeId": id, "EniQuantity": enis, "EniPrivateIpAddressQuantity": ips}))
                .collect();
            Json(json!({"RequestId": "r", "InstanceTypes": {"InstanceType": items}}))
                .into_response()
        }
        other => error(
            400,
            "InvalidAction.NotFound",
            &format!("the fake does not serve {other}"),
        ),
    }
}

/// Recomputes the V3 signature from what arrived and compares.
/// CreateVSwitch / CreateSnatEntry, idempotent by ClientToken as the real API is.
fn create(
    state: &Arc<Mutex<State_>>,
    action: &str,
    param: &dyn Fn(&str) -> Option<String>,
) -> Response {
    let mut s = state.lock().unwrap();
    let token = param("ClientToken").unwrap_or_default();
    let key = format!("{action}/{token}");
    let id_key = if action == "CreateVSwitch" {
        "VSwitchId"
    } else {
        "SnatEntryId"
    };
    if let Some(id) = s.tokens.get(&key).filter(|_| !token.is_empty()) {
        return Json(json!({"RequestId": "r", id_key: id})).into_response();
    }
    if action == "CreateVSwitch" {
        let cidr = param("CidrBlock").unwrap_or_default();
        let Ok(new) = cidr.parse::<ipnet::IpNet>() else {
            return error(400, "InvalidCidrBlock.Malformed", "bad CIDR");
        };
        let overlapped = s
            .vswitches
            .iter()
            .filter_map(|v| v.cidr.parse::<ipnet::IpNet>().ok())
            .any(|o| o.contains(&new.network()) || new.contains(&o.network()));
        if overlapped {
            return error(
                400,
                "InvalidCidrBlock.Overlapped",
                "The specified CIDR block overlaps with another vSwitch.",
            );
        }
        let id = format!("vsw-fake{:04}", s.vswitches.len());
        let usable = (1u64 << (32 - u32::from(new.prefix_len()))).saturating_sub(4);
        s.vswitches.push(FakeVSwitch {
            id: id.clone(),
            vpc: param("VpcId").unwrap_or_default(),
            zone: param("ZoneId").unwrap_or_default(),
            cidr,
            free: usable,
        });
        s.tokens.insert(key, id.clone());
        return Json(json!({"RequestId": "r", "VSwitchId": id})).into_response();
    }
    let source = param("SourceVSwitchId").unwrap_or_default();
    let table = param("SnatTableId").unwrap_or_default();
    if s.snat_entries
        .iter()
        .any(|e| e["SourceVSwitchId"] == source.as_str() && e["SnatTableId"] == table.as_str())
    {
        return error(
            400,
            "Forbidden.SourceVSwitchId.AlreadyExists",
            "one SNAT entry per vSwitch",
        );
    }
    let id = format!("snat-fake{:04}", s.snat_entries.len());
    let entry = json!({"SnatEntryId": id, "SnatTableId": table, "SourceVSwitchId": source, "SourceCIDR": "", "SnatIp": param("SnatIp").unwrap_or_default(), "Status": "Available"});
    s.snat_entries.push(entry);
    s.tokens.insert(key, id.clone());
    Json(json!({"RequestId": "r", "SnatEntryId": id})).into_response()
}

/// (HTTP status, error code, message)
type Refusal = (u16, &'static str, String);

fn refuse(status: u16, code: &'static str, message: &str) -> Refusal {
    (status, code, message.to_string())
}

fn verify(
    state: &Arc<Mutex<State_>>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    query: &[(String, String)],
    body: &[u8],
) -> Result<(), Refusal> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(rest) = auth.strip_prefix("ACS3-HMAC-SHA256 ") else {
        return Err(refuse(
            400,
            "MissingAuthorization",
            "no ACS3-HMAC-SHA256 authorization",
        ));
    };
    let field = |name: &str| {
        rest.split(',')
            .find_map(|p| p.trim().strip_prefix(name).map(str::to_string))
            .unwrap_or_default()
    };
    if field("Credential=") != AK {
        return Err(refuse(
            404,
            "InvalidAccessKeyId.NotFound",
            "unknown access key",
        ));
    }
    let signed: Vec<(String, String)> = field("SignedHeaders=")
        .split(';')
        .map(|h| {
            (
                h.to_string(),
                headers
                    .get(h)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string(),
            )
        })
        .collect();
    for required in [
        "host",
        "x-acs-action",
        "x-acs-version",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
    ] {
        if !signed.iter().any(|(h, _)| h == required) {
            return Err(refuse(
                400,
                "SignatureDoesNotMatch",
                &format!("{required} is not signed"),
            ));
        }
    }
    if headers
        .get("x-acs-content-sha256")
        .and_then(|v| v.to_str().ok())
        != Some(sha256_hex(body).as_str())
    {
        return Err((
            400,
            "SignatureDoesNotMatch",
            "content hash mismatch".to_string(),
        ));
    }
    if let Some(t) = headers.get("x-acs-security-token") {
        let want = state.lock().unwrap().sts_token.clone();
        if t.to_str().ok() != Some(want.as_str())
            || !signed.iter().any(|(h, _)| h == "x-acs-security-token")
        {
            return Err(refuse(
                400,
                "InvalidSecurityToken.Malformed",
                "bad security token",
            ));
        }
    }
    let sig = sign_v3(
        &V3Request {
            method: method.as_str(),
            path: uri.path(),
            query,
            headers: &signed,
            body,
        },
        SECRET,
    );
    if field("Signature=") != sig.signature {
        return Err(refuse(
            400,
            "SignatureDoesNotMatch",
            "the request signature does not conform to Aliyun standards",
        ));
    }
    Ok(())
}

fn metadata(
    state: &Arc<Mutex<State_>>,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Response {
    let mut s = state.lock().unwrap();
    s.calls.push(format!("metadata {path}"));
    if path == "/latest/api/token" {
        if s.imds_v1_only {
            return (StatusCode::FORBIDDEN, "token requests are disabled").into_response();
        }
        if method != Method::PUT
            || headers
                .get("x-aliyun-ecs-metadata-token-ttl-seconds")
                .is_none()
        {
            return (StatusCode::BAD_REQUEST, "need PUT with a ttl").into_response();
        }
        return "metadata-session-token".into_response();
    }
    let token = headers
        .get("x-aliyun-ecs-metadata-token")
        .and_then(|v| v.to_str().ok());
    let ok = if s.imds_v1_only {
        token.is_none()
    } else {
        token == Some("metadata-session-token")
    };
    if !ok {
        return (StatusCode::UNAUTHORIZED, "no token").into_response();
    }
    if path == "/latest/meta-data/region-id" {
        return s.region_id.clone().into_response();
    }
    let base = "/latest/meta-data/ram/security-credentials/";
    match path.strip_prefix(base) {
        Some("") => s.metadata_role.clone().into_response(),
        Some(role) if role == s.metadata_role => {
            Json(json!({"AccessKeyId": AK, "AccessKeySecret": SECRET, "SecurityToken": s.sts_token, "Expiration": "2099-01-01T00:00:00Z", "Code": "Success"})).into_response()
        }
        _ => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
