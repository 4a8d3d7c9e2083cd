//! The outbound HTTP client and one signed POST (Standard Webhooks).
//!
//! The client follows no redirects, uses no proxy, times out, reads at most
//! [`MAX_RESPONSE_BYTES`] of an answer, and (unless private targets are
//! allowed) resolves names through [`PublicOnly`], so the address checked
//! is the address connected to.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{Client, redirect};
use sha2::Sha256;

use crate::domain::{Attempt, DueDelivery, SECRET_PREFIX, literal_ip, refuse_private};

/// A request's whole time budget, connecting included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of a receiver's answer read (the rest is dropped).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Most characters of a rejected answer kept as the attempt's error.
const BODY_SHOWN: usize = 200;

/// A DNS resolver that answers only when every address of a name is
/// public: a name that resolves (or rebinds) to a private address fails
/// the connection, and the attempt records why.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addresses.is_empty() {
                return Err(format!("{host} resolves to no address").into());
            }
            for address in &addresses {
                refuse_private(address.ip())
                    .map_err(|why| format!("refused to connect: {host} resolves to {why}"))?;
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// The client every delivery goes through.
pub fn client(allow_private: bool) -> reqwest::Result<Client> {
    let mut builder = Client::builder()
        .redirect(redirect::Policy::none())
        // A proxy would resolve the name itself, past the check.
        .no_proxy()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT / 2)
        .user_agent(concat!("scimd-webhooks/", env!("CARGO_PKG_VERSION")));
    if !allow_private {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    builder.build()
}

/// The `webhook-signature` header: `v1,<base64 HMAC-SHA256>` of
/// `"{id}.{timestamp}.{body}"` per secret, space-separated.
pub fn signature(secrets: &[String], id: &str, timestamp: i64, body: &str) -> String {
    let signed = format!("{id}.{timestamp}.{body}");
    let signatures: Vec<String> = secrets
        .iter()
        .filter_map(|secret| {
            let key = STANDARD
                .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
                .ok()?;
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
            mac.update(signed.as_bytes());
            Some(format!(
                "v1,{}",
                STANDARD.encode(mac.finalize().into_bytes())
            ))
        })
        .collect();
    signatures.join(" ")
}

/// Sends `delivery` once, signed at `timestamp` (Unix seconds).
pub async fn send(
    client: &Client,
    delivery: &DueDelivery,
    timestamp: i64,
    allow_private: bool,
) -> Attempt {
    let url = match reqwest::Url::parse(&delivery.url) {
        Ok(url) => url,
        Err(error) => {
            return Attempt::Unreached {
                error: format!("the stored url is invalid: {error}"),
            };
        }
    };
    // The resolver never sees an address written in the URL itself.
    if !allow_private
        && let Some(ip) = literal_ip(&url)
        && let Err(why) = refuse_private(ip)
    {
        return Attempt::Unreached {
            error: format!("refused to connect: {why}"),
        };
    }
    let signature = signature(
        &delivery.secrets,
        &delivery.event_id,
        timestamp,
        &delivery.payload,
    );
    let sent = client
        .post(url)
        .header("webhook-id", &delivery.event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(delivery.payload.clone())
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(error) => {
            return Attempt::Unreached {
                error: describe(error),
            };
        }
    };
    let status = response.status().as_u16();
    let body = read_capped(&mut response).await;
    if response.status().is_success() {
        Attempt::Delivered { status }
    } else {
        let shown: String = String::from_utf8_lossy(&body)
            .chars()
            .take(BODY_SHOWN)
            .collect();
        Attempt::Rejected {
            status,
            detail: format!("the receiver answered {status}: {shown}"),
        }
    }
}

/// At most [`MAX_RESPONSE_BYTES`] of the body; a body that fails midway
/// counts for what arrived (the status decides the outcome).
async fn read_capped(response: &mut reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < MAX_RESPONSE_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_RESPONSE_BYTES - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    body
}

/// An error with its causes ("error sending request: …: refused to
/// connect: … resolves to 10.0.0.1, a private address").
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = if error.is_timeout() {
        format!("timed out after {} s", REQUEST_TIMEOUT.as_secs())
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_the_standard_webhooks_reference_example() {
        // The example of the Standard Webhooks reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_owned();
        let body = r#"{"test": 2432232314}"#;
        let header = signature(&[secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_resolves_to_a_private_address() {
        let name: Name = "localhost".parse().expect("a name");
        match PublicOnly.resolve(name).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(error) => assert!(error.to_string().contains("loopback"), "{error}"),
        }
    }

    #[test]
    fn each_secret_signs_once() {
        let secrets = ["whsec_AAAA".to_owned(), "whsec_BBBB".to_owned()];
        let header = signature(&secrets, "id", 1, "{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_ne!(parts[0], parts[1]);
    }
}
