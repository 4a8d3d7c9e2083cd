//! Metrics at the HTTP edge: every answered request counted by route
//! template, and the metrics listener that serves `GET /metrics` in
//! Prometheus text (DESIGN §8), apart from the public listener.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use crate::domain::Domain;
use crate::metrics::{CONTENT_TYPE, Metrics, Throttle, UNMATCHED_ROUTE};

/// How long the totals read from the database serve scrapes before they
/// are read again: scrapers that poll often (several Prometheus replicas,
/// a person with curl) cost one read every few seconds at most.
const DATABASE_READ_INTERVAL: Duration = Duration::from_secs(5);
/// Longest a scrape waits for the database; then it answers with the
/// totals it has.
const DATABASE_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// The route template a request matched, or [`UNMATCHED_ROUTE`]: a path
/// no route knows (including those a nested router's fallback answers,
/// whose template is a catch-all).
pub fn route_of<B>(request: &axum::http::Request<B>) -> &str {
    match request.extensions().get::<MatchedPath>() {
        Some(path) if !path.as_str().contains("{*") => path.as_str(),
        _ => UNMATCHED_ROUTE,
    }
}

/// Counts every answered request by route template, method and status,
/// with its latency to the response head; and a 503 with `Retry-After`
/// (pool exhausted, connection lost, deadline passed) as overload.
pub async fn record_request(
    State(metrics): State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = route_of(&request).to_owned();
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    if status == StatusCode::SERVICE_UNAVAILABLE
        && response.headers().contains_key(header::RETRY_AFTER)
    {
        metrics.throttled(Throttle::Overload);
    }
    metrics.request(&route, method.as_str(), status.as_u16(), started.elapsed());
    response
}

/// What the metrics listener's handler reaches.
#[derive(Debug)]
struct Scrapes {
    domain: Arc<Domain>,
    /// When the database totals were last read.
    read_at: Mutex<Option<Instant>>,
}

/// Serves `GET /metrics` on `listener` until the task is aborted (a
/// scrape has nothing to finish).
pub async fn serve_metrics(listener: TcpListener, domain: Arc<Domain>) {
    let scrapes = Arc::new(Scrapes {
        domain,
        read_at: Mutex::new(None),
    });
    let app = Router::new()
        .route("/metrics", get(scrape))
        .fallback(|| async { (StatusCode::NOT_FOUND, "only /metrics is served here\n") })
        .with_state(scrapes);
    if let Err(error) = axum::serve(listener, app).await {
        tracing::error!(%error, "the metrics listener failed");
    }
}

/// `GET /metrics`: every metric, the database totals read again when they
/// are older than [`DATABASE_READ_INTERVAL`].
async fn scrape(State(scrapes): State<Arc<Scrapes>>) -> Response {
    let metrics = scrapes.domain.metrics();
    metrics.set_pools(&scrapes.domain.pool_use());
    {
        let mut read_at = scrapes.read_at.lock().await;
        if read_at.is_none_or(|at| at.elapsed() >= DATABASE_READ_INTERVAL) {
            let totals = tokio::time::timeout(
                DATABASE_READ_TIMEOUT,
                scrapes.domain.deprovisioning_totals(),
            )
            .await;
            match totals {
                Ok(Ok(totals)) => {
                    metrics.set_deprovisioning(totals);
                    *read_at = Some(Instant::now());
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, "metrics: cannot read the deprovisioning totals");
                    metrics.database_read_failed();
                }
                Err(_) => {
                    tracing::warn!("metrics: the database did not answer in time");
                    metrics.database_read_failed();
                }
            }
        }
    }
    match metrics.encode() {
        Ok(text) => (
            [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot encode the metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::middleware;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn requests_are_labelled_by_route_template_and_unknown_paths_share_one_label() {
        let metrics = Metrics::new();
        let ok = || async { "ok" };
        let nested = Router::new()
            .route("/Users/{id}", get(ok))
            .fallback(|| async { StatusCode::NOT_FOUND });
        let app = Router::new()
            .nest("/scim/v2", nested)
            .route("/healthz", get(ok))
            .fallback(|| async { StatusCode::NOT_FOUND })
            .layer(middleware::from_fn_with_state(
                metrics.clone(),
                record_request,
            ));
        for path in [
            "/scim/v2/Users/1",
            "/scim/v2/Users/2",
            "/scim/v2/Nope/3",
            "/elsewhere",
            "/healthz",
        ] {
            let request = Request::builder()
                .uri(path)
                .body(Body::empty())
                .expect("request");
            app.clone().oneshot(request).await.expect("response");
        }
        let text = metrics.encode().expect("encode");
        let count = |labels: &str| {
            text.lines()
                .find_map(|line| {
                    line.strip_prefix(&format!("scimd_http_requests_total{{{labels}}} "))
                })
                .map(str::to_owned)
        };
        assert_eq!(
            count("route=\"/scim/v2/Users/{id}\",method=\"GET\",status=\"200\"").as_deref(),
            Some("2"),
            "{text}"
        );
        assert_eq!(
            count("route=\"unmatched\",method=\"GET\",status=\"404\"").as_deref(),
            Some("2"),
            "{text}"
        );
        assert_eq!(
            count("route=\"/healthz\",method=\"GET\",status=\"200\"").as_deref(),
            Some("1")
        );
    }
}
