//! Forged-request defences for every console POST: the request must come
//! from this console's own origin (`Sec-Fetch-Site: same-origin`, and an
//! `Origin` that is this server's), and a signed-in form must carry its
//! session's CSRF token in the field `csrf`. The sign-in form, which has
//! no session yet, carries a double-submit token instead
//! (`pages/sign_in.rs`).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, header};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::super::AppState;
use super::render::ConsoleError;
use super::session::Session;

/// The origin (`scheme://host[:port]`) of an absolute URL.
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let origin = parsed.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// Whether a POST with these headers comes from a page of this server:
/// `Sec-Fetch-Site`, when sent, is `same-origin`; `Origin`, when sent, is
/// the origin of the `Host` the request was sent to, or of
/// `--public-url`; and at least one of the two is sent (every browser
/// that runs the console sends both on a form post).
pub fn same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let site = text(header::HeaderName::from_static("sec-fetch-site"));
    if site.is_some_and(|site| site != "same-origin") {
        return false;
    }
    match text(header::ORIGIN) {
        Some(origin) => {
            public_origin == Some(origin)
                || origin.split_once("://").is_some_and(|(scheme, host)| {
                    matches!(scheme, "http" | "https") && Some(host) == text(header::HOST)
                })
        }
        None => site.is_some(),
    }
}

/// A field-by-field comparison that takes the same time wherever the
/// values differ.
pub fn tokens_match(presented: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    !expected.is_empty() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A form posted by a signed-in page: the session, and the form's fields
/// as `T` (a struct of the form's fields; `csrf` need not be one of them,
/// and unknown fields must be allowed). Refused with
/// [`ConsoleError::Forged`] unless it comes from this console's origin
/// and carries the session's CSRF token; without a session, off to the
/// sign-in page.
#[derive(Debug)]
pub struct SignedForm<T> {
    pub session: Session,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for SignedForm<T> {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state).await?;
        if !same_origin(&parts.headers, state.console.public_origin.as_deref()) {
            return Err(ConsoleError::Forged);
        }
        let request = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| ConsoleError::Forged)?;
        let presented: CsrfField =
            serde_urlencoded::from_bytes(&bytes).map_err(|_| ConsoleError::Forged)?;
        if !tokens_match(&presented.csrf, &session.csrf_token) {
            return Err(ConsoleError::Forged);
        }
        // PostgreSQL cannot store NUL: refused alike on both databases, as
        // the admin API does.
        if bytes.contains(&0) || bytes.to_ascii_lowercase().windows(3).any(|w| w == b"%00") {
            return Err(ConsoleError::Domain(crate::domain::DomainError::invalid(
                "text may not contain NUL characters",
            )));
        }
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|error| {
            ConsoleError::Domain(crate::domain::DomainError::invalid(format!(
                "the form is incomplete: {error}"
            )))
        })?;
        Ok(SignedForm { session, form })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_posts_from_this_servers_own_pages_pass() {
        let host = ("host", "127.0.0.1:8080");
        let same = headers(&[
            host,
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert!(same_origin(&same, None));
        let no_fetch_metadata = headers(&[host, ("origin", "http://127.0.0.1:8080")]);
        assert!(same_origin(&no_fetch_metadata, None));
        let cross = headers(&[host, ("origin", "https://evil.example")]);
        assert!(!same_origin(&cross, None));
        let cross_site = headers(&[
            host,
            ("origin", "http://127.0.0.1:8080"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert!(!same_origin(&cross_site, None));
        assert!(!same_origin(&headers(&[host, ("origin", "null")]), None));
        assert!(!same_origin(&headers(&[host]), None));
        let proxied = headers(&[
            ("host", "10.0.0.5:8080"),
            ("origin", "https://scim.example.com"),
        ]);
        assert!(same_origin(&proxied, Some("https://scim.example.com")));
        assert!(!same_origin(&proxied, None));
    }

    #[test]
    fn public_urls_give_their_origin() {
        assert_eq!(
            origin_of("https://scim.example.com/base").as_deref(),
            Some("https://scim.example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin_of("not a url"), None);
    }

    #[test]
    fn csrf_tokens_compare_whole() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("ab", "abc"));
        assert!(!tokens_match("", ""));
    }
}
