//! Pages behind the links in account mail: an officer's invitation (set a password, then
//! an authenticator app), and password reset.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::console::{Form, field};
use super::session;
use super::{language, page_with, switch_link};
use crate::accounts::AccountError;
use crate::auth::PrincipalKind;
use crate::error::AppError;
use crate::http::Endpoint;
use crate::i18n::Language;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        Endpoint::new("/accept-invitation")
            .get(invitation_form)
            .post(accept_invitation),
    )
    .service(
        Endpoint::new("/reset-password")
            .get(reset_form)
            .post(request_reset),
    )
    .service(Endpoint::new("/reset-password/confirm").post(confirm_reset))
    .service(
        Endpoint::new("/console/totp")
            .get(totp_form)
            .post(confirm_totp),
    );
}

#[derive(Template)]
#[template(path = "pages/password.html")]
struct PasswordPage {
    lang: Language,
    switch_link: String,
    csrf: String,
    heading: String,
    action: &'static str,
    token: Option<String>,
    ask_email: bool,
    button: String,
    error: Option<String>,
}

#[allow(clippy::too_many_arguments)]
fn password_page(
    req: &HttpRequest,
    status: StatusCode,
    heading: &str,
    action: &'static str,
    token: Option<String>,
    ask_email: bool,
    button: &str,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let lang = language(req);
    let csrf = session::csrf_token(req);
    page_with(
        req,
        status,
        lang,
        &PasswordPage {
            lang: lang.0,
            switch_link: switch_link(req, lang.0),
            csrf: csrf.0.clone(),
            heading: heading.into(),
            action,
            token,
            ask_email,
            button: button.into(),
            error,
        },
        |r| session::keep_csrf(req, r, &csrf),
    )
}

fn token_of(req: &HttpRequest) -> Option<String> {
    serde_urlencoded::from_str::<HashMap<String, String>>(req.query_string())
        .ok()
        .and_then(|q| q.get("token").cloned())
        .filter(|t| !t.is_empty())
}

async fn invitation_form(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let vi = language(&req).0.is_vi();
    password_page(
        &req,
        StatusCode::OK,
        if vi {
            "Đặt mật khẩu cán bộ"
        } else {
            "Set your officer password"
        },
        "/accept-invitation",
        token_of(&req),
        false,
        if vi {
            "Đặt mật khẩu"
        } else {
            "Set password"
        },
        None,
    )
}

fn account_error(error: &AccountError) -> Option<String> {
    match error {
        AccountError::Invalid { message, .. } => Some(message.clone()),
        AccountError::InvalidLink => Some(error.to_string()),
        _ => None,
    }
}

async fn accept_invitation(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let vi = language(&req).0.is_vi();
    let (token, password) = (
        field(&form, "token").to_string(),
        field(&form, "password").to_string(),
    );
    let (shared, t) = (state.clone(), token.clone());
    let outcome = state
        .blocking(move || Ok(super::account_service(&shared).accept_invitation(&t, &password)))
        .await?;
    match outcome {
        // Next: sign in, then set up the authenticator app.
        Ok(()) => Ok(session::see_other("/console/login").finish()),
        Err(e) => match account_error(&e) {
            Some(message) => password_page(
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                if vi {
                    "Đặt mật khẩu cán bộ"
                } else {
                    "Set your officer password"
                },
                "/accept-invitation",
                Some(token),
                false,
                if vi {
                    "Đặt mật khẩu"
                } else {
                    "Set password"
                },
                Some(message),
            ),
            None => Err(e.into()),
        },
    }
}

async fn reset_form(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let sent = serde_urlencoded::from_str::<HashMap<String, String>>(req.query_string())
        .ok()
        .is_some_and(|q| q.get("done").is_some_and(|d| d == "sent"));
    if sent && token_of(&req).is_none() {
        return reset_requested(&req);
    }
    let vi = language(&req).0.is_vi();
    match token_of(&req) {
        Some(token) => password_page(
            &req,
            StatusCode::OK,
            if vi {
                "Đặt mật khẩu mới"
            } else {
                "Choose a new password"
            },
            "/reset-password/confirm",
            Some(token),
            false,
            if vi {
                "Lưu mật khẩu"
            } else {
                "Save password"
            },
            None,
        ),
        None => password_page(
            &req,
            StatusCode::OK,
            if vi {
                "Quên mật khẩu"
            } else {
                "Forgotten password"
            },
            "/reset-password",
            None,
            true,
            if vi {
                "Gửi đường dẫn"
            } else {
                "Send me a link"
            },
            None,
        ),
    }
}

async fn request_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let email = field(&form, "email").to_string();
    let shared = state.clone();
    // The same answer whether or not the address has an account.
    let _ = state
        .blocking(move || Ok(super::account_service(&shared).request_password_reset(&email)))
        .await?;
    // A page of its own: reloading it sends no second mail.
    Ok(session::see_other("/reset-password?done=sent").finish())
}

/// The answer to a reset request, the same whether or not the address has an account.
fn reset_requested(req: &HttpRequest) -> Result<HttpResponse, AppError> {
    let vi = language(req).0.is_vi();
    password_page(
        req,
        StatusCode::OK,
        if vi {
            "Nếu địa chỉ này có tài khoản, chúng tôi đã gửi đường dẫn đặt lại mật khẩu."
        } else {
            "If this address has an account, we sent it a link to reset the password."
        },
        "/reset-password",
        None,
        true,
        if vi { "Gửi lại" } else { "Send again" },
        None,
    )
}

async fn confirm_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let vi = language(&req).0.is_vi();
    let (token, password) = (
        field(&form, "token").to_string(),
        field(&form, "password").to_string(),
    );
    let (shared, t) = (state.clone(), token.clone());
    let outcome = state
        .blocking(move || Ok(super::account_service(&shared).confirm_password_reset(&t, &password)))
        .await?;
    match outcome {
        Ok(()) => Ok(session::see_other("/portal/login").finish()),
        Err(e) => match account_error(&e) {
            Some(message) => password_page(
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                if vi {
                    "Đặt mật khẩu mới"
                } else {
                    "Choose a new password"
                },
                "/reset-password/confirm",
                Some(token),
                false,
                if vi {
                    "Lưu mật khẩu"
                } else {
                    "Save password"
                },
                Some(message),
            ),
            None => Err(e.into()),
        },
    }
}

#[derive(Template)]
#[template(path = "pages/totp.html")]
struct TotpPage {
    lang: Language,
    switch_link: String,
    csrf: String,
    secret: String,
    qr_svg: String,
    error: Option<String>,
}

/// The officer signed in with a password only, on their way to a second factor.
async fn enrolling_officer(state: &AppState, req: &HttpRequest) -> Option<session::Session> {
    session::current(req, state)
        .await
        .filter(|s| s.claims.kind == PrincipalKind::Officer)
}

/// The set-up page, with the pending secret if there is one (a reload or a mistyped code
/// never voids the QR code already scanned), else a new one.
async fn totp_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    session: &session::Session,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let (shared, account) = (state.clone(), session.claims.sub.clone());
    let enrolment = state
        .blocking(move || {
            let service = super::account_service(&shared);
            match service.pending_totp(&account).map_err(AppError::from)? {
                Some(pending) => Ok(pending),
                None => service.enrol_totp(&account).map_err(AppError::from),
            }
        })
        .await?;
    let qr_svg = qrcode::QrCode::new(enrolment.otpauth_uri.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default();
    // The renderer's XML declaration does not belong inside HTML.
    let qr_svg = qr_svg
        .find("<svg")
        .map_or(String::new(), |start| qr_svg[start..].to_string());
    let lang = language(req);
    let csrf = session::csrf_token(req);
    page_with(
        req,
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        lang,
        &TotpPage {
            lang: lang.0,
            switch_link: switch_link(req, lang.0),
            csrf: csrf.0.clone(),
            secret: enrolment.secret,
            qr_svg,
            error,
        },
        |r| {
            session::keep_csrf(req, r, &csrf);
        },
    )
}

async fn totp_form(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    let Some(session) = enrolling_officer(&state, &req).await else {
        return Ok(session::see_other("/console/login").finish());
    };
    totp_page(&state, &req, &session, None).await
}

async fn confirm_totp(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let Some(session) = enrolling_officer(&state, &req).await else {
        return Ok(session::see_other("/console/login").finish());
    };
    let (shared, account, code) = (
        state.clone(),
        session.claims.sub.clone(),
        field(&form, "code").trim().to_string(),
    );
    let outcome = state
        .blocking(move || Ok(super::account_service(&shared).confirm_totp_session(&account, &code)))
        .await?;
    match outcome {
        // The password-only session gives way to one that carries the second factor.
        Ok(pair) => {
            session::end(&req, &state).await;
            let mut response = session::see_other("/console?done=totp");
            session::sign_in(&req, &mut response, &pair);
            Ok(response.finish())
        }
        Err(e @ (AccountError::BadSecondFactor | AccountError::Invalid { .. })) => {
            let words = match &e {
                AccountError::Invalid { field, message } => {
                    super::labels::field_error(field, message, language(&req).0)
                }
                _ => crate::i18n::lookup("field.totp", language(&req).0)
                    .unwrap_or_default()
                    .to_string(),
            };
            totp_page(&state, &req, &session, Some(words)).await
        }
        Err(e) => Err(e.into()),
    }
}
