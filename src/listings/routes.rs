//! HTTP for the listing gate, and the public key set that verifies attestations.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{AttestationStatus, BatchDecisions, ListingDecision, ListingError, ListingRequest};
use crate::auth::{PlatformAuth, require_scope};
use crate::error::{AppError, FieldError, Problem};
use crate::http::{Endpoint, JsonBody};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/v1/listing-checks").post(check))
        .service(Endpoint::new("/v1/listing-checks/batch").post(check_batch))
        .service(Endpoint::new("/v1/listing-checks/{id}").get(get_check))
        .service(Endpoint::new("/v1/attestations/{id}").get(attestation_status))
        .service(Endpoint::new("/.well-known/jwks.json").get(jwks));
}

impl From<ListingError> for AppError {
    fn from(error: ListingError) -> Self {
        match error {
            ListingError::Invalid { field, message } => AppError::Validation {
                detail: format!("{field}: {message}"),
                errors: vec![FieldError::new(field, message)],
            },
            ListingError::Unavailable(cause) => match &*cause {
                super::WriteError::Refused(_) => AppError::internal(anyhow::Error::new(cause)),
                _ => {
                    tracing::warn!(error = %format!("{:#}", anyhow::Error::new(cause)), "listing decision not stored");
                    AppError::ServiceUnavailable {
                        detail: "decisions cannot be stored right now; nothing was decided, retry shortly".into(),
                    }
                }
            },
            ListingError::Unsettled => AppError::ServiceUnavailable {
                detail: "the facts of this listing changed while it was decided; retry".into(),
            },
            ListingError::NotReady => AppError::ServiceUnavailable {
                detail: "the listing gate is loading its facts; retry shortly".into(),
            },
            ListingError::Database(e) => e.into(),
            ListingError::Pool(e) => e.into(),
            other @ (ListingError::Unreadable { .. }
            | ListingError::Signing(_)
            | ListingError::Task(_)) => AppError::internal(other),
        }
    }
}

/// May this listing go live? `allow`, `review` or `deny`, every reason with a stable code,
/// and a signed attestation (scope `listings:check`). The same listing content asked again
/// gets the stored decision while every fact it rested on is unchanged; otherwise it is
/// decided anew.
#[utoipa::path(post, path = "/v1/listing-checks", tag = "listings", request_body = ListingRequest, security(("bearer" = [])),
    responses(
        (status = 200, description = "The decision", body = ListingDecision),
        (status = 422, description = "A field is malformed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn check(
    state: web::Data<AppState>,
    caller: PlatformAuth,
    body: JsonBody<ListingRequest>,
) -> Result<web::Json<ListingDecision>, AppError> {
    require_scope(&caller.scopes, "listings:check")?;
    Ok(web::Json(
        state.gate.check(&caller.client_id, body.0).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchInput {
    /// Up to 1000 listings.
    #[schema(min_items = 1, max_items = 1000)]
    pub listings: Vec<ListingRequest>,
}

/// Decide up to 1000 listings in one request (scope `listings:check`), under one
/// attestation listing the digest of each decision made.
#[utoipa::path(post, path = "/v1/listing-checks/batch", tag = "listings", request_body = BatchInput, security(("bearer" = [])),
    responses(
        (status = 200, description = "One decision per listing, in order", body = BatchDecisions),
        (status = 422, description = "A field is malformed (named by its index)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn check_batch(
    state: web::Data<AppState>,
    caller: PlatformAuth,
    body: JsonBody<BatchInput>,
) -> Result<web::Json<BatchDecisions>, AppError> {
    require_scope(&caller.scopes, "listings:check")?;
    Ok(web::Json(
        state
            .gate
            .check_batch(&caller.client_id, body.0.listings)
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CheckPath {
    pub id: String,
}

/// A decision made earlier for this platform.
#[utoipa::path(get, path = "/v1/listing-checks/{id}", tag = "listings", params(CheckPath), security(("bearer" = [])),
    responses(
        (status = 200, description = "The decision as answered", body = ListingDecision),
        (status = 404, description = "No such decision for this platform", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_check(
    state: web::Data<AppState>,
    caller: PlatformAuth,
    path: web::Path<CheckPath>,
) -> Result<web::Json<ListingDecision>, AppError> {
    require_scope(&caller.scopes, "listings:check")?;
    let found = state
        .gate
        .get(&caller.client_id, &path.into_inner().id)
        .await?;
    found
        .map(web::Json)
        .ok_or_else(|| AppError::not_found("no such listing check for this platform"))
}

/// Where the decision an attestation vouches for stands now: in force, withdrawn (when
/// and why), expired or superseded. Public: anyone holding an attestation may ask, by its
/// `jti` (a single check) or by the decision's `id` (a decision of a batch).
#[utoipa::path(get, path = "/v1/attestations/{id}", tag = "listings", params(CheckPath),
    responses(
        (status = 200, description = "Where the decision stands", body = AttestationStatus),
        (status = 404, description = "No such decision", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn attestation_status(
    state: web::Data<AppState>,
    path: web::Path<CheckPath>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner().id;
    let found = state.gate.status(&id).await?;
    let status = found.ok_or_else(|| AppError::not_found("no decision has this attestation id"))?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-cache"))
        .json(status))
}

/// Public keys that verify attestations, and the audit key that signs audit checkpoints
/// (JWK Set, Ed25519; the audit key's `kid` starts with `audit-`).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "listings",
    responses((status = 200, description = "JWK Set", body = Object)))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    let mut set = state.attester.jwks();
    if let Some(keys) = set["keys"].as_array_mut() {
        keys.push(crate::audit::CheckpointSigner::new(&state.keys).jwk());
    }
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(set)
}
