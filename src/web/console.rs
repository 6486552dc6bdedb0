//! The officer console: sign in with password and authenticator code, work the dispute
//! queue of one's provinces, and act on a case (take it up, ask for information, decide
//! with sanctions, record a settlement, decide an appeal), with internal notes.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::portal::{login_page, sign_in};
use super::session::{self, Session};
use super::{language, page_with, switch_link};
use crate::auth::PrincipalKind;
use crate::auth::tokens::AMR_OTP;
use crate::disputes::{ActionInput, Caller, DisputeError, SanctionInput, SanctionKind};
use crate::error::AppError;
use crate::http::Endpoint;
use crate::i18n::Language;
use crate::policies::ProvinceScope;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/console/login").get(login_form).post(login))
        .service(Endpoint::new("/console").get(queue))
        .service(Endpoint::new("/console/disputes/{id}").get(case))
        .service(Endpoint::new("/console/disputes/{id}/actions").post(act))
        .service(Endpoint::new("/console/disputes/{id}/notes").post(note))
        .service(Endpoint::new("/console/disputes/{id}/assign").post(assign))
        .service(Endpoint::new("/console/disputes/{id}/evidence/{evidence_id}").get(download))
        .service(Endpoint::new("/console/logout").post(logout));
}

pub(super) type Form = web::Form<HashMap<String, String>>;

pub(super) fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or("")
}

async fn login_form(req: HttpRequest) -> Result<HttpResponse, AppError> {
    login_page(&req, true, StatusCode::OK, "", None)
}

async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    sign_in(&state, &req, &form, true, "/console").await
}

/// The signed-in officer (with a second factor where required), or a response sending the
/// browser to sign in.
pub(super) async fn officer(
    state: &AppState,
    req: &HttpRequest,
) -> Result<(Session, Caller), HttpResponse> {
    let session = match session::current(req, state).await {
        Some(s) if s.claims.kind == PrincipalKind::Officer => s,
        _ => return Err(session::to_sign_in("/console", &session::back_to(req))),
    };
    let second_factor =
        !state.config.auth.require_officer_totp || session.claims.amr.iter().any(|m| m == AMR_OTP);
    if !second_factor {
        // Signed in with a password only: an officer without an authenticator sets one up.
        let (shared, account) = (state.clone(), session.claims.sub.clone());
        let enrolled = state
            .blocking(move || {
                super::account_service(&shared)
                    .view(&account)
                    .map_err(AppError::from)
            })
            .await
            .map(|view| view.second_factor)
            .unwrap_or(true);
        let next = if enrolled {
            "/console/login"
        } else {
            "/console/totp"
        };
        return Err(session::see_other(next).finish());
    }
    let Some(role) = session.claims.role else {
        return Err(session::to_sign_in("/console", &session::back_to(req)));
    };
    let caller = Caller::Officer {
        id: session.claims.sub.clone(),
        role,
        scope: ProvinceScope::from_codes(&session.claims.provinces),
    };
    Ok((session, caller))
}

/// When the way on is to sign in again, keeps the text the officer typed for the case page.
fn keeping_text(
    req: &HttpRequest,
    redirect: HttpResponse,
    action: &str,
    form: &HashMap<String, String>,
) -> HttpResponse {
    let to_sign_in = redirect
        .headers()
        .get(actix_web::http::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .is_some_and(|l| l.starts_with("/console/login"));
    if to_sign_in {
        session::to_sign_in_keeping(req, "/console", action, form)
    } else {
        redirect
    }
}

#[derive(Template)]
#[template(path = "pages/console_confirm.html")]
struct ConfirmPage {
    lang: Language,
    switch_link: String,
    csrf: String,
    action: String,
    back: String,
    summary: Vec<(String, String)>,
    fields: Vec<(String, String)>,
}

/// An irreversible act (a decision, a recall, a revocation) is shown back once, to be
/// confirmed; `None` when the form already carries the confirmation.
pub(super) fn confirmation(
    req: &HttpRequest,
    form: &HashMap<String, String>,
    back: &str,
    summary: Vec<(String, String)>,
) -> Option<Result<HttpResponse, AppError>> {
    if field(form, "confirmed") == "yes" {
        return None;
    }
    let lang = language(req);
    let csrf = session::csrf_token(req);
    let mut fields: Vec<(String, String)> = form
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "csrf" | "confirmed"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    fields.sort();
    let template = ConfirmPage {
        lang: lang.0,
        switch_link: switch_link(req, lang.0),
        csrf: csrf.0.clone(),
        action: req.path().to_string(),
        back: back.to_string(),
        summary,
        fields,
    };
    Some(page_with(req, StatusCode::OK, lang, &template, |r| {
        session::keep_csrf(req, r, &csrf);
    }))
}

/// What a decision will do, in words, for its confirmation.
fn decision_summary(form: &HashMap<String, String>, lang: Language) -> Vec<(String, String)> {
    let words = |key: &str| {
        crate::i18n::lookup(key, lang)
            .unwrap_or_default()
            .to_string()
    };
    let mut summary = Vec::new();
    if let Some(result) = Some(field(form, "result")).filter(|r| !r.is_empty()) {
        summary.push((
            words("thread.outcome"),
            super::labels::outcome(&format!("appeal_{result}"), lang),
        ));
    }
    if let Some(outcome) = Some(field(form, "outcome")).filter(|o| !o.is_empty()) {
        summary.push((
            words("thread.outcome"),
            super::labels::outcome(outcome, lang),
        ));
    }
    summary.push((
        words("thread.reasons"),
        field(form, "statement").to_string(),
    ));
    let sanctions: Vec<String> = form
        .iter()
        .filter(|(k, v)| k.starts_with("sanction_") && v.as_str() == "on")
        .map(|(k, _)| super::labels::sanction(&k["sanction_".len()..], lang))
        .collect();
    if !sanctions.is_empty() {
        summary.push((words("thread.sanctions"), sanctions.join("; ")));
    }
    summary
}

struct QueueRow {
    id: String,
    reference: String,
    status: String,
    kind: String,
    seller: String,
    enterprise_code: String,
    shop: String,
    province: String,
    filed: String,
    assignee: String,
    due: String,
    /// Whole days past the resolution deadline (0 when not overdue).
    days_overdue: i64,
    overdue: bool,
}

/// A sortable column's header: (key, words, link, `aria-sort` value).
struct SortHeader {
    words: String,
    link: String,
    aria_sort: &'static str,
}

#[derive(Template)]
#[template(path = "pages/console.html")]
struct QueuePage {
    lang: Language,
    switch_link: String,
    csrf: String,
    statuses: Vec<(String, String)>,
    provinces: Vec<(String, String)>,
    officers: Vec<(String, String)>,
    /// The search as asked, to fill the form again.
    asked: HashMap<String, String>,
    cases: Vec<QueueRow>,
    headers: HashMap<&'static str, SortHeader>,
    total: i64,
    page: i64,
    pages: i64,
    previous_page: Option<String>,
    next_page: Option<String>,
    notice: Option<String>,
    errors: Vec<(String, String)>,
}

impl QueuePage {
    fn asked(&self, name: &str) -> &str {
        self.asked.get(name).map(String::as_str).unwrap_or("")
    }

    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }

    fn header(&self, key: &str) -> Option<&SortHeader> {
        self.headers.get(key)
    }
}

const PAGE_SIZE: i64 = 50;

/// The console's address with `changes` applied to the current search.
fn queue_link(asked: &HashMap<String, String>, changes: &[(&str, String)]) -> String {
    let mut pairs: Vec<(String, String)> = asked
        .iter()
        .filter(|(k, v)| !v.is_empty() && !changes.iter().any(|(c, _)| c == k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    pairs.extend(changes.iter().map(|(k, v)| (k.to_string(), v.clone())));
    pairs.sort();
    format!(
        "/console?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

/// Reads the queue's search from the address: every field in error is named at once.
fn console_search(
    asked: &HashMap<String, String>,
    lang: Language,
) -> (crate::disputes::ConsoleSearch, Vec<(String, String)>) {
    use crate::disputes::{ConsoleSearch, QueueSort};
    let get = |k: &str| {
        asked
            .get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut errors = Vec::new();
    let mut error = |field: &str, key: &str| {
        errors.push((field.to_string(), crate::i18n::label("queue", key, lang)));
    };
    let mut date = |field: &str| {
        get(field).and_then(
            |v| match chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    error(field, "date");
                    None
                }
            },
        )
    };
    let (filed_from, filed_to) = (date("from"), date("to"));
    let overdue_days = match get("overdue").as_deref() {
        None => None,
        // The earlier checkbox's value.
        Some("true") => Some(0),
        Some(v) => match v.parse::<i64>() {
            Ok(days) if (0..=3650).contains(&days) => Some(days),
            _ => {
                error("overdue", "days");
                None
            }
        },
    };
    let text =
        |k: &str| get(k).filter(|v| v.chars().count() <= 200 && !v.chars().any(char::is_control));
    let search = ConsoleSearch {
        status: get("status"),
        province: get("province"),
        assignee: get("assignee"),
        overdue_days,
        reference: text("reference"),
        seller: text("seller"),
        shop: text("shop"),
        filed_from,
        filed_to,
        sort: match get("sort").as_deref() {
            Some("reference") => QueueSort::Reference,
            Some("due") => QueueSort::Due,
            Some("province") => QueueSort::Province,
            Some("status") => QueueSort::Status,
            _ => QueueSort::Filed,
        },
        descending: get("dir").as_deref() != Some("asc"),
        page: get("page")
            .and_then(|p| p.parse::<i64>().ok())
            .filter(|p| (1..=100_000).contains(p))
            .unwrap_or(1),
        page_size: PAGE_SIZE,
    };
    (search, errors)
}

async fn queue(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let (_, caller) = match officer(&state, &req).await {
        Ok(o) => o,
        Err(redirect) => return Ok(redirect),
    };
    let Caller::Officer { id, scope, .. } = caller else {
        return Err(AppError::forbidden("officers only"));
    };
    let lang = language(&req);
    let mut asked = query.into_inner();
    asked.remove("lang");
    let notice = asked
        .remove("done")
        .and_then(|done| super::done_notice(&done, lang.0));
    let (search, mut errors) = console_search(&asked, lang.0);
    let shared = state.clone();
    let for_search = (scope.clone(), id.clone(), search.clone());
    let (found, officers, sellers, shops) = state
        .blocking(move || {
            let (scope, officer_id, search) = for_search;
            let found = super::dispute_service(&shared).console_queue(&scope, &officer_id, &search);
            let officers = super::account_service(&shared)
                .officers_sharing(&scope)
                .map_err(AppError::from)?;
            let seller_ids: Vec<String> = match &found {
                Ok((rows, _)) => rows.iter().map(|(c, _)| c.seller_id.clone()).collect(),
                Err(_) => Vec::new(),
            };
            let mut conn = shared.pool.get()?;
            let sellers = crate::identity::seller_labels(&mut conn, &seller_ids)?;
            let shops = crate::identity::shop_names(&mut conn, &seller_ids)?;
            Ok((found, officers, sellers, shops))
        })
        .await?;
    let (cases, total, status) = match found {
        Ok((cases, total)) => (cases, total, StatusCode::OK),
        Err(DisputeError::Invalid { field, message }) => {
            errors.push((
                field.clone(),
                super::labels::field_error(&field, &message, lang.0),
            ));
            (Vec::new(), 0, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(other) => return Err(other.into()),
    };
    let status = if errors.is_empty() {
        status
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let officer_names: HashMap<&str, &str> = officers
        .iter()
        .map(|(id, name)| (id.as_str(), name.as_str()))
        .collect();
    let province_name = |code: &str| {
        state
            .policies
            .jurisdictions
            .province(code)
            .map(|p| {
                if lang.0.is_vi() {
                    p.name.clone()
                } else {
                    p.name_en.clone()
                }
            })
            .unwrap_or_else(|| code.to_string())
    };
    let now = state.clock.now();
    let officer_word = crate::i18n::label("role", "officer", lang.0);
    let rows = cases
        .into_iter()
        .map(|(c, shop_id)| {
            let (seller, code) = sellers.get(&c.seller_id).cloned().unwrap_or_default();
            let days_overdue = if c.overdue {
                c.resolution_due_at
                    .map(|due| (now - due.with_timezone(&chrono::Utc)).num_days().max(0))
                    .unwrap_or(0)
            } else {
                0
            };
            QueueRow {
                id: c.id.clone(),
                reference: c.reference.clone(),
                status: super::labels::status(&c.status, lang.0),
                kind: super::labels::kind(&state.policies, &c.kind, lang.0),
                seller: seller.unwrap_or_else(|| "—".into()),
                enterprise_code: code.unwrap_or_default(),
                shop: shops
                    .get(&(c.platform_id.clone(), shop_id.clone()))
                    .cloned()
                    .unwrap_or(shop_id),
                province: province_name(&c.province),
                filed: c.created_at.format("%d/%m/%Y").to_string(),
                assignee: c
                    .assignee_id
                    .as_deref()
                    .map(|a| {
                        format!(
                            "{officer_word} {}",
                            officer_names.get(a).copied().unwrap_or(a)
                        )
                    })
                    .unwrap_or_else(|| "—".into()),
                due: super::deadline_shown(c.resolution_due_at),
                days_overdue,
                overdue: c.overdue,
            }
        })
        .collect();
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = search.page.min(pages);
    let (current_sort, descending) = (
        asked.get("sort").map(String::as_str).unwrap_or("filed"),
        search.descending,
    );
    let mut headers = HashMap::new();
    for (key, words_key) in [
        ("reference", "queue.reference"),
        ("status", "queue.status"),
        ("province", "queue.province"),
        ("filed", "queue.filed"),
        ("due", "queue.due"),
    ] {
        let current = current_sort == key;
        // A first click sorts the most urgent first: the oldest deadline, the newest filing.
        let next_desc = if current { !descending } else { key == "filed" };
        headers.insert(
            key,
            SortHeader {
                words: crate::i18n::lookup(words_key, lang.0)
                    .unwrap_or_default()
                    .to_string(),
                link: queue_link(
                    &asked,
                    &[
                        ("sort", key.to_string()),
                        ("dir", if next_desc { "desc" } else { "asc" }.to_string()),
                        ("page", String::new()),
                    ],
                ),
                aria_sort: match (current, descending) {
                    (false, _) => "none",
                    (true, true) => "descending",
                    (true, false) => "ascending",
                },
            },
        );
    }
    let csrf = session::csrf_token(&req);
    let template = QueuePage {
        lang: lang.0,
        switch_link: switch_link(&req, lang.0),
        csrf: csrf.0.clone(),
        statuses: crate::disputes::lifecycle::ALL_STATUSES
            .iter()
            .filter(|s| **s != crate::disputes::Status::Filed)
            .map(|s| {
                (
                    s.as_str().to_string(),
                    super::labels::status(s.as_str(), lang.0),
                )
            })
            .collect(),
        provinces: state
            .policies
            .jurisdictions
            .provinces()
            .filter(|(code, _)| scope.covers(code))
            .map(|(code, p)| {
                (
                    code.clone(),
                    if lang.0.is_vi() {
                        p.name.clone()
                    } else {
                        p.name_en.clone()
                    },
                )
            })
            .collect(),
        officers: officers
            .into_iter()
            .map(|(id, name)| (id, format!("{officer_word} {name}")))
            .collect(),
        cases: rows,
        headers,
        total,
        page,
        pages,
        previous_page: (page > 1).then(|| queue_link(&asked, &[("page", (page - 1).to_string())])),
        next_page: (page < pages).then(|| queue_link(&asked, &[("page", (page + 1).to_string())])),
        notice,
        errors,
        asked,
    };
    page_with(&req, status, lang, &template, |r| {
        session::keep_csrf(&req, r, &csrf);
    })
}

#[derive(Template)]
#[template(path = "pages/console_case.html")]
struct CasePage {
    lang: Language,
    switch_link: String,
    csrf: String,
    notice: Option<String>,
    notice_ok: bool,
    id: String,
    reference: String,
    status: String,
    kind: String,
    claim: String,
    description: String,
    platform: String,
    shop: String,
    listing_id: String,
    seller_id: String,
    seller: String,
    buyer: String,
    assignee: Option<String>,
    outcome: Option<String>,
    /// (id, file name, SHA-256, hidden).
    evidence: Vec<(String, String, String, bool)>,
    supervisor: bool,
    allowed: Vec<String>,
    version: i64,
    /// Text typed before the session ended: (action, text).
    draft: (String, String),
    /// (code, words).
    sanctions: Vec<(String, String)>,
    progress: Vec<super::thread::Step>,
    deadlines: Vec<(String, String)>,
    messages: Vec<super::thread::Message>,
    /// Officers the case may be assigned to: (id, name shown).
    officers: Vec<(String, String)>,
    assignee_id: String,
}

async fn render_case(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    caller: Caller,
    id: String,
    status: StatusCode,
    notice: Option<(String, bool)>,
) -> Result<HttpResponse, AppError> {
    let shared = state.clone();
    let (view, events, officers) = state
        .blocking(move || {
            let service = super::dispute_service(&shared);
            let view = service.get(&caller, &id).map_err(AppError::from)?;
            let events = service.timeline(&caller, &id).map_err(AppError::from)?;
            // Supervisors pick the assignee by name among the province's officers.
            let officers = if view.your_roles.contains(&crate::disputes::Role::Supervisor) {
                super::account_service(&shared)
                    .officers_for(&view.summary.province)
                    .map_err(AppError::from)?
            } else {
                Vec::new()
            };
            Ok((view, events, officers))
        })
        .await?;
    let lang = language(req);
    let csrf = session::csrf_token(req);
    let sanctions = state
        .policies
        .disputes
        .kind(&view.summary.kind)
        .map(|k| {
            k.sanctions
                .iter()
                .map(|s| (s.clone(), super::labels::sanction(s, lang.0)))
                .collect()
        })
        .unwrap_or_default();
    let names = super::thread::Names::of(state, &view, &events, true).await?;
    let case_id = view.summary.id.clone();
    let file_link = |evidence: &str| format!("/console/disputes/{case_id}/evidence/{evidence}");
    let messages =
        super::thread::messages(&view, &events, &names, &state.policies, lang.0, &file_link);
    let (notice, notice_ok) = match notice {
        Some((n, ok)) => (Some(n), ok),
        None => (None, true),
    };
    let template = CasePage {
        lang: lang.0,
        switch_link: switch_link(req, lang.0),
        csrf: csrf.0.clone(),
        notice,
        notice_ok,
        id: view.summary.id.clone(),
        reference: view.summary.reference.clone(),
        status: super::labels::status(&view.summary.status, lang.0),
        kind: super::labels::kind(&state.policies, &view.summary.kind, lang.0),
        claim: super::labels::claim(&view.claim, lang.0),
        description: view.description.clone(),
        platform: names.platform_shown(&view),
        shop: names.shop_shown(&view),
        listing_id: view.summary.listing_id.clone(),
        seller_id: view.summary.seller_id.clone(),
        seller: names.seller_shown(&view),
        buyer: view.buyer_email.clone().unwrap_or_default(),
        assignee: view
            .summary
            .assignee_id
            .as_deref()
            .map(|a| names.officer(a)),
        outcome: view
            .outcome
            .as_deref()
            .map(|o| super::labels::outcome(o, lang.0)),
        evidence: view
            .evidence
            .iter()
            .map(|e| {
                (
                    e.id.clone(),
                    e.file_name.clone(),
                    e.sha256.clone(),
                    e.hidden_reason.is_some(),
                )
            })
            .collect(),
        allowed: view
            .allowed_actions
            .iter()
            .map(|m| m.as_str().to_string())
            .collect(),
        version: view.version,
        supervisor: view.your_roles.contains(&crate::disputes::Role::Supervisor),
        sanctions,
        draft: session::draft_for(req, &format!("/console/disputes/{case_id}")).unwrap_or_default(),
        progress: super::thread::progress(&view, &events, lang.0),
        deadlines: super::thread::deadlines(&view, lang.0),
        messages,
        officers: officers
            .into_iter()
            .map(|(id, name)| {
                (
                    id,
                    format!("{} {name}", crate::i18n::label("role", "officer", lang.0)),
                )
            })
            .collect(),
        assignee_id: view.summary.assignee_id.clone().unwrap_or_default(),
    };
    page_with(req, status, lang, &template, |r| {
        session::keep_csrf(req, r, &csrf);
        session::drop_draft(req, r);
    })
}

async fn case(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (_, caller) = match officer(&state, &req).await {
        Ok(o) => o,
        Err(redirect) => return Ok(redirect),
    };
    let query: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let notice = query
        .get("done")
        .and_then(|done| super::done_notice(done, language(&req).0))
        .map(|text| (text, true));
    render_case(
        &state,
        &req,
        caller,
        path.into_inner(),
        StatusCode::OK,
        notice,
    )
    .await
}

/// The move a console form asks for.
fn action_of(form: &HashMap<String, String>) -> Result<ActionInput, AppError> {
    let text = |name: &str| field(form, name).to_string();
    let optional = |name: &str| Some(text(name)).filter(|v| !v.trim().is_empty());
    Ok(match field(form, "action") {
        "escalate" => ActionInput::Escalate {
            reason: optional("reason"),
        },
        "request_information" => ActionInput::RequestInformation {
            from: text("from"),
            question: text("question"),
        },
        "resume_review" => ActionInput::ResumeReview { note: text("note") },
        "record_settlement" => ActionInput::RecordSettlement { note: text("note") },
        "decide" => ActionInput::Decide {
            outcome: text("outcome"),
            statement: text("statement"),
            sanctions: sanctions_of(form)?,
        },
        "decide_appeal" => ActionInput::DecideAppeal {
            result: text("result"),
            statement: text("statement"),
            outcome: optional("outcome"),
            sanctions: sanctions_of(form)?,
        },
        other => {
            return Err(AppError::invalid(
                "action",
                format!("{other:?} is not a move the console offers"),
            ));
        }
    })
}

fn sanctions_of(form: &HashMap<String, String>) -> Result<Vec<SanctionInput>, AppError> {
    let mut sanctions = Vec::new();
    for (name, kind) in [
        ("warning", SanctionKind::Warning),
        ("block_listing", SanctionKind::BlockListing),
        ("flag_codes", SanctionKind::FlagCodes),
        ("revoke_codes", SanctionKind::RevokeCodes),
        ("strike", SanctionKind::Strike),
        ("suspend_seller", SanctionKind::SuspendSeller),
    ] {
        if field(form, &format!("sanction_{name}")) != "on" {
            continue;
        }
        let days = if kind == SanctionKind::SuspendSeller {
            Some(
                field(form, "days")
                    .trim()
                    .parse()
                    .map_err(|_| AppError::invalid("days", "the number of days to suspend"))?,
            )
        } else {
            None
        };
        sanctions.push(SanctionInput {
            kind,
            days,
            codes: None,
        });
    }
    Ok(sanctions)
}

async fn act(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let (_, caller) = match officer(&state, &req).await {
        Ok(o) => o,
        Err(redirect) => return Ok(keeping_text(&req, redirect, field(&form, "action"), &form)),
    };
    let id = path.into_inner();
    if matches!(field(&form, "action"), "decide" | "decide_appeal")
        && let Some(page) = confirmation(
            &req,
            &form,
            &format!("/console/disputes/{id}"),
            decision_summary(&form, language(&req).0),
        )
    {
        return page;
    }
    let input = action_of(&form)?;
    let version = field(&form, "version").parse::<i64>().ok();
    let done = field(&form, "action").to_string();
    let (shared, for_act, case_id) = (state.clone(), caller.clone(), id.clone());
    let outcome = state
        .blocking(move || {
            Ok(super::dispute_service(&shared).act(&for_act, &case_id, &input, version))
        })
        .await?;
    match outcome {
        Ok(_) => {
            let mut response = session::see_other(&format!("/console/disputes/{id}?done={done}"));
            Ok(response.finish())
        }
        // What the officer can fix is shown on the case page; the rest is a problem.
        Err(
            e @ (DisputeError::Invalid { .. }
            | DisputeError::InvalidMove { .. }
            | DisputeError::Stale(_)
            | DisputeError::Conflict(_)
            | DisputeError::Forbidden(_)),
        ) => {
            render_case(
                &state,
                &req,
                caller,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((super::labels::dispute_error(&e, language(&req).0), false)),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

async fn note(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let (_, caller) = match officer(&state, &req).await {
        Ok(o) => o,
        Err(redirect) => return Ok(keeping_text(&req, redirect, "note", &form)),
    };
    let id = path.into_inner();
    let text = field(&form, "note").to_string();
    let (shared, case_id) = (state.clone(), id.clone());
    state
        .blocking(move || {
            super::dispute_service(&shared)
                .note(&caller, &case_id, &text)
                .map_err(AppError::from)
        })
        .await?;
    let mut response = session::see_other(&format!("/console/disputes/{id}?done=note"));
    Ok(response.finish())
}

async fn assign(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let (_, caller) = match officer(&state, &req).await {
        Ok(o) => o,
        Err(redirect) => return Ok(redirect),
    };
    let id = path.into_inner();
    let assignee = field(&form, "assignee").trim().to_string();
    let version = field(&form, "version").parse::<i64>().ok();
    let (shared, for_act, case_id) = (state.clone(), caller.clone(), id.clone());
    let outcome = state
        .blocking(move || {
            let assignee = Some(assignee).filter(|a| !a.is_empty());
            Ok(super::dispute_service(&shared).assign(
                &for_act,
                &case_id,
                assignee.as_deref(),
                version,
            ))
        })
        .await?;
    match outcome {
        Ok(_) => {
            let mut response = session::see_other(&format!("/console/disputes/{id}?done=assign"));
            Ok(response.finish())
        }
        Err(
            e @ (DisputeError::Invalid { .. }
            | DisputeError::Stale(_)
            | DisputeError::Conflict(_)
            | DisputeError::Forbidden(_)),
        ) => {
            render_case(
                &state,
                &req,
                caller,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((super::labels::dispute_error(&e, language(&req).0), false)),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

async fn download(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (_, caller) = match officer(&state, &req).await {
        Ok(o) => o,
        Err(redirect) => return Ok(redirect),
    };
    let (id, evidence_id) = path.into_inner();
    let shared = state.clone();
    let (view, content) = state
        .blocking(move || {
            super::dispute_service(&shared)
                .evidence_file(&caller, &id, &evidence_id)
                .map_err(AppError::from)
        })
        .await?;
    crate::disputes::routes::evidence_response(&view, content)
}

async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    session::end(&req, &state).await;
    let mut response = session::see_other("/console/login");
    session::sign_out(&req, &mut response);
    Ok(response.finish())
}
