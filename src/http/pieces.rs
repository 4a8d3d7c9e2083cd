//! Response bodies written in pieces by a task, as the client reads them
//! (lists and big groups; see `domain::listing`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body::Frame;
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use super::error::SCIM_MEDIA_TYPE;
use crate::domain::{DomainError, Pieces};

/// Pieces on their way to the client: one waiting while the writer
/// prepares the next, so a slow reader holds back the writer.
const PIECES_IN_FLIGHT: usize = 1;

/// A SCIM response whose body `write` produces in pieces, on its own
/// task. A failure after the status has gone out ends the body with an
/// error, so the client sees a broken response rather than a short one.
pub fn piecewise<W, F>(status: StatusCode, write: W) -> Response
where
    W: FnOnce(Pieces) -> F,
    F: Future<Output = Result<(), DomainError>> + Send + 'static,
{
    let (pieces, receiver) = mpsc::channel(PIECES_IN_FLIGHT);
    let (report, outcome) = oneshot::channel();
    let writing = write(pieces);
    tokio::spawn(
        async move {
            let result = writing.await;
            if let Err(error) = &result {
                tracing::error!(%error, "a response body could not be written to the end");
            }
            let _ = report.send(result.is_ok());
        }
        .instrument(tracing::Span::current()),
    );
    let body = Body::new(PieceBody { receiver, outcome });
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(SCIM_MEDIA_TYPE),
        )],
        body,
    )
        .into_response()
}

struct PieceBody {
    receiver: mpsc::Receiver<String>,
    /// Whether the writer finished without error.
    outcome: oneshot::Receiver<bool>,
}

impl http_body::Body for PieceBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.receiver.poll_recv(cx) {
            Poll::Ready(Some(piece)) => Poll::Ready(Some(Ok(Frame::data(Bytes::from(piece))))),
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => match Pin::new(&mut self.outcome).poll(cx) {
                Poll::Ready(Ok(true)) => Poll::Ready(None),
                Poll::Ready(_) => Poll::Ready(Some(Err(std::io::Error::other(
                    "the response could not be read to the end",
                )))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}
