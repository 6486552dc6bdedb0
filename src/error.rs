//! Errors as the HTTP layer reports them: RFC 9457 `application/problem+json`.
//!
//! Rules per layer: domain code returns small `thiserror` enums; stores return
//! `diesel::QueryResult`; handlers return [`AppError`], whose status and problem `type` are
//! chosen by one exhaustive match below. A client never sees internals: an unexpected error
//! is a 500 whose cause chain goes to the log (with the request id), not to the body.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::telemetry;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid input: which field (a JSON path such as `codes[2].value`, a query or path
/// parameter, or a header) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// RFC 9457 problem details.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem; clients branch on this.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the kind of problem.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong this time, and how to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request id (also in the `X-Request-Id` header and the server's logs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// For invalid input: every field that is wrong.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Members particular to one kind of problem (e.g. `error` for OAuth clients).
    #[serde(flatten)]
    #[schema(additional_properties)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request could not be read (malformed JSON, bad query string, bad header).
    #[error("bad request: {detail}")]
    BadRequest {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// The request was read but its content is not acceptable.
    #[error("validation failed: {detail}")]
    Validation {
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("unsupported media type: {detail}")]
    UnsupportedMediaType { detail: String },
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// No credentials, or credentials that do not verify.
    #[error("unauthorized: {detail}")]
    Unauthorized {
        detail: String,
        /// `WWW-Authenticate` challenge to send.
        challenge: &'static str,
    },
    /// Password right, but the account needs a TOTP code too.
    #[error("second factor required")]
    SecondFactorRequired { detail: String },
    /// Authenticated, but this caller may not do this.
    #[error("forbidden: {detail}")]
    Forbidden { detail: String },
    #[error("not found: {detail}")]
    NotFound { detail: String },
    /// It existed and was withdrawn for good.
    #[error("gone: {detail}")]
    Gone { detail: String },
    #[error("method not allowed")]
    MethodNotAllowed { allowed: Vec<Method> },
    #[error("conflict: {detail}")]
    Conflict { detail: String },
    /// A move the current state does not allow; `allowed` lists those it does.
    #[error("conflict: {detail}")]
    InvalidMove {
        detail: String,
        allowed: Vec<String>,
    },
    /// `If-Match` names a version that is no longer current.
    #[error("precondition failed: {detail}")]
    PreconditionFailed { detail: String },
    /// Too many attempts; the client may retry after the given number of seconds.
    #[error("too many requests; retry after {retry_after_secs} s")]
    TooManyRequests {
        retry_after_secs: u64,
        detail: String,
    },
    /// An OAuth 2.0 token endpoint error (RFC 6749 §5.2), carried as a problem with the
    /// `error` and `error_description` members OAuth clients look for.
    #[error("oauth error {error}: {description}")]
    OAuth {
        status: StatusCode,
        error: &'static str,
        description: String,
    },
    /// The request's body did not arrive within the body read timeout.
    #[error("request timeout: {detail}")]
    RequestTimeout { detail: String },
    #[error("service unavailable: {detail}")]
    ServiceUnavailable { detail: String },
    /// A bug or an unexpected failure below us; logged with its causes, reported as 500.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        AppError::BadRequest {
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// A 422 for one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let error = FieldError::new(field, message);
        AppError::Validation {
            detail: format!("{}: {}", error.field, error.message),
            errors: vec![error],
        }
    }

    /// A 401 for a missing or bad bearer token.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        AppError::Unauthorized {
            detail: detail.into(),
            challenge: "Bearer realm=\"tracegate\"",
        }
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        AppError::Forbidden {
            detail: detail.into(),
        }
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        AppError::Conflict {
            detail: detail.into(),
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        AppError::NotFound {
            detail: detail.into(),
        }
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(error.into())
    }

    /// Status, problem type slug and title: the one place they are chosen.
    fn kind(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            AppError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            AppError::Validation { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid input",
            ),
            AppError::UnsupportedMediaType { .. } => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            AppError::PayloadTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
            ),
            AppError::Unauthorized { .. } => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
            ),
            AppError::SecondFactorRequired { .. } => (
                StatusCode::UNAUTHORIZED,
                "totp-required",
                "Second factor required",
            ),
            AppError::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            AppError::NotFound { .. } => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            AppError::Gone { .. } => (StatusCode::GONE, "gone", "Withdrawn"),
            AppError::MethodNotAllowed { .. } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            AppError::Conflict { .. } => (StatusCode::CONFLICT, "conflict", "Conflict"),
            AppError::InvalidMove { .. } => (
                StatusCode::CONFLICT,
                "invalid-move",
                "Not possible in the current state",
            ),
            AppError::PreconditionFailed { .. } => (
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "Changed since you read it",
            ),
            AppError::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
            ),
            AppError::OAuth { status, .. } => (*status, "oauth", "OAuth request refused"),
            AppError::RequestTimeout { .. } => (
                StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                "Request body too slow",
            ),
            AppError::ServiceUnavailable { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "service-unavailable",
                "Service unavailable",
            ),
            AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal server error",
            ),
        }
    }

    fn detail(&self) -> Option<String> {
        match self {
            AppError::BadRequest { detail, .. }
            | AppError::Validation { detail, .. }
            | AppError::UnsupportedMediaType { detail }
            | AppError::Unauthorized { detail, .. }
            | AppError::Forbidden { detail }
            | AppError::SecondFactorRequired { detail }
            | AppError::TooManyRequests { detail, .. }
            | AppError::OAuth {
                description: detail,
                ..
            }
            | AppError::NotFound { detail }
            | AppError::Gone { detail }
            | AppError::Conflict { detail }
            | AppError::InvalidMove { detail, .. }
            | AppError::PreconditionFailed { detail }
            | AppError::RequestTimeout { detail }
            | AppError::ServiceUnavailable { detail } => Some(detail.clone()),
            AppError::PayloadTooLarge { limit } => Some(format!(
                "the request body is larger than the limit of {limit} bytes"
            )),
            AppError::MethodNotAllowed { allowed } => Some(format!(
                "this resource accepts {}",
                allowed
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            AppError::Internal(_) => Some(
                "an unexpected error occurred; quote the instance (request id) when reporting it"
                    .into(),
            ),
        }
    }

    /// The problem body this error is shown as.
    pub fn problem(&self) -> Problem {
        let (status, slug, title) = self.kind();
        let errors = match self {
            AppError::BadRequest { errors, .. } | AppError::Validation { errors, .. } => {
                errors.clone()
            }
            _ => Vec::new(),
        };
        let mut extensions = serde_json::Map::new();
        if let AppError::OAuth {
            error, description, ..
        } = self
        {
            extensions.insert("error".into(), (*error).into());
            extensions.insert("error_description".into(), description.clone().into());
        }
        if let AppError::InvalidMove { allowed, .. } = self {
            extensions.insert("allowed_actions".into(), allowed.clone().into());
        }
        Problem {
            problem_type: problem_type(slug),
            title: title.into(),
            status: status.as_u16(),
            detail: self.detail(),
            instance: telemetry::current_request_id(),
            errors,
            extensions,
        }
    }
}

/// The stable `type` URI of a problem kind, relative to the service's base URL.
pub fn problem_type(slug: &str) -> String {
    format!("/problems/{slug}")
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.kind().0
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Internal(cause) => {
                tracing::error!(error = %format!("{cause:#}"), "request failed");
            }
            AppError::ServiceUnavailable { detail } => {
                tracing::warn!(detail = %detail, "service unavailable");
            }
            _ => {}
        }
        let problem = self.problem();
        let mut response = problem_response(&problem);
        let extra = match self {
            AppError::MethodNotAllowed { allowed } => Some((
                header::ALLOW,
                allowed
                    .iter()
                    .map(Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
            AppError::Unauthorized { challenge, .. } => {
                Some((header::WWW_AUTHENTICATE, (*challenge).to_string()))
            }
            AppError::OAuth { status, .. } if *status == StatusCode::UNAUTHORIZED => Some((
                header::WWW_AUTHENTICATE,
                "Basic realm=\"tracegate\"".to_string(),
            )),
            AppError::TooManyRequests {
                retry_after_secs, ..
            } => Some((header::RETRY_AFTER, retry_after_secs.to_string())),
            // What is unavailable now (the database, a register) usually is again soon.
            AppError::ServiceUnavailable { .. } => Some((header::RETRY_AFTER, "1".to_string())),
            _ => None,
        };
        if let Some((name, value)) = extra
            && let Ok(value) = HeaderValue::from_str(&value)
        {
            response.headers_mut().insert(name, value);
        }
        if matches!(
            self,
            AppError::Unauthorized { .. }
                | AppError::OAuth { .. }
                | AppError::SecondFactorRequired { .. }
        ) {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        response
    }
}

/// Renders a problem with its status and media type.
pub fn problem_response(problem: &Problem) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .content_type(PROBLEM_JSON)
        .json(problem)
}

/// Problem for an error status produced outside our handlers (actix's own 404/405/413
/// answers and the like), so that every error a client sees has the same shape.
pub fn problem_for_status(status: StatusCode) -> Problem {
    let (slug, detail) = match status {
        StatusCode::NOT_FOUND => (
            "not-found",
            "no resource at this path; see /docs for the API",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method-not-allowed",
            "this resource does not accept this method; see /docs",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", "the request body is too large"),
        StatusCode::UNAUTHORIZED => ("unauthorized", "authentication required"),
        StatusCode::FORBIDDEN => ("forbidden", "this caller may not do this"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported-media-type",
            "send the body with Content-Type: application/json",
        ),
        s if s.is_client_error() => ("bad-request", "the request could not be processed as sent"),
        _ => (
            "internal",
            "an unexpected error occurred; quote the instance (request id) when reporting it",
        ),
    };
    Problem {
        problem_type: problem_type(slug),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        detail: Some(detail.to_string()),
        instance: telemetry::current_request_id(),
        errors: Vec::new(),
        extensions: serde_json::Map::new(),
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => AppError::not_found("no such record"),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => AppError::Conflict {
                detail: "a record with the same identifying values already exists".into(),
            },
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                AppError::Conflict {
                    detail: "a concurrent change touched the same data; retry the request".into(),
                }
            }
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => {
                tracing::warn!(error = %error, "database connection lost");
                AppError::ServiceUnavailable {
                    detail: "the database connection was lost; retry shortly".into(),
                }
            }
            other => AppError::Internal(anyhow::Error::new(other).context("database query failed")),
        }
    }
}

impl From<r2d2::Error> for AppError {
    fn from(error: r2d2::Error) -> Self {
        tracing::warn!(error = %error, "no database connection available");
        AppError::ServiceUnavailable {
            detail: "the database is unreachable; retry shortly".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn body_of(error: AppError) -> (StatusCode, serde_json::Value, Option<String>) {
        let response = error.error_response();
        let status = response.status();
        let allow = response
            .headers()
            .get(header::ALLOW)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = to_bytes(response.into_body()).await.expect("body");
        (status, serde_json::from_slice(&bytes).expect("json"), allow)
    }

    #[actix_web::test]
    async fn validation_error_lists_fields() {
        let (status, body, _) =
            body_of(AppError::invalid("codes[0]", "check digit is wrong")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["type"], "/problems/validation");
        assert_eq!(body["errors"][0]["field"], "codes[0]");
        assert_eq!(body["errors"][0]["message"], "check digit is wrong");
    }

    #[actix_web::test]
    async fn internal_error_hides_its_cause() {
        let cause = anyhow::anyhow!("password=hunter2 leaked in a driver message");
        let (status, body, _) = body_of(AppError::internal(cause)).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!body.to_string().contains("hunter2"));
    }

    #[actix_web::test]
    async fn method_not_allowed_names_allowed_methods() {
        let (status, body, allow) = body_of(AppError::MethodNotAllowed {
            allowed: vec![Method::GET, Method::HEAD],
        })
        .await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(allow.as_deref(), Some("GET, HEAD"));
        assert!(body["detail"].as_str().unwrap_or("").contains("GET, HEAD"));
    }

    #[test]
    fn unique_violation_is_a_conflict() {
        let error = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            Box::new("duplicate key".to_string()),
        );
        assert_eq!(AppError::from(error).status_code(), StatusCode::CONFLICT);
    }
}
