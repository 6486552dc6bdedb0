//! HTTP for seller identity: identifier pre-checks, verification, officer review and
//! reveal, and shop binding.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    BindingCode, BindingView, Bindings, BusinessClaim, BusinessKind, EnterpriseCode,
    EnterpriseCodeParts, IdentityClaim, IdentityError, NationalId, NationalIdParts, Sellers,
    ShopSeller, VerificationView,
};
use crate::auth::{Authenticated, OfficerAuth, PlatformAuth, SellerAuth, require_scope};
use crate::error::{AppError, FieldError, Problem};
use crate::http::{Endpoint, JsonBody};
use crate::metrics::Refusal;
use crate::policies::ProvinceScope;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/v1/identifiers/parse").post(parse_identifier))
        .service(Endpoint::new("/v1/me/verification").get(my_verification))
        .service(Endpoint::new("/v1/me/identity").post(submit_identity))
        .service(Endpoint::new("/v1/me/business").post(submit_business))
        .service(Endpoint::new("/v1/me/binding-codes").post_creating(issue_binding_code))
        .service(Endpoint::new("/v1/me/bindings").get(my_bindings))
        .service(Endpoint::new("/v1/me/bindings/{id}").delete(revoke_binding))
        .service(Endpoint::new("/v1/seller-bindings").post_creating(bind_shop))
        .service(Endpoint::new("/v1/sellers/by-shop/{shop_id}").get(seller_by_shop))
        .service(Endpoint::new("/v1/reviews").get(pending_reviews))
        .service(Endpoint::new("/v1/sellers/{id}").get(seller_for_officer))
        .service(Endpoint::new("/v1/sellers/{id}/business-review").post(review_business))
        .service(Endpoint::new("/v1/sellers/{id}/national-id/reveal").post(reveal_national_id));
}

impl From<IdentityError> for AppError {
    fn from(error: IdentityError) -> Self {
        match error {
            IdentityError::Invalid { field, message } => AppError::Validation {
                detail: message.clone(),
                errors: vec![FieldError::new(field, message)],
            },
            IdentityError::Conflict(detail) => AppError::conflict(detail),
            IdentityError::NotFound(detail) => AppError::not_found(detail),
            IdentityError::Forbidden(detail) => AppError::forbidden(detail),
            e @ IdentityError::PersonLimit => AppError::conflict(e.to_string()),
            e @ IdentityError::Locked { retry_after_secs } => AppError::TooManyRequests {
                retry_after_secs,
                detail: e.to_string(),
            },
            IdentityError::Unavailable(e) => AppError::ServiceUnavailable {
                detail: format!("{e}; nothing was decided, retry shortly"),
            },
            IdentityError::Notify(e) => AppError::internal(e),
            IdentityError::Database(e) => e.into(),
            IdentityError::Pool(e) => e.into(),
            IdentityError::Internal(message) => AppError::internal(anyhow::anyhow!(message)),
        }
    }
}

async fn with_sellers<T, F>(state: &web::Data<AppState>, f: F) -> Result<T, AppError>
where
    F: FnOnce(&Sellers<'_>) -> Result<T, IdentityError> + Send + 'static,
    T: Send + 'static,
{
    let shared = state.clone();
    state
        .blocking(move || {
            let sellers = Sellers {
                pool: &shared.pool,
                clock: shared.clock.as_ref(),
                vault: &shared.vault,
                policies: &shared.policies,
                registers: &shared.registers,
                facts: &shared.facts,
            };
            f(&sellers).map_err(AppError::from)
        })
        .await
}

async fn with_bindings<T, F>(state: &web::Data<AppState>, f: F) -> Result<T, AppError>
where
    F: FnOnce(&Bindings<'_>) -> Result<T, IdentityError> + Send + 'static,
    T: Send + 'static,
{
    let shared = state.clone();
    state
        .blocking(move || {
            let bindings = Bindings {
                pool: &shared.pool,
                clock: shared.clock.as_ref(),
                policies: &shared.policies,
                facts: &shared.facts,
            };
            f(&bindings).map_err(AppError::from)
        })
        .await
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdentifierKind {
    NationalId,
    EnterpriseCode,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifierInput {
    pub kind: IdentifierKind,
    pub value: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ParsedIdentifier {
    NationalId(NationalIdParts),
    EnterpriseCode(EnterpriseCodeParts),
}

/// Check the form of a citizen ID or enterprise code before submitting it (no register
/// look-up). A citizen ID comes back masked.
#[utoipa::path(post, path = "/v1/identifiers/parse", tag = "identity", request_body = IdentifierInput, security(("bearer" = [])),
    responses(
        (status = 200, description = "The parts of the identifier", body = ParsedIdentifier),
        (status = 422, description = "What is wrong with it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn parse_identifier(
    _caller: Authenticated,
    body: JsonBody<IdentifierInput>,
) -> Result<web::Json<ParsedIdentifier>, AppError> {
    let IdentifierInput { kind, value } = body.0;
    let parsed = match kind {
        IdentifierKind::NationalId => NationalId::parse(&value)
            .map(|id| ParsedIdentifier::NationalId(id.parts()))
            .map_err(|e| AppError::invalid("value", format!("citizen ID {e}")))?,
        IdentifierKind::EnterpriseCode => EnterpriseCode::parse(&value)
            .map(|code| ParsedIdentifier::EnterpriseCode(code.parts()))
            .map_err(|e| AppError::invalid("value", format!("enterprise code {e}")))?,
    };
    Ok(web::Json(parsed))
}

/// The signed-in seller's verification: standing, each step, and what is missing.
#[utoipa::path(get, path = "/v1/me/verification", tag = "identity", security(("bearer" = [])),
    responses((status = 200, description = "Verification", body = VerificationView)))]
pub async fn my_verification(
    state: web::Data<AppState>,
    caller: SellerAuth,
) -> Result<web::Json<VerificationView>, AppError> {
    Ok(web::Json(
        with_sellers(&state, move |s| s.verification(&caller.account_id)).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityInput {
    /// 12-digit citizen ID.
    pub national_id: String,
    /// Full name as on the citizen ID card.
    pub full_name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
}

/// Prove identity: the citizen ID, name and birth date are checked against the population
/// register. The answer says verified or rejected (with a reason code).
#[utoipa::path(post, path = "/v1/me/identity", tag = "identity", request_body = IdentityInput, security(("bearer" = [])),
    responses(
        (status = 200, description = "Checked; see identity.status and identity.reason", body = VerificationView),
        (status = 409, description = "Identity already verified", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many checks did not match, for this account or from this address; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The population register did not answer; nothing was decided", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn submit_identity(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: SellerAuth,
    body: JsonBody<IdentityInput>,
) -> Result<web::Json<VerificationView>, AppError> {
    let input = body.0;
    let source = req
        .peer_addr()
        .map_or_else(|| "unknown".to_string(), |a| a.ip().to_string());
    let view = with_sellers(&state, move |s| {
        s.submit_identity(
            &caller.account_id,
            &IdentityClaim {
                national_id: &input.national_id,
                full_name: &input.full_name,
                birth_date: &input.birth_date,
                source: &source,
            },
        )
    })
    .await;
    if let Err(AppError::TooManyRequests { .. }) = &view {
        state.metrics.refused(Refusal::IdentityLocked);
    }
    Ok(web::Json(view?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessInput {
    pub kind: BusinessKind,
    /// Enterprise code (`0100109106`, `0100109106-001`), or household business
    /// registration number.
    pub code: String,
    /// For a seller who is not the enterprise's legal representative: reference of the
    /// authorisation letter (number, date, signatory) for an officer to review.
    #[serde(default)]
    pub authorisation_note: Option<String>,
}

/// Prove a household business or enterprise, checked against the business register.
#[utoipa::path(post, path = "/v1/me/business", tag = "identity", request_body = BusinessInput, security(("bearer" = [])),
    responses(
        (status = 200, description = "Checked; see business.status (verified, pending_review, rejected)", body = VerificationView),
        (status = 409, description = "Identity not verified yet, or a business already verified", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The business register did not answer; nothing was decided", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn submit_business(
    state: web::Data<AppState>,
    caller: SellerAuth,
    body: JsonBody<BusinessInput>,
) -> Result<web::Json<VerificationView>, AppError> {
    let input = body.0;
    let view = with_sellers(&state, move |s| {
        s.submit_business(
            &caller.account_id,
            &BusinessClaim {
                kind: input.kind,
                code: &input.code,
                authorisation_note: input.authorisation_note.as_deref(),
            },
        )
    })
    .await?;
    Ok(web::Json(view))
}

/// A one-time code to bind a platform shop (verified sellers only; valid 15 minutes).
#[utoipa::path(post, path = "/v1/me/binding-codes", tag = "binding", security(("bearer" = [])),
    responses(
        (status = 201, description = "The code", body = BindingCode),
        (status = 409, description = "The seller is not verified", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn issue_binding_code(
    state: web::Data<AppState>,
    caller: SellerAuth,
) -> Result<HttpResponse, AppError> {
    let code = with_bindings(&state, move |b| b.issue_code(&caller.account_id)).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(code))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BindingList {
    pub bindings: Vec<BindingView>,
}

/// The seller's shop bindings, newest first.
#[utoipa::path(get, path = "/v1/me/bindings", tag = "binding", security(("bearer" = [])),
    responses((status = 200, description = "Bindings", body = BindingList)))]
pub async fn my_bindings(
    state: web::Data<AppState>,
    caller: SellerAuth,
) -> Result<web::Json<BindingList>, AppError> {
    let bindings = with_bindings(&state, move |b| b.list(&caller.account_id)).await?;
    Ok(web::Json(BindingList { bindings }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct IdPath {
    pub id: String,
}

/// Revoke a binding; the platform is told by webhook.
#[utoipa::path(delete, path = "/v1/me/bindings/{id}", tag = "binding", params(IdPath), security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such active binding", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_binding(
    state: web::Data<AppState>,
    caller: SellerAuth,
    path: web::Path<IdPath>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner().id;
    with_bindings(&state, move |b| b.revoke(&caller.account_id, &id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "binding_code": "K7QF2-9XWMA",
    "shop_id": "shop-senviet",
    "shop_name": "Mỹ phẩm Sen Việt"
}))]
pub struct BindShop {
    /// The code the seller gave you.
    pub binding_code: String,
    /// Your id of the shop.
    pub shop_id: String,
    #[serde(default)]
    pub shop_name: Option<String>,
}

/// Bind one of your shops to the seller who gave you the code (scope `sellers:bind`).
#[utoipa::path(post, path = "/v1/seller-bindings", tag = "binding", request_body = BindShop, security(("bearer" = [])),
    responses(
        (status = 201, description = "Bound; the seller as you may show it", body = ShopSeller),
        (status = 409, description = "Shop already bound, or seller no longer verified", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Code wrong, used or expired", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn bind_shop(
    state: web::Data<AppState>,
    caller: PlatformAuth,
    body: JsonBody<BindShop>,
) -> Result<HttpResponse, AppError> {
    require_scope(&caller.scopes, "sellers:bind")?;
    let input = body.0;
    let seller = with_bindings(&state, move |b| {
        b.bind(
            &caller.client_id,
            &input.binding_code,
            &input.shop_id,
            input.shop_name.as_deref(),
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(seller))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ShopPath {
    pub shop_id: String,
}

/// The seller behind one of your shops: standing, kind, level, and the trader information
/// buyers must be shown (scope `sellers:read`).
#[utoipa::path(get, path = "/v1/sellers/by-shop/{shop_id}", tag = "binding", params(ShopPath), security(("bearer" = [])),
    responses(
        (status = 200, description = "The seller", body = ShopSeller),
        (status = 404, description = "No seller is bound to this shop", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn seller_by_shop(
    state: web::Data<AppState>,
    caller: PlatformAuth,
    path: web::Path<ShopPath>,
) -> Result<web::Json<ShopSeller>, AppError> {
    require_scope(&caller.scopes, "sellers:read")?;
    let shop = path.into_inner().shop_id;
    Ok(web::Json(
        with_bindings(&state, move |b| b.by_shop(&caller.client_id, &shop)).await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewItem {
    pub seller_id: String,
    pub verification: VerificationView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewList {
    pub reviews: Vec<ReviewItem>,
}

/// Sellers waiting for review of an authorisation letter, in your provinces (officers).
#[utoipa::path(get, path = "/v1/reviews", tag = "identity", security(("bearer" = [])),
    responses((status = 200, description = "Oldest first", body = ReviewList)))]
pub async fn pending_reviews(
    state: web::Data<AppState>,
    caller: OfficerAuth,
) -> Result<web::Json<ReviewList>, AppError> {
    let scope = ProvinceScope::from_codes(&caller.provinces);
    let reviews = with_sellers(&state, move |s| s.pending_reviews(&scope)).await?;
    Ok(web::Json(ReviewList {
        reviews: reviews
            .into_iter()
            .map(|(seller_id, verification)| ReviewItem {
                seller_id,
                verification,
            })
            .collect(),
    }))
}

/// A seller's verification, citizen ID masked (officers in the seller's province).
#[utoipa::path(get, path = "/v1/sellers/{id}", tag = "identity", params(IdPath), security(("bearer" = [])),
    responses(
        (status = 200, description = "The seller", body = VerificationView),
        (status = 404, description = "No such seller in your provinces", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn seller_for_officer(
    state: web::Data<AppState>,
    caller: OfficerAuth,
    path: web::Path<IdPath>,
) -> Result<web::Json<VerificationView>, AppError> {
    let scope = ProvinceScope::from_codes(&caller.provinces);
    let id = path.into_inner().id;
    Ok(web::Json(
        with_sellers(&state, move |s| s.for_officer(&scope, &id)).await?,
    ))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    Approve,
    Reject,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    pub decision: ReviewDecision,
    /// Why; recorded and kept with the decision.
    pub reason: String,
}

/// Approve or reject a seller's authorisation to act for an enterprise (officers).
#[utoipa::path(post, path = "/v1/sellers/{id}/business-review", tag = "identity", params(IdPath), request_body = ReviewInput, security(("bearer" = [])),
    responses(
        (status = 200, description = "Decided", body = VerificationView),
        (status = 404, description = "No such seller in your provinces", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Nothing to review", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn review_business(
    state: web::Data<AppState>,
    caller: OfficerAuth,
    path: web::Path<IdPath>,
    body: JsonBody<ReviewInput>,
) -> Result<web::Json<VerificationView>, AppError> {
    let scope = ProvinceScope::from_codes(&caller.provinces);
    let id = path.into_inner().id;
    let input = body.0;
    let approve = matches!(input.decision, ReviewDecision::Approve);
    let view = with_sellers(&state, move |s| {
        s.review_business(&caller.account_id, &scope, &id, approve, &input.reason)
    })
    .await?;
    Ok(web::Json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealInput {
    /// Why the full number is needed; recorded in the audit log.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevealedNationalId {
    pub national_id: String,
}

/// The seller's full citizen ID, for an officer who states why (recorded).
#[utoipa::path(post, path = "/v1/sellers/{id}/national-id/reveal", tag = "identity", params(IdPath), request_body = RevealInput, security(("bearer" = [])),
    responses(
        (status = 200, description = "The full number", body = RevealedNationalId),
        (status = 404, description = "No such seller in your provinces", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason given", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reveal_national_id(
    state: web::Data<AppState>,
    caller: OfficerAuth,
    path: web::Path<IdPath>,
    body: JsonBody<RevealInput>,
) -> Result<HttpResponse, AppError> {
    let scope = ProvinceScope::from_codes(&caller.provinces);
    let id = path.into_inner().id;
    let reason = body.0.reason;
    let national_id = with_sellers(&state, move |s| {
        s.reveal_national_id(&caller.account_id, &scope, &id, &reason)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(RevealedNationalId { national_id }))
}
