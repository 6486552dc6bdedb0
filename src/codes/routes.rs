//! HTTP for codes: parse any accepted form into its canonical key.

use actix_web::web;
use chrono::Datelike;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{CodeError, ParsedCodeJson, parse};
use crate::auth::Authenticated;
use crate::error::{AppError, Problem};
use crate::http::{Endpoint, JsonBody};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/v1/codes/parse").post(parse_code));
}

impl From<CodeError> for AppError {
    fn from(error: CodeError) -> Self {
        AppError::invalid("code", error.to_string())
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeInput {
    /// A GTIN, a GS1 element string (bracketed, or raw with GS separators), a GS1 Digital
    /// Link URI, an EPC SGTIN URN, or an issuer code `prefix:value`.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParsedCodeView {
    #[serde(flatten)]
    pub code: ParsedCodeJson,
    /// The code as a GS1 Digital Link URI on this service (GS1 codes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digital_link: Option<String>,
}

/// Read a code in any accepted form: its canonical key, level and elements (any signed-in
/// caller).
#[utoipa::path(post, path = "/v1/codes/parse", tag = "codes", request_body = CodeInput, security(("bearer" = [])),
    responses(
        (status = 200, description = "The parsed code", body = ParsedCodeView),
        (status = 422, description = "What is wrong with it, and where", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn parse_code(
    state: web::Data<AppState>,
    _caller: Authenticated,
    body: JsonBody<CodeInput>,
) -> Result<web::Json<ParsedCodeView>, AppError> {
    let code = parse(&body.0.code, state.clock.now().year())?;
    let digital_link = code.canonical().starts_with('/').then(|| {
        format!(
            "{}{}",
            state.config.server.public_url.trim_end_matches('/'),
            code.canonical()
        )
    });
    Ok(web::Json(ParsedCodeView {
        code: code.to_json(),
        digital_link,
    }))
}

// ---- issuers and the registry ----

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use utoipa::IntoParams;

use super::registry::{
    BatchFormat, BatchReceipt, CodeStatus, IssuerProfile, Registry, RegistryError, StatusActor,
};
use crate::auth::{AdminAuth, IssuerAuth, OfficerAuth, SellerAuth, require_scope};
use crate::error::FieldError;
use crate::policies::ProvinceScope;

pub fn configure_registry(cfg: &mut web::ServiceConfig, max_batch_bytes: usize) {
    cfg.service(Endpoint::new("/v1/admin/issuers/{client_id}").put(set_issuer))
        .service(
            Endpoint::new("/v1/issuers/me/keys")
                .post_creating(add_key)
                .get(list_keys),
        )
        .service(Endpoint::new("/v1/issuers/me/keys/{key_id}").delete(revoke_key))
        .service(
            Endpoint::new("/v1/issuers/me/code-batches")
                .app_data(web::PayloadConfig::new(max_batch_bytes))
                .post_creating(import_batch),
        )
        .service(Endpoint::new("/v1/issuers/me/licences").post(add_licence))
        .service(Endpoint::new("/v1/issuers/me/code-status").post(issuer_code_status))
        .service(Endpoint::new("/v1/codes/status").post(officer_code_status))
        .service(Endpoint::new("/v1/codes/possible-clones").get(possible_clones))
        .service(Endpoint::new("/v1/me/distributors").post_creating(authorise_distributor));
}

impl From<RegistryError> for AppError {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::Invalid { field, message } => AppError::Validation {
                detail: format!("{field}: {message}"),
                errors: vec![FieldError::new(field, message)],
            },
            e @ RegistryError::BadRows(_) => {
                let detail = e.to_string();
                let RegistryError::BadRows(errors) = e else {
                    unreachable!("matched above")
                };
                AppError::Validation { detail, errors }
            }
            RegistryError::Forbidden(detail) => AppError::forbidden(detail),
            e @ RegistryError::OutOfScope => AppError::forbidden(e.to_string()),
            RegistryError::NotFound(detail) => AppError::not_found(detail),
            RegistryError::Conflict(detail) => AppError::conflict(detail),
            RegistryError::Database(e) => e.into(),
            RegistryError::Pool(e) => e.into(),
            RegistryError::Notify(e) => AppError::internal(e),
            RegistryError::Internal(message) => AppError::internal(anyhow::anyhow!(message)),
        }
    }
}

async fn with_registry<T, F>(state: &web::Data<AppState>, f: F) -> Result<T, AppError>
where
    F: FnOnce(&Registry<'_>) -> Result<T, RegistryError> + Send + 'static,
    T: Send + 'static,
{
    let shared = state.clone();
    let answer = state
        .blocking(move || {
            let registry = Registry {
                pool: &shared.pool,
                clock: shared.clock.as_ref(),
                policies: &shared.policies,
                facts: &shared.facts,
            };
            f(&registry).map_err(AppError::from)
        })
        .await?;
    state.gate.catch_up_all().await;
    Ok(answer)
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ClientPath {
    pub client_id: String,
}

/// Set an issuer client's profile: name, kind, code prefix, province (admins).
#[utoipa::path(put, path = "/v1/admin/issuers/{client_id}", tag = "issuers", params(ClientPath), request_body = IssuerProfile, security(("bearer" = [])),
    responses(
        (status = 204, description = "Set"),
        (status = 404, description = "No issuer client with this id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The prefix belongs to another issuer", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_issuer(
    state: web::Data<AppState>,
    caller: AdminAuth,
    path: web::Path<ClientPath>,
    body: JsonBody<IssuerProfile>,
) -> Result<HttpResponse, AppError> {
    let client_id = path.into_inner().client_id;
    let profile = body.0;
    let admin = format!("account:{}", caller.account_id);
    with_registry(&state, move |r| r.set_issuer(&admin, &client_id, &profile)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyInput {
    /// Base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    pub key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Register a public key that signs your code batches (issuers).
#[utoipa::path(post, path = "/v1/issuers/me/keys", tag = "issuers", request_body = KeyInput, security(("bearer" = [])),
    responses(
        (status = 201, description = "Registered; sign batches with keyid set to key_id", body = KeyView),
        (status = 422, description = "Not an Ed25519 public key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_key(
    state: web::Data<AppState>,
    caller: IssuerAuth,
    body: JsonBody<KeyInput>,
) -> Result<HttpResponse, AppError> {
    let public_key = body.0.public_key;
    let key_id = with_registry(&state, move |r| r.add_key(&caller.client_id, &public_key)).await?;
    Ok(HttpResponse::Created().json(KeyView {
        key_id,
        created_at: None,
        revoked_at: None,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

/// Your keys, active and revoked (issuers).
#[utoipa::path(get, path = "/v1/issuers/me/keys", tag = "issuers", security(("bearer" = [])),
    responses((status = 200, description = "Keys", body = KeyList)))]
pub async fn list_keys(
    state: web::Data<AppState>,
    caller: IssuerAuth,
) -> Result<web::Json<KeyList>, AppError> {
    let keys = with_registry(&state, move |r| r.keys(&caller.client_id)).await?;
    let utc = |d| chrono::DateTime::from_naive_utc_and_offset(d, chrono::Utc);
    Ok(web::Json(KeyList {
        keys: keys
            .into_iter()
            .map(|(key_id, created, revoked)| KeyView {
                key_id,
                created_at: Some(utc(created)),
                revoked_at: revoked.map(utc),
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct KeyPath {
    pub key_id: String,
}

/// Revoke a key: batches signed with it are refused from now on (issuers).
#[utoipa::path(delete, path = "/v1/issuers/me/keys/{key_id}", tag = "issuers", params(KeyPath), security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No active key with this id", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_key(
    state: web::Data<AppState>,
    caller: IssuerAuth,
    path: web::Path<KeyPath>,
) -> Result<HttpResponse, AppError> {
    let key_id = path.into_inner().key_id;
    with_registry(&state, move |r| r.revoke_key(&caller.client_id, &key_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Register a signed batch of codes (issuers, scope `codes:write`). The body is JSON
/// (`{"codes": [...]}`) or CSV (header `code,owner,product_name,category,origin,production_date,expiry_date`);
/// `Tracegate-Signature: keyid=…,sig=…` carries the Ed25519 signature of the exact body.
/// Any bad row refuses the batch, listing every bad row; nothing is stored then.
#[utoipa::path(post, path = "/v1/issuers/me/code-batches", tag = "issuers",
    request_body(content = super::registry::BatchJson, description = "JSON, or text/csv"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = BatchReceipt),
        (status = 200, description = "These exact bytes were registered before by this issuer (a resend after a lost answer): the first batch's receipt, `registered_before: true`", body = BatchReceipt),
        (status = 415, description = "Neither JSON nor CSV", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad signature, or bad rows (each listed)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import_batch(
    state: web::Data<AppState>,
    caller: IssuerAuth,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    require_scope(&caller.scopes, "codes:write")?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let format = if content_type.starts_with("application/json") {
        BatchFormat::Json
    } else if content_type.starts_with("text/csv") {
        BatchFormat::Csv
    } else {
        return Err(AppError::UnsupportedMediaType {
            detail: format!("send the batch as application/json or text/csv, not {content_type:?}"),
        });
    };
    let signature = req
        .headers()
        .get("tracegate-signature")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let receipt = with_registry(&state, move |r| {
        r.import_batch(&caller.client_id, &body, format, signature.as_deref())
    })
    .await?;
    if receipt.registered_before {
        return Ok(HttpResponse::Ok().json(receipt));
    }
    Ok(HttpResponse::Created().json(receipt))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenceInput {
    /// GS1 company prefix, 6 to 12 digits.
    pub prefix: String,
    pub enterprise_code: String,
}

/// Record a GS1 company prefix licensed to an enterprise (GS1 issuers only). GTINs of
/// that enterprise outside its licensed prefixes are then refused.
#[utoipa::path(post, path = "/v1/issuers/me/licences", tag = "issuers", request_body = LicenceInput, security(("bearer" = [])),
    responses(
        (status = 204, description = "Recorded"),
        (status = 403, description = "Not a GS1 issuer", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_licence(
    state: web::Data<AppState>,
    caller: IssuerAuth,
    body: JsonBody<LicenceInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.0;
    with_registry(&state, move |r| {
        r.add_licence(&caller.client_id, &input.prefix, &input.enterprise_code)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusInput {
    /// The code, at the level to change (product, lot or item).
    pub code: String,
    pub status: CodeStatus,
    /// Shown to platforms and consumers.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusChanged {
    /// Listings that rested on the code and were withdrawn (their platforms are told).
    pub listings_withdrawn: usize,
}

/// Who asks for a status change, owned so that it can move to the blocking pool.
enum Changer {
    Issuer(String),
    Officer(String, ProvinceScope),
}

async fn change_status(
    state: web::Data<AppState>,
    changer: Changer,
    input: StatusInput,
) -> Result<web::Json<StatusChanged>, AppError> {
    let metrics = state.metrics.clone();
    let withdrawn = with_registry(&state, move |r| {
        let actor = match &changer {
            Changer::Issuer(id) => StatusActor::Issuer(id),
            Changer::Officer(id, scope) => StatusActor::Officer { id, scope },
        };
        r.set_status(actor, &input.code, input.status, &input.reason)
            .inspect_err(|e| {
                if let RegistryError::OutOfScope = e {
                    metrics.refused(crate::metrics::Refusal::CodeOutOfScope);
                }
            })
    })
    .await?;
    Ok(web::Json(StatusChanged {
        listings_withdrawn: withdrawn,
    }))
}

/// Recall or revoke one of your codes (issuers).
#[utoipa::path(post, path = "/v1/issuers/me/code-status", tag = "issuers", request_body = StatusInput, security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = StatusChanged),
        (status = 403, description = "Another issuer's code", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such registered code", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn issuer_code_status(
    state: web::Data<AppState>,
    caller: IssuerAuth,
    body: JsonBody<StatusInput>,
) -> Result<web::Json<StatusChanged>, AppError> {
    change_status(state, Changer::Issuer(caller.client_id), body.0).await
}

/// Recall or revoke a code whose owner's verified business is in your provinces
/// (officers; national officers any code).
#[utoipa::path(post, path = "/v1/codes/status", tag = "codes", request_body = StatusInput, security(("bearer" = [])),
    responses(
        (status = 200, description = "Changed", body = StatusChanged),
        (status = 403, description = "The code's owner is outside your provinces", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such registered code", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn officer_code_status(
    state: web::Data<AppState>,
    caller: OfficerAuth,
    body: JsonBody<StatusInput>,
) -> Result<web::Json<StatusChanged>, AppError> {
    let scope = ProvinceScope::from_codes(&caller.provinces);
    change_status(state, Changer::Officer(caller.account_id, scope), body.0).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DistributorInput {
    /// Your product (GTIN) or lot.
    pub code: String,
    /// Enterprise code of the distributor.
    pub distributor: String,
    /// Last day of the authorisation, `YYYY-MM-DD`.
    pub valid_until: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorisationCreated {
    pub id: String,
}

/// Let a distributor sell your product or lot until a day (sellers whose verified business
/// owns the code).
#[utoipa::path(post, path = "/v1/me/distributors", tag = "codes", request_body = DistributorInput, security(("bearer" = [])),
    responses(
        (status = 201, description = "Authorised", body = AuthorisationCreated),
        (status = 403, description = "Not the owner of the code", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn authorise_distributor(
    state: web::Data<AppState>,
    caller: SellerAuth,
    body: JsonBody<DistributorInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.0;
    let id = with_registry(&state, move |r| {
        r.authorise_distributor(
            &caller.account_id,
            &input.code,
            &input.distributor,
            &input.valid_until,
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(AuthorisationCreated { id }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CloneList {
    /// Serials scanned from more places, or more often, than `policies/listing.toml`
    /// allows: possibly copied codes. Newest first.
    pub flags: Vec<crate::codes::scans::Flag>,
}

/// Serialised codes whose public scans suggest copies (officers).
#[utoipa::path(get, path = "/v1/codes/possible-clones", tag = "codes", security(("bearer" = [])),
    responses((status = 200, description = "Flagged serials", body = CloneList)))]
pub async fn possible_clones(
    state: web::Data<AppState>,
    _caller: OfficerAuth,
) -> Result<web::Json<CloneList>, AppError> {
    let flags = state
        .db(|conn| Ok(crate::codes::scans::flags(conn, 500)?))
        .await?;
    Ok(web::Json(CloneList { flags }))
}
