//! (f) Export: one client walks every user with RFC 9865 cursors, as a
//! full sync or a reconciliation job would, while the server's memory is
//! sampled.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::client::{Call, Connection};
use crate::server::Server;

/// Users per page: the largest `count` scimd accepts.
pub const PAGE: usize = 1_000;

/// What the export measured.
#[derive(Debug, Clone, Serialize)]
pub struct ExportFigures {
    pub users: u64,
    pub pages: u64,
    pub seconds: f64,
    pub users_per_second: f64,
    /// The slowest page, in milliseconds.
    pub max_page_ms: f64,
    /// Server RSS (KiB) after the first tenth of the pages and at the end:
    /// equal when memory stays constant through the walk.
    pub rss_early_kib: Option<u64>,
    pub rss_end_kib: Option<u64>,
}

#[derive(Deserialize)]
struct Page {
    #[serde(rename = "totalResults")]
    total: Option<u64>,
    #[serde(rename = "Resources", default)]
    resources: Vec<IgnoredAny>,
    #[serde(rename = "nextCursor")]
    next: Option<String>,
}

/// Walks every user of the tenant; `expected` is how many there are.
pub async fn export(server: &Server, token: &str, expected: u64) -> anyhow::Result<ExportFigures> {
    let mut connection = Connection::open(server.address(), Some(token)).await?;
    let mut cursor = String::new();
    let mut users = 0u64;
    let mut pages = 0u64;
    let mut max_page = Duration::ZERO;
    let mut rss_early = None;
    let early_page = (expected / PAGE as u64 / 10).max(1);
    let started = Instant::now();
    loop {
        let call = Call::get(format!("/scim/v2/Users?count={PAGE}&cursor={cursor}"));
        let page_started = Instant::now();
        let (status, body) = connection.send(&call).await?;
        max_page = max_page.max(page_started.elapsed());
        if status != call.expect {
            bail!(
                "page {pages} answered {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        let page: Page = serde_json::from_slice(&body).context("a page is a ListResponse")?;
        if pages == 0 && page.total.is_some_and(|t| t != expected) {
            bail!(
                "the first page counts {:?} users, expected {expected}",
                page.total
            );
        }
        users += page.resources.len() as u64;
        pages += 1;
        if pages == early_page {
            rss_early = server.rss_kib();
        }
        match page.next {
            Some(next) => cursor = next,
            None => break,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if users != expected {
        bail!("the walk saw {users} users, expected {expected}");
    }
    Ok(ExportFigures {
        users,
        pages,
        seconds,
        users_per_second: users as f64 / seconds,
        max_page_ms: max_page.as_secs_f64() * 1000.0,
        rss_early_kib: rss_early,
        rss_end_kib: server.rss_kib(),
    })
}
