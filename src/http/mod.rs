//! HTTP plumbing shared by every feature: request body and parameter extraction with
//! problem+json errors, and resource registration that answers 405 with `Allow`.

mod deadline;
mod endpoint;
pub mod idempotency;
mod json;
mod upload;

pub use deadline::{BodyTimeout, body_deadline};
pub use endpoint::Endpoint;
pub use json::{BodyLimit, JsonBody, parse_json};
pub use upload::{UploadedFile, read_upload};

use actix_web::error::{PathError, QueryPayloadError};
use actix_web::http::header;
use actix_web::{HttpRequest, web};

use crate::error::{AppError, FieldError};

/// The version an `If-Match` header names (`"3"` or `W/"3"`), if sent.
pub fn if_match(req: &HttpRequest) -> Result<Option<i64>, AppError> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    let bare = text.trim_start_matches("W/").trim_matches('"');
    bare.parse().map(Some).map_err(|_| AppError::BadRequest {
        detail: "If-Match must be the ETag you read, such as \"3\"".into(),
        errors: vec![FieldError::new("If-Match", "not a version")],
    })
}

/// Registers the extractor settings every route relies on: body limit, and problem+json
/// answers for bad query strings and path parameters.
pub fn configure_extractors(cfg: &mut web::ServiceConfig, max_body_bytes: usize) {
    cfg.app_data(BodyLimit(max_body_bytes))
        .app_data(web::PayloadConfig::new(max_body_bytes))
        // Page forms: Vietnamese text percent-encodes to several bytes a character.
        .app_data(
            web::FormConfig::default()
                .limit(max_body_bytes)
                .error_handler(|error, _req| form_error(error).into()),
        )
        .app_data(
            web::QueryConfig::default().error_handler(|error, _req| query_error(error).into()),
        )
        .app_data(web::PathConfig::default().error_handler(|error, _req| path_error(error).into()));
}

fn query_error(error: QueryPayloadError) -> AppError {
    let message = match &error {
        QueryPayloadError::Deserialize(e) => e.to_string(),
        other => other.to_string(),
    };
    AppError::BadRequest {
        detail: format!("the query string is not valid: {message}"),
        errors: vec![FieldError::new("query", message)],
    }
}

fn form_error(error: actix_web::error::UrlencodedError) -> AppError {
    use actix_web::error::UrlencodedError;
    match error {
        UrlencodedError::Overflow { limit, .. } => AppError::PayloadTooLarge { limit },
        other => AppError::BadRequest {
            detail: format!("the form could not be read: {other}"),
            errors: vec![FieldError::new("form", other.to_string())],
        },
    }
}

fn path_error(error: PathError) -> AppError {
    let message = match &error {
        PathError::Deserialize(e) => e.to_string(),
        other => other.to_string(),
    };
    AppError::BadRequest {
        detail: format!("a path segment is not valid: {message}"),
        errors: vec![FieldError::new("path", message)],
    }
}
