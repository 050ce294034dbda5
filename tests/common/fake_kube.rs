//! A fake Kubernetes API server on 127.0.0.1 speaking real Kubernetes JSON,
//! for commands that read the cluster. Serves what it is given; 404 as a
//! `Status` otherwise.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

#[derive(Clone)]
pub struct FakeKube {
    pub addr: SocketAddr,
    /// Path (without query) → JSON body.
    pub objects: Arc<Mutex<HashMap<String, Value>>>,
}

impl FakeKube {
    pub async fn start() -> FakeKube {
        let objects = Arc::new(Mutex::new(HashMap::new()));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(objects.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeKube { addr, objects }
    }

    pub fn put(&self, path: &str, body: Value) {
        self.objects.lock().unwrap().insert(path.to_string(), body);
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

async fn handle(State(objects): State<Arc<Mutex<HashMap<String, Value>>>>, uri: Uri) -> Response {
    match objects.lock().unwrap().get(uri.path()) {
        Some(v) => ([("content-type", "application/json")], v.to_string()).into_response(),
        None => {
            let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": format!("{} not found", uri.path()), "reason": "NotFound", "code": 404});
            (
                StatusCode::NOT_FOUND,
                [("content-type", "application/json")],
                status.to_string(),
            )
                .into_response()
        }
    }
}
