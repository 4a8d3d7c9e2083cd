//! Hostile and faulty clients at the connection level (issue 13): slow
//! headers, idle sockets, slow bodies, oversized uploads and heads,
//! request ids, and a shutdown with requests stalled. No test measures
//! time: each waits for an event with a generous deadline.

use std::process::Command;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::task::JoinSet;

use crate::helpers::*;

/// Generous bound on waiting for something the server must do.
const PATIENCE: Duration = Duration::from_secs(60);

/// Half-header sockets of the slowloris test.
const HALF_HEADER_SOCKETS: usize = 1000;

async fn connect(app: &TestApp) -> TcpStream {
    let address = app.address.trim_start_matches("http://");
    TcpStream::connect(address).await.expect("connect")
}

/// Waits until the server closes `stream` (end of stream or a reset),
/// reading and discarding anything it sends first.
async fn closed_by_server(stream: &mut (impl AsyncRead + Unpin)) -> bool {
    let mut buf = [0u8; 4096];
    let read_until_closed = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(PATIENCE, read_until_closed)
        .await
        .is_ok()
}

/// One HTTP/1.1 response read off a raw socket.
struct RawResponse {
    status: u16,
    /// Header lines, names lowercased.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// Reads one response with a `Content-Length` body.
async fn read_response(stream: &mut (impl AsyncRead + Unpin)) -> RawResponse {
    let read = async {
        let mut data = Vec::new();
        let mut buf = [0u8; 8192];
        let head_end = loop {
            if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            let n = stream.read(&mut buf).await.expect("read a response");
            assert!(n > 0, "the server closed before answering");
            data.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8(data[..head_end].to_vec()).expect("an ASCII head");
        let mut lines = head.split("\r\n");
        let status = lines.next().expect("a status line")[9..12]
            .parse()
            .expect("a status");
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(0, |(_, v)| v.parse().expect("a length"));
        let mut body = data[head_end + 4..].to_vec();
        while body.len() < length {
            let n = stream.read(&mut buf).await.expect("read a body");
            assert!(n > 0, "the server closed inside a body");
            body.extend_from_slice(&buf[..n]);
        }
        RawResponse {
            status,
            headers,
            body,
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("the server answers")
}

fn assert_scim_error_body(response: &RawResponse, status: u16) {
    assert_eq!(response.status, status);
    assert_eq!(
        response.header("content-type"),
        Some("application/scim+json")
    );
    let body = response.json();
    assert_eq!(body["schemas"][0], ERROR_SCHEMA, "{body}");
    assert_eq!(body["status"], status.to_string(), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
}

#[tokio::test]
async fn a_thousand_half_header_sockets_neither_block_requests_nor_stay_open() {
    // Each socket is open twice in this process: the test's end and the
    // server's.
    let wanted = 2 * HALF_HEADER_SOCKETS as u64 + 512;
    let files = rlimit::increase_nofile_limit(wanted).expect("the open-file limit");
    assert!(
        files >= wanted,
        "this test needs an open-file limit of {wanted}; the hard limit is {files}"
    );
    let app = spawn_app_with(|config| {
        config.header_timeout = Duration::from_secs(5);
        config.max_connections = 2 * HALF_HEADER_SOCKETS;
    })
    .await;
    let mut sockets = Vec::with_capacity(HALF_HEADER_SOCKETS);
    for _ in 0..HALF_HEADER_SOCKETS {
        let mut stream = connect(&app).await;
        // A socket the server has closed already fails here: just as good.
        let _ = stream
            .write_all(b"GET /scim/v2/Users HTTP/1.1\r\nHost: scimd\r\nAccept: */")
            .await;
        sockets.push(stream);
    }

    let list = app.get("/Users").await;
    assert_eq!(list.status(), 200);
    let health = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);

    let mut waiting = JoinSet::new();
    for mut stream in sockets {
        waiting.spawn(async move { closed_by_server(&mut stream).await });
    }
    let mut closed = 0;
    while let Some(joined) = waiting.join_next().await {
        closed += usize::from(joined.expect("join"));
    }
    assert_eq!(
        closed, HALF_HEADER_SOCKETS,
        "every half-header socket closed"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = spawn_app_with(|config| config.idle_timeout = Duration::from_secs(1)).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: scimd\r\n\r\n")
        .await
        .expect("send");
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("connection"), None, "kept alive");
    assert!(closed_by_server(&mut stream).await);
}

/// Sends a POST head announcing `length` body bytes, then writes the body
/// four bytes every 100 ms in the background; returns the reading half.
async fn slow_post(app: &TestApp, path: &str, length: usize) -> OwnedReadHalf {
    let (reader, mut writer) = connect(app).await.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: scimd\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {length}\r\n\r\n",
        app.scim_token
    );
    writer.write_all(head.as_bytes()).await.expect("send head");
    tokio::spawn(async move {
        for _ in 0..length / 4 {
            if writer.write_all(b"    ").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Kept open so the server, not the client, ends the exchange.
        tokio::time::sleep(PATIENCE).await;
    });
    reader
}

#[tokio::test]
async fn a_request_past_its_deadline_gets_503_with_a_scim_body() {
    let app = spawn_app_with(|config| config.request_timeout = Duration::from_secs(1)).await;
    // 4 bytes every 100 ms: 100 s for the body, never pausing long
    // enough for the body timeout.
    let mut reader = slow_post(&app, "/scim/v2/Users", 4000).await;
    let response = read_response(&mut reader).await;
    assert_scim_error_body(&response, 503);
    assert!(response.header("retry-after").is_some());
    assert!(
        response.json()["detail"]
            .as_str()
            .unwrap()
            .contains("deadline")
    );
}

#[tokio::test]
async fn a_pause_inside_a_body_gets_408_with_a_scim_body() {
    let app = spawn_app_with(|config| config.body_timeout = Duration::from_secs(1)).await;
    let mut stream = connect(&app).await;
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: scimd\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{",
        app.scim_token
    );
    stream.write_all(head.as_bytes()).await.expect("send");
    let response = read_response(&mut stream).await;
    assert_scim_error_body(&response, 408);
}

#[tokio::test]
async fn shutdown_finishes_within_its_deadline_while_requests_are_stalled() {
    let app = spawn_app_with(|config| {
        config.shutdown_timeout = Duration::from_secs(1);
        config.request_timeout = Duration::from_secs(3600);
        config.body_timeout = Duration::from_secs(3600);
    })
    .await;
    let mut stalled = Vec::new();
    for _ in 0..5 {
        let mut stream = connect(&app).await;
        let head = format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: scimd\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{",
            app.scim_token
        );
        stream.write_all(head.as_bytes()).await.expect("send");
        stalled.push(stream);
    }
    // A request answered after the stalled ones were sent.
    assert_eq!(app.get("/Users").await.status(), 200);
    let stopped = tokio::time::timeout(PATIENCE, app.shut_down()).await;
    stopped
        .expect("the server stops despite stalled requests")
        .expect("the server stops cleanly");
    for mut stream in stalled {
        assert!(closed_by_server(&mut stream).await);
    }
}

/// Writes a whole request with a `length`-byte body, then reads the answer.
async fn upload(stream: &mut TcpStream, path: &str, token: &str, length: usize) -> RawResponse {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: scimd\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("send head");
    let chunk = vec![b' '; 64 * 1024];
    let mut left = length;
    while left > 0 {
        let n = left.min(chunk.len());
        stream
            .write_all(&chunk[..n])
            .await
            .expect("the whole body is accepted");
        left -= n;
    }
    read_response(stream).await
}

#[tokio::test]
async fn a_twelve_mebibyte_upload_receives_its_413_after_writing_the_whole_body() {
    let app = spawn_app().await;
    let twelve_mib = 12 * 1024 * 1024;
    let mut stream = connect(&app).await;
    let response = upload(&mut stream, "/scim/v2/Users", &app.scim_token, twelve_mib).await;
    assert_scim_error_body(&response, 413);
    // The body was read to its end: the connection still serves.
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: scimd\r\n\r\n")
        .await
        .expect("send");
    assert_eq!(read_response(&mut stream).await.status, 200);

    let mut stream = connect(&app).await;
    let response = upload(&mut stream, "/api/v1/assets", &app.admin_token, twelve_mib).await;
    assert_eq!(response.status, 413);
    let body = response.json();
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("limit"), "{body}");
}

#[tokio::test]
async fn heads_past_the_limits_get_431_and_414_with_scim_bodies() {
    let app = spawn_app().await;
    let long_filter = format!("/Users?filter=userName%20eq%20%22{}%22", "a".repeat(20_000));
    assert_scim_error(app.get(&long_filter).await, 414, None).await;

    let padded = app
        .scim(Method::GET, "/Users")
        .header("x-padding", "p".repeat(70_000))
        .send()
        .await
        .expect("request");
    assert_scim_error(padded, 431, None).await;

    let mut many = app.scim(Method::GET, "/Users");
    for i in 0..120 {
        many = many.header(format!("x-field-{i}"), "v");
    }
    assert_scim_error(many.send().await.expect("request"), 431, None).await;

    let admin = app
        .admin_as(&app.admin_token, Method::GET, "/users")
        .header("x-padding", "p".repeat(70_000))
        .send()
        .await
        .expect("request");
    let (status, body) = status_and_json(admin).await;
    assert_eq!(status, 431);
    assert_eq!(body["error"], "headers_too_large", "{body}");
}

#[tokio::test]
async fn unknown_paths_and_methods_outside_the_apis_answer_with_scim_bodies() {
    let app = spawn_app().await;
    let missing = app
        .client
        .get(format!("{}/nothing-here", app.address))
        .send()
        .await
        .expect("request");
    assert_scim_error(missing, 404, None).await;
    let method = app
        .client
        .post(format!("{}/healthz", app.address))
        .send()
        .await
        .expect("request");
    assert_scim_error(method, 405, None).await;
}

#[tokio::test]
async fn an_unsafe_request_id_is_replaced_and_a_safe_one_kept() {
    let app = spawn_app().await;
    let echoed = |id: &str| {
        let request = app
            .client
            .get(format!("{}/healthz", app.address))
            .header("x-request-id", id);
        async move {
            let response = request.send().await.expect("request");
            response.headers()["x-request-id"]
                .to_str()
                .expect("ASCII")
                .to_owned()
        }
    };
    assert_eq!(echoed("okta-42:abc.DEF_1").await, "okta-42:abc.DEF_1");
    for unsafe_id in [
        "a b".to_owned(),
        "<script>".to_owned(),
        "id\"} forged".to_owned(),
        "x".repeat(129),
    ] {
        let replaced = echoed(&unsafe_id).await;
        assert_ne!(replaced, unsafe_id);
        assert!(uuid::Uuid::parse_str(&replaced).is_ok(), "{replaced}");
    }
}

#[tokio::test]
async fn a_public_url_without_a_scheme_is_refused_at_start() {
    let db = test_db().await;
    for (url, expected) in [
        ("scim.example.com/", "https://scim.example.com/"),
        ("https://scim.example.com/?tenant=a", "query"),
        ("https://admin:pw@scim.example.com", "user name"),
        ("ftp://scim.example.com", "https://"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_scimd"))
            .args(["serve", "--listen", "127.0.0.1:0", "--public-url", url])
            .env("SCIMD_DATABASE_URL", &db.url)
            .env("SCIMD_METRICS_LISTEN", "")
            .env("RUST_LOG", "warn")
            .output()
            .expect("run scimd");
        assert!(!output.status.success(), "{url} is refused");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{url}: {stderr}");
    }
}
