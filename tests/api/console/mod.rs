//! The console (DESIGN §7): HTTP-level tests with a small cookie-keeping
//! client ([`Visitor`]), and the browser suite (`browser/`).

mod audit;
mod browser;
mod connect;
mod deprovisionings;
mod fixtures;
mod http_pages;
mod isolation;
mod markup;
mod security;
mod sessions;
mod settings;
mod users;
mod webhooks;

use std::collections::BTreeMap;

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;

use crate::helpers::TestApp;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "__Host-scimd_session";

/// A response as a page: status, headers and body.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// Where a redirect points.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The `Set-Cookie` values of the response.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The value of the first hidden field `name` of the page.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} in {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').expect("closing quote") + start;
        self.body[start..end].to_owned()
    }

    /// Asserts that this is a redirect to the sign-in page.
    pub fn assert_sign_in_redirect(&self) {
        assert_eq!(self.status, 303, "{}", self.body);
        assert_eq!(self.location(), Some("/console/sign-in"));
    }
}

/// A browser-like HTTP client for the console: keeps cookies (by name),
/// follows no redirects, and sends `Origin` and `Sec-Fetch-Site` on POSTs
/// as a browser does for a same-origin form.
pub struct Visitor<'a> {
    pub app: &'a TestApp,
    pub cookies: BTreeMap<String, String>,
    client: reqwest::Client,
    /// Extra headers for every request (e.g. `X-Forwarded-For`).
    pub extra: Vec<(&'static str, String)>,
}

impl<'a> Visitor<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Visitor {
            app,
            cookies: BTreeMap::new(),
            client: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .expect("client"),
            extra: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let mut request = request;
        if !self.cookies.is_empty() {
            request = request.header("cookie", self.cookie_header());
        }
        for (name, value) in &self.extra {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.expect("body");
        let page = Page {
            status,
            headers,
            body,
        };
        for set in page.set_cookies() {
            let pair = set.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("name=value");
            if set.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        page
    }

    /// `GET path` (an absolute path on the server).
    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(format!("{}{path}", self.app.address));
        self.send(request).await
    }

    /// A form POST from this server's own page.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let origin = self.app.address.clone();
        self.post_from(path, fields, Some(&origin)).await
    }

    /// A form POST with `Origin: origin` (none when `None`), and
    /// `Sec-Fetch-Site` as a browser would set it.
    pub async fn post_from(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Page {
        let body = serde_urlencoded::to_string(fields).expect("form");
        let mut request = self
            .client
            .post(format!("{}{path}", self.app.address))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(origin) = origin {
            let site = if origin == self.app.address {
                "same-origin"
            } else {
                "cross-site"
            };
            request = request
                .header("origin", origin)
                .header("sec-fetch-site", site);
        }
        self.send(request).await
    }

    /// Signs in with `token` through the sign-in form; returns the
    /// answer to the POST.
    pub async fn sign_in(&mut self, token: &str) -> Page {
        let form = self.get("/console/sign-in").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.hidden("csrf");
        self.post("/console/sign-in", &[("csrf", &csrf), ("token", token)])
            .await
    }

    /// Signs in with the default tenant's admin token, expecting success.
    pub async fn signed_in(app: &'a TestApp) -> Visitor<'a> {
        let mut visitor = Visitor::new(app);
        let answer = visitor.sign_in(&app.admin_token).await;
        assert_eq!(answer.status, 303, "{}", answer.body);
        assert_eq!(answer.location(), Some("/console"));
        visitor
    }

    /// The CSRF token of a signed-in page (the sign-out form's).
    pub async fn csrf(&mut self) -> String {
        let page = self.get("/console").await;
        assert_eq!(page.status, 200, "{}", page.body);
        page.hidden("csrf")
    }
}
