//! The process's metrics (DESIGN §8), served in Prometheus text on the
//! metrics listener (`http/metrics.rs`), never on the public one.
//!
//! One [`Metrics`] value per process, cloned into whoever records: the
//! HTTP edge (requests, latency, rate and in-flight refusals), the domain
//! (refusals by reason, the write queue, the tenant-lock wait) and the
//! webhook worker (attempts). Gauges read from the database (pending
//! deprovisionings, suspended users) and from the pools are set just
//! before a scrape is encoded ([`Metrics::set_operations`]).
//!
//! No label names a tenant: with thousands of tenants the series would
//! swamp Prometheus. Every label takes a value from a closed set (route
//! templates come from the router), so the series stay bounded.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The `Content-Type` of a scrape: Prometheus text format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The route label of a request no route matched: one label for every
/// unknown path, so probing random paths cannot add series.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Upper bounds of the request latency buckets, in seconds.
const REQUEST_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Upper bounds of the tenant-lock wait buckets, in seconds.
const LOCK_WAIT_BUCKETS: [f64; 13] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0,
];

/// Why the deprovisioning guard refused a change (mirrors the stored
/// `reason` of a pending deprovisioning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalReason {
    OwnsAssets,
    LastAdmin,
    SeatLimit,
}

/// Why a request was turned away to come back later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Throttle {
    /// 429: the tenant is over its request rate.
    Rate,
    /// 429: the tenant has too many requests under way.
    InFlight,
    /// 429: too many of the tenant's writes wait for their turn.
    WriteQueue,
    /// 503 with `Retry-After`: no pooled connection came free, the
    /// database connection broke, or the request ran past its deadline.
    Overload,
}

/// How one webhook attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookResult {
    /// The receiver took it: the delivery is done.
    Delivered,
    /// The attempt failed; the delivery will be tried again.
    Retrying,
    /// The attempt failed and the delivery was given up.
    Failed,
}

/// Gives a label enum its label values, in the snake case the admin API
/// and the logs use.
macro_rules! label_values {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            /// The label value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl EncodeLabelValue for $name {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
                self.as_str().encode(encoder)
            }
        }
    };
}

label_values!(RefusalReason {
    OwnsAssets => "owns_assets",
    LastAdmin => "last_admin",
    SeatLimit => "seat_limit",
});
label_values!(Throttle {
    Rate => "rate",
    InFlight => "in_flight",
    WriteQueue => "write_queue",
    Overload => "overload",
});
label_values!(WebhookResult {
    Delivered => "delivered",
    Retrying => "retrying",
    Failed => "failed",
});

/// How full one database pool is, read when a scrape is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// `read` or `write` (SQLite), `shared` (PostgreSQL, one pool).
    pub pool: &'static str,
    /// Connections open.
    pub size: u32,
    /// Open connections nobody holds.
    pub idle: u32,
    /// Most connections the pool opens.
    pub max: u32,
}

/// What the database says about deprovisioning, read at scrape time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deprovisioning {
    /// Pending deprovisionings in every tenant.
    pub pending: u64,
    /// Age of the oldest pending one, in seconds (0 when none is).
    pub oldest_pending_age_seconds: u64,
    /// Users whose access is suspended in every tenant.
    pub suspended_users: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabels {
    reason: RefusalReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CauseLabels {
    cause: Throttle,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabels {
    result: WebhookResult,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PoolStateLabels {
    pool: &'static str,
    state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    commit: &'static str,
}

/// Builds each route's latency histogram with [`REQUEST_BUCKETS`].
#[derive(Debug, Clone, Copy)]
struct RequestHistogram;

impl MetricConstructor<Histogram> for RequestHistogram {
    fn new_metric(&self) -> Histogram {
        Histogram::new(REQUEST_BUCKETS)
    }
}

/// The process's metrics; clones share them.
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram, RequestHistogram>,
    refusals: Family<ReasonLabels, Counter>,
    throttled: Family<CauseLabels, Counter>,
    webhook_attempts: Family<ResultLabels, Counter>,
    tenant_lock_wait: Histogram,
    pending: Gauge,
    oldest_pending_age: Gauge,
    suspended_users: Gauge,
    pool_connections: Family<PoolStateLabels, Gauge>,
    pool_max: Family<PoolLabels, Gauge>,
    scrape_errors: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh set of metrics, every labelled counter at zero, so rates
    /// and alerts have a series from the first scrape on.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("scimd");
        let requests = Family::<RequestLabels, Counter>::default();
        let request_seconds = Family::new_with_constructor(RequestHistogram);
        let refusals = Family::<ReasonLabels, Counter>::default();
        let throttled = Family::<CauseLabels, Counter>::default();
        let webhook_attempts = Family::<ResultLabels, Counter>::default();
        let tenant_lock_wait = Histogram::new(LOCK_WAIT_BUCKETS);
        let pending = Gauge::default();
        let oldest_pending_age = Gauge::default();
        let suspended_users = Gauge::default();
        let pool_connections = Family::<PoolStateLabels, Gauge>::default();
        let pool_max = Family::<PoolLabels, Gauge>::default();
        let scrape_errors = Counter::default();

        for reason in [
            RefusalReason::OwnsAssets,
            RefusalReason::LastAdmin,
            RefusalReason::SeatLimit,
        ] {
            drop(refusals.get_or_create(&ReasonLabels { reason }));
        }
        for cause in [
            Throttle::Rate,
            Throttle::InFlight,
            Throttle::WriteQueue,
            Throttle::Overload,
        ] {
            drop(throttled.get_or_create(&CauseLabels { cause }));
        }
        for result in [
            WebhookResult::Delivered,
            WebhookResult::Retrying,
            WebhookResult::Failed,
        ] {
            drop(webhook_attempts.get_or_create(&ResultLabels { result }));
        }

        registry.register(
            "build",
            "The running build: its version, and its git commit when the build set SCIMD_GIT_COMMIT",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                commit: option_env!("SCIMD_GIT_COMMIT").unwrap_or("unknown"),
            }),
        );
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's arrival to its response head, by route template",
            request_seconds.clone(),
        );
        registry.register(
            "refusals",
            "Changes the deprovisioning guard refused, by reason",
            refusals.clone(),
        );
        registry.register(
            "throttled",
            "Requests turned away to retry later: 429 by cause (rate, in_flight, write_queue) and 503 with Retry-After (overload)",
            throttled.clone(),
        );
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts, by how they ended (delivered, retrying, failed: given up)",
            webhook_attempts.clone(),
        );
        registry.register(
            "tenant_lock_wait_seconds",
            "Time a write waited from asking for its tenant's turn to holding the tenant's lock",
            tenant_lock_wait.clone(),
        );
        registry.register(
            "pending_deprovisionings",
            "Deprovisionings waiting for their blockers to go, in every tenant (read from the database)",
            pending.clone(),
        );
        registry.register(
            "oldest_pending_deprovisioning_age_seconds",
            "Age of the oldest pending deprovisioning, 0 when none is (read from the database)",
            oldest_pending_age.clone(),
        );
        registry.register(
            "suspended_users",
            "Users whose access is suspended while a deprovisioning waits, in every tenant (read from the database)",
            suspended_users.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Connections of each database pool of this process, by state (in_use, idle)",
            pool_connections.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "Most connections each database pool of this process opens",
            pool_max.clone(),
        );
        registry.register(
            "metrics_database_errors",
            "Scrapes whose database reads failed (the database gauges kept their last values)",
            scrape_errors.clone(),
        );

        Metrics {
            inner: Arc::new(Inner {
                registry,
                requests,
                request_seconds,
                refusals,
                throttled,
                webhook_attempts,
                tenant_lock_wait,
                pending,
                oldest_pending_age,
                suspended_users,
                pool_connections,
                pool_max,
                scrape_errors,
            }),
        }
    }

    /// Counts one answered request of route template `route` (or
    /// [`UNMATCHED_ROUTE`]) and observes its latency.
    pub fn request(&self, route: &str, method: &str, status: u16, latency: Duration) {
        let route = route.to_owned();
        self.inner
            .requests
            .get_or_create(&RequestLabels {
                route: route.clone(),
                method: method_label(method),
                status,
            })
            .inc();
        self.inner
            .request_seconds
            .get_or_create(&RouteLabels { route })
            .observe(latency.as_secs_f64());
    }

    /// Counts a change the guard refused.
    pub fn refused(&self, reason: RefusalReason) {
        self.inner
            .refusals
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    /// Counts a request turned away to retry later.
    pub fn throttled(&self, cause: Throttle) {
        self.inner
            .throttled
            .get_or_create(&CauseLabels { cause })
            .inc();
    }

    /// Counts a webhook attempt.
    pub fn webhook_attempt(&self, result: WebhookResult) {
        self.inner
            .webhook_attempts
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    /// Observes how long a write waited for its tenant's lock.
    pub fn tenant_lock_waited(&self, wait: Duration) {
        self.inner.tenant_lock_wait.observe(wait.as_secs_f64());
    }

    /// Sets the gauges read from the database.
    pub fn set_deprovisioning(&self, state: Deprovisioning) {
        self.inner.pending.set(saturating_i64(state.pending));
        self.inner
            .oldest_pending_age
            .set(saturating_i64(state.oldest_pending_age_seconds));
        self.inner
            .suspended_users
            .set(saturating_i64(state.suspended_users));
    }

    /// Sets the pool gauges.
    pub fn set_pools(&self, pools: &[PoolUse]) {
        for pool in pools {
            let idle = pool.idle.min(pool.size);
            let in_use = pool.size - idle;
            for (state, count) in [("in_use", in_use), ("idle", idle)] {
                self.inner
                    .pool_connections
                    .get_or_create(&PoolStateLabels {
                        pool: pool.pool,
                        state,
                    })
                    .set(i64::from(count));
            }
            self.inner
                .pool_max
                .get_or_create(&PoolLabels { pool: pool.pool })
                .set(i64::from(pool.max));
        }
    }

    /// Counts a scrape whose database reads failed.
    pub fn database_read_failed(&self) {
        self.inner.scrape_errors.inc();
    }

    /// Every metric in Prometheus text format 0.0.4.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.inner.registry)?;
        Ok(text)
    }
}

/// A request method as a label: the standard ones by name, any other
/// (clients may send any token) as `other`, so they cannot add series.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

fn saturating_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, start: &str) -> Option<&'a str> {
        text.lines().find(|line| line.starts_with(start))
    }

    #[test]
    fn labelled_counters_exist_at_zero_before_anything_happens() {
        let text = Metrics::new().encode().expect("encode");
        assert!(
            line(&text, "scimd_refusals_total{reason=\"seat_limit\"} 0").is_some(),
            "{text}"
        );
        assert!(line(&text, "scimd_throttled_total{cause=\"write_queue\"} 0").is_some());
        assert!(line(&text, "scimd_webhook_attempts_total{result=\"failed\"} 0").is_some());
        assert!(
            line(&text, "scimd_build_info{version=\"").is_some(),
            "{text}"
        );
        assert!(line(&text, "# TYPE scimd_tenant_lock_wait_seconds histogram").is_some());
    }

    #[test]
    fn requests_are_counted_by_route_method_and_status() {
        let metrics = Metrics::new();
        let route = "/scim/v2/Users/{id}";
        metrics.request(route, "GET", 200, Duration::from_millis(3));
        metrics.request(route, "GET", 200, Duration::from_millis(30));
        metrics.request(route, "BREW", 404, Duration::from_millis(1));
        let text = metrics.encode().expect("encode");
        assert!(
            line(
                &text,
                "scimd_http_requests_total{route=\"/scim/v2/Users/{id}\",method=\"GET\",status=\"200\"} 2"
            )
            .is_some(),
            "{text}"
        );
        assert!(line(&text, "scimd_http_requests_total{route=\"/scim/v2/Users/{id}\",method=\"other\",status=\"404\"} 1").is_some());
        assert!(
            line(
                &text,
                "scimd_http_request_duration_seconds_count{route=\"/scim/v2/Users/{id}\"} 3"
            )
            .is_some()
        );
        assert!(line(&text, "scimd_http_request_duration_seconds_bucket{route=\"/scim/v2/Users/{id}\",le=\"0.005\"} 2").is_some(), "{text}");
    }

    #[test]
    fn pools_report_connections_in_use_and_idle() {
        let metrics = Metrics::new();
        metrics.set_pools(&[PoolUse {
            pool: "shared",
            size: 5,
            idle: 2,
            max: 16,
        }]);
        metrics.set_deprovisioning(Deprovisioning {
            pending: 3,
            oldest_pending_age_seconds: 90,
            suspended_users: 2,
        });
        let text = metrics.encode().expect("encode");
        for expected in [
            "scimd_db_pool_connections{pool=\"shared\",state=\"in_use\"} 3",
            "scimd_db_pool_connections{pool=\"shared\",state=\"idle\"} 2",
            "scimd_db_pool_max_connections{pool=\"shared\"} 16",
            "scimd_pending_deprovisionings 3",
            "scimd_oldest_pending_deprovisioning_age_seconds 90",
            "scimd_suspended_users 2",
        ] {
            assert!(line(&text, expected).is_some(), "{expected} in {text}");
        }
    }
}
