//! Replays the request/response sequences in `conformance/okta`,
//! `conformance/okta-aiw` and `conformance/entra` against a fresh server
//! each, checking statuses and body fragments.
//!
//! Step format: `request` {method, path, body?, auth?: "basic", api?:
//! "admin" (an IT admin's step: the path is under `/api/v1`, with the
//! admin token)};
//! `expect` {status, body? (a fragment: objects match a subset of keys,
//! arrays match when each expected element matches some actual element),
//! absent? [JSON pointers], lengths? {pointer: n}}; `capture` {name:
//! pointer}. `{{name}}` in paths and bodies is replaced by a capture.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine;
use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

fn fill(text: &str, vars: &HashMap<String, String>) -> String {
    let mut out = text.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    out
}

fn fill_value(value: &Value, vars: &HashMap<String, String>) -> Value {
    match value {
        Value::String(s) => Value::String(fill(s, vars)),
        Value::Array(items) => Value::Array(items.iter().map(|v| fill_value(v, vars)).collect()),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(k, v)| (fill(k, vars), fill_value(v, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether `actual` contains the fragment `expected`.
fn contains(actual: &Value, expected: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => want
            .iter()
            .all(|(k, v)| have.get(k).is_some_and(|h| contains(h, v))),
        (Value::Array(want), Value::Array(have)) => {
            want.iter().all(|w| have.iter().any(|h| contains(h, w)))
                && (!want.is_empty() || have.is_empty())
        }
        (want, have) => want == have,
    }
}

async fn replay(file: &Path) {
    let script: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let app = spawn_app().await;
    let mut vars: HashMap<String, String> = HashMap::new();
    for step in script["steps"].as_array().unwrap() {
        let name = step["name"].as_str().unwrap();
        let request = &step["request"];
        let method = Method::from_bytes(request["method"].as_str().unwrap().as_bytes()).unwrap();
        let path = fill(request["path"].as_str().unwrap(), &vars);
        // An IT admin's step in between the IdP's, through the admin API.
        let admin = request["api"] == "admin";
        let url = if admin {
            format!("{}/api/v1{path}", app.address)
        } else {
            format!("{}{path}", app.scim_base)
        };
        let mut builder = app.client.request(method, url);
        builder = if admin {
            builder.bearer_auth(&app.admin_token)
        } else if request["auth"] == "basic" {
            let credentials = base64::engine::general_purpose::STANDARD
                .encode(format!("okta:{}", app.scim_token));
            builder.header("authorization", format!("Basic {credentials}"))
        } else {
            builder.bearer_auth(&app.scim_token)
        };
        if let Some(body) = request.get("body") {
            builder = builder
                .header("content-type", "application/scim+json; charset=utf-8")
                .body(fill_value(body, &vars).to_string());
        }
        let response = builder.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        let expect = &step["expect"];
        let context = format!(
            "{}: step `{name}`; response {status}: {text}",
            file.display()
        );
        assert_eq!(
            Some(u64::from(status)),
            expect["status"].as_u64(),
            "{context}"
        );
        if let Some(fragment) = expect.get("body") {
            assert!(contains(&body, &fill_value(fragment, &vars)), "{context}");
        }
        for pointer in expect["absent"].as_array().into_iter().flatten() {
            let pointer = fill(pointer.as_str().unwrap(), &vars);
            assert!(
                body.pointer(&pointer).is_none(),
                "{context}: {pointer} should be absent"
            );
        }
        for (pointer, length) in expect["lengths"].as_object().into_iter().flatten() {
            let found = body
                .pointer(pointer)
                .and_then(Value::as_array)
                .map(Vec::len);
            assert_eq!(
                found.map(|n| n as u64),
                length.as_u64(),
                "{context}: length of {pointer}"
            );
        }
        for (var, pointer) in step["capture"].as_object().into_iter().flatten() {
            let value = body
                .pointer(pointer.as_str().unwrap())
                .and_then(Value::as_str)
                .unwrap();
            vars.insert(var.clone(), value.to_owned());
        }
    }
}

fn scripts(folder: &str) -> Vec<std::path::PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conformance")
        .join(folder);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scripts in {}", dir.display());
    files
}

#[tokio::test]
async fn okta_sequences_replay_green() {
    for file in scripts("okta") {
        replay(&file).await;
    }
}

#[tokio::test]
async fn okta_aiw_sequences_replay_green() {
    for file in scripts("okta-aiw") {
        replay(&file).await;
    }
}

#[tokio::test]
async fn entra_sequences_replay_green() {
    for file in scripts("entra") {
        replay(&file).await;
    }
}
