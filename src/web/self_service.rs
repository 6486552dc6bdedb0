//! A signed-in person's own account: change the password (argon2id, as everywhere; the
//! other sessions end, as after a reset) and, for an officer, the name pages show them by.
//! Sellers reach it from the portal, officers from the console.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::console::{Form, field};
use super::session::{self, Session};
use super::{language, page_with, switch_link};
use crate::accounts::AccountError;
use crate::auth::PrincipalKind;
use crate::error::AppError;
use crate::http::Endpoint;
use crate::i18n::Language;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/portal/account").get(seller_page))
        .service(Endpoint::new("/portal/account/password").post(seller_password))
        .service(Endpoint::new("/console/account").get(officer_page))
        .service(Endpoint::new("/console/account/password").post(officer_password))
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
