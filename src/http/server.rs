//! The connection loop: hyper's HTTP/1 server with scimd's connection
//! limits (DESIGN §8). Each connection has a read watchdog (a request
//! head must arrive within the header timeout of its first byte, or of
//! the connection's start; an idle keep-alive connection is closed after
//! the idle timeout) and a write watchdog (a response that makes no
//! progress for the write timeout is abandoned). A semaphore caps open
//! connections: past the cap, accepting waits. Shutdown stops accepting,
//! lets requests in flight finish, and closes what is left at the
//! shutdown deadline.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

use super::App;

/// Most header fields hyper itself accepts; the edge middleware refuses
/// more than [`super::edge::MAX_HEADER_FIELDS`] first, with a SCIM body.
const HYPER_MAX_HEADERS: usize = 2 * super::edge::MAX_HEADER_FIELDS;

/// The connection-level limits, all per process.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Time a request head may take from its first byte (or from the
    /// connection's start) until it is complete.
    pub header_timeout: Duration,
    /// Time a keep-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Time a response write may make no progress.
    pub write_timeout: Duration,
    /// Connections open at once; past it, accepting waits.
    pub max_connections: usize,
    /// Time requests in flight get to finish once shutdown begins.
    pub shutdown_timeout: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes
/// the requests in flight within the shutdown deadline.
pub async fn serve(
    listener: TcpListener,
    app: App,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(joined) = connections.join_next() => log_join(joined),
            (permit, accepted) = accept(&listener, &permits) => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(
                        (stream, peer),
                        app.clone(),
                        limits,
                        stopping.clone(),
                        permit,
                    ));
                }
                Err(error) => pause_after(&error).await,
            },
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let open = connections.len();
    if open > 0 {
        tracing::info!(open, "waiting for the connections still open");
    }
    let drained = tokio::time::timeout(limits.shutdown_timeout, async {
        while let Some(joined) = connections.join_next().await {
            log_join(joined);
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            deadline_seconds = limits.shutdown_timeout.as_secs_f64(),
            "the shutdown deadline passed; closing the connections still open"
        );
        connections.shutdown().await;
    }
}

/// Waits for a free connection slot, then for a connection.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> (
    Option<OwnedSemaphorePermit>,
    io::Result<(TcpStream, SocketAddr)>,
) {
    // The semaphore is never closed; without a permit the cap is lost for
    // this one connection rather than the server stopping.
    let permit = Arc::clone(permits).acquire_owned().await.ok();
    let accepted = listener.accept().await;
    (permit, accepted)
}

/// After a failed accept: a connection that died in the backlog is
/// nothing; anything else (EMFILE above all) is logged and waited out.
async fn pause_after(error: &io::Error) {
    let connection_error = matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    );
    if !connection_error {
        tracing::error!(%error, "cannot accept a connection");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn log_join(joined: Result<(), tokio::task::JoinError>) {
    if let Err(error) = joined
        && error.is_panic()
    {
        tracing::error!(%error, "a connection task panicked");
    }
}

/// Serves one connection until it closes, times out or the server stops.
async fn serve_connection(
    (stream, peer): (TcpStream, SocketAddr),
    app: App,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
    _permit: Option<OwnedSemaphorePermit>,
) {
    // Responses go out as soon as they are written (axum's own advice);
    // the load tool measured no difference either way.
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY on a connection");
    }
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched::new(stream, Arc::clone(&activity), limits));
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        activity.begin_request();
        let activity = Arc::clone(&activity);
        let app = app.clone();
        async move {
            // The peer's address, for the console's sign-in limit.
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            let response = match app.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            Ok::<_, Infallible>(response.map(|body| Tracked::new(body, activity)))
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // hyper's own timer runs from the moment it waits for a head; the
        // watchdog is stricter, so this only backs it up.
        .header_read_timeout(limits.idle_timeout + limits.header_timeout)
        .max_headers(HYPER_MAX_HEADERS);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => return log_connection(served),
        _ = stopping.wait_for(|stopping| *stopping) => connection.as_mut().graceful_shutdown(),
    }
    log_connection(connection.await);
}

fn log_connection(served: Result<(), hyper::Error>) {
    if let Err(error) = served {
        tracing::debug!(%error, "connection closed with an error");
    }
}

/// Where a connection stands, shared by its I/O and its service.
#[derive(Debug)]
struct Activity {
    phase: Mutex<Phase>,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for the first byte of the next request since this instant.
    Idle(Instant),
    /// Reading a request head begun at this instant.
    Head(Instant),
    /// Serving a request, from its head until its response body ends.
    Busy,
}

impl Activity {
    /// A new connection must send a whole head within the header timeout.
    fn new() -> Activity {
        Activity {
            phase: Mutex::new(Phase::Head(Instant::now())),
        }
    }

    fn set(&self, phase: Phase) {
        if let Ok(mut current) = self.phase.lock() {
            *current = phase;
        }
    }

    fn begin_request(&self) {
        self.set(Phase::Busy);
    }

    fn end_request(&self) {
        self.set(Phase::Idle(Instant::now()));
    }

    /// Bytes arrived: an idle connection starts a head.
    fn received(&self) {
        if let Ok(mut current) = self.phase.lock()
            && let Phase::Idle(_) = *current
        {
            *current = Phase::Head(Instant::now());
        }
    }

    /// When a read that waits must give up, if it must.
    fn read_deadline(&self, limits: &ConnectionLimits) -> Option<Instant> {
        match *self.phase.lock().ok()? {
            Phase::Idle(since) => Some(since + limits.idle_timeout),
            Phase::Head(since) => Some(since + limits.header_timeout),
            Phase::Busy => None,
        }
    }
}

/// A response body that tells its connection when it has ended (or was
/// dropped), so the idle timer starts then.
struct Tracked {
    body: Body,
    activity: Option<Arc<Activity>>,
}

impl Tracked {
    fn new(body: Body, activity: Arc<Activity>) -> Tracked {
        Tracked {
            body,
            activity: Some(activity),
        }
    }

    fn finish(&mut self) {
        if let Some(activity) = self.activity.take() {
            activity.end_request();
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.finish();
    }
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            self.finish();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection's socket with its read and write watchdogs.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
    limits: ConnectionLimits,
    read_timer: Pin<Box<Sleep>>,
    read_armed: Option<Instant>,
    write_timer: Pin<Box<Sleep>>,
    write_armed: bool,
}

impl Watched {
    fn new(stream: TcpStream, activity: Arc<Activity>, limits: ConnectionLimits) -> Watched {
        Watched {
            stream,
            activity,
            limits,
            read_timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            read_armed: None,
            write_timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            write_armed: false,
        }
    }

    /// A read is pending: fails it once the phase's deadline has passed.
    fn check_read_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(deadline) = self.activity.read_deadline(&self.limits) else {
            self.read_armed = None;
            return Poll::Pending;
        };
        if self.read_armed != Some(deadline) {
            self.read_timer.as_mut().reset(deadline);
            self.read_armed = Some(deadline);
        }
        ready!(self.read_timer.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "no complete request arrived in time",
        )))
    }

    /// A write made no progress: fails it once the write timeout passes.
    fn check_write_stall(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        if !self.write_armed {
            let deadline = Instant::now() + self.limits.write_timeout;
            self.write_timer.as_mut().reset(deadline);
            self.write_armed = true;
        }
        ready!(self.write_timer.as_mut().poll(cx));
        Poll::Ready(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client did not read the response in time",
        ))
    }

    fn watch_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match polled {
            Poll::Ready(result) => {
                self.write_armed = false;
                Poll::Ready(result)
            }
            Poll::Pending => self.check_write_stall(cx).map(Err),
        }
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.activity.received();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => self.check_read_deadline(cx),
        }
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.watch_write(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.watch_write(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.stream).poll_flush(cx);
        self.watch_write(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.stream).poll_shutdown(cx);
        self.watch_write(cx, polled)
    }
}
