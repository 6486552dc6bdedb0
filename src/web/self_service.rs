//! A signed-in person's own account: change the password (argon2id, as everywhere; the
//! other sessions end, as after a reset), the mail they receive and its language, for an
//! officer the name pages show them by, and for a seller closing the account (after a
//! confirmation page). Sellers reach it from the portal, officers from the console.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::console::{Form, field};
use super::session::{self, Session};
use super::{language, page_with, switch_link};
use crate::accounts::AccountError;
use crate::accounts::mail_settings::{MailSettings, MailSettingsChange, categories_for};
use crate::auth::PrincipalKind;
use crate::error::AppError;
use crate::http::Endpoint;
use crate::i18n::{Language, lookup};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/portal/account").get(seller_page))
        .service(Endpoint::new("/portal/account/password").post(seller_password))
        .service(Endpoint::new("/portal/account/notifications").post(seller_notifications))
        .service(
            Endpoint::new("/portal/account/close")
                .get(close_page)
                .post(close_account),
        )
        .service(Endpoint::new("/console/account").get(officer_page))
        .service(Endpoint::new("/console/account/password").post(officer_password))
        .service(Endpoint::new("/console/account/notifications").post(officer_notifications))
        .service(Endpoint::new("/console/account/name").post(officer_name));
}

#[derive(Template)]
#[template(path = "pages/account.html")]
struct AccountPage {
    lang: Language,
    switch_link: String,
    csrf: String,
    /// `/portal` or `/console`.
    area: &'static str,
    officer: bool,
    email: String,
    display_name: String,
    notice: Option<String>,
    /// (field, message).
    errors: Vec<(String, String)>,
    mail_language: Language,
    /// The version of the mail settings the form was drawn from.
    mail_version: i64,
    optional_mail: Vec<MailChoice>,
    always_mail: Vec<MailNotice>,
}

/// An optional category of mail, as the form offers it.
struct MailChoice {
    code: &'static str,
    name: String,
    why: String,
    receives: bool,
}

/// A category of mail that is always sent, and why.
struct MailNotice {
    name: String,
    why: String,
}

fn category_words(code: &str, lang: Language) -> (String, String) {
    (
        lookup(&format!("mail_category.{code}"), lang)
            .unwrap_or(code)
            .to_string(),
        lookup(&format!("mail_category_why.{code}"), lang)
            .unwrap_or_default()
            .to_string(),
    )
}

fn mail_lists(settings: &MailSettings, lang: Language) -> (Vec<MailChoice>, Vec<MailNotice>) {
    let mut optional = Vec::new();
    let mut always = Vec::new();
    for choice in &settings.categories {
        let code = choice.category.code();
        let (name, why) = category_words(code, lang);
        if choice.silenceable {
            optional.push(MailChoice {
                code,
                name,
                why,
                receives: choice.receives,
            });
        } else {
            always.push(MailNotice { name, why });
        }
    }
    (optional, always)
}

impl AccountPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// The signed-in person of the area, or where to sign in.
async fn signed_in(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    area: &'static str,
) -> Result<Session, HttpResponse> {
    if area == "/console" {
        return super::console::officer(state, req).await.map(|(s, _)| s);
    }
    match session::current(req, state).await {
        Some(s) if s.claims.kind == PrincipalKind::Seller => Ok(s),
        _ => Err(session::to_sign_in(area, &session::back_to(req))),
    }
}

async fn render(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    session: &Session,
    area: &'static str,
    status: StatusCode,
    errors: Vec<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let lang = language(req);
    let (shared, id) = (state.clone(), session.claims.sub.clone());
    let view = state
        .blocking(move || {
            super::account_service(&shared)
                .view(&id)
                .map_err(AppError::from)
        })
        .await?;
    let (shared, id) = (state.clone(), session.claims.sub.clone());
    let display_name = if area == "/console" {
        state
            .blocking(move || {
                super::account_service(&shared)
                    .display_name(&id)
                    .map_err(AppError::from)
            })
            .await?
            .unwrap_or_default()
    } else {
        String::new()
    };
    let (shared, id) = (state.clone(), session.claims.sub.clone());
    let mail = state
        .blocking(move || {
            super::account_service(&shared)
                .mail_settings(&id)
                .map_err(AppError::from)
        })
        .await?;
    let (optional_mail, always_mail) = mail_lists(&mail, lang.0);
    let done =
        serde_urlencoded::from_str::<std::collections::HashMap<String, String>>(req.query_string())
            .ok()
            .and_then(|q| q.get("done").cloned());
    let csrf = session::csrf_token(req);
    let template = AccountPage {
        lang: lang.0,
        switch_link: switch_link(req, lang.0),
        csrf: csrf.0.clone(),
        area,
        officer: area == "/console",
        email: view.email,
        display_name,
        notice: done.and_then(|d| super::done_notice(&d, lang.0)),
        errors,
        mail_language: mail.language,
        mail_version: mail.version,
        optional_mail,
        always_mail,
    };
    page_with(req, status, lang, &template, |r| {
        session::keep_csrf(req, r, &csrf);
    })
}

async fn seller_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    match signed_in(&state, &req, "/portal").await {
        Ok(s) => render(&state, &req, &s, "/portal", StatusCode::OK, Vec::new()).await,
        Err(redirect) => Ok(redirect),
    }
}

async fn officer_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    match signed_in(&state, &req, "/console").await {
        Ok(s) => render(&state, &req, &s, "/console", StatusCode::OK, Vec::new()).await,
        Err(redirect) => Ok(redirect),
    }
}

/// A refusal the page can show beside its field; anything else is an error page.
fn field_refusal(error: AccountError, lang: Language) -> Result<Vec<(String, String)>, AppError> {
    match error {
        AccountError::Invalid { field, message } => Ok(vec![(
            field.to_string(),
            super::labels::field_error(field, &message, lang),
        )]),
        other => Err(other.into()),
    }
}

async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
    area: &'static str,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let session = match signed_in(&state, &req, area).await {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    let lang = language(&req).0;
    let (current, new) = (
        field(&form, "current_password").to_string(),
        field(&form, "new_password").to_string(),
    );
    // Both fields are checked before the password is: every omission is named at once.
    let mut errors = Vec::new();
    for (name, value) in [("current_password", &current), ("new_password", &new)] {
        if value.is_empty() {
            errors.push((name.to_string(), super::labels::field_error(name, "", lang)));
        }
    }
    if !errors.is_empty() {
        return render(
            &state,
            &req,
            &session,
            area,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
        )
        .await;
    }
    let (shared, id, sid) = (
        state.clone(),
        session.claims.sub.clone(),
        session.claims.sid.clone(),
    );
    let outcome =
        state
            .blocking(move || {
                Ok(super::account_service(&shared).change_password(
                    &id,
                    sid.as_deref(),
                    &current,
                    &new,
                ))
            })
            .await?;
    match outcome {
        Ok(()) => Ok(session::see_other(&format!("{area}/account?done=password_changed")).finish()),
        Err(e) => {
            let errors = field_refusal(e, lang)?;
            render(
                &state,
                &req,
                &session,
                area,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
            )
            .await
        }
    }
}

async fn seller_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    change_password(state, req, form, "/portal").await
}

async fn officer_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    change_password(state, req, form, "/console").await
}

async fn officer_name(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let session = match signed_in(&state, &req, "/console").await {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    let name = field(&form, "display_name").to_string();
    let (shared, id) = (state.clone(), session.claims.sub.clone());
    let outcome = state
        .blocking(move || Ok(super::account_service(&shared).set_display_name(&id, &name)))
        .await?;
    match outcome {
        Ok(()) => Ok(session::see_other("/console/account?done=display_name").finish()),
        Err(e) => {
            let errors = field_refusal(e, language(&req).0)?;
            render(
                &state,
                &req,
                &session,
                "/console",
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
            )
            .await
        }
    }
}

async fn change_notifications(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
    area: &'static str,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let session = match signed_in(&state, &req, area).await {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    let lang = language(&req).0;
    // An unticked box is not sent: every optional category not ticked is silenced.
    let silenced = categories_for(session.claims.kind)
        .into_iter()
        .filter(|c| c.silenceable())
        .filter(|c| field(&form, &format!("receive_{}", c.code())).is_empty())
        .map(|c| c.code().to_string())
        .collect();
    let change = MailSettingsChange {
        language: field(&form, "language").to_string(),
        silenced,
        // A form without its version (an old page) saves over whatever is current.
        expected_version: field(&form, "version").parse().ok(),
    };
    let (shared, id) = (state.clone(), session.claims.sub.clone());
    let outcome = state
        .blocking(move || Ok(super::account_service(&shared).set_mail_settings(&id, &change)))
        .await?;
    let (status, errors) = match outcome {
        Ok(_) => {
            return Ok(session::see_other(&format!("{area}/account?done=mail_settings")).finish());
        }
        Err(AccountError::ChangedMeanwhile) => (
            StatusCode::CONFLICT,
            vec![(
                "notifications".to_string(),
                lookup("problem.mail_settings_changed", lang)
                    .unwrap_or_default()
                    .to_string(),
            )],
        ),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, field_refusal(e, lang)?),
    };
    render(&state, &req, &session, area, status, errors).await
}

async fn seller_notifications(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    change_notifications(state, req, form, "/portal").await
}

async fn officer_notifications(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    change_notifications(state, req, form, "/console").await
}

#[derive(Template)]
#[template(path = "pages/close_account.html")]
struct ClosePage {
    lang: Language,
    switch_link: String,
    csrf: String,
    email: String,
    /// Days after closing before personal data is pseudonymised.
    grace_days: u32,
    decision_months: u32,
    evidence_months: u32,
    audit_months: u32,
    /// (field, message).
    errors: Vec<(String, String)>,
}

impl ClosePage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// The confirmation page of closing a seller's account, with what the retention policy
/// keeps and for how long.
async fn render_close(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    session: &Session,
    status: StatusCode,
    errors: Vec<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let lang = language(req);
    let (shared, id) = (state.clone(), session.claims.sub.clone());
    let view = state
        .blocking(move || {
            super::account_service(&shared)
                .view(&id)
                .map_err(AppError::from)
        })
        .await?;
    // The policy the retention run applies, so that the page states the periods that apply.
    let retention = &state.retention;
    let csrf = session::csrf_token(req);
    let template = ClosePage {
        lang: lang.0,
        switch_link: switch_link(req, lang.0),
        csrf: csrf.0.clone(),
        email: view.email,
        grace_days: retention.closed_accounts.days,
        decision_months: retention.decisions.months,
        evidence_months: retention.evidence.months,
        audit_months: retention.audit_entries.months,
        errors,
    };
    page_with(req, status, lang, &template, |r| {
        session::keep_csrf(req, r, &csrf);
    })
}

async fn close_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    match signed_in(&state, &req, "/portal").await {
        Ok(s) => render_close(&state, &req, &s, StatusCode::OK, Vec::new()).await,
        Err(redirect) => Ok(redirect),
    }
}

/// Closes the seller's account once the password is given again and the irreversibility
/// confirmed; signs out and says so on the sign-in page.
async fn close_account(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let session = match signed_in(&state, &req, "/portal").await {
        Ok(s) => s,
        Err(redirect) => return Ok(redirect),
    };
    let lang = language(&req).0;
    let password = field(&form, "password").to_string();
    let mut errors = Vec::new();
    if password.is_empty() {
        errors.push(("password".to_string(), close_password_error(lang, None)));
    }
    if field(&form, "confirm").is_empty() {
        errors.push((
            "confirm".to_string(),
            lookup("field.confirm_close", lang)
                .unwrap_or_default()
                .to_string(),
        ));
    }
    if !errors.is_empty() {
        return render_close(
            &state,
            &req,
            &session,
            StatusCode::UNPROCESSABLE_ENTITY,
            errors,
        )
        .await;
    }
    let (shared, id) = (state.clone(), session.claims.sub.clone());
    let outcome = state
        .blocking(move || Ok(super::account_service(&shared).close_account(&id, &password)))
        .await?;
    let (status, errors) = match outcome {
        Ok(()) => {
            state.revoked_now().await?;
            let mut response = session::see_other("/portal/login?done=account_closed");
            session::sign_out(&req, &mut response);
            return Ok(response.finish());
        }
        Err(AccountError::Invalid { message, .. }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            vec![(
                "password".to_string(),
                close_password_error(lang, Some(message)),
            )],
        ),
        Err(AccountError::Conflict(message)) => (
            StatusCode::CONFLICT,
            vec![(
                "close-account".to_string(),
                if lang.is_vi() {
                    lookup("problem.close_blocked", lang)
                        .unwrap_or_default()
                        .to_string()
                } else {
                    message
                },
            )],
        ),
        Err(e) => return Err(e.into()),
    };
    render_close(&state, &req, &session, status, errors).await
}

/// The password was missing or wrong: said as the password form says it.
fn close_password_error(lang: Language, message: Option<String>) -> String {
    match message {
        Some(message) if !lang.is_vi() => message,
        _ => lookup("field.current_password", lang)
            .unwrap_or_default()
            .to_string(),
    }
}
