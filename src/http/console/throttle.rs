//! The limit on failed sign-ins (per process, like the other limits):
//! past [`MAX_FAILURES_PER_ADDRESS`] failures from one client address, or
//! [`MAX_FAILURES_PER_TENANT`] failures with tokens of one tenant (its
//! SCIM token, a revoked admin token), within [`WINDOW_MILLIS`], sign-in
//! answers 429 until the window ends. An address over its limit is
//! refused before its token is looked at; a tenant's limit never refuses
//! a live admin token of that tenant, so that whoever holds a leaked SCIM
//! token cannot lock the admins out.
//!
//! The client address is the connection's peer, or with `--trust-proxy`
//! the last entry of `X-Forwarded-For` (the one the proxy added).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;

use axum::extract::ConnectInfo;
use axum::http::request::Parts;

use crate::clock::SharedClock;

/// Failed sign-ins one client address may make per window.
pub const MAX_FAILURES_PER_ADDRESS: u32 = 10;
/// Failed sign-ins with one tenant's tokens per window.
pub const MAX_FAILURES_PER_TENANT: u32 = 20;
/// The window, in milliseconds: 15 minutes.
pub const WINDOW_MILLIS: i64 = 15 * 60 * 1000;
/// Keys kept before windows that are over are dropped.
const KEYS_KEPT: usize = 10_000;

/// Failures of one key in the current window.
#[derive(Debug, Clone, Copy)]
struct Window {
    started: i64,
    failures: u32,
}

/// Failure counts by key, in fixed windows.
#[derive(Debug)]
struct Counts<K> {
    windows: HashMap<K, Window>,
}

impl<K: std::hash::Hash + Eq + Clone> Counts<K> {
    fn new() -> Self {
        Counts {
            windows: HashMap::new(),
        }
    }

    fn over(&self, key: &K, max: u32, now: i64) -> bool {
        self.windows
            .get(key)
            .is_some_and(|w| now - w.started < WINDOW_MILLIS && w.failures >= max)
    }

    fn fail(&mut self, key: &K, now: i64) {
        if self.windows.len() >= KEYS_KEPT && !self.windows.contains_key(key) {
            self.windows.retain(|_, w| now - w.started < WINDOW_MILLIS);
            // Still full of live windows (many addresses failing at once):
            // the oldest goes, so memory stays bounded.
            if self.windows.len() >= KEYS_KEPT
                && let Some(oldest) = self
                    .windows
                    .iter()
                    .min_by_key(|(_, w)| w.started)
                    .map(|(k, _)| k.clone())
            {
                self.windows.remove(&oldest);
            }
        }
        let window = self.windows.entry(key.clone()).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now - window.started >= WINDOW_MILLIS {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
    }
}

/// Failed sign-ins per client address and per tenant.
#[derive(Debug)]
pub struct Throttle {
    clock: SharedClock,
    addresses: Mutex<Counts<IpAddr>>,
    tenants: Mutex<Counts<String>>,
}

impl Throttle {
    pub fn new(clock: SharedClock) -> Throttle {
        Throttle {
            clock,
            addresses: Mutex::new(Counts::new()),
            tenants: Mutex::new(Counts::new()),
        }
    }

    /// Whether `address` has failed too often to try again now.
    pub fn address_over(&self, address: Option<IpAddr>) -> bool {
        let now = self.clock.now_millis();
        address.is_some_and(|a| {
            self.addresses
                .lock()
                .is_ok_and(|c| c.over(&a, MAX_FAILURES_PER_ADDRESS, now))
        })
    }

    /// Whether tenant `tenant_id`'s tokens have failed too often.
    pub fn tenant_over(&self, tenant_id: &str) -> bool {
        let now = self.clock.now_millis();
        self.tenants
            .lock()
            .is_ok_and(|c| c.over(&tenant_id.to_owned(), MAX_FAILURES_PER_TENANT, now))
    }

    /// Counts a failed sign-in from `address` with a token of `tenant_id`
    /// (when the token was one).
    pub fn fail(&self, address: Option<IpAddr>, tenant_id: Option<&str>) {
        let now = self.clock.now_millis();
        if let (Some(address), Ok(mut counts)) = (address, self.addresses.lock()) {
            counts.fail(&address, now);
        }
        if let (Some(tenant_id), Ok(mut counts)) = (tenant_id, self.tenants.lock()) {
            counts.fail(&tenant_id.to_owned(), now);
        }
    }
}

/// The client address of a request: the connection's peer, or with
/// `trust_proxy` the last address in `X-Forwarded-For`. An IPv6 address
/// counts as its /64 network, which one client commonly holds whole.
pub fn client_address(parts: &Parts, trust_proxy: bool) -> Option<IpAddr> {
    address_of(parts, trust_proxy).map(network_of)
}

/// `address`, or for IPv6 the first address of its /64.
fn network_of(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[4..].fill(0);
            IpAddr::from(segments)
        }
    }
}

fn address_of(parts: &Parts, trust_proxy: bool) -> Option<IpAddr> {
    if trust_proxy
        && let Some(forwarded) = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .last()
    {
        return forwarded.trim().parse().ok();
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    #[derive(Debug, Default)]
    struct Fixed(AtomicI64);

    impl crate::clock::Clock for Fixed {
        fn now_millis(&self) -> i64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    #[test]
    fn an_address_is_refused_after_its_failures_until_the_window_ends() {
        let clock = Arc::new(Fixed::default());
        let throttle = Throttle::new(clock.clone());
        let address: Option<IpAddr> = "192.0.2.1".parse().ok();
        for _ in 0..MAX_FAILURES_PER_ADDRESS {
            assert!(!throttle.address_over(address));
            throttle.fail(address, None);
        }
        assert!(throttle.address_over(address));
        assert!(!throttle.address_over("192.0.2.2".parse().ok()));
        clock.0.store(WINDOW_MILLIS, Ordering::SeqCst);
        assert!(!throttle.address_over(address));
    }

    #[test]
    fn a_tenant_is_counted_apart_from_addresses() {
        let throttle = Throttle::new(Arc::new(Fixed::default()));
        for i in 0..MAX_FAILURES_PER_TENANT {
            let address = format!("192.0.2.{i}").parse().ok();
            throttle.fail(address, Some("t1"));
        }
        assert!(throttle.tenant_over("t1"));
        assert!(!throttle.tenant_over("t2"));
    }

    #[test]
    fn many_failing_addresses_keep_the_map_bounded() {
        let throttle = Throttle::new(Arc::new(Fixed::default()));
        for i in 0..(KEYS_KEPT as u32 + 50) {
            throttle.fail(Some(IpAddr::from(i.to_be_bytes())), None);
        }
        let kept = throttle.addresses.lock().expect("lock").windows.len();
        assert!(kept <= KEYS_KEPT, "{kept}");
    }

    #[test]
    fn an_ipv6_client_counts_as_its_64_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("v6");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("v6");
        assert_eq!(network_of(a), network_of(b));
        let v4: IpAddr = "192.0.2.1".parse().expect("v4");
        assert_eq!(network_of(v4), v4);
    }

    #[test]
    fn the_forwarded_address_counts_only_behind_a_trusted_proxy() {
        let request = axum::http::Request::builder()
            .header("x-forwarded-for", "203.0.113.9, 198.51.100.7")
            .body(())
            .expect("request");
        let (mut parts, ()) = request.into_parts();
        parts
            .extensions
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 4000))));
        assert_eq!(
            client_address(&parts, true),
            "198.51.100.7".parse::<IpAddr>().ok()
        );
        assert_eq!(
            client_address(&parts, false),
            "127.0.0.1".parse::<IpAddr>().ok()
        );
    }
}
