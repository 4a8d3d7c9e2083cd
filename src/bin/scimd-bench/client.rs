//! One keep-alive HTTP/1.1 connection to the server, on hyper's client
//! (already in the tree through axum), so the load tool needs no HTTP
//! client crate of its own.

use std::net::SocketAddr;

use anyhow::Context;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A request a workload sends.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    /// Path and query, e.g. `/scim/v2/Users?filter=…`.
    pub path: String,
    pub body: Option<String>,
    /// The status a correct answer has.
    pub expect: StatusCode,
}

impl Call {
    /// A `GET` expecting `200`.
    pub fn get(path: String) -> Call {
        Call {
            method: Method::GET,
            path,
            body: None,
            expect: StatusCode::OK,
        }
    }
}

/// A connection that sends one request at a time.
pub struct Connection {
    sender: SendRequest<Body>,
    host: HeaderValue,
    authorization: Option<HeaderValue>,
}

impl Connection {
    /// Connects to `address`; every request carries `token` as a bearer token.
    pub async fn open(address: SocketAddr, token: Option<&str>) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(address)
            .await
            .with_context(|| format!("cannot connect to {address}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the server closes.
            let _ = connection.await;
        });
        Ok(Connection {
            sender,
            host: HeaderValue::from_str(&address.to_string())?,
            authorization: token
                .map(|t| HeaderValue::from_str(&format!("Bearer {t}")))
                .transpose()?,
        })
    }

    /// Sends `call` and reads the whole answer.
    pub async fn send(&mut self, call: &Call) -> anyhow::Result<(StatusCode, Bytes)> {
        self.sender.ready().await?;
        let mut request = Request::builder()
            .method(call.method.clone())
            .uri(call.path.as_str())
            .header(header::HOST, self.host.clone());
        if let Some(authorization) = &self.authorization {
            request = request.header(header::AUTHORIZATION, authorization.clone());
        }
        let body = match &call.body {
            Some(body) => {
                request = request.header(header::CONTENT_TYPE, "application/scim+json");
                Body::from(body.clone())
            }
            None => Body::empty(),
        };
        let response = self.sender.send_request(request.body(body)?).await?;
        let status = response.status();
        let bytes = axum::body::to_bytes(Body::new(response.into_body()), usize::MAX).await?;
        Ok((status, bytes))
    }
}

/// Percent-encodes a query parameter value (everything but RFC 3986's
/// unreserved characters).
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
