//! `JsonBody<T>`: the one way handlers read a JSON request body.
//!
//! Unlike actix's `Json`, a body that is valid JSON but of the wrong shape is reported per
//! field (`codes[2].value: invalid type: integer, expected a string`), so a client knows
//! exactly what to fix.

use std::future::Future;
use std::pin::Pin;

use actix_web::error::PayloadError;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// Largest JSON body accepted, in bytes (registered by `configure_extractors`).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// A JSON request body deserialized into `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<BodyLimit>().map_or(256 * 1024, |l| l.0);
        let content_type = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase);
        let is_json = content_type.as_deref().is_some_and(|ct| {
            let essence = ct.split(';').next().unwrap_or("").trim();
            essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json"))
        });
        if !is_json {
            let detail = match content_type {
                Some(ct) => format!("expected Content-Type: application/json, got {ct}"),
                None => "expected Content-Type: application/json; the request has none".into(),
            };
            return Box::pin(async move { Err(AppError::UnsupportedMediaType { detail }) });
        }
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = body
                .await
                .map_err(|error| match error.as_error::<PayloadError>() {
                    Some(PayloadError::Overflow) => AppError::PayloadTooLarge { limit },
                    _ => AppError::bad_request(format!(
                        "the request body could not be read: {error}"
                    )),
                })?;
            parse_json(&bytes).map(JsonBody)
        })
    }
}

/// Parses JSON into `T`, naming the field at fault when the shape is wrong.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::bad_request(
            "the request body is empty; send a JSON object",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_data() {
            field_error(&path, &inner)
        } else {
            AppError::bad_request(format!("the request body is not valid JSON: {inner}"))
        }
    })?;
    deserializer.end().map_err(|e| {
        AppError::bad_request(format!(
            "the request body has data after the JSON value: {e}"
        ))
    })?;
    Ok(value)
}

fn field_error(path: &str, error: &serde_json::Error) -> AppError {
    let full = error.to_string();
    // serde_json appends " at line L column C": useful for syntax, noise for a field.
    let message = match full.rfind(" at line ") {
        Some(at) => full[..at].to_string(),
        None => full,
    };
    let parent = if path == "." { "" } else { path };
    // A missing field is reported at its parent; name the field itself.
    let named = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let field = match (named, parent) {
        (Some(name), "") => name.to_string(),
        (Some(name), parent) => format!("{parent}.{name}"),
        (None, "") => "body".to_string(),
        (None, parent) => parent.to_string(),
    };
    AppError::Validation {
        detail: format!("{field}: {message}"),
        errors: vec![FieldError::new(field, message)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::configure_extractors;
    use actix_web::http::StatusCode;
    use actix_web::{App, HttpResponse, test};
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "fields exist to be deserialized")]
    struct Listing {
        title: String,
        codes: Vec<Code>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "fields exist to be deserialized")]
    struct Code {
        value: String,
    }

    async fn post(content_type: Option<&str>, body: &str) -> (StatusCode, serde_json::Value) {
        let app = test::init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(crate::telemetry::observe))
                .configure(|cfg| configure_extractors(cfg, 2048))
                .route(
                    "/listings",
                    web::post()
                        .to(|_: JsonBody<Listing>| async { HttpResponse::NoContent().finish() }),
                ),
        )
        .await;
        let mut req = test::TestRequest::post()
            .uri("/listings")
            .set_payload(body.to_string());
        if let Some(ct) = content_type {
            req = req.insert_header(("content-type", ct));
        }
        let response = test::call_service(&app, req.to_request()).await;
        let status = response.status();
        let bytes = test::read_body(response).await;
        let json = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("problem body is JSON")
        };
        (status, json)
    }

    const JSON: Option<&str> = Some("application/json");

    #[actix_web::test]
    async fn well_formed_body_is_accepted() {
        let (status, _) = post(JSON, r#"{"title":"Tea","codes":[{"value":"x"}]}"#).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }

    #[actix_web::test]
    async fn malformed_json_is_400_with_position() {
        let (status, body) = post(JSON, r#"{"title": "Tea",,}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["type"], "/problems/bad-request");
        assert!(
            body["detail"].as_str().unwrap_or("").contains("line 1"),
            "{body}"
        );
    }

    #[actix_web::test]
    async fn wrong_type_names_the_nested_field() {
        let (status, body) = post(
            JSON,
            r#"{"title":"Tea","codes":[{"value":"a"},{"value":7}]}"#,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["errors"][0]["field"], "codes[1].value");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .contains("expected a string"),
            "{body}"
        );
    }

    #[actix_web::test]
    async fn missing_field_is_named() {
        let (status, body) = post(JSON, r#"{"codes":[]}"#).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["errors"][0]["field"], "title");
    }

    #[actix_web::test]
    async fn unknown_field_is_named() {
        let (status, body) = post(JSON, r#"{"title":"T","codes":[],"price":3}"#).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["errors"][0]["field"], "price");
    }

    #[actix_web::test]
    async fn wrong_content_type_is_415() {
        let (status, body) = post(Some("text/plain"), r#"{"title":"T","codes":[]}"#).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(
            body["detail"].as_str().unwrap_or("").contains("text/plain"),
            "{body}"
        );
        let (status, _) = post(None, r#"{"title":"T","codes":[]}"#).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[actix_web::test]
    async fn oversized_body_is_413() {
        let big = format!(r#"{{"title":"{}","codes":[]}}"#, "x".repeat(4096));
        let (status, body) = post(JSON, &big).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(
            body["detail"].as_str().unwrap_or("").contains("2048"),
            "{body}"
        );
    }

    #[actix_web::test]
    async fn empty_body_is_400() {
        let (status, body) = post(JSON, "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            body["detail"].as_str().unwrap_or("").contains("empty"),
            "{body}"
        );
    }

    #[actix_web::test]
    async fn trailing_data_is_400() {
        let (status, _) = post(JSON, r#"{"title":"T","codes":[]} {"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[actix_web::test]
    async fn json_suffix_media_types_are_json() {
        let (status, _) = post(
            Some("application/merge-patch+json"),
            r#"{"title":"T","codes":[]}"#,
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
}
