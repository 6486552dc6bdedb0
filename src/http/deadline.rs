//! A deadline on reading a request's body. actix-web closes a connection whose headers come
//! too slowly, but once they are in it waits for the body as long as the client likes: a
//! few hundred connections trickling a byte now and then would hold workers and sockets
//! for ever. Every body must arrive within `server.body_timeout_secs` of the request; past
//! that the request is answered 408 and the connection closed.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use futures_util::Stream;
use tokio::time::{Instant, Sleep};

use crate::error::AppError;
use crate::metrics::{Metrics, Refusal};

/// How long a request's body may take, from when its headers were read.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

/// The request's body, failing once the deadline has passed. The timer is made only when
/// the body is not all there at once, so requests whose body came with their headers (most
/// of them) pay nothing.
struct Deadlined {
    inner: Payload,
    deadline: Instant,
    timer: Option<Pin<Box<Sleep>>>,
    expired: Rc<Cell<bool>>,
}

impl Stream for Deadlined {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Poll::Ready(item) = Pin::new(&mut this.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.expired.set(true);
                Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "request body not received in time",
                )))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Middleware: puts the deadline on the body; a request whose body ran out of time is
/// answered 408 (problem+json) and its connection closed, whatever the handler made of
/// the failed read.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(BodyTimeout(limit)) = req.app_data::<BodyTimeout>().copied() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let expired = Rc::new(Cell::new(false));
    let payload = Deadlined {
        inner: req.take_payload(),
        deadline: Instant::now() + limit,
        timer: None,
        expired: expired.clone(),
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(payload),
    });
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let result = next.call(req).await;
    if !expired.get() {
        return result.map(ServiceResponse::map_into_boxed_body);
    }
    if let Some(metrics) = metrics {
        metrics.refused(Refusal::BodyTimeout);
    }
    let error = AppError::RequestTimeout {
        detail: format!(
            "the request body did not arrive within {} s; send it at once",
            limit.as_secs()
        ),
    };
    let mut response: HttpResponse = error.error_response();
    // What is left of the body is never read: the connection cannot carry another request.
    response
        .head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    match result {
        Ok(done) => Ok(done.into_response(response)),
        Err(e) => Err(actix_web::error::InternalError::from_response(e, response).into()),
    }
}
