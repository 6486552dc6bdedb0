//! The console's other pages: seller lookup with the audited reveal of a citizen ID, code
//! search with recall and revocation, dispute reports, the audit log with its chain check,
//! and (administrators) platform and issuer clients.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDate;
use diesel::prelude::*;

use super::console::{Form, field, officer};
use super::session;
use super::{language, page_with, switch_link};
use crate::auth::OfficerRole;
use crate::codes::registry::{CodeStatus, Registry, StatusActor};
use crate::db::schema::audit_log;
use crate::disputes::Caller;
use crate::error::AppError;
use crate::http::Endpoint;
use crate::i18n::Language;
use crate::policies::ProvinceScope;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/console/sellers").get(sellers))
        .service(Endpoint::new("/console/sellers/{id}/reveal").post(reveal))
        .service(Endpoint::new("/console/codes").get(codes))
        .service(Endpoint::new("/console/codes/status").post(code_status))
        .service(Endpoint::new("/console/reports").get(reports))
        .service(Endpoint::new("/console/reports.csv").get(reports_csv))
        .service(Endpoint::new("/console/audit").get(audit))
        .service(Endpoint::new("/console/clients").get(clients))
        .service(Endpoint::new("/console/clients/{id}/disable").post(disable_client));
}

/// The officer's id, role and provinces.
fn parts(caller: &Caller) -> Result<(String, OfficerRole, ProvinceScope), AppError> {
    match caller {
        Caller::Officer { id, role, scope } => Ok((id.clone(), *role, scope.clone())),
        _ => Err(AppError::forbidden("officers only")),
    }
}

fn finish(
    req: &HttpRequest,
    status: StatusCode,
    template: &impl Template,
    csrf: &(String, bool),
) -> Result<HttpResponse, AppError> {
    page_with(req, status, language(req), template, |r| {
        session::keep_csrf(req, r, csrf);
    })
}

#[derive(Template)]
#[template(path = "pages/console_seller.html")]
struct SellerPage {
    lang: Language,
    switch_link: String,
    csrf: String,
    id: String,
    error: Option<String>,
    revealed: Option<String>,
    found: bool,
    standing: String,
    name: String,
    masked: String,
    business: String,
    /// What was searched for by name, code or shop, and the sellers found: (id, name, code).
    query: String,
    matches: Vec<(String, String, String)>,
    /// Authorisation letters: (id, file name, day).
    letters: Vec<(String, String, String)>,
}

async fn seller_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    scope: ProvinceScope,
    id: String,
    revealed: Option<String>,
    error: Option<String>,
    query: String,
) -> Result<HttpResponse, AppError> {
    let lang = language(req);
    let csrf = session::csrf_token(req);
    // A search by name, enterprise code or shop: the sellers of the officer's provinces
    // that answer to it, at most 50.
    let (shared, text, in_scope) = (state.clone(), query.clone(), scope.clone());
    let matches: Vec<(String, String, String)> = if query.trim().is_empty() {
        Vec::new()
    } else {
        state
            .blocking(move || {
                let mut conn = shared.pool.get()?;
                let mut ids = crate::identity::sellers_matching(&mut conn, &text)?;
                ids.extend(crate::identity::sellers_with_shops_like(&mut conn, &text)?);
                ids.sort();
                ids.dedup();
                let labels = crate::identity::seller_labels(&mut conn, &ids)?;
                drop(conn);
                let sellers = super::seller_service(&shared);
                let mut found = Vec::new();
                for id in ids {
                    if found.len() >= 50 {
                        break;
                    }
                    if sellers.for_officer(&in_scope, &id).is_ok() {
                        let (name, code) = labels.get(&id).cloned().unwrap_or_default();
                        found.push((id, name.unwrap_or_default(), code.unwrap_or_default()));
                    }
                }
                Ok(found)
            })
            .await?
    };
    let (shared, lookup) = (state.clone(), id.clone());
    let view = if id.is_empty() {
        None
    } else {
        state
            .blocking(move || {
                match super::seller_service(&shared).for_officer(&scope, &lookup) {
                    Ok(view) => Ok(Some(view)),
                    // Not found and out of scope read the same.
                    Err(
                        crate::identity::IdentityError::NotFound(_)
                        | crate::identity::IdentityError::Forbidden(_),
                    ) => Ok(None),
                    Err(other) => Err(AppError::from(other)),
                }
            })
            .await?
    };
    let vi = lang.0.is_vi();
    let error = error.or_else(|| {
        (!id.is_empty() && view.is_none()).then(|| {
            if vi {
                "Không có người bán này trong địa bàn của bạn.".to_string()
            } else {
                "No such seller in your provinces.".to_string()
            }
        })
    });
    let letters = if view.is_some() {
        let (shared, seller_id) = (state.clone(), id.clone());
        state
            .blocking(move || {
                super::letters::letter_service(&shared)
                    .of_seller(&seller_id)
                    .map_err(super::letters::letter_error)
            })
            .await?
    } else {
        Vec::new()
    };
    let template = SellerPage {
        lang: lang.0,
        switch_link: switch_link(req, lang.0),
        csrf: csrf.0.clone(),
        found: view.is_some(),
        standing: view
            .as_ref()
            .map(|v| crate::i18n::label("standing", v.status.as_str(), lang.0))
            .unwrap_or_default(),
        name: view
            .as_ref()
            .and_then(|v| v.identity.full_name.clone())
            .unwrap_or_default(),
        masked: view
            .as_ref()
            .and_then(|v| v.identity.national_id.clone())
            .unwrap_or_default(),
        business: view
            .as_ref()
            .and_then(|v| v.business.as_ref())
            .map(|b| format!("{} {}", b.code, b.name.clone().unwrap_or_default()))
            .unwrap_or_default(),
        letters: super::letters::listed(letters),
        query,
        matches,
        id,
        error,
        revealed,
    };
    let status = match (template.found, template.error.is_some()) {
        (false, true) => StatusCode::NOT_FOUND,
        (true, true) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    finish(req, status, &template, &csrf)
}

async fn sellers(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let (_, caller) = match officer(&state, &req).await {
        Ok(o) => o,
        Err(redirect) => return Ok(redirect),
    };
    let (_, _, scope) = parts(&caller)?;
    let id = query
        .get("id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let search = query
        .get("q")
        .map(|s| s.trim().to_string())
        .filter(|s| s.chars().count() <= 200 && !s.chars().any(char::is_control))
        .unwrap_or_default();
    seller_page(&state, &req, scope, id, None, None, search).await
}

async fn reveal(
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
    let (officer_id, _, scope) = parts(&caller)?;
    let id = path.into_inner();
    let reason = field(&form, "reason").to_string();
    let (shared, seller_id, seller_scope) = (state.clone(), id.clone(), scope.clone());
    let outcome = state
        .blocking(move || {
            Ok(super::seller_service(&shared).reveal_national_id(
                &officer_id,
                &seller_scope,
                &seller_id,
                &reason,
            ))
        })
        .await?;
    match outcome {
        Ok(number) => seller_page(&state, &req, scope, id, Some(number), None, String::new()).await,
        Err(crate::identity::IdentityError::Invalid { message, .. }) => {
            seller_page(&state, &req, scope, id, None, Some(message), String::new()).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "pages/console_codes.html")]
struct CodesPage {
    lang: Language,
    switch_link: String,
    csrf: String,
    code: String,
    notice: Option<String>,
    notice_ok: bool,
    found: Option<(String, String, String, String)>,
    public_link: String,
    clones: Vec<(String, i64, i64)>,
}

async fn codes_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    code: String,
    notice: Option<(String, bool)>,
) -> Result<HttpResponse, AppError> {
    let lang = language(req);
    let csrf = session::csrf_token(req);
    let (shared, text) = (state.clone(), code.clone());
    let year = super::verify::year(state);
    let (found, clones, parse_error) = state
        .db(move |conn| {
            let clones = crate::codes::scans::flags(conn, 50)?
                .into_iter()
                .map(|f| (f.code_key, f.places, f.scans))
                .collect::<Vec<_>>();
            if text.is_empty() {
                return Ok((None, clones, None));
            }
            let parsed = match crate::codes::parse(&text, year) {
                Ok(p) => p,
                Err(e) => {
                    return Ok((
                        None,
                        clones,
                        Some(super::labels::code_unreadable(&e.to_string(), lang.0)),
                    ));
                }
            };
            let registry = Registry {
                pool: &shared.pool,
                clock: shared.clock.as_ref(),
                policies: &shared.policies,
                facts: &shared.facts,
            };
            let row = registry
                .resolve(conn, &parsed.lookup_keys().to_vec())
                .map_err(|e| AppError::internal(anyhow::anyhow!(e.to_string())))?;
            Ok((row, clones, None))
        })
        .await?;
    let vi = lang.0.is_vi();
    let notice = notice
        .or_else(|| parse_error.map(|e| (e, false)))
        .or_else(|| {
            (!code.is_empty() && found.is_none()).then(|| {
                (
                    if vi {
                        "Mã này chưa được đăng ký.".into()
                    } else {
                        "This code is not registered.".into()
                    },
                    false,
                )
            })
        });
    let public_link = found
        .as_ref()
        .map(|r| super::verify::public_path(&r.code_key))
        .unwrap_or_default();
    let (notice, notice_ok) = match notice {
        Some((n, ok)) => (Some(n), ok),
        None => (None, true),
    };
    let template = CodesPage {
        lang: lang.0,
        switch_link: switch_link(req, lang.0),
        csrf: csrf.0.clone(),
        code,
        notice,
        notice_ok,
        found: found.map(|r| {
            let status = super::labels::code_status(&r.status, lang.0);
            (r.code_key, r.product_name, r.owner_code, status)
        }),
        public_link,
        clones,
    };
    finish(req, StatusCode::OK, &template, &csrf)
}

async fn codes(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let _ = match officer(&state, &req).await {
        Ok(o) => o,
        Err(redirect) => return Ok(redirect),
    };
    let code = query
        .get("code")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let vi = language(&req).0.is_vi();
    let notice = match (
        query.get("done").map(String::as_str),
        query.get("withdrawn"),
    ) {
        (Some("code_status"), Some(n)) if n.chars().all(|c| c.is_ascii_digit()) => Some((
            if vi {
                format!("Đã áp dụng; {n} tin đăng bị gỡ.")
            } else {
                format!("Done; {n} listings withdrawn.")
            },
            true,
        )),
        _ => None,
    };
    codes_page(&state, &req, code, notice).await
}

async fn code_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let (_, caller) = match officer(&state, &req).await {
        Ok(o) => o,
        Err(redirect) => return Ok(redirect),
    };
    let (officer_id, _, scope) = parts(&caller)?;
    let code = field(&form, "code").to_string();
    let status = match field(&form, "status") {
        "revoked" => CodeStatus::Revoked,
        _ => CodeStatus::Recalled,
    };
    let reason = field(&form, "reason").to_string();
    let lang = language(&req).0;
    let words = |key: &str| {
        crate::i18n::lookup(key, lang)
            .unwrap_or_default()
            .to_string()
    };
    let back = format!(
        "/console/codes?{}",
        serde_urlencoded::to_string([("code", code.as_str())]).unwrap_or_default()
    );
    let summary = vec![
        (words("confirm.code"), code.clone()),
        (
            words("confirm.measure"),
            super::labels::code_status(status.as_str(), lang),
        ),
        (words("thread.reason"), reason.clone()),
    ];
    if let Some(page) = super::console::confirmation(&req, &form, &back, summary) {
        return page;
    }
    let (shared, target) = (state.clone(), code.clone());
    let outcome = state
        .blocking(move || {
            Ok(Registry {
                pool: &shared.pool,
                clock: shared.clock.as_ref(),
                policies: &shared.policies,
                facts: &shared.facts,
            }
            .set_status(
                StatusActor::Officer {
                    id: &officer_id,
                    scope: &scope,
                },
                &target,
                status,
                &reason,
            ))
        })
        .await?;
    let notice = match outcome {
        // Back to the code's page: a reload shows it, it does not apply the measure again.
        Ok(withdrawn) => {
            let query = serde_urlencoded::to_string([
                ("code", code.as_str()),
                ("done", "code_status"),
                ("withdrawn", &withdrawn.to_string()),
            ])
            .unwrap_or_default();
            return Ok(session::see_other(&format!("/console/codes?{query}")).finish());
        }
        Err(
            e @ (crate::codes::registry::RegistryError::Invalid { .. }
            | crate::codes::registry::RegistryError::NotFound(_)
            | crate::codes::registry::RegistryError::Forbidden(_)
            | crate::codes::registry::RegistryError::OutOfScope
            | crate::codes::registry::RegistryError::Conflict(_)),
        ) => {
            if let crate::codes::registry::RegistryError::OutOfScope = e {
                state
                    .metrics
                    .refused(crate::metrics::Refusal::CodeOutOfScope);
            }
            (super::labels::registry_error(&e, language(&req).0), false)
        }
        Err(other) => return Err(other.into()),
    };
    codes_page(&state, &req, code, Some(notice)).await
}

#[derive(Template)]
#[template(path = "pages/console_reports.html")]
struct ReportsPage {
    lang: Language,
    switch_link: String,
    csrf: String,
    from: String,
    to: String,
    error: Option<String>,
    total: usize,
    overdue: usize,
    median: String,
    tables: Vec<(String, Vec<(String, usize)>)>,
    csv_link: String,
}

/// The period a report covers, as local days; errors name the field.
fn period(
    state: &AppState,
    query: &HashMap<String, String>,
) -> Result<(String, String, chrono::NaiveDateTime, chrono::NaiveDateTime), String> {
    let today = crate::disputes::calendar::local(state.clock.now()).date_naive();
    let day = |name: &str, default: NaiveDate| -> Result<NaiveDate, String> {
        match query.get(name).map(|s| s.trim()).filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .filter(|d| chrono::Datelike::year(d) >= 2000 && chrono::Datelike::year(d) <= 2100)
                .ok_or_else(|| format!("{name}: a day YYYY-MM-DD between 2000 and 2100")),
        }
    };
    let from = day("from", today - chrono::TimeDelta::days(30))?;
    let to = day("to", today)?;
    if to < from {
        return Err("to: must not be before from".into());
    }
    let start = crate::disputes::calendar::end_of_local_day(from.pred_opt().unwrap_or(from));
    let end = crate::disputes::calendar::end_of_local_day(to);
    Ok((
        from.to_string(),
        to.to_string(),
        start.naive_utc(),
        end.naive_utc(),
    ))
}

async fn reports(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let (_, caller) = match officer(&state, &req).await {
        Ok(o) => o,
        Err(redirect) => return Ok(redirect),
    };
    let (_, _, scope) = parts(&caller)?;
    let lang = language(&req);
    let csrf = session::csrf_token(&req);
    let vi = lang.0.is_vi();
    let (from, to, error, report) = match period(&state, &query) {
        Ok((from, to, start, end)) => {
            let shared = state.clone();
            let (report, _) = state
                .blocking(move || {
                    super::dispute_service(&shared)
                        .report(&scope, start, end)
                        .map_err(AppError::from)
                })
                .await?;
            (from, to, None, Some(report))
        }
        Err(e) => (
            query.get("from").cloned().unwrap_or_default(),
            query.get("to").cloned().unwrap_or_default(),
            Some(e),
            None,
        ),
    };
    let rows = |counts: &[crate::disputes::CountBy], word: &dyn Fn(&str) -> String| {
        counts
            .iter()
            .map(|c| (word(&c.key), c.count))
            .collect::<Vec<_>>()
    };
    let same = |key: &str| key.to_string();
    let kind = |key: &str| super::labels::kind(&state.policies, key, lang.0);
    let status = |key: &str| super::labels::status(key, lang.0);
    let template = ReportsPage {
        lang: lang.0,
        switch_link: switch_link(&req, lang.0),
        csrf: csrf.0.clone(),
        csv_link: format!(
            "/console/reports.csv?{}",
            serde_urlencoded::to_string([("from", from.as_str()), ("to", to.as_str())])
                .unwrap_or_default()
        ),
        from,
        to,
        total: report.as_ref().map_or(0, |r| r.total),
        overdue: report.as_ref().map_or(0, |r| r.overdue),
        median: report
            .as_ref()
            .and_then(|r| r.median_hours_to_decision)
            .map_or_else(|| "—".into(), |h| format!("{h} h")),
        tables: report
            .as_ref()
            .map(|r| {
                vec![
                    (
                        if vi { "Theo tỉnh" } else { "By province" }.to_string(),
                        rows(&r.by_province, &same),
                    ),
                    (
                        if vi { "Theo loại" } else { "By kind" }.to_string(),
                        rows(&r.by_kind, &kind),
                    ),
                    (
                        if vi {
                            "Theo trạng thái"
                        } else {
                            "By status"
                        }
                        .to_string(),
                        rows(&r.by_status, &status),
                    ),
                ]
            })
            .unwrap_or_default(),
        error,
    };
    let status = if template.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    finish(&req, status, &template, &csrf)
}

async fn reports_csv(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let (_, caller) = match officer(&state, &req).await {
        Ok(o) => o,
        Err(redirect) => return Ok(redirect),
    };
    let (_, _, scope) = parts(&caller)?;
    let (_, _, start, end) = period(&state, &query).map_err(|e| AppError::invalid("period", e))?;
    let shared = state.clone();
    let csv = state
        .blocking(move || {
            super::dispute_service(&shared)
                .export_csv(&scope, start, end)
                .map_err(AppError::from)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"disputes.csv\"",
        ))
        .body(csv))
}

#[derive(Template)]
#[template(path = "pages/console_audit.html")]
struct AuditPage {
    lang: Language,
    switch_link: String,
    csrf: String,
    entries: i64,
    head: String,
    broken: Option<String>,
    /// Where a chain the retention policy shortened starts, in words.
    anchor: Option<String>,
    rows: Vec<(i64, String, String, String, String)>,
    /// Actions to filter by: (code, words).
    actions: Vec<(String, String)>,
    action: String,
    who: String,
    before: String,
    /// The next (older) page, when there is one.
    next_page: Option<String>,
}

const AUDIT_PAGE: i64 = 100;

/// The audit log: supervisors and administrators. Filtered by action and by who acted or
/// was acted on (`account:…`, `client:…`, as recorded), paged from the newest entry back.
async fn audit(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let (_, caller) = match officer(&state, &req).await {
        Ok(o) => o,
        Err(redirect) => return Ok(redirect),
    };
    let (_, role, _) = parts(&caller)?;
    if role == OfficerRole::Officer {
        return Err(AppError::forbidden(
            "the audit log is for supervisors and administrators",
        ));
    }
    let asked = |k: &str| {
        query.get(k).map(|v| v.trim().to_string()).filter(|v| {
            !v.is_empty() && v.chars().count() <= 200 && !v.chars().any(char::is_control)
        })
    };
    let (action, who) = (asked("action"), asked("who"));
    let before = asked("before").and_then(|b| b.parse::<i64>().ok());
    let (for_action, for_who) = (action.clone(), who.clone());
    let (report, mut rows) = state
        .db(move |conn| {
            let report = crate::audit::verify(conn)?;
            let mut entries = audit_log::table
                .select((
                    audit_log::seq,
                    audit_log::occurred_at,
                    audit_log::actor,
                    audit_log::action,
                    audit_log::subject,
                ))
                .into_boxed();
            if let Some(action) = for_action {
                entries = entries.filter(audit_log::action.eq(action));
            }
            if let Some(who) = for_who {
                let pattern = crate::db::contains_pattern(&who);
                entries = entries.filter(
                    crate::db::lower(audit_log::actor)
                        .like(pattern.clone())
                        .escape('\\')
                        .or(crate::db::lower(audit_log::subject)
                            .like(pattern)
                            .escape('\\')),
                );
            }
            if let Some(before) = before {
                entries = entries.filter(audit_log::seq.lt(before));
            }
            let rows: Vec<(i64, chrono::NaiveDateTime, String, String, String)> = entries
                .order(audit_log::seq.desc())
                .limit(AUDIT_PAGE + 1)
                .load(conn)?;
            Ok((report, rows))
        })
        .await?;
    let more = rows.len() as i64 > AUDIT_PAGE;
    rows.truncate(AUDIT_PAGE as usize);
    let next_page = more.then(|| rows.last().map(|r| r.0)).flatten().map(|seq| {
        let mut pairs = vec![("before".to_string(), seq.to_string())];
        pairs.extend(action.clone().map(|a| ("action".to_string(), a)));
        pairs.extend(who.clone().map(|w| ("who".to_string(), w)));
        format!(
            "/console/audit?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    });
    let lang = language(&req);
    let csrf = session::csrf_token(&req);
    let people = audit_people(&state, &rows).await?;
    let named = |who: String| people.get(&who).cloned().unwrap_or(who);
    let template = AuditPage {
        lang: lang.0,
        switch_link: switch_link(&req, lang.0),
        csrf: csrf.0.clone(),
        entries: report.entries,
        head: report.head_hash.clone(),
        broken: report.broken.as_ref().map(|b| b.describe(lang.0)),
        anchor: report.anchor.as_ref().map(|a| {
            let seq = a.checkpoint.seq.to_string();
            crate::i18n::catalogue::format(
                "console",
                "audit_anchor",
                &[&seq, &a.checkpoint.head_hash],
                lang.0,
            )
        }),
        actions: crate::i18n::catalogue::ENTRIES
            .iter()
            .filter_map(|(key, _, _)| key.strip_prefix("audit."))
            .map(|code| (code.to_string(), super::labels::audit_action(code, lang.0)))
            .collect(),
        action: action.unwrap_or_default(),
        who: who.unwrap_or_default(),
        before: before.map(|b| b.to_string()).unwrap_or_default(),
        next_page,
        rows: rows
            .into_iter()
            .map(|(seq, at, actor, action, subject)| {
                let at = crate::disputes::calendar::local(
                    chrono::DateTime::from_naive_utc_and_offset(at, chrono::Utc),
                );
                (
                    seq,
                    at.format("%d/%m/%Y %H:%M:%S").to_string(),
                    named(actor),
                    super::labels::audit_action(&action, lang.0),
                    named(subject),
                )
            })
            .collect(),
    };
    finish(&req, StatusCode::OK, &template, &csrf)
}

/// Names for the accounts and clients an audit page mentions: `account:…` by email,
/// `client:…` by the client's name.
async fn audit_people(
    state: &web::Data<AppState>,
    rows: &[(i64, chrono::NaiveDateTime, String, String, String)],
) -> Result<HashMap<String, String>, AppError> {
    let mentioned: Vec<String> = rows
        .iter()
        .flat_map(|(_, _, actor, _, subject)| [actor.clone(), subject.clone()])
        .collect();
    let shared = state.clone();
    state
        .blocking(move || {
            let accounts: Vec<String> = mentioned
                .iter()
                .filter_map(|m| m.strip_prefix("account:"))
                .map(str::to_string)
                .collect();
            let emails = super::account_service(&shared)
                .names_of(&accounts)
                .map_err(AppError::from)?;
            let clients = super::client_service(&shared)
                .list()
                .map_err(AppError::from)?;
            let mut names: HashMap<String, String> = emails
                .into_iter()
                .map(|(id, email)| (format!("account:{id}"), email))
                .collect();
            names.extend(
                clients
                    .into_iter()
                    .map(|c| (format!("client:{}", c.id), c.name)),
            );
            Ok(names)
        })
        .await
}

#[derive(Template)]
#[template(path = "pages/console_clients.html")]
struct ClientsPage {
    lang: Language,
    switch_link: String,
    csrf: String,
    admin: bool,
    notice: Option<String>,
    clients: Vec<(String, String, String, bool)>,
}

async fn clients_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    admin: bool,
    notice: Option<String>,
) -> Result<HttpResponse, AppError> {
    let lang = language(req);
    let csrf = session::csrf_token(req);
    let shared = state.clone();
    let list = if admin {
        state
            .blocking(move || {
                super::client_service(&shared)
                    .list()
                    .map_err(AppError::from)
            })
            .await?
    } else {
        Vec::new()
    };
    let template = ClientsPage {
        lang: lang.0,
        switch_link: switch_link(req, lang.0),
        csrf: csrf.0.clone(),
        admin,
        notice,
        clients: list
            .into_iter()
            .map(|c| {
                (
                    c.id,
                    c.name,
                    c.kind.as_str().to_string(),
                    c.disabled_at.is_none(),
                )
            })
            .collect(),
    };
    let status = if admin {
        StatusCode::OK
    } else {
        StatusCode::FORBIDDEN
    };
    finish(req, status, &template, &csrf)
}

async fn clients(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let (_, caller) = match officer(&state, &req).await {
        Ok(o) => o,
        Err(redirect) => return Ok(redirect),
    };
    let (_, role, _) = parts(&caller)?;
    let disabled = req.query_string() == "done=client_disabled";
    let notice = disabled
        .then(|| super::done_notice("client_disabled", language(&req).0))
        .flatten();
    clients_page(&state, &req, role == OfficerRole::Admin, notice).await
}

async fn disable_client(
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
    let (officer_id, role, _) = parts(&caller)?;
    if role != OfficerRole::Admin {
        return Err(AppError::forbidden("only administrators manage clients"));
    }
    let (shared, id) = (state.clone(), path.into_inner());
    state
        .blocking(move || {
            super::client_service(&shared)
                .disable(&id, &format!("account:{officer_id}"))
                .map_err(AppError::from)
        })
        .await?;
    state.revoked_now().await?;
    Ok(session::see_other("/console/clients?done=client_disabled").finish())
}
