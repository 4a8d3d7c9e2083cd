//! Lists and big groups are written in pieces (DESIGN.md §8): the same
//! answers as before, within a fixed amount of memory however large the
//! page or the group and however slowly the client reads.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;
use crate::races::serve_with_env;

/// Users whose documents are about `size` bytes each.
fn users(count: usize, size: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let mut user = json!({
                "userName": format!("piece{i:04}@example.com"),
                "displayName": format!("Piece {i}"),
                "externalId": format!("x{i}"),
            });
            if size > 0 {
                // Distinct values: equal ones would be kept once.
                let addresses: Vec<Value> = (0..size.div_ceil(60_000))
                    .map(|n| {
                        let line = format!("{n} {}", "a".repeat(size.min(60_000)));
                        json!({"formatted": line, "type": "work"})
                    })
                    .collect();
                user["addresses"] = Value::Array(addresses);
            }
            user
        })
        .collect()
}

async fn list(app: &TestApp, query: &str) -> Value {
    json_of(app.get(&format!("/Users?{query}")).await, 200).await
}

/// Every resource of a cursor walk with pages of `count`.
async fn walk(app: &TestApp, count: usize, extra: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = list(app, &format!("count={count}&cursor={cursor}{extra}")).await;
        let resources = page["Resources"].as_array().expect("Resources").clone();
        assert_eq!(page["itemsPerPage"], resources.len(), "{page}");
        all.extend(resources);
        match page["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return all,
        }
    }
}

#[tokio::test]
async fn a_long_page_written_in_pieces_equals_the_same_users_read_in_short_pages() {
    let app = spawn_app().await;
    let ids = app
        .domain
        .import_users(&app.tenant_id, &users(120, 0))
        .await
        .unwrap();
    let group = app.create_group("Pieces", &[&ids[3], &ids[70]]).await;

    let long = list(&app, "count=120").await;
    assert_eq!(long["totalResults"], 120);
    assert_eq!(long["startIndex"], 1);
    assert_eq!(long["itemsPerPage"], 120);
    let mut short = Vec::new();
    for start in (1..=120).step_by(10) {
        let page = list(&app, &format!("count=10&startIndex={start}")).await;
        assert_eq!(page["totalResults"], 120);
        short.extend(page["Resources"].as_array().unwrap().clone());
    }
    assert_eq!(long["Resources"].as_array().unwrap(), &short);
    let member = long["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["id"] == ids[3])
        .expect("every user is listed");
    assert_eq!(member["groups"][0]["value"], group["id"], "{member}");

    // An offset page in the middle, projected.
    let middle = list(&app, "count=50&startIndex=41&attributes=userName").await;
    assert_eq!(middle["itemsPerPage"], 50);
    assert_eq!(middle["startIndex"], 41);
    let resources = middle["Resources"].as_array().unwrap();
    assert_eq!(resources[0]["id"], short[40]["id"]);
    assert_eq!(resources[0]["userName"], short[40]["userName"]);
    assert!(
        resources[0].get("displayName").is_none(),
        "{}",
        resources[0]
    );

    // Cursor walks: long pages and short ones see the same users.
    let by_fifty = walk(&app, 50, "").await;
    let by_seven = walk(&app, 7, "").await;
    assert_eq!(by_fifty.len(), 120);
    assert_eq!(by_fifty, by_seven);
    assert_eq!(by_fifty, short);

    // A filter no index answers goes through the bounded scan.
    let scanned = list(
        &app,
        "count=100&filter=displayName+co+%22iece%22&sortBy=userName",
    )
    .await;
    assert_eq!(scanned["totalResults"], 120);
    assert_eq!(scanned["itemsPerPage"], 100);
    assert_eq!(
        scanned["Resources"][99]["userName"],
        "piece0099@example.com"
    );

    // A lookup is still answered whole, with its count.
    let one = list(&app, "filter=userName+eq+%22piece0007@example.com%22").await;
    assert_eq!(one["totalResults"], 1);
    assert_eq!(one["Resources"][0]["id"], ids[7]);
}

#[tokio::test]
async fn a_group_of_thousands_is_read_with_every_member() {
    let app = spawn_app().await;
    let ids = app
        .domain
        .import_users(&app.tenant_id, &users(2_500, 0))
        .await
        .unwrap();
    let group = app.create_group("Everyone", &[]).await;
    let id = group["id"].as_str().unwrap();
    let empty = json_of(app.get(&format!("/Groups/{id}")).await, 200).await;
    assert!(empty.get("members").is_none(), "{empty}");
    let members: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": members}]
    });
    let response = app
        .scim(Method::PATCH, &format!("/Groups/{id}"))
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    let response = app.get(&format!("/Groups/{id}")).await;
    assert!(response.headers().get("etag").is_some());
    let read = json_of(response, 200).await;
    assert_eq!(read["displayName"], "Everyone");
    assert_eq!(read["meta"]["resourceType"], "Group");
    let members = read["members"].as_array().unwrap();
    assert_eq!(members.len(), 2_500);
    let mut sorted = ids.clone();
    sorted.sort();
    let read_ids: Vec<&str> = members
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(read_ids, sorted);
    let someone = &members[1_234];
    assert_eq!(someone["type"], "User");
    assert!(someone["display"].as_str().unwrap().starts_with("Piece "));
    assert!(
        someone["$ref"]
            .as_str()
            .unwrap()
            .ends_with(someone["value"].as_str().unwrap())
    );

    let values = json_of(
        app.get(&format!("/Groups/{id}?attributes=members.value"))
            .await,
        200,
    )
    .await;
    assert_eq!(values["members"].as_array().unwrap().len(), 2_500);
    assert_eq!(values["members"][0], json!({"value": sorted[0]}));
    assert!(
        values.get("displayName").is_none(),
        "{}",
        values["displayName"]
    );

    let without = json_of(
        app.get(&format!("/Groups/{id}?excludedAttributes=members"))
            .await,
        200,
    )
    .await;
    assert!(without.get("members").is_none());
    assert_eq!(without["displayName"], "Everyone");

    // The same group in a list, and a not-modified read.
    let listed = json_of(
        app.get("/Groups?filter=displayName+eq+%22Everyone%22")
            .await,
        200,
    )
    .await;
    assert_eq!(listed["totalResults"], 1);
    assert_eq!(listed["itemsPerPage"], 1);
    assert_eq!(
        listed["Resources"][0]["members"].as_array().unwrap().len(),
        2_500
    );
    let etag = read["meta"]["version"].as_str().unwrap();
    let not_modified = app
        .scim(Method::GET, &format!("/Groups/{id}"))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);
}

/// The resident and peak memory of a process, in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .expect("a memory field")
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::test]
async fn clients_that_stop_reading_a_large_list_do_not_grow_the_server() {
    // 100 users of about 480 KB: one page of them is 48 MB of JSON.
    let app = spawn_app().await;
    let seeded = users(100, 480_000);
    for chunk in seeded.chunks(10) {
        app.domain
            .import_users(&app.tenant_id, chunk)
            .await
            .unwrap();
    }
    let server = serve_with_env(&app.db.url, &[]);
    let pid = server.pid();
    let address = server.base.trim_start_matches("http://").to_owned();
    let (_, peak_before) = memory_kib(pid);

    // Eight clients ask for the whole page, read its first bytes, and stop.
    let mut stalled = Vec::new();
    for _ in 0..8 {
        let mut socket = TcpStream::connect(&address).await.unwrap();
        let request = format!(
            "GET /scim/v2/Users?count=100 HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\r\n",
            app.scim_token
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        let mut first = [0u8; 12];
        socket.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"HTTP/1.1 200");
        stalled.push(socket);
    }
    // Let the server write all it can into the stalled sockets.
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Others are served meanwhile.
    let client = reqwest::Client::new();
    let health = client
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let lookup = client
        .get(format!(
            "{}/scim/v2/Users?filter=userName+eq+%22piece0001@example.com%22",
            server.base
        ))
        .bearer_auth(&app.scim_token)
        .send()
        .await
        .unwrap();
    assert_eq!(lookup.status(), 200);

    let (_, peak) = memory_kib(pid);
    let grown_mib = peak.saturating_sub(peak_before) / 1024;
    // Built whole, the eight answers took 576 MiB here; written in pieces,
    // about 110 MiB (each reader holds back at most one batch of 16
    // documents, read as text and parsed).
    assert!(
        grown_mib < 200,
        "the server's peak memory grew by {grown_mib} MiB for eight stalled readers"
    );
    drop(stalled);

    // A client that reads gets the whole page.
    let page: Value = client
        .get(format!("{}/scim/v2/Users?count=100", server.base))
        .bearer_auth(&app.scim_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["itemsPerPage"], 100);
    assert_eq!(page["Resources"].as_array().unwrap().len(), 100);
}
