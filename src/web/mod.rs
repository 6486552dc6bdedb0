//! Pages people read in a browser: server-rendered askama templates from
//! `templates/pages/`, one stylesheet of our own, no scripts inline or from elsewhere.
//! Vietnamese by default; `?lang=en` (remembered in a cookie) switches to English.

pub mod accounts;
pub mod cases;
pub mod console;
pub mod console_tools;
pub mod decision;
pub mod errors;
pub mod home;
pub mod labels;
pub mod letters;
pub mod portal;
pub mod report;
pub mod self_service;
pub mod session;
pub mod thread;
pub mod verify;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use askama::Template;

use crate::error::AppError;
use crate::http::Endpoint;
use crate::i18n::Language;
use crate::state::AppState;

/// The stylesheet, built into the binary.
const STYLE: &str = include_str!("../../templates/static/style.css");

/// What pages may load: only our own stylesheet and images, no scripts (two pages allow
/// our one script: [`CONTENT_SECURITY_POLICY_WITH_SCRIPT`]), no framing, forms only to
/// ourselves.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The policy of the pages that load our one script (`/static/enhance.js`): the home
/// page (scanning a code with the camera) and the seller portal (copying the binding
/// code). The same as [`CONTENT_SECURITY_POLICY`] plus that file and the camera's video.
pub const CONTENT_SECURITY_POLICY_WITH_SCRIPT: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self' blob:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The script, built into the binary.
const SCRIPT: &str = include_str!("../../templates/static/enhance.js");

const LANG_COOKIE: &str = "lang";

/// The pages. The public resolver (`verify::configure`) is registered on its own, early.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/static/style.css").get(stylesheet))
        .service(Endpoint::new("/static/enhance.js").get(script));
    home::configure(cfg);
    portal::configure(cfg);
    console::configure(cfg);
    console_tools::configure(cfg);
    cases::configure(cfg);
    decision::configure(cfg);
    accounts::configure(cfg);
    report::configure(cfg);
    self_service::configure(cfg);
    letters::configure(cfg);
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(STYLE)
}

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(SCRIPT)
}

/// Lets a rendered page load our script (and nothing else besides what every page may).
pub(crate) fn allow_script(response: &mut HttpResponse) {
    response.headers_mut().insert(
        header::HeaderName::from_static("content-security-policy"),
        header::HeaderValue::from_static(CONTENT_SECURITY_POLICY_WITH_SCRIPT),
    );
}

/// The reader's language: `?lang=` first, then the cookie; Vietnamese otherwise (whatever
/// the browser's own language: the switch is on every page).
pub fn language(req: &HttpRequest) -> (Language, bool) {
    let asked =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .ok()
            .and_then(|q| q.get("lang").cloned());
    if let Some(code) = asked.as_deref().filter(|c| *c == "vi" || *c == "en") {
        return (Language::from_code(code), true);
    }
    let remembered = req
        .cookie(LANG_COOKIE)
        .map_or(Language::Vi, |c| Language::from_code(c.value()));
    (remembered, false)
}

/// The current page's address in the other language.
pub fn switch_link(req: &HttpRequest, lang: Language) -> String {
    let other = match lang {
        Language::Vi => "en",
        Language::En => "vi",
    };
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    pairs.retain(|(k, _)| k != "lang");
    pairs.push(("lang".into(), other.into()));
    let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    format!("{}?{query}", req.path())
}

/// A rendered page with the headers every page carries.
pub fn page(
    req: &HttpRequest,
    status: StatusCode,
    lang: (Language, bool),
    template: &impl Template,
) -> Result<HttpResponse, AppError> {
    page_with(req, status, lang, template, |_| {})
}

/// A rendered page, letting `extra` add headers or cookies (sessions, CSRF).
pub fn page_with(
    req: &HttpRequest,
    status: StatusCode,
    lang: (Language, bool),
    template: &impl Template,
    extra: impl FnOnce(&mut HttpResponseBuilder),
) -> Result<HttpResponse, AppError> {
    let body = template
        .render()
        .map_err(|e| AppError::internal(anyhow::anyhow!("page template: {e}")))?;
    let mut response = HttpResponse::build(status);
    response
        .content_type("text/html; charset=utf-8")
        .insert_header(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "same-origin"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::VARY, "Accept, Cookie"));
    if lang.1 {
        let secure = req.connection_info().scheme() == "https";
        response.cookie(
            Cookie::build(LANG_COOKIE, lang.0.code())
                .path("/")
                .http_only(true)
                .secure(secure)
                .same_site(SameSite::Lax)
                .max_age(actix_web::cookie::time::Duration::days(365))
                .finish(),
        );
    }
    extra(&mut response);
    Ok(response.body(body))
}

/// The notice shown after a form did something: known moves only (the page never echoes
/// text from its address).
pub(crate) fn done_notice(done: &str, lang: Language) -> Option<String> {
    crate::i18n::lookup(&format!("done.{done}"), lang).map(str::to_string)
}

/// The account service, as pages use it.
pub(crate) fn account_service(state: &AppState) -> crate::accounts::Accounts<'_> {
    crate::accounts::Accounts {
        pool: &state.pool,
        config: &state.config,
        clock: state.clock.as_ref(),
        tokens: &state.tokens,
        vault: &state.vault,
        hashing: &state.hashing,
        retention: &state.retention,
    }
}

/// The dispute service, as pages use it.
pub(crate) fn dispute_service(state: &AppState) -> crate::disputes::Disputes<'_> {
    crate::disputes::Disputes {
        pool: &state.pool,
        clock: state.clock.as_ref(),
        policies: &state.policies,
        facts: &state.facts,
        vault: &state.vault,
        evidence: &state.evidence,
        config: &state.config.disputes,
        public_url: &state.config.server.public_url,
    }
}

/// The seller service, as pages use it.
pub(crate) fn seller_service(state: &AppState) -> crate::identity::Sellers<'_> {
    crate::identity::Sellers {
        pool: &state.pool,
        clock: state.clock.as_ref(),
        vault: &state.vault,
        policies: &state.policies,
        registers: &state.registers,
        facts: &state.facts,
    }
}

/// The client service, as pages use it.
pub(crate) fn client_service(state: &AppState) -> crate::clients::Clients<'_> {
    crate::clients::Clients {
        pool: &state.pool,
        config: &state.config,
        clock: state.clock.as_ref(),
        tokens: &state.tokens,
        vault: &state.vault,
        hashing: &state.hashing,
    }
}

/// A deadline in Vietnam's time, `dd/mm/yyyy HH:MM`. Deadlines fall at the midnight that
/// ends a day, which reads better as that day's 23:59.
pub(crate) fn deadline_shown(at: Option<chrono::DateTime<chrono::FixedOffset>>) -> String {
    at.map(|a| {
        let a = if a.time() == chrono::NaiveTime::MIN {
            a - chrono::TimeDelta::minutes(1)
        } else {
            a
        };
        a.format("%d/%m/%Y %H:%M").to_string()
    })
    .unwrap_or_else(|| "—".into())
}

/// The cases against a seller, for their pages: (id, reference, status, listing).
pub(crate) fn disputes_of(
    state: &AppState,
    seller_id: &str,
) -> Result<Vec<(String, String, String, String)>, AppError> {
    let disputes = dispute_service(state);
    Ok(disputes
        .of_seller(seller_id)
        .map_err(AppError::from)?
        .into_iter()
        .map(|d| (d.id, d.reference, d.status, d.listing_id))
        .collect())
}
