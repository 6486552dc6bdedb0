//! Logs, request ids and per-request metrics.
//!
//! Every request gets an id: the caller's `X-Request-Id` when it is a sane token, else a new
//! UUIDv7. The id is echoed in the response, carried by the tracing span (so it is on every
//! log line the request causes), and put into problem bodies as `instance`.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{LogConfig, LogFormat};
use crate::error::{PROBLEM_JSON, problem_for_status};
use crate::metrics::Metrics;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served on this task, if any.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Runs `f` with `request_id` as the current request id (for work moved to another task).
pub fn with_request_id<F: FnOnce() -> T, T>(request_id: Option<String>, f: F) -> T {
    match request_id {
        Some(id) => REQUEST_ID.sync_scope(id, f),
        None => f(),
    }
}

/// Runs blocking work on the blocking thread pool, keeping the current span and request id
/// so that its log lines stay attributed to the request.
pub fn spawn_blocking<T, F>(f: F) -> tokio::task::JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    let request_id = current_request_id();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        with_request_id(request_id, f)
    })
}

/// Installs the global tracing subscriber writing to stderr.
pub fn init(config: &LogConfig) {
    init_with_writer(config, std::io::stderr);
}

/// Installs the global tracing subscriber with the given writer. A second call is a no-op
/// (tests start many apps in one process).
pub fn init_with_writer<W>(config: &LogConfig, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    // The filter was checked when the configuration loaded.
    let filter = EnvFilter::try_new(&config.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = match config.format {
        LogFormat::Human => builder.with_target(false).try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// A caller's request id is kept only if it is a short token of safe characters, so that it
/// cannot forge log lines or carry personal data of unbounded length.
fn accepted_request_id(value: Option<&HeaderValue>) -> Option<String> {
    let text = value?.to_str().ok()?;
    let ok = (1..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then(|| text.to_string())
}

/// Middleware: request id, span, access log line, metrics, and problem bodies for error
/// answers that actix produced on its own.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = accepted_request_id(req.headers().get(&REQUEST_ID_HEADER))
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().clone();
    // The path without its query string: queries may carry codes or personal data.
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        path = %req.path()
    );

    let result = REQUEST_ID
        .scope(request_id.clone(), async {
            let response = next.call(req).await?;
            Ok::<_, actix_web::Error>(ensure_problem_body(response.map_into_boxed_body()))
        })
        .instrument(span.clone())
        .await;
    let mut response = match result {
        Ok(response) => response,
        // Middleware errors: render them like handler errors.
        Err(error) => return Err(error),
    };

    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status();
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let elapsed = started.elapsed();
    if let Some(metrics) = metrics {
        metrics.observe_request(method.as_str(), &route, status.as_u16(), elapsed);
    }
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            route = %route,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    Ok(response)
}

/// Replaces a bodyless or non-problem error answer with a problem body, keeping its status
/// and headers (such as `Allow`); a page's own error page is kept.
fn ensure_problem_body(response: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // Problems pass as they are, and so do the error pages people read in a browser.
    let has_body = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON) || v.starts_with("text/html"));
    if has_body {
        return response;
    }
    let problem = problem_for_status(status);
    let (request, old) = response.into_parts();
    let mut replacement = crate::error::problem_response(&problem);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replacement
                .headers_mut()
                .append(name.clone(), value.clone());
        }
    }
    ServiceResponse::new(request, replacement)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_request_ids_are_kept() {
        let v = HeaderValue::from_static("req-42.a:b_c");
        assert_eq!(
            accepted_request_id(Some(&v)).as_deref(),
            Some("req-42.a:b_c")
        );
    }

    #[test]
    fn unsafe_or_long_request_ids_are_replaced() {
        for bad in [
            "has space",
            "line\u{7f}break",
            "{\"json\":1}",
            &"x".repeat(129),
            "",
        ] {
            let v = HeaderValue::from_str(bad).ok();
            assert_eq!(accepted_request_id(v.as_ref()), None, "{bad:?}");
        }
    }
}
