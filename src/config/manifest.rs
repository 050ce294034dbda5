//! Reading a ConfigMap manifest as `kubectl get cm -o yaml|json` prints it.

use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::Value;

use super::ConfigObject;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("not valid YAML: {0}")]
    Yaml(String),
    #[error("expected one ConfigMap, found kind {0:?}")]
    WrongKind(String),
    #[error("not a ConfigMap: {0}")]
    Shape(String),
}

/// Parses a ConfigMap from YAML or JSON text.
pub fn parse(text: &str) -> Result<ConfigObject, ManifestError> {
    let value: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| ManifestError::Json(e.to_string()))?
    } else {
        serde_saphyr::from_str(text).map_err(|e| ManifestError::Yaml(first_line(&e.to_string())))?
    };
    // A file must say what it is; `kubectl get cm -o yaml` always does.
    if value.get("kind").is_none() {
        return Err(ManifestError::WrongKind("(none)".into()));
    }
    from_value(value)
}

/// Converts a decoded object (from a file or an AdmissionReview) to the model.
pub fn from_value(value: Value) -> Result<ConfigObject, ManifestError> {
    match value.get("kind").and_then(Value::as_str) {
        Some("ConfigMap") | None => {}
        Some(other) => return Err(ManifestError::WrongKind(other.to_string())),
    }
    let cm: ConfigMap =
        serde_json::from_value(value).map_err(|e| ManifestError::Shape(e.to_string()))?;
    Ok(ConfigObject::from_configmap(&cm))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_yaml_and_json() {
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: eni-config\n  namespace: kube-system\ndata:\n  eni_conf: |\n    {\"version\": \"1\"}\n";
        let cm = parse(yaml).unwrap();
        assert_eq!(cm.name, "eni-config");
        assert_eq!(cm.namespace.as_deref(), Some("kube-system"));
        assert_eq!(cm.data["eni_conf"].trim(), "{\"version\": \"1\"}");

        let json = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","annotations":{"a":"b"}},"data":{"eni_conf":"{}"}}"#;
        let cm = parse(json).unwrap();
        assert_eq!(cm.name, "x");
        assert_eq!(cm.annotations["a"], "b");
    }

    #[test]
    fn refuses_what_is_not_a_configmap() {
        let cases = [
            ("kind: Secret\nmetadata: {name: x}\n", "kind \"Secret\""),
            ("{\"kind\": \"ConfigMap\", ", "not valid JSON"),
            ("kind: ConfigMap\ndata:\n  a: [1, 2]\n", "not a ConfigMap"),
            ("region: cn-shanghai\n", "kind \"(none)\""),
            ("a: [\n", "not valid YAML"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
