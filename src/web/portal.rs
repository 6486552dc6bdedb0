//! The seller portal: register, confirm the address, sign in, prove identity and business
//! with errors shown beside each field, take a binding code, and see bound shops and the
//! complaints about them.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::session::{self, Session};
use super::{language, page_with, switch_link};
use crate::accounts::{AccountError, LoginAttempt};
use crate::auth::PrincipalKind;
use crate::error::AppError;
use crate::http::Endpoint;
use crate::i18n::Language;
use crate::identity::{
    Bindings, BusinessClaim, BusinessKind, IdentityClaim, IdentityError, Standing, VerificationView,
};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/portal/login").get(login_form).post(login))
        .service(
            Endpoint::new("/portal/register")
                .get(register_form)
                .post(register),
        )
        .service(
            Endpoint::new("/verify-email")
                .get(verify_email_form)
                .post(verify_email),
        )
        .service(Endpoint::new("/portal").get(dashboard))
        .service(Endpoint::new("/portal/verification").get(to_dashboard))
        .service(Endpoint::new("/portal/identity").post(submit_identity))
        .service(Endpoint::new("/portal/business").post(submit_business))
        .service(Endpoint::new("/portal/binding-code").post(binding_code))
        .service(Endpoint::new("/portal/logout").post(logout));
}

type Form = web::Form<HashMap<String, String>>;

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or("")
}

#[derive(Template)]
#[template(path = "pages/login.html")]
struct LoginPage {
    lang: Language,
    switch_link: String,
    csrf: String,
    officer: bool,
    /// The form's address, carrying where to go afterwards.
    action: String,
    email: String,
    message: Option<String>,
    failed: bool,
}

/// The sign-in page of the portal (`officer = false`) or the console.
pub(super) fn login_page(
    req: &HttpRequest,
    officer: bool,
    status: StatusCode,
    email: &str,
    message: Option<(String, bool)>,
) -> Result<HttpResponse, AppError> {
    let lang = language(req);
    let csrf = session::csrf_token(req);
    let area = if officer { "/console" } else { "/portal" };
    let asked: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let next = asked
        .get("next")
        .and_then(|n| session::safe_next(n, area))
        .unwrap_or_default();
    let (message, failed) = match message {
        Some((m, failed)) => (Some(m), failed),
        // Sent here on the way to a page: say why.
        None if !next.is_empty() => (
            crate::i18n::lookup("signin.to_continue", lang.0).map(str::to_string),
            false,
        ),
        None => (None, false),
    };
    page_with(
        req,
        status,
        lang,
        &LoginPage {
            lang: lang.0,
            switch_link: switch_link(req, lang.0),
            csrf: csrf.0.clone(),
            officer,
            action: if next.is_empty() {
                format!("{area}/login")
            } else {
                format!(
                    "{area}/login?{}",
                    serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default()
                )
            },
            email: email.to_string(),
            message,
            failed,
        },
        |r| session::keep_csrf(req, r, &csrf),
    )
}

async fn login_form(req: HttpRequest) -> Result<HttpResponse, AppError> {
    // After closing an account the person lands here, signed out, and is told so.
    let asked: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let closed = asked
        .get("done")
        .filter(|d| d.as_str() == "account_closed")
        .and_then(|d| super::done_notice(d, language(&req).0))
        .map(|text| (text, false));
    login_page(&req, false, StatusCode::OK, "", closed)
}

fn sign_in_error(error: &AccountError, lang: Language) -> String {
    match (error, lang) {
        (AccountError::BadCredentials, Language::Vi) => "Email hoặc mật khẩu không đúng.".into(),
        (AccountError::EmailNotVerified, Language::Vi) => {
            "Hãy xác nhận địa chỉ email trước: mở đường dẫn chúng tôi đã gửi.".into()
        }
        (AccountError::Locked { retry_after_secs }, Language::Vi) => {
            format!("Quá nhiều lần thử sai; hãy thử lại sau {retry_after_secs} giây.")
        }
        (AccountError::SecondFactorRequired | AccountError::BadSecondFactor, Language::Vi) => {
            "Mã xác thực không đúng hoặc đã dùng.".into()
        }
        (AccountError::Disabled, Language::Vi) => {
            "Tài khoản đã bị vô hiệu; hãy liên hệ Sở Công Thương.".into()
        }
        (AccountError::Invalid { field, message }, lang) => {
            super::labels::field_error(field, message, lang)
        }
        (other, _) => other.to_string(),
    }
}

/// Whether a failed sign-in is the person's to fix (shown on the page) or ours (an error).
fn shown_at_sign_in(error: &AccountError) -> bool {
    matches!(
        error,
        AccountError::BadCredentials
            | AccountError::EmailNotVerified
            | AccountError::Locked { .. }
            | AccountError::SecondFactorRequired
            | AccountError::BadSecondFactor
            | AccountError::Disabled
            | AccountError::Invalid { .. }
    )
}

/// Signs in with the form's email, password and (officers) code; the kind of account must
/// fit the area.
pub(super) async fn sign_in(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    form: &HashMap<String, String>,
    officer: bool,
    home: &'static str,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(req, field(form, "csrf"))?;
    let lang = language(req).0;
    let ip = req
        .peer_addr()
        .map_or_else(|| "unknown".to_string(), |a| a.ip().to_string());
    let (email, password) = (
        field(form, "email").to_string(),
        field(form, "password").to_string(),
    );
    let totp = Some(field(form, "totp_code").trim().to_string()).filter(|c| !c.is_empty());
    let attempt = crate::accounts::routes::sign_in(
        state,
        LoginAttempt {
            email: email.clone(),
            password,
            totp_code: totp,
            ip,
        },
    )
    .await?;
    let pair = match attempt {
        Ok(pair) => pair,
        Err(error) if !shown_at_sign_in(&error) => return Err(error.into()),
        Err(error) => {
            return login_page(
                req,
                officer,
                StatusCode::UNAUTHORIZED,
                &email,
                Some((sign_in_error(&error, lang), true)),
            );
        }
    };
    let claims = state
        .tokens
        .verify(&pair.access_token, state.clock.now().timestamp())
        .map_err(|e| AppError::internal(anyhow::anyhow!("fresh token: {e}")))?;
    let fits = match claims.kind {
        PrincipalKind::Officer => officer,
        PrincipalKind::Seller => !officer,
        _ => false,
    };
    if !fits {
        let message = match (officer, lang) {
            (true, Language::Vi) => "Tài khoản này không phải tài khoản cán bộ.",
            (true, Language::En) => "This is not an officer's account.",
            (false, Language::Vi) => "Cán bộ đăng nhập tại trang dành cho cán bộ.",
            (false, Language::En) => "Officers sign in on the officers' page.",
        };
        return login_page(
            req,
            officer,
            StatusCode::FORBIDDEN,
            &email,
            Some((message.into(), true)),
        );
    }
    let area = if officer { "/console" } else { "/portal" };
    let asked: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let next = asked.get("next").and_then(|n| session::safe_next(n, area));
    let mut response = session::see_other(next.as_deref().unwrap_or(home));
    session::sign_in(req, &mut response, &pair);
    Ok(response.finish())
}

async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    sign_in(&state, &req, &form, false, "/portal").await
}

#[derive(Template)]
#[template(path = "pages/register.html")]
struct RegisterPage {
    lang: Language,
    switch_link: String,
    csrf: String,
    email: String,
    email_error: Option<String>,
    password_error: Option<String>,
}

fn register_page(
    req: &HttpRequest,
    status: StatusCode,
    email: &str,
    errors: (Option<String>, Option<String>),
) -> Result<HttpResponse, AppError> {
    let lang = language(req);
    let csrf = session::csrf_token(req);
    page_with(
        req,
        status,
        lang,
        &RegisterPage {
            lang: lang.0,
            switch_link: switch_link(req, lang.0),
            csrf: csrf.0.clone(),
            email: email.to_string(),
            email_error: errors.0,
            password_error: errors.1,
        },
        |r| session::keep_csrf(req, r, &csrf),
    )
}

async fn register_form(req: HttpRequest) -> Result<HttpResponse, AppError> {
    if done(&req).as_deref() == Some("sent") {
        let (heading, text) = match language(&req).0 {
            Language::Vi => (
                "Hãy kiểm tra hộp thư",
                "Chúng tôi đã gửi một đường dẫn đến địa chỉ email bạn nhập. Mở đường dẫn để xác nhận địa chỉ, rồi đăng nhập.",
            ),
            Language::En => (
                "Check your mail",
                "We sent a link to the address you gave. Open it to confirm the address, then sign in.",
            ),
        };
        return message(&req, StatusCode::OK, heading, text, None, None);
    }
    register_page(&req, StatusCode::OK, "", (None, None))
}

/// What a form just did, as its redirect tells the page (`?done=…`).
fn done(req: &HttpRequest) -> Option<String> {
    serde_urlencoded::from_str::<HashMap<String, String>>(req.query_string())
        .ok()
        .and_then(|q| q.get("done").cloned())
}

#[derive(Template)]
#[template(path = "pages/message.html")]
struct MessagePage {
    lang: Language,
    switch_link: String,
    csrf: String,
    heading: String,
    text: String,
    form: Option<MessageForm>,
    link: Option<(String, String)>,
}

struct MessageForm {
    action: String,
    fields: Vec<(String, String)>,
    button: String,
}

fn message(
    req: &HttpRequest,
    status: StatusCode,
    heading: &str,
    text: &str,
    form: Option<MessageForm>,
    link: Option<(&str, &str)>,
) -> Result<HttpResponse, AppError> {
    let lang = language(req);
    let csrf = session::csrf_token(req);
    page_with(
        req,
        status,
        lang,
        &MessagePage {
            lang: lang.0,
            switch_link: switch_link(req, lang.0),
            csrf: csrf.0.clone(),
            heading: heading.to_string(),
            text: text.to_string(),
            form,
            link: link.map(|(h, l)| (h.to_string(), l.to_string())),
        },
        |r| session::keep_csrf(req, r, &csrf),
    )
}

async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let lang = language(&req).0;
    let (email, password) = (
        field(&form, "email").to_string(),
        field(&form, "password").to_string(),
    );
    let shared = state.clone();
    let (e, p) = (email.clone(), password);
    let outcome = state
        .blocking(move || Ok(super::account_service(&shared).register(&e, &p, lang)))
        .await?;
    match outcome {
        // A page of its own: reloading it registers nothing again.
        Ok(()) => Ok(session::see_other("/portal/register?done=sent").finish()),
        Err(AccountError::Invalid { field, message }) => {
            let message = super::labels::field_error(field, &message, lang);
            let errors = if field == "password" {
                (None, Some(message))
            } else {
                (Some(message), None)
            };
            register_page(&req, StatusCode::UNPROCESSABLE_ENTITY, &email, errors)
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, serde::Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// The link in the registration mail: a button to confirm (mail scanners that open links
/// must not confirm on their own).
async fn verify_email_form(
    req: HttpRequest,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, AppError> {
    let vi = language(&req).0.is_vi();
    if query.token.is_empty() && done(&req).as_deref() == Some("confirmed") {
        return message(
            &req,
            StatusCode::OK,
            if vi {
                "Đã xác nhận địa chỉ email"
            } else {
                "Address confirmed"
            },
            if vi {
                "Bây giờ bạn có thể đăng nhập và xác minh danh tính."
            } else {
                "You can now sign in and prove your identity."
            },
            None,
            Some(("/portal/login", if vi { "Đăng nhập" } else { "Sign in" })),
        );
    }
    message(
        &req,
        StatusCode::OK,
        if vi {
            "Xác nhận địa chỉ email"
        } else {
            "Confirm your email address"
        },
        if vi {
            "Bấm nút dưới đây để xác nhận địa chỉ email của tài khoản người bán."
        } else {
            "Press the button below to confirm the address of your seller account."
        },
        Some(MessageForm {
            action: "/verify-email".into(),
            fields: vec![("token".into(), query.into_inner().token)],
            button: if vi { "Xác nhận" } else { "Confirm" }.into(),
        }),
        None,
    )
}

async fn verify_email(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let vi = language(&req).0.is_vi();
    let token = field(&form, "token").to_string();
    let shared = state.clone();
    let outcome = state
        .blocking(move || Ok(super::account_service(&shared).verify_email(&token)))
        .await?;
    match outcome {
        Ok(()) => Ok(session::see_other("/verify-email?done=confirmed").finish()),
        Err(AccountError::InvalidLink) => message(
            &req,
            StatusCode::UNPROCESSABLE_ENTITY,
            if vi {
                "Đường dẫn không còn dùng được"
            } else {
                "This link no longer works"
            },
            if vi {
                "Đường dẫn sai, đã dùng hoặc đã hết hạn. Hãy đăng nhập để được gửi đường dẫn mới."
            } else {
                "The link is wrong, used or expired. Sign in to be sent a new one."
            },
            None,
            Some(("/portal/login", if vi { "Đăng nhập" } else { "Sign in" })),
        ),
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "pages/portal.html")]
struct PortalPage {
    lang: Language,
    switch_link: String,
    csrf: String,
    notice: Option<String>,
    notice_ok: bool,
    standing: &'static str,
    standing_label: String,
    missing: String,
    identity_status: String,
    identity_reason: Option<String>,
    national_id: Option<String>,
    business: Option<String>,
    show_identity_form: bool,
    show_business_form: bool,
    verified: bool,
    binding_code: Option<String>,
    bindings: Vec<(String, String)>,
    disputes: Vec<(String, String, String, String)>,
    /// Whether an authorisation letter may be uploaded now.
    show_letter_form: bool,
    /// Letters uploaded: (id, file name, day).
    letters: Vec<(String, String, String)>,
    /// Cases waiting for the seller: (id, reference, status, deadline).
    needs_action: Vec<(String, String, String, String)>,
    /// The day the verification runs out, once verified.
    verified_until: Option<String>,
    full_name: String,
    birth_date: String,
    /// The business form's code, kind and letter reference, kept when it is refused.
    business_form: (String, String, String),
    errors: Vec<(String, String)>,
}

impl PortalPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

fn step_words(step: crate::identity::Step, lang: Language) -> String {
    crate::i18n::label("proof", step.as_str(), lang)
}

/// The standing's CSS class and its words.
fn standing_words(standing: Standing, lang: Language) -> (&'static str, String) {
    let class = match standing {
        Standing::PendingReview => "pending",
        other => other.as_str(),
    };
    (
        class,
        crate::i18n::label("standing", standing.as_str(), lang),
    )
}

/// What the dashboard shows, besides notices and form input to echo.
struct Extras {
    notice: Option<(String, bool)>,
    binding_code: Option<String>,
    errors: Vec<(String, String)>,
    full_name: String,
    birth_date: String,
    business_form: (String, String, String),
}

impl Extras {
    fn none() -> Self {
        Extras {
            notice: None,
            binding_code: None,
            errors: Vec::new(),
            full_name: String::new(),
            birth_date: String::new(),
            business_form: Default::default(),
        }
    }
}

/// The signed-in seller, or a response sending the browser to sign in.
async fn seller(state: &AppState, req: &HttpRequest) -> Result<Session, HttpResponse> {
    match session::current(req, state).await {
        Some(s) if s.claims.kind == PrincipalKind::Seller => Ok(s),
        _ => Err(session::to_sign_in("/portal", &session::back_to(req))),
    }
}

async fn render_dashboard(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    session: &Session,
    status: StatusCode,
    extras: Extras,
) -> Result<HttpResponse, AppError> {
    let lang = language(req);
    let seller_id = session.claims.sub.clone();
    let shared = state.clone();
    let (view, bindings, disputes, needs_action, letters) = state
        .blocking(move || {
            let sellers = super::seller_service(&shared);
            let view = sellers.verification(&seller_id).map_err(AppError::from)?;
            let bindings = Bindings {
                pool: &shared.pool,
                clock: shared.clock.as_ref(),
                policies: &shared.policies,
                facts: &shared.facts,
            }
            .list(&seller_id)
            .map_err(AppError::from)?;
            let disputes = super::disputes_of(&shared, &seller_id)?;
            // The cases waiting for the seller: those where a move is theirs to make now.
            let service = super::dispute_service(&shared);
            let caller = crate::disputes::Caller::Seller(seller_id.clone());
            let mut needs_action = Vec::new();
            for (id, reference, status, _) in disputes.iter().take(50) {
                if matches!(
                    status.as_str(),
                    "closed" | "withdrawn" | "settled" | "appeal_decided"
                ) {
                    continue;
                }
                let case = service.get(&caller, id).map_err(AppError::from)?;
                if case.allowed_actions.is_empty() {
                    continue;
                }
                let due = if status == "decided" {
                    case.deadlines.appeal
                } else {
                    case.deadlines.seller_answer
                };
                needs_action.push((id.clone(), reference.clone(), status.clone(), due));
            }
            let letters = super::letters::letter_service(&shared)
                .of_seller(&seller_id)
                .map_err(super::letters::letter_error)?;
            Ok((view, bindings, disputes, needs_action, letters))
        })
        .await?;
    let VerificationView {
        status: standing,
        identity,
        business,
        missing,
        expires_at,
        ..
    } = view;
    let (standing_class, standing_label) = standing_words(standing, lang.0);
    let identity_verified = identity.status == crate::identity::Step::Verified;
    let business_shown = business.as_ref().map(|b| {
        format!(
            "{} {} — {}",
            b.code,
            b.name.clone().unwrap_or_default(),
            step_words(b.status, lang.0)
        )
    });
    let pending_review = business
        .as_ref()
        .is_some_and(|b| b.status == crate::identity::Step::PendingReview);
    let business_done = business.as_ref().is_some_and(|b| {
        matches!(
            b.status,
            crate::identity::Step::Verified | crate::identity::Step::PendingReview
        )
    });
    let csrf = session::csrf_token(req);
    let (notice, notice_ok) = match extras.notice {
        Some((n, ok)) => (Some(n), ok),
        None => (None, true),
    };
    let template = PortalPage {
        lang: lang.0,
        switch_link: switch_link(req, lang.0),
        csrf: csrf.0.clone(),
        notice,
        notice_ok,
        standing: standing_class,
        standing_label,
        missing: missing
            .iter()
            .map(|m| crate::i18n::label("missing", m, lang.0))
            .collect::<Vec<_>>()
            .join(", "),
        identity_status: step_words(identity.status, lang.0),
        identity_reason: identity
            .reason
            .map(|r| crate::i18n::label("reason", &r, lang.0)),
        national_id: identity.national_id,
        business: business_shown,
        show_identity_form: !identity_verified,
        show_business_form: identity_verified && !business_done,
        verified: standing == Standing::Verified,
        binding_code: extras.binding_code,
        bindings: bindings
            .into_iter()
            .filter(|b| b.revoked_at.is_none())
            .map(|b| {
                (
                    b.platform_name.unwrap_or(b.platform_id),
                    b.shop_name.unwrap_or(b.shop_id),
                )
            })
            .collect(),
        disputes: disputes
            .into_iter()
            .map(|(id, reference, status, listing)| {
                (
                    id,
                    reference,
                    super::labels::status(&status, lang.0),
                    listing,
                )
            })
            .collect(),
        show_letter_form: identity_verified && (!business_done || pending_review),
        letters: super::letters::listed(letters),
        needs_action: needs_action
            .into_iter()
            .map(|(id, reference, status, due)| {
                (
                    id,
                    reference,
                    super::labels::status(&status, lang.0),
                    super::deadline_shown(due),
                )
            })
            .collect(),
        verified_until: expires_at.map(|at| {
            crate::disputes::calendar::local(at)
                .format("%d/%m/%Y")
                .to_string()
        }),
        full_name: extras.full_name,
        birth_date: extras.birth_date,
        business_form: extras.business_form,
        errors: extras.errors,
    };
    // The portal loads our script: a button that copies the binding code.
    let mut response = page_with(req, status, lang, &template, |r| {
        session::keep_csrf(req, r, &csrf);
    })?;
    super::allow_script(&mut response);
    Ok(response)
}

async fn dashboard(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let session = match seller(&state, &req).await {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    let asked: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let mut extras = Extras::none();
    let lang = language(&req).0;
    extras.notice = asked.get("done").and_then(|done| {
        let ok = !matches!(
            done.as_str(),
            "mismatch" | "letter_refused" | "letter_missing"
        );
        super::done_notice(done, lang).map(|text| (text, ok))
    });
    // The code issued by the last form, shown again on reload (never a new one).
    extras.binding_code = req
        .cookie(BINDING_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|c| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-'));
    render_dashboard(&state, &req, &session, StatusCode::OK, extras).await
}

/// Holds the binding code just issued for the dashboard after the redirect.
const BINDING_COOKIE: &str = "tg_binding_code";

async fn to_dashboard() -> HttpResponse {
    session::see_other("/portal").finish()
}

/// The outcome of a verification step, as the page shows it.
fn step_outcome(
    outcome: Result<VerificationView, IdentityError>,
    lang: Language,
) -> Result<(StatusCode, Extras), AppError> {
    let vi = lang.is_vi();
    match outcome {
        Ok(view) => {
            let rejected = view.identity.reason.is_some()
                || view
                    .business
                    .as_ref()
                    .is_some_and(|b| b.status == crate::identity::Step::Rejected);
            let mut extras = Extras::none();
            extras.notice = Some(if rejected {
                (
                    if vi {
                        "Thông tin chưa khớp với sổ đăng ký; xem lý do bên dưới.".into()
                    } else {
                        "The details did not match the register; see the reason below.".into()
                    },
                    false,
                )
            } else {
                (
                    if vi {
                        "Đã kiểm tra với sổ đăng ký."
                    } else {
                        "Checked against the register."
                    }
                    .into(),
                    true,
                )
            });
            Ok((StatusCode::OK, extras))
        }
        Err(IdentityError::Invalid { field, message }) => {
            let mut extras = Extras::none();
            extras.notice =
                crate::i18n::lookup("problem.validation", lang).map(|t| (t.to_string(), false));
            extras.errors.push((
                field.to_string(),
                super::labels::field_error(field, &message, lang),
            ));
            Ok((StatusCode::UNPROCESSABLE_ENTITY, extras))
        }
        Err(IdentityError::Conflict(message)) => {
            let mut extras = Extras::none();
            extras.notice = Some((message, false));
            Ok((StatusCode::CONFLICT, extras))
        }
        Err(IdentityError::Unavailable(_)) => {
            let mut extras = Extras::none();
            extras.notice = Some((
                if vi {
                    "Sổ đăng ký chưa trả lời; chưa có gì được quyết định, hãy thử lại sau ít phút."
                } else {
                    "The register did not answer; nothing was decided, try again in a few minutes."
                }
                .into(),
                false,
            ));
            Ok((StatusCode::SERVICE_UNAVAILABLE, extras))
        }
        Err(other) => Err(other.into()),
    }
}

async fn submit_identity(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let session = match seller(&state, &req).await {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    let (id, name, born) = (
        field(&form, "national_id").to_string(),
        field(&form, "full_name").to_string(),
        field(&form, "birth_date").to_string(),
    );
    // The form's shape is checked field by field first, so every mistake shows at once;
    // the register then checks what the fields say.
    let lang = language(&req).0;
    let shape_errors: Vec<(String, String)> = [
        (
            "national_id",
            id.trim().len() == 12 && id.trim().chars().all(|c| c.is_ascii_digit()),
        ),
        ("full_name", !name.trim().is_empty()),
        (
            "birth_date",
            chrono::NaiveDate::parse_from_str(born.trim(), "%Y-%m-%d").is_ok(),
        ),
    ]
    .into_iter()
    .filter(|(_, fits)| !fits)
    .map(|(f, _)| (f.to_string(), crate::i18n::label("field", f, lang)))
    .collect();
    if !shape_errors.is_empty() {
        let mut extras = Extras::none();
        extras.notice =
            crate::i18n::lookup("problem.validation", lang).map(|t| (t.to_string(), false));
        extras.errors = shape_errors;
        extras.full_name = name;
        extras.birth_date = born;
        return render_dashboard(
            &state,
            &req,
            &session,
            StatusCode::UNPROCESSABLE_ENTITY,
            extras,
        )
        .await;
    }
    let (seller_id, shared) = (session.claims.sub.clone(), state.clone());
    let (n, b) = (name.clone(), born.clone());
    let source = req
        .peer_addr()
        .map_or_else(|| "unknown".to_string(), |a| a.ip().to_string());
    let outcome = state
        .blocking(move || {
            Ok(super::seller_service(&shared).submit_identity(
                &seller_id,
                &IdentityClaim {
                    national_id: &id,
                    full_name: &n,
                    birth_date: &b,
                    source: &source,
                },
            ))
        })
        .await?;
    let (status, mut extras) = step_outcome(outcome, language(&req).0)?;
    if status == StatusCode::OK {
        return Ok(after_check(&extras, "identity"));
    }
    // Echo what was typed, except the citizen ID.
    extras.full_name = name;
    extras.birth_date = born;
    render_dashboard(&state, &req, &session, status, extras).await
}

async fn submit_business(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let session = match seller(&state, &req).await {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    let kind = match field(&form, "kind") {
        "household_business" => BusinessKind::HouseholdBusiness,
        _ => BusinessKind::Enterprise,
    };
    let code = field(&form, "code").to_string();
    let note = field(&form, "authorisation_note").to_string();
    let (seller_id, shared) = (session.claims.sub.clone(), state.clone());
    let (for_code, for_note) = (code.clone(), note.clone());
    let outcome = state
        .blocking(move || {
            Ok(super::seller_service(&shared).submit_business(
                &seller_id,
                &BusinessClaim {
                    kind,
                    code: &for_code,
                    authorisation_note: Some(for_note.as_str()),
                },
            ))
        })
        .await?;
    let (status, mut extras) = step_outcome(outcome, language(&req).0)?;
    extras.business_form = (code, kind.as_str().to_string(), note);
    if status == StatusCode::OK {
        return Ok(after_check(&extras, "business"));
    }
    render_dashboard(&state, &req, &session, status, extras).await
}

/// After a check the register answered: back to the dashboard (a reload does not send the
/// form again), saying whether the details matched.
fn after_check(extras: &Extras, done: &str) -> HttpResponse {
    let matched = extras.notice.as_ref().is_none_or(|(_, ok)| *ok);
    let done = if matched { done } else { "mismatch" };
    session::see_other(&format!("/portal?done={done}")).finish()
}

async fn binding_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let session = match seller(&state, &req).await {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    let (seller_id, shared) = (session.claims.sub.clone(), state.clone());
    let code = state
        .blocking(move || {
            Bindings {
                pool: &shared.pool,
                clock: shared.clock.as_ref(),
                policies: &shared.policies,
                facts: &shared.facts,
            }
            .issue_code(&seller_id)
            .map_err(AppError::from)
        })
        .await?;
    let lifetime = (code.expires_at - state.clock.now()).num_seconds().max(1);
    let mut response = session::see_other("/portal?done=binding_code");
    response.cookie(
        actix_web::cookie::Cookie::build(BINDING_COOKIE, code.code)
            .path("/portal")
            .http_only(true)
            .secure(state.config.server.public_url.starts_with("https://"))
            .same_site(actix_web::cookie::SameSite::Strict)
            .max_age(actix_web::cookie::time::Duration::seconds(lifetime))
            .finish(),
    );
    Ok(response.finish())
}

async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    session::end(&req, &state).await;
    let mut response = session::see_other("/portal/login");
    session::sign_out(&req, &mut response);
    Ok(response.finish())
}
