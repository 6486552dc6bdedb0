//! `Idempotency-Key` on the POSTs that create something (DESIGN §10): a client that lost
//! an answer sends the same request with the same key again and gets the first answer,
//! instead of creating a second resource or being told it exists already.
//!
//! Keys are the caller's: one client's key never meets another's. A key is reserved before
//! the handler runs (a concurrent retry gets 409), its successful answer is kept for 24
//! hours, sealed (it may carry a secret shown once); an answer that is not a success frees
//! the key so the corrected request can use it. The same key with another request (method,
//! path, query, media type or body) is refused with 422.

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::db::schema::idempotency_keys;
use crate::db::{DbConnection, write_transaction};
use crate::error::AppError;
use crate::state::AppState;
use crate::vault::{Sealed, Vault};

/// The request header.
pub const HEADER: &str = "Idempotency-Key";
/// Set on an answer that is a replay of the first one.
pub const REPLAYED: &str = "Idempotency-Replayed";
/// How long an answer is kept.
pub const KEEP_HOURS: i64 = 24;
/// Longest key accepted.
pub const MAX_KEY_LENGTH: usize = 255;

/// Wraps a resource whose POST creates something.
pub async fn idempotent(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if req.method() != actix_web::http::Method::POST {
        return next.call(req).await;
    }
    let Some(raw_key) = req.headers().get(HEADER).cloned() else {
        return next.call(req).await;
    };
    let key = match parse_key(&raw_key) {
        Ok(key) => key,
        Err(error) => return Ok(req.error_response(error)),
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    let now = state.clock.now();
    // An invalid token is the handler's to refuse; the key plays no part then.
    let Some(scope) = caller_scope(&req, &state, now) else {
        return next.call(req).await;
    };
    let limit = state
        .config
        .server
        .max_batch_bytes
        .max(state.config.server.max_body_bytes) as usize;
    let (http_req, payload) = req.into_parts();
    let body = match read_body(payload, limit).await {
        Ok(body) => body,
        Err(error) => {
            return Ok(ServiceResponse::from_err(error, http_req));
        }
    };
    let request_sha256 = request_digest(&http_req, &body);
    let req = ServiceRequest::from_parts(http_req, Payload::from(body));

    let reservation = {
        let (scope, key, digest, vault) = (
            scope.clone(),
            key.clone(),
            request_sha256.clone(),
            state.vault.clone(),
        );
        state
            .db(move |conn| reserve(conn, &vault, &scope, &key, &digest, now))
            .await
    };
    match reservation {
        Err(error) => return Ok(req.error_response(error)),
        Ok(Reservation::Replay(answer)) => return Ok(replay(req, answer)),
        Ok(Reservation::Refused(error)) => return Ok(req.error_response(error)),
        Ok(Reservation::Reserved) => {}
    }

    let response = match next.call(req).await {
        Ok(response) => response,
        Err(error) => {
            release(&state, scope, key).await;
            return Err(error);
        }
    };
    if !response.status().is_success() {
        release(&state, scope, key).await;
        return Ok(response);
    }
    let (http_req, response) = response.into_parts();
    let (response, body) = response.into_parts();
    let bytes = match actix_web::body::to_bytes(body).await {
        Ok(bytes) => bytes,
        Err(error) => {
            release(&state, scope, key).await;
            return Ok(ServiceResponse::from_err(
                AppError::internal(anyhow::anyhow!("reading the answer failed: {error}")),
                http_req,
            ));
        }
    };
    let answer = Answer {
        status: response.status().as_u16(),
        content_type: header_text(response.headers(), header::CONTENT_TYPE),
        location: header_text(response.headers(), header::LOCATION),
        body: bytes.to_vec(),
    };
    let vault = state.vault.clone();
    let stored = state
        .db(move |conn| record(conn, &vault, &scope, &key, &answer))
        .await;
    if let Err(error) = stored {
        // The resource exists; failing now would invite a retry that creates it again.
        tracing::error!(error = %error, "keeping the answer of an idempotent request failed");
    }
    Ok(ServiceResponse::new(
        http_req,
        response.set_body(BoxBody::new(bytes)),
    ))
}

fn parse_key(value: &HeaderValue) -> Result<String, AppError> {
    let text = value
        .to_str()
        .map_err(|_| AppError::invalid(HEADER, "must be visible ASCII text"))?;
    if text.is_empty() || text.len() > MAX_KEY_LENGTH {
        return Err(AppError::invalid(
            HEADER,
            format!("must be 1 to {MAX_KEY_LENGTH} characters (a UUID is a good key)"),
        ));
    }
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::invalid(
            HEADER,
            "must be visible ASCII without spaces",
        ));
    }
    Ok(text.to_string())
}

/// Whose key it is: the token's subject, or `anonymous` without a token. `None` when a
/// token is sent but does not verify.
fn caller_scope(req: &ServiceRequest, state: &AppState, now: DateTime<Utc>) -> Option<String> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Some("anonymous".into());
    };
    let token = value.to_str().ok()?.strip_prefix("Bearer ")?.trim();
    let claims = state.tokens.verify(token, now.timestamp()).ok()?;
    Some(format!("subject:{}", claims.sub))
}

async fn read_body(mut payload: Payload, limit: usize) -> Result<web::Bytes, AppError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            AppError::bad_request(format!("the request body could not be read: {e}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// SHA-256 (hex) of what makes two requests the same request.
fn request_digest(req: &actix_web::HttpRequest, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [
        req.method().as_str(),
        req.path(),
        req.query_string(),
        req.headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    ] {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hash.update(body);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn header_text(headers: &header::HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A kept answer.
struct Answer {
    status: u16,
    content_type: Option<String>,
    location: Option<String>,
    body: Vec<u8>,
}

enum Reservation {
    /// The key is now this request's.
    Reserved,
    /// The first request with this key succeeded: its answer.
    Replay(Answer),
    /// In flight, or used for another request.
    Refused(AppError),
}

fn context(scope: &str, key: &str) -> String {
    format!("idempotency:{scope}:{key}")
}

#[derive(Queryable)]
struct KeptRow {
    request_sha256: String,
    status: Option<i32>,
    content_type: Option<String>,
    location: Option<String>,
    body_sealed: Option<Vec<u8>>,
    body_key: Option<String>,
}

fn reserve(
    conn: &mut DbConnection,
    vault: &Vault,
    scope: &str,
    key: &str,
    request_sha256: &str,
    now: DateTime<Utc>,
) -> Result<Reservation, AppError> {
    let now = now.naive_utc();
    write_transaction(conn, |conn| {
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::expires_at.le(now)))
            .execute(conn)?;
        let kept: Option<KeptRow> = idempotency_keys::table
            .find((scope, key))
            .select((
                idempotency_keys::request_sha256,
                idempotency_keys::status,
                idempotency_keys::content_type,
                idempotency_keys::location,
                idempotency_keys::body_sealed,
                idempotency_keys::body_key,
            ))
            .first(conn)
            .optional()?;
        let Some(kept) = kept else {
            let inserted = diesel::insert_into(idempotency_keys::table)
                .values((
                    idempotency_keys::scope.eq(scope),
                    idempotency_keys::idempotency_key.eq(key),
                    idempotency_keys::request_sha256.eq(request_sha256),
                    idempotency_keys::created_at.eq(now),
                    idempotency_keys::expires_at.eq(now + TimeDelta::hours(KEEP_HOURS)),
                ))
                .execute(conn);
            return match inserted {
                Ok(_) => Ok(Reservation::Reserved),
                // A concurrent duplicate reserved it between the read and the insert (on
                // PostgreSQL, where both read no row): it is in flight. An error, so that
                // the failed transaction is rolled back.
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => Err(in_progress()),
                Err(error) => Err(error.into()),
            };
        };
        if kept.request_sha256 != request_sha256 {
            return Ok(Reservation::Refused(AppError::invalid(
                HEADER,
                "was used with a different request in the last 24 hours; send a new key for a new request",
            )));
        }
        let (Some(status), Some(sealed), Some(key_id)) =
            (kept.status, kept.body_sealed, kept.body_key)
        else {
            return Ok(Reservation::Refused(in_progress()));
        };
        let body = vault
            .open(
                &Sealed {
                    key_id,
                    bytes: sealed,
                },
                &context(scope, key),
            )
            .map_err(|e| AppError::internal(anyhow::anyhow!("opening a kept answer: {e}")))?;
        Ok(Reservation::Replay(Answer {
            status: u16::try_from(status).unwrap_or(200),
            content_type: kept.content_type,
            location: kept.location,
            body,
        }))
    })
}

fn in_progress() -> AppError {
    AppError::Conflict {
        detail: "a request with this Idempotency-Key is still being processed; retry shortly"
            .into(),
    }
}

fn record(
    conn: &mut DbConnection,
    vault: &Vault,
    scope: &str,
    key: &str,
    answer: &Answer,
) -> Result<(), AppError> {
    let sealed = vault
        .seal(&answer.body, &context(scope, key))
        .map_err(|e| AppError::internal(anyhow::anyhow!("sealing an answer: {e}")))?;
    write_transaction(conn, |conn| {
        diesel::update(idempotency_keys::table.find((scope, key)))
            .set((
                idempotency_keys::status.eq(Some(i32::from(answer.status))),
                idempotency_keys::content_type.eq(&answer.content_type),
                idempotency_keys::location.eq(&answer.location),
                idempotency_keys::body_sealed.eq(Some(&sealed.bytes)),
                idempotency_keys::body_key.eq(Some(&sealed.key_id)),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Frees a reserved key whose request did not succeed.
async fn release(state: &AppState, scope: String, key: String) {
    let freed = state
        .db(move |conn| {
            diesel::delete(idempotency_keys::table.find((scope.as_str(), key.as_str())))
                .execute(conn)?;
            Ok(())
        })
        .await;
    if let Err(error) = freed {
        tracing::warn!(error = %error, "freeing an idempotency key failed; it expires in 24 hours");
    }
}

fn replay(req: ServiceRequest, answer: Answer) -> ServiceResponse<BoxBody> {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = actix_web::HttpResponse::build(status);
    response.insert_header((REPLAYED, "true"));
    if let Some(content_type) = answer.content_type {
        response.insert_header((header::CONTENT_TYPE, content_type));
    }
    if let Some(location) = answer.location {
        response.insert_header((header::LOCATION, location));
    }
    req.into_response(response.body(answer.body).map_into_boxed_body())
}

/// Documentation of the header, for the operations it applies to.
pub fn description() -> String {
    format!(
        "Makes a retry safe: send the same request with the same key (1 to {MAX_KEY_LENGTH} visible ASCII characters; a UUID) and get the first successful answer again, with `{REPLAYED}: true`, instead of a second resource. Answers are kept {KEEP_HOURS} hours per caller. The same key with another request is refused (422); while the first is in flight, 409. An answer that is not a success is not kept."
    )
}
