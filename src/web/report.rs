//! A consumer's complaint from the public pages: asked for the listing's link or the
//! shop's name (what a consumer sees, never the marketplace's internal ids), with the code
//! they scanned filled in. A complaint kept is answered with a redirect to a page with
//! its reference (a reload sends nothing again); a shop bound to a seller also opens a
//! case for the seller to answer, once the consumer confirms their address.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use diesel::Connection;

use super::console::{Form, field};
use super::session;
use super::{language, page, page_with, switch_link};
use crate::clients::ClientKind;
use crate::complaints::{ComplaintError, ComplaintInput, Complaints, TracedShop};
use crate::db::DbConnection;
use crate::disputes::CaseInput;
use crate::error::AppError;
use crate::http::Endpoint;
use crate::i18n::Language;
use crate::notify::ComplaintCase;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/report").get(form).post(file))
        .service(Endpoint::new("/report/received/{reference}").get(received))
        .service(Endpoint::new("/console/complaints").get(for_officers));
}

/// The complaint service, as pages use it.
pub(crate) fn complaint_service(state: &AppState) -> Complaints<'_> {
    Complaints {
        pool: &state.pool,
        clock: state.clock.as_ref(),
        policies: &state.policies,
        public_url: &state.config.server.public_url,
    }
}

#[derive(Template)]
#[template(path = "pages/report.html")]
struct ReportPage {
    lang: Language,
    switch_link: String,
    csrf: String,
    code: String,
    platforms: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
    claims: Vec<(String, String)>,
    platform_id: String,
    listing_link: String,
    shop_name: String,
    kind: String,
    claim: String,
    description: String,
    email: String,
    /// (field, message), in the form's order.
    errors: Vec<(String, String)>,
}

impl ReportPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

async fn render(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    status: StatusCode,
    values: &HashMap<String, String>,
    errors: Vec<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let lang = language(req);
    let csrf = session::csrf_token(req);
    let shared = state.clone();
    let platforms = state
        .blocking(move || {
            super::client_service(&shared)
                .list()
                .map_err(AppError::from)
        })
        .await?
        .into_iter()
        .filter(|c| c.kind == ClientKind::Platform && c.disabled_at.is_none())
        .map(|c| (c.id, c.name))
        .collect();
    let disputes = &state.policies.disputes;
    let kinds = disputes
        .kinds
        .iter()
        .map(|(id, k)| {
            let name = if lang.0.is_vi() { &k.name } else { &k.name_en };
            (id.clone(), name.clone())
        })
        .collect();
    let claims = disputes
        .claims
        .iter()
        .map(|c| (c.clone(), super::labels::claim(c, lang.0)))
        .collect();
    let value = |name: &str| values.get(name).cloned().unwrap_or_default();
    let template = ReportPage {
        lang: lang.0,
        switch_link: switch_link(req, lang.0),
        csrf: csrf.0.clone(),
        code: value("code"),
        platforms,
        kinds,
        claims,
        platform_id: value("platform_id"),
        listing_link: value("listing_link"),
        shop_name: value("shop_name"),
        kind: value("kind"),
        claim: value("claim"),
        description: value("description"),
        email: value("email"),
        errors,
    };
    page_with(req, status, lang, &template, |r| {
        session::keep_csrf(req, r, &csrf)
    })
}

async fn form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    // Only the code is taken from the address: the rest is the consumer's to write.
    let values: HashMap<String, String> = query
        .get("code")
        .filter(|c| c.chars().count() <= 500 && !c.chars().any(char::is_control))
        .map(|c| ("code".to_string(), c.trim().to_string()))
        .into_iter()
        .collect();
    render(&state, &req, StatusCode::OK, &values, Vec::new()).await
}

async fn file(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let lang = language(&req).0;
    let input = ComplaintInput {
        code: field(&form, "code").to_string(),
        platform_id: field(&form, "platform_id").to_string(),
        listing_link: field(&form, "listing_link").to_string(),
        shop_name: field(&form, "shop_name").to_string(),
        kind: field(&form, "kind").to_string(),
        claim: field(&form, "claim").to_string(),
        description: field(&form, "description").to_string(),
        email: field(&form, "email").to_string(),
    };
    let shared = state.clone();
    let outcome =
        state
            .blocking(move || {
                let disputes = super::dispute_service(&shared);
                Ok(complaint_service(&shared).file(
                    &input,
                    lang,
                    |conn, shop, complaint, reference| {
                        open_case(&disputes, conn, shop, complaint, reference, lang)
                    },
                ))
            })
            .await?;
    match outcome {
        Ok(filed) => {
            Ok(session::see_other(&format!("/report/received/{}", filed.reference)).finish())
        }
        Err(ComplaintError::Invalid(problems)) => {
            let errors = problems
                .iter()
                .map(|p| {
                    (
                        p.field.to_string(),
                        crate::i18n::label("complaint", p.problem, lang),
                    )
                })
                .collect();
            let values = form.into_inner();
            render(
                &state,
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                &values,
                errors,
            )
            .await
        }
        Err(other) => Err(AppError::internal(
            anyhow::Error::new(other).context("filing a complaint"),
        )),
    }
}

/// A complaint traced to a bound shop also opens a case for its seller, inside the
/// complaint's transaction but behind a savepoint: the complaint is kept whatever happens
/// here, a case that cannot be opened is logged, and the officers still read the complaint.
fn open_case(
    disputes: &crate::disputes::Disputes<'_>,
    conn: &mut DbConnection,
    shop: &TracedShop,
    complaint: &ComplaintInput,
    reference: &str,
    lang: Language,
) -> Option<ComplaintCase> {
    // The listing as the consumer knows it: its link when it fits a listing id.
    let listing_id = if (1..=128).contains(&complaint.listing_link.chars().count()) {
        complaint.listing_link.clone()
    } else {
        format!("shop:{}", shop.shop_id)
    };
    let mut description = complaint.description.clone();
    for (label, value) in [
        ("label_reference", reference),
        ("label_code", complaint.code.as_str()),
        ("label_link", complaint.listing_link.as_str()),
    ] {
        if !value.is_empty() {
            let label = crate::i18n::label("complaint", label, lang);
            description.push_str(&format!("\n{label}: {value}"));
        }
    }
    let case = CaseInput {
        shop_id: shop.shop_id.clone(),
        listing_id,
        kind: complaint.kind.clone(),
        claim: complaint.claim.clone(),
        description,
    };
    let opened = conn.transaction(|conn| {
        disputes.open_for_complaint(conn, &shop.platform_id, &case, &complaint.email, lang)
    });
    match opened {
        Ok(opened) => opened.map(|o| ComplaintCase {
            reference: o.reference,
            link: o.link,
            valid_hours: o.valid_hours,
        }),
        Err(error) => {
            tracing::warn!(reference = %reference, error = %error, "complaint kept without a case");
            None
        }
    }
}

#[derive(Template)]
#[template(path = "pages/report_received.html")]
struct ReceivedPage {
    lang: Language,
    switch_link: String,
    reference: String,
    received: String,
    code: String,
    traced: bool,
}

/// The page a complaint lands on: its reference and what happens next. It shows nothing
/// the consumer wrote besides the code, so a reference guessed reveals nothing personal.
async fn received(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let reference = path.into_inner();
    let shared = state.clone();
    let row = state
        .blocking(
            move || match complaint_service(&shared).by_reference(&reference) {
                Ok(row) => Ok(Some(row)),
                Err(ComplaintError::NotFound) => Ok(None),
                Err(other) => Err(AppError::internal(
                    anyhow::Error::new(other).context("reading a complaint"),
                )),
            },
        )
        .await?;
    let Some(row) = row else {
        return Err(AppError::not_found("no complaint has this reference"));
    };
    let lang = language(&req);
    let received = crate::disputes::calendar::local(chrono::DateTime::from_naive_utc_and_offset(
        row.created_at,
        chrono::Utc,
    ))
    .format("%d/%m/%Y %H:%M")
    .to_string();
    page(
        &req,
        StatusCode::OK,
        lang,
        &ReceivedPage {
            lang: lang.0,
            switch_link: switch_link(&req, lang.0),
            reference: row.reference,
            received,
            code: row.code.unwrap_or_default(),
            traced: row.seller_id.is_some(),
        },
    )
}

/// One complaint as officers read it.
struct ComplaintLine {
    reference: String,
    received: String,
    kind: String,
    shop_name: String,
    listing_link: String,
    code: String,
    seller: Option<String>,
    description: String,
    email: String,
}

#[derive(Template)]
#[template(path = "pages/console_complaints.html")]
struct ComplaintsPage {
    lang: Language,
    switch_link: String,
    csrf: String,
    complaints: Vec<ComplaintLine>,
    previous_page: Option<String>,
    next_page: Option<String>,
}

const COMPLAINTS_PER_PAGE: i64 = 50;

/// Consumer complaints for officers, newest first: those traced to a seller of their
/// provinces and, for the whole country, those not traced yet.
async fn for_officers(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let (_, caller) = match super::console::officer(&state, &req).await {
        Ok(o) => o,
        Err(redirect) => return Ok(redirect),
    };
    let crate::disputes::Caller::Officer { scope, .. } = caller else {
        return Err(AppError::forbidden("officers only"));
    };
    let page_number = query
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    let shared = state.clone();
    let (rows, sellers) = state
        .blocking(move || {
            let rows = complaint_service(&shared)
                .newest_for(
                    &scope,
                    (page_number - 1) * COMPLAINTS_PER_PAGE,
                    COMPLAINTS_PER_PAGE + 1,
                )
                .map_err(|e| {
                    AppError::internal(anyhow::Error::new(e).context("listing complaints"))
                })?;
            let ids: Vec<String> = rows.iter().filter_map(|r| r.seller_id.clone()).collect();
            let sellers = crate::identity::seller_labels(&mut *shared.pool.get()?, &ids)?;
            Ok((rows, sellers))
        })
        .await?;
    let lang = language(&req);
    let csrf = session::csrf_token(&req);
    let more = rows.len() as i64 > COMPLAINTS_PER_PAGE;
    let complaints = rows
        .into_iter()
        .take(COMPLAINTS_PER_PAGE as usize)
        .map(|r| ComplaintLine {
            reference: r.reference,
            received: crate::disputes::calendar::local(
                chrono::DateTime::from_naive_utc_and_offset(r.created_at, chrono::Utc),
            )
            .format("%d/%m/%Y %H:%M")
            .to_string(),
            kind: super::labels::kind(&state.policies, &r.kind, lang.0),
            shop_name: r.shop_name.unwrap_or_default(),
            listing_link: r.listing_link.unwrap_or_default(),
            code: r.code.unwrap_or_default(),
            seller: r.seller_id.as_ref().map(|id| {
                sellers
                    .get(id)
                    .and_then(|(name, _)| name.clone())
                    .unwrap_or_else(|| id.clone())
            }),
            description: r.description,
            email: match r.email_erased_at {
                Some(_) => crate::i18n::label("console", "complaint_email_erased", lang.0),
                None => r.email,
            },
        })
        .collect();
    let template = ComplaintsPage {
        lang: lang.0,
        switch_link: switch_link(&req, lang.0),
        csrf: csrf.0.clone(),
        complaints,
        previous_page: (page_number > 1)
            .then(|| format!("/console/complaints?page={}", page_number - 1)),
        next_page: more.then(|| format!("/console/complaints?page={}", page_number + 1)),
    };
    page_with(&req, StatusCode::OK, lang, &template, |r| {
        session::keep_csrf(&req, r, &csrf)
    })
}
