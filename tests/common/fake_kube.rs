//! A fake Kubernetes API server on 127.0.0.1 speaking real Kubernetes JSON,
//! for commands that read the cluster. Serves what it is given; 404 as a
//! `Status` otherwise.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Default)]
pub struct Store {
    /// DaemonSet rollouts never finish (a leader waits in them).
    pub hold_rollouts: bool,
    /// A DaemonSet pod deleted is replaced by one that is not Ready (its
    /// Terway cannot start), until this is switched off.
    pub unready_replacements: bool,
    /// Path (without query) → JSON body.
    pub objects: HashMap<String, Value>,
    /// Every write, as "METHOD path".
    pub writes: Vec<String>,
    /// Every read, as "GET path?query" (LISTs and WATCHes included), with
    /// " (metadata)" after a metadata-only one.
    pub reads: Vec<String>,
    /// Paths of objects deleted, in order.
    pub deleted: Vec<String>,
    /// Path → status code every GET of it answers (an absent CRD, RBAC).
    pub refused: HashMap<String, u16>,
    next_rv: u64,
}

#[derive(Clone)]
pub struct FakeKube {
    pub addr: SocketAddr,
    pub store: Arc<Mutex<Store>>,
}

impl FakeKube {
    pub async fn start() -> FakeKube {
        let store = Arc::new(Mutex::new(Store {
            next_rv: 100,
            ..Default::default()
        }));
        let app = app(store.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeKube { addr, store }
    }

    /// The same fake without a socket: a client whose requests go straight
    /// to the handler, so tests in virtual time see no real I/O.
    pub fn in_process() -> FakeKube {
        let store = Arc::new(Mutex::new(Store {
            next_rv: 100,
            ..Default::default()
        }));
        FakeKube {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            store,
        }
    }

    /// A client of this fake that needs no socket (see [`in_process`](Self::in_process)).
    pub fn client(&self) -> kube::Client {
        kube::Client::new(app(self.store.clone()), "default")
    }

    /// GETs of `path` (lists and watches) answer `code` from now on; `None`
    /// serves it again.
    pub fn refuse(&self, path: &str, code: Option<u16>) {
        let mut s = self.store.lock().unwrap();
        match code {
            Some(c) => s.refused.insert(path.to_string(), c),
            None => s.refused.remove(path),
        };
    }

    /// LISTs of `path` so far (first pages only: a paged list is one LIST;
    /// watches are not LISTs).
    pub fn lists(&self, path: &str) -> usize {
        let prefix = format!("GET {path}?");
        self.store
            .lock()
            .unwrap()
            .reads
            .iter()
            .filter(|r| {
                r.starts_with(&prefix) && !r.contains("watch=true") && !r.contains("continue=")
            })
            .count()
    }

    pub fn put(&self, path: &str, mut body: Value) {
        let mut s = self.store.lock().unwrap();
        s.next_rv += 1;
        if body.get("metadata").is_some() && body["metadata"].get("resourceVersion").is_none() {
            body["metadata"]["resourceVersion"] = json!(s.next_rv.to_string());
        }
        s.objects.insert(path.to_string(), body);
    }

    pub fn get(&self, path: &str) -> Value {
        self.store
            .lock()
            .unwrap()
            .objects
            .get(path)
            .cloned()
            .unwrap_or(Value::Null)
    }

    pub fn writes(&self, prefix: &str) -> usize {
        self.store
            .lock()
            .unwrap()
            .writes
            .iter()
            .filter(|w| w.starts_with(prefix))
            .count()
    }

    /// A kubeconfig pointing at this server.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\ncurrent-context: fake\nusers:\n- name: fake\n  user:\n    token: fake-token\n",
            self.addr
        );
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn app(store: Arc<Mutex<Store>>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(store)
}

fn status(code: u16, reason: &str, message: &str) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code});
    (
        StatusCode::from_u16(code).unwrap(),
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// `%XX` escapes of a query value, decoded.
fn unescape(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Applies `fieldSelector=a.b=v,...` and `labelSelector=k=v,...` (equality
/// terms, what the apiserver does for the ones tests use); other objects
/// pass through.
fn select(v: &Value, query: &str) -> Value {
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|p| p.strip_prefix(name))
            .map(unescape)
    };
    let (fields, labels) = (param("fieldSelector="), param("labelSelector="));
    if fields.is_none() && labels.is_none() {
        return v.clone();
    }
    let Some(items) = v["items"].as_array() else {
        return v.clone();
    };
    let terms = |sel: &Option<String>| -> Vec<(String, String)> {
        sel.iter()
            .flat_map(|s| s.split(','))
            .filter(|t| !t.is_empty())
            .map(|t| {
                let (k, v) = t.split_once('=').unwrap_or((t, ""));
                (k.to_string(), v.to_string())
            })
            .collect()
    };
    let (fields, labels) = (terms(&fields), terms(&labels));
    let keep: Vec<Value> = items
        .iter()
        .filter(|i| {
            fields.iter().all(|(k, want)| {
                let got = k.split('.').fold(*i, |acc, part| &acc[part]);
                got.as_str() == Some(want.as_str())
            }) && labels
                .iter()
                .all(|(k, want)| i["metadata"]["labels"][k].as_str() == Some(want.as_str()))
        })
        .cloned()
        .collect();
    let mut out = v.clone();
    out["items"] = json!(keep);
    out
}

fn metadata_only(mut v: Value) -> Value {
    let slim = |o: &Value| json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": o["metadata"]});
    match v["items"].as_array() {
        Some(items) => {
            let items: Vec<Value> = items.iter().map(slim).collect();
            v["items"] = json!(items);
            v["kind"] = json!("PartialObjectMetadataList");
            v["apiVersion"] = json!("meta.k8s.io/v1");
            v
        }
        None => slim(&v),
    }
}

/// One page of `list` without copying the items outside it.
fn page_of(list: &Value, query: &str) -> Value {
    let Some(items) = list["items"].as_array() else {
        return list.clone();
    };
    let mut head = json!({"apiVersion": list["apiVersion"], "kind": list["kind"], "metadata": list["metadata"], "items": []});
    let param = |name: &str| query.split('&').find_map(|p| p.strip_prefix(name));
    let limit = param("limit=")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(items.len());
    let from = param("continue=")
        .and_then(|c| c.strip_prefix("offset-"))
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0)
        .min(items.len());
    let to = (from + limit).min(items.len());
    head["items"] = json!(items[from..to]);
    if to < items.len() {
        head["metadata"]["continue"] = json!(format!("offset-{to}"));
    }
    head
}

/// `limit` and `continue`, as the apiserver pages a list.
fn page(mut v: Value, query: &str) -> Value {
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|p| p.strip_prefix(name))
            .map(str::to_string)
    };
    let Some(limit) = param("limit=").and_then(|l| l.parse::<usize>().ok()) else {
        return v;
    };
    let Some(items) = v["items"].as_array().cloned() else {
        return v;
    };
    let from = param("continue=")
        .and_then(|c| c.strip_prefix("offset-").map(str::to_string))
        .and_then(|o| o.parse::<usize>().ok())
        .unwrap_or(0);
    let to = (from + limit).min(items.len());
    v["items"] = json!(items[from.min(to)..to]);
    if to < items.len() {
        v["metadata"]["continue"] = json!(format!("offset-{to}"));
    }
    v
}

fn ok(v: &Value) -> Response {
    ([("content-type", "application/json")], v.to_string()).into_response()
}

/// GET, PUT (with the resourceVersion precondition) and merge PATCH, as the
/// apiserver does them; a DaemonSet whose pod template changes gets a new
/// generation and (standing in for its controller) a finished rollout.
async fn handle(
    State(store): State<Arc<Mutex<Store>>>,
    method: Method,
    uri: Uri,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    // A metadata-only request (kube-rs `PartialObjectMeta`): the apiserver
    // answers with metadata alone.
    let meta_only = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("as=PartialObjectMetadata"));
    let path = uri.path().to_string();
    let mut s = store.lock().unwrap();
    if method == Method::GET {
        let query = uri.query().unwrap_or("");
        let meta = if meta_only { " (metadata)" } else { "" };
        s.reads.push(format!("GET {path}?{query}{meta}"));
        if let Some(&code) = s.refused.get(&path) {
            let reason = match code {
                403 => "Forbidden",
                404 => "NotFound",
                _ => "InternalError",
            };
            return status(code, reason, &format!("GET {path}: {reason}"));
        }
        // A watch: held open and quiet until its timeout, as the apiserver
        // does when nothing changes.
        if query
            .split('&')
            .any(|p| p == "watch=true" || p == "watch=1")
        {
            let secs = query
                .split('&')
                .find_map(|p| p.strip_prefix("timeoutSeconds="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(290u64);
            let quiet = futures::stream::once(async move {
                tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
                Ok::<_, std::io::Error>(Bytes::new())
            });
            return (
                [("content-type", "application/json")],
                axum::body::Body::from_stream(quiet),
            )
                .into_response();
        }
        if let Some(v) = s.objects.get(&path) {
            // Page before selecting the rest: a big list is never copied whole.
            let v = if query.contains("limit=")
                && !query.contains("fieldSelector=")
                && !query.contains("labelSelector=")
            {
                page_of(v, query)
            } else {
                page(select(v, query), query)
            };
            return ok(&if meta_only { metadata_only(v) } else { v });
        }
        // A collection of objects stored one by one: list them, as the
        // apiserver does.
        let prefix = format!("{path}/");
        let items: Vec<Value> = s
            .objects
            .iter()
            .filter(|(k, _)| k.strip_prefix(&prefix).is_some_and(|r| !r.contains('/')))
            .map(|(_, v)| v.clone())
            .collect();
        if items.is_empty() {
            return status(404, "NotFound", &format!("{path} not found"));
        }
        let list = json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": s.next_rv.to_string()}, "items": items});
        return ok(&page(select(&list, query), query));
    }
    if method == Method::POST {
        let Ok(mut obj) = serde_json::from_slice::<Value>(&body) else {
            return status(400, "BadRequest", "body is not JSON");
        };
        s.writes.push(format!("POST {path}"));
        s.next_rv += 1;
        let name = match obj["metadata"]["name"].as_str() {
            Some(n) => n.to_string(),
            None => format!(
                "{}{}",
                obj["metadata"]["generateName"].as_str().unwrap_or("obj-"),
                s.next_rv
            ),
        };
        let at = format!("{path}/{name}");
        if s.objects.contains_key(&at) {
            return status(409, "AlreadyExists", &format!("{name} already exists"));
        }
        obj["metadata"]["name"] = json!(name);
        obj["metadata"]["resourceVersion"] = json!(s.next_rv.to_string());
        s.objects.insert(at, obj.clone());
        return (
            StatusCode::CREATED,
            [("content-type", "application/json")],
            obj.to_string(),
        )
            .into_response();
    }
    if method == Method::DELETE {
        return delete(&mut s, &path, &body);
    }
    let Ok(incoming) = serde_json::from_slice::<Value>(&body) else {
        return status(400, "BadRequest", "body is not JSON");
    };
    s.writes.push(format!("{method} {path}"));
    let Some(current) = s.objects.get(&path).cloned() else {
        return status(404, "NotFound", &format!("{path} not found"));
    };
    let mut next = match method.as_str() {
        "PUT" => {
            if incoming["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"] {
                return status(
                    409,
                    "Conflict",
                    "the object has been modified; please apply your changes to the latest version and try again",
                );
            }
            incoming
        }
        "PATCH" => {
            let mut merged = current.clone();
            json_patch::merge(&mut merged, &incoming);
            merged
        }
        _ => return status(405, "MethodNotAllowed", "not supported by the fake"),
    };
    s.next_rv += 1;
    next["metadata"]["resourceVersion"] = json!(s.next_rv.to_string());
    if next["kind"] == "DaemonSet" && next["spec"]["template"] != current["spec"]["template"] {
        let generation = current["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
        next["metadata"]["generation"] = json!(generation);
        if s.hold_rollouts {
            s.objects.insert(path, next.clone());
            return ok(&next);
        }
        let desired = next["status"]["desiredNumberScheduled"].clone();
        next["status"]["observedGeneration"] = json!(generation);
        next["status"]["updatedNumberScheduled"] = desired.clone();
        next["status"]["numberAvailable"] = desired;
    }
    s.objects.insert(path, next.clone());
    ok(&next)
}

/// DELETE with DeleteOptions' UID precondition, as the apiserver does it. A
/// pod a DaemonSet owns is replaced at once on the same node by a new, Ready
/// pod (standing in for the DaemonSet controller and the kubelet).
fn delete(s: &mut Store, path: &str, body: &[u8]) -> Response {
    let Some(current) = s.objects.get(path).cloned() else {
        return status(404, "NotFound", &format!("{path} not found"));
    };
    let opts: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if let Some(uid) = opts["preconditions"]["uid"].as_str()
        && current["metadata"]["uid"].as_str() != Some(uid)
    {
        return status(
            409,
            "Conflict",
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                current["metadata"]["uid"].as_str().unwrap_or("")
            ),
        );
    }
    s.objects.remove(path);
    s.writes.push(format!("DELETE {path}"));
    s.deleted.push(path.to_string());
    let owner = &current["metadata"]["ownerReferences"][0];
    if current["kind"] == "Pod" && owner["kind"] == "DaemonSet" {
        s.next_rv += 1;
        let mut next = current.clone();
        let name = format!("{}-r{}", owner["name"].as_str().unwrap_or("ds"), s.next_rv);
        next["metadata"]["name"] = json!(name);
        next["metadata"]["uid"] = json!(format!("uid-{}", s.next_rv));
        next["metadata"]["resourceVersion"] = json!(s.next_rv.to_string());
        let ready = if s.unready_replacements {
            "False"
        } else {
            "True"
        };
        next["status"] =
            json!({"phase": "Running", "conditions": [{"type": "Ready", "status": ready}]});
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        s.objects.insert(format!("{dir}/{name}"), next);
    }
    ok(&current)
}
