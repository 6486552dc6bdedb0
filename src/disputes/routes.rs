//! HTTP for disputes: filing (by a platform, or by a buyer directly), the case and its
//! moves, timeline, notes, assignment, evidence, the officers' queue and reports.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use utoipa::{IntoParams, ToSchema};

use super::{
    ActionInput, BuyerInput, Caller, CaseInput, DisputeError, DisputeSummary, DisputeView,
    Disputes, EventView, EvidenceView, QueueQuery, Report,
};
use crate::auth::{OfficerAuth, PartyAuth, PlatformAuth, SellerAuth, require_scope};
use crate::error::{AppError, FieldError, Problem};
use crate::http::{Endpoint, JsonBody, if_match};
use crate::i18n::Language;
use crate::policies::ProvinceScope;
use crate::state::AppState;

/// Header a buyer sends the token of their case link in.
pub const CASE_TOKEN_HEADER: &str = "Tracegate-Case-Token";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        Endpoint::new("/v1/disputes")
            .post_creating(file_dispute)
            .get(queue),
    )
    .service(Endpoint::new("/v1/public/disputes").post(file_directly))
    .service(Endpoint::new("/v1/public/disputes/confirm").post(confirm))
    .service(Endpoint::new("/v1/me/disputes").get(my_disputes))
    .service(Endpoint::new("/v1/disputes/{id}").get(get_dispute))
    .service(Endpoint::new("/v1/disputes/{id}/actions").post(act))
    .service(Endpoint::new("/v1/disputes/{id}/timeline").get(timeline))
    .service(Endpoint::new("/v1/disputes/{id}/notes").post_creating(add_note))
    .service(Endpoint::new("/v1/disputes/{id}/assignee").put(assign))
    .service(Endpoint::new("/v1/disputes/{id}/evidence").post_creating(upload_evidence))
    .service(Endpoint::new("/v1/disputes/{id}/evidence/{evidence_id}").get(download_evidence))
    .service(Endpoint::new("/v1/disputes/{id}/evidence/{evidence_id}/hide").post(hide_evidence))
    .service(Endpoint::new("/v1/dispute-reports").get(report))
    .service(Endpoint::new("/v1/dispute-reports/cases.csv").get(export_csv));
}

impl From<DisputeError> for AppError {
    fn from(error: DisputeError) -> Self {
        match error {
            DisputeError::Invalid { field, message } => AppError::Validation {
                detail: format!("{field}: {message}"),
                errors: vec![FieldError::new(field, message)],
            },
            DisputeError::NotFound(detail) => AppError::not_found(detail),
            DisputeError::Forbidden(detail) => AppError::forbidden(detail),
            DisputeError::Conflict(detail) => AppError::conflict(detail),
            DisputeError::InvalidMove { detail, allowed } => {
                AppError::InvalidMove { detail, allowed }
            }
            DisputeError::Stale(detail) => AppError::PreconditionFailed { detail },
            DisputeError::TooLarge(limit) => AppError::PayloadTooLarge { limit },
            DisputeError::EvidenceLimit(limit) => AppError::invalid("file", limit.to_string()),
            DisputeError::UnsupportedType(detail) => AppError::UnsupportedMediaType { detail },
            DisputeError::Notify(e) => AppError::internal(e),
            DisputeError::Database(e) => e.into(),
            DisputeError::Pool(e) => e.into(),
            DisputeError::Internal(message) => AppError::internal(anyhow::anyhow!(message)),
        }
    }
}

async fn with_disputes<T, F>(state: &web::Data<AppState>, f: F) -> Result<T, AppError>
where
    F: FnOnce(&Disputes<'_>) -> Result<T, DisputeError> + Send + 'static,
    T: Send + 'static,
{
    let shared = state.clone();
    state
        .blocking(move || {
            let disputes = Disputes {
                pool: &shared.pool,
                clock: shared.clock.as_ref(),
                policies: &shared.policies,
                facts: &shared.facts,
                vault: &shared.vault,
                evidence: &shared.evidence,
                config: &shared.config.disputes,
                public_url: &shared.config.server.public_url,
            };
            f(&disputes).map_err(AppError::from)
        })
        .await
}

/// The caller of a case route: a buyer with the case link's token, or a signed-in party
/// or officer.
pub struct CaseCaller(pub Caller);

impl FromRequest for CaseCaller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if let Some(value) = req.headers().get(CASE_TOKEN_HEADER) {
            let token = value.to_str().map(str::trim).unwrap_or("").to_string();
            return Box::pin(async move {
                if token.is_empty() {
                    return Err(AppError::unauthorized(format!(
                        "{CASE_TOKEN_HEADER} is empty; send the token of your case link"
                    )));
                }
                Ok(CaseCaller(Caller::Buyer(token)))
            });
        }
        let party = PartyAuth::from_request(req, payload);
        Box::pin(async move {
            Ok(CaseCaller(match party.await? {
                PartyAuth::Officer(o) => Caller::Officer {
                    scope: ProvinceScope::from_codes(&o.provinces),
                    id: o.account_id,
                    role: o.role,
                },
                PartyAuth::Seller(s) => Caller::Seller(s.account_id),
                PartyAuth::Platform(p) => {
                    require_scope(&p.scopes, "disputes:file")?;
                    Caller::Platform(p.client_id)
                }
            }))
        })
    }
}

fn officer_caller(officer: OfficerAuth) -> Caller {
    Caller::Officer {
        scope: ProvinceScope::from_codes(&officer.provinces),
        id: officer.account_id,
        role: officer.role,
    }
}

fn with_etag(view: DisputeView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, format!("\"{}\"", view.version)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(view)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformFiling {
    #[serde(flatten)]
    pub case: CaseInput,
    pub buyer: BuyerInput,
}

/// File a case for one of your buyers (scope `disputes:file`). The seller behind the shop
/// is told at once. A second filing by the same buyer about the same listing is linked to
/// the open case (200) instead of opening another.
#[utoipa::path(post, path = "/v1/disputes", tag = "disputes", request_body = PlatformFiling, security(("bearer" = [])),
    responses(
        (status = 201, description = "Filed", body = DisputeView),
        (status = 200, description = "Linked to the buyer's open case about this listing", body = DisputeView),
        (status = 422, description = "A field is wrong, or no seller is bound to the shop", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn file_dispute(
    state: web::Data<AppState>,
    caller: PlatformAuth,
    body: JsonBody<PlatformFiling>,
) -> Result<HttpResponse, AppError> {
    require_scope(&caller.scopes, "disputes:file")?;
    let filing = body.0;
    let filed = with_disputes(&state, move |d| {
        d.file_for_buyer(&caller.client_id, &filing.case, &filing.buyer)
    })
    .await?;
    let mut response = if filed.linked {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    };
    Ok(response
        .insert_header((
            header::LOCATION,
            format!("/v1/disputes/{}", filed.case.summary.id),
        ))
        .insert_header((header::ETAG, format!("\"{}\"", filed.case.version)))
        .json(filed.case))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectFiling {
    /// The platform's client id (shown on the platform's listing page and in tracegate's
    /// public verification page).
    pub platform_id: String,
    #[serde(flatten)]
    pub case: CaseInput,
    /// Your email address: a link to confirm it and follow the case is sent there.
    pub email: String,
    #[serde(default)]
    pub language: Language,
}

/// File a case as a buyer. Nothing happens until you confirm your address with the link
/// mailed to you; the answer is the same whichever address you give.
#[utoipa::path(post, path = "/v1/public/disputes", tag = "disputes", request_body = DirectFiling,
    responses(
        (status = 202, description = "Received; confirm with the mailed link"),
        (status = 422, description = "A field is wrong, or no seller is bound to the shop", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn file_directly(
    state: web::Data<AppState>,
    body: JsonBody<DirectFiling>,
) -> Result<HttpResponse, AppError> {
    let filing = body.0;
    with_disputes(&state, move |d| {
        d.file_directly(
            &filing.platform_id,
            &filing.case,
            &filing.email,
            filing.language,
        )
    })
    .await?;
    Ok(HttpResponse::Accepted().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmInput {
    /// The token of the mailed link.
    pub token: String,
}

/// Confirm a case filed directly (idempotent): it goes to the seller.
#[utoipa::path(post, path = "/v1/public/disputes/confirm", tag = "disputes", request_body = ConfirmInput,
    responses(
        (status = 200, description = "Confirmed", body = DisputeView),
        (status = 422, description = "The link is not valid", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm(
    state: web::Data<AppState>,
    body: JsonBody<ConfirmInput>,
) -> Result<HttpResponse, AppError> {
    let token = body.0.token;
    let view = with_disputes(&state, move |d| d.confirm(&token)).await?;
    Ok(with_etag(view))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DisputeList {
    pub disputes: Vec<DisputeSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The officers' queue: cases of your provinces, newest first, filtered.
#[utoipa::path(get, path = "/v1/disputes", tag = "disputes", params(QueueQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of cases", body = DisputeList),
        (status = 403, description = "A province outside your scope", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn queue(
    state: web::Data<AppState>,
    caller: OfficerAuth,
    query: web::Query<QueueQuery>,
) -> Result<web::Json<DisputeList>, AppError> {
    let scope = ProvinceScope::from_codes(&caller.provinces);
    let query = query.into_inner();
    // PostgreSQL refuses a NUL inside text: no filter with a control character reaches it.
    for (field, value) in [
        ("status", &query.status),
        ("province", &query.province),
        ("kind", &query.kind),
        ("assignee", &query.assignee),
        ("cursor", &query.cursor),
    ] {
        if value
            .as_deref()
            .is_some_and(|v| v.chars().any(char::is_control))
        {
            return Err(AppError::invalid(
                field,
                "must not contain control characters",
            ));
        }
    }
    let (disputes, next_cursor) =
        with_disputes(&state, move |d| d.queue(&scope, &caller.account_id, &query)).await?;
    Ok(web::Json(DisputeList {
        disputes,
        next_cursor,
    }))
}

/// Cases against the signed-in seller, newest first.
#[utoipa::path(get, path = "/v1/me/disputes", tag = "disputes", security(("bearer" = [])),
    responses((status = 200, description = "Cases", body = DisputeList)))]
pub async fn my_disputes(
    state: web::Data<AppState>,
    caller: SellerAuth,
) -> Result<web::Json<DisputeList>, AppError> {
    let disputes = with_disputes(&state, move |d| d.of_seller(&caller.account_id)).await?;
    Ok(web::Json(DisputeList {
        disputes,
        next_cursor: None,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CasePath {
    pub id: String,
}

/// A case: for its parties (the seller, the platform that filed it, the buyer with the
/// case link in `Tracegate-Case-Token`) and officers of its province. `ETag` is its version.
#[utoipa::path(get, path = "/v1/disputes/{id}", tag = "disputes", params(CasePath), security(("bearer" = [])),
    responses(
        (status = 200, description = "The case", body = DisputeView),
        (status = 403, description = "An officer of another province", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such case among yours", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_dispute(
    state: web::Data<AppState>,
    caller: CaseCaller,
    path: web::Path<CasePath>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner().id;
    let view = with_disputes(&state, move |d| d.get(&caller.0, &id)).await?;
    Ok(with_etag(view))
}

/// Make a move on a case (`action`: respond, accept, escalate, request_information,
/// supply_information, resume_review, decide, record_settlement, appeal, decide_appeal,
/// withdraw). A move the state does not allow is a 409 that lists those it does. Send
/// `If-Match` with the `ETag` you read: if the case changed meanwhile the answer is 412.
#[utoipa::path(post, path = "/v1/disputes/{id}/actions", tag = "disputes", params(CasePath), request_body = ActionInput, security(("bearer" = [])),
    responses(
        (status = 200, description = "Done; the case as it is now", body = DisputeView),
        (status = 409, description = "Not possible in this state; `allowed_actions` says what is", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The case changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is wrong", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn act(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: CaseCaller,
    path: web::Path<CasePath>,
    body: JsonBody<ActionInput>,
) -> Result<HttpResponse, AppError> {
    let version = if_match(&req)?;
    let id = path.into_inner().id;
    let input = body.0;
    let view = with_disputes(&state, move |d| d.act(&caller.0, &id, &input, version)).await?;
    Ok(with_etag(view))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Timeline {
    pub events: Vec<EventView>,
}

/// Every step of a case, oldest first (internal notes for officers only).
#[utoipa::path(get, path = "/v1/disputes/{id}/timeline", tag = "disputes", params(CasePath), security(("bearer" = [])),
    responses((status = 200, description = "The steps", body = Timeline)))]
pub async fn timeline(
    state: web::Data<AppState>,
    caller: CaseCaller,
    path: web::Path<CasePath>,
) -> Result<web::Json<Timeline>, AppError> {
    let id = path.into_inner().id;
    let events = with_disputes(&state, move |d| d.timeline(&caller.0, &id)).await?;
    Ok(web::Json(Timeline { events }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    pub note: String,
}

/// Add an internal note (officers; never shown to the parties).
#[utoipa::path(post, path = "/v1/disputes/{id}/notes", tag = "disputes", params(CasePath), request_body = NoteInput, security(("bearer" = [])),
    responses((status = 201, description = "Noted", body = EventView)))]
pub async fn add_note(
    state: web::Data<AppState>,
    caller: OfficerAuth,
    path: web::Path<CasePath>,
    body: JsonBody<NoteInput>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner().id;
    let note = body.0.note;
    let caller = officer_caller(caller);
    let event = with_disputes(&state, move |d| d.note(&caller, &id, &note)).await?;
    Ok(HttpResponse::Created().json(event))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssigneeInput {
    /// An officer's account id, or null to unassign.
    pub assignee: Option<String>,
}

/// Assign or reassign a case to an officer of its province (supervisors).
#[utoipa::path(put, path = "/v1/disputes/{id}/assignee", tag = "disputes", params(CasePath), request_body = AssigneeInput, security(("bearer" = [])),
    responses(
        (status = 200, description = "Assigned", body = DisputeView),
        (status = 403, description = "Not a supervisor of the case's province", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn assign(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: OfficerAuth,
    path: web::Path<CasePath>,
    body: JsonBody<AssigneeInput>,
) -> Result<HttpResponse, AppError> {
    let version = if_match(&req)?;
    let id = path.into_inner().id;
    let assignee = body.0.assignee;
    let caller = officer_caller(caller);
    let view = with_disputes(&state, move |d| {
        d.assign(&caller, &id, assignee.as_deref(), version)
    })
    .await?;
    Ok(with_etag(view))
}

/// Attach evidence (`multipart/form-data` with one part named `file`). Types and size are
/// limited by configuration; the content must be what its type says. Evidence cannot be
/// changed or deleted afterwards.
#[utoipa::path(post, path = "/v1/disputes/{id}/evidence", tag = "disputes", params(CasePath), security(("bearer" = [])),
    request_body(content = String, content_type = "multipart/form-data", description = "One part named `file`"),
    responses(
        (status = 201, description = "Attached", body = EvidenceView),
        (status = 413, description = "Larger than allowed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No file, or you have attached as many files or bytes to the case as the policy allows one party (`policies/disputes.toml` `[evidence]`; the detail names the limit)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "A type that is not accepted, or content that is not what the type says", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn upload_evidence(
    state: web::Data<AppState>,
    caller: CaseCaller,
    path: web::Path<CasePath>,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    let limit = state.config.disputes.evidence_max_bytes as usize;
    let id = path.into_inner().id;
    // Whoever may not add evidence to this case is turned away before the upload is read.
    let (check_caller, check_id) = (caller.0.clone(), id.clone());
    let metrics = state.metrics.clone();
    with_disputes(&state, move |d| {
        d.may_attach(&check_caller, &check_id)
            .inspect_err(|e| count_refusal(&metrics, e))
    })
    .await?;
    let (_, file) = crate::http::read_upload(payload, limit).await?;
    let (file_name, media_type, content) =
        file.ok_or_else(|| AppError::invalid("file", "send the file in a part named `file`"))?;
    let metrics = state.metrics.clone();
    let view = with_disputes(&state, move |d| {
        d.attach(&caller.0, &id, &file_name, &media_type, &content)
            .inspect_err(|e| count_refusal(&metrics, e))
    })
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Counts an upload refused by the policy's evidence limits.
pub(crate) fn count_refusal(metrics: &crate::metrics::Metrics, error: &DisputeError) {
    use crate::disputes::EvidenceLimit;
    use crate::metrics::Refusal;
    match error {
        DisputeError::EvidenceLimit(EvidenceLimit::Files(_)) => {
            metrics.refused(Refusal::EvidenceFiles);
        }
        DisputeError::EvidenceLimit(EvidenceLimit::Bytes(_)) => {
            metrics.refused(Refusal::EvidenceBytes);
        }
        _ => {}
    }
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EvidencePath {
    pub id: String,
    pub evidence_id: String,
}

/// Download evidence, checked against the SHA-256 recorded when it was attached (sent in
/// `Repr-Digest`).
#[utoipa::path(get, path = "/v1/disputes/{id}/evidence/{evidence_id}", tag = "disputes", params(EvidencePath), security(("bearer" = [])),
    responses(
        (status = 200, description = "The file"),
        (status = 404, description = "No such evidence on a case of yours", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn download_evidence(
    state: web::Data<AppState>,
    caller: CaseCaller,
    path: web::Path<EvidencePath>,
) -> Result<HttpResponse, AppError> {
    let EvidencePath { id, evidence_id } = path.into_inner();
    let (view, content) = with_disputes(&state, move |d| {
        d.evidence_file(&caller.0, &id, &evidence_id)
    })
    .await?;
    evidence_response(&view, content)
}

/// An evidence file as a download: its type, a safe file name, and the SHA-256 it was
/// attached with (`Repr-Digest`), never shown inline.
pub(crate) fn evidence_response(
    view: &EvidenceView,
    content: Vec<u8>,
) -> Result<HttpResponse, AppError> {
    let digest = data_encoding::BASE64.encode(
        &data_encoding::HEXLOWER
            .decode(view.sha256.as_bytes())
            .map_err(|e| AppError::internal(anyhow::anyhow!("stored hash: {e}")))?,
    );
    let ascii_name: String = view
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, view.media_type.clone()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{ascii_name}\""),
        ))
        .insert_header(("Repr-Digest", format!("sha-256=:{digest}:")))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(content))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HideInput {
    pub reason: String,
}

/// Hide evidence from the parties (officers, with a reason; it stays stored and audited).
#[utoipa::path(post, path = "/v1/disputes/{id}/evidence/{evidence_id}/hide", tag = "disputes", params(EvidencePath), request_body = HideInput, security(("bearer" = [])),
    responses((status = 200, description = "Hidden", body = EvidenceView)))]
pub async fn hide_evidence(
    state: web::Data<AppState>,
    caller: OfficerAuth,
    path: web::Path<EvidencePath>,
    body: JsonBody<HideInput>,
) -> Result<web::Json<EvidenceView>, AppError> {
    let EvidencePath { id, evidence_id } = path.into_inner();
    let reason = body.0.reason;
    let caller = officer_caller(caller);
    Ok(web::Json(
        with_disputes(&state, move |d| {
            d.hide_evidence(&caller, &id, &evidence_id, &reason)
        })
        .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// First day, `YYYY-MM-DD` (Vietnam time), 2000 to 2100; default 30 days ago.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day, inclusive; default today.
    #[param(format = Date)]
    pub to: Option<String>,
}

fn period(
    query: &ReportQuery,
    today: NaiveDate,
) -> Result<(NaiveDateTime, NaiveDateTime), AppError> {
    let day = |field: &str, value: &Option<String>, default: NaiveDate| match value {
        None => Ok(default),
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| AppError::invalid(field, "a date YYYY-MM-DD")),
    };
    let from = day("from", &query.from, today - chrono::TimeDelta::days(30))?;
    let to = day("to", &query.to, today)?;
    for (field, value) in [("from", from), ("to", to)] {
        if !(2000..=2100).contains(&value.year()) {
            return Err(AppError::invalid(field, "a day between 2000 and 2100"));
        }
    }
    if to < from {
        return Err(AppError::invalid("to", "must not be before from"));
    }
    // Local days to UTC instants: the day starts at 00:00 in Vietnam.
    let day_before = from.pred_opt().unwrap_or(from);
    let start = super::calendar::end_of_local_day(day_before).naive_utc();
    let end = super::calendar::end_of_local_day(to).naive_utc();
    Ok((start, end))
}

/// Counts by province, kind and status, overdue cases, and the median time to a decision,
/// over cases of your provinces filed in the period.
#[utoipa::path(get, path = "/v1/dispute-reports", tag = "disputes", params(ReportQuery), security(("bearer" = [])),
    responses((status = 200, description = "The report", body = Report)))]
pub async fn report(
    state: web::Data<AppState>,
    caller: OfficerAuth,
    query: web::Query<ReportQuery>,
) -> Result<web::Json<Report>, AppError> {
    let today = super::calendar::local(state.clock.now()).date_naive();
    let (from, to) = period(&query, today)?;
    let scope = ProvinceScope::from_codes(&caller.provinces);
    let (report, _) = with_disputes(&state, move |d| d.report(&scope, from, to)).await?;
    Ok(web::Json(report))
}

/// The cases of the report as CSV.
#[utoipa::path(get, path = "/v1/dispute-reports/cases.csv", tag = "disputes", params(ReportQuery), security(("bearer" = [])),
    responses((status = 200, description = "CSV", content_type = "text/csv")))]
pub async fn export_csv(
    state: web::Data<AppState>,
    caller: OfficerAuth,
    query: web::Query<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    let today = super::calendar::local(state.clock.now()).date_naive();
    let (from, to) = period(&query, today)?;
    let scope = ProvinceScope::from_codes(&caller.provinces);
    let csv = with_disputes(&state, move |d| d.export_csv(&scope, from, to)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"disputes.csv\"",
        ))
        .body(csv))
}
