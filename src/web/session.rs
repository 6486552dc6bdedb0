//! Signing in on pages: the same access and refresh tokens as the API, kept in HttpOnly,
//! SameSite=Lax cookies (Secure when the public URL is https; Lax so that links in mail
//! open signed in), renewed from the refresh token when the access token has expired.
//! Every form carries a CSRF token that must match its cookie.

use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, HttpResponseBuilder, web};

use crate::accounts::TokenPair;
use crate::auth::Claims;
use crate::error::AppError;
use crate::state::AppState;

const ACCESS: &str = "tg_access";
const REFRESH: &str = "tg_refresh";
const CSRF: &str = "tg_csrf";

/// Cookies are Secure when people reach the service over https (taken from the
/// configuration, not from headers a client could send).
fn secure(req: &HttpRequest) -> bool {
    req.app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.config.server.public_url.starts_with("https://"))
}

fn cookie(
    req: &HttpRequest,
    name: &'static str,
    value: String,
    max_age_secs: i64,
) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(secure(req))
        .same_site(SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_secs))
        .finish()
}

/// Sets the cookies of a fresh token pair.
pub fn sign_in(req: &HttpRequest, response: &mut HttpResponseBuilder, pair: &TokenPair) {
    response.cookie(cookie(
        req,
        ACCESS,
        pair.access_token.clone(),
        i64::from(pair.expires_in),
    ));
    response.cookie(cookie(
        req,
        REFRESH,
        pair.refresh_token.clone(),
        pair.refresh_expires_in,
    ));
}

/// Clears the session cookies.
pub fn sign_out(req: &HttpRequest, response: &mut HttpResponseBuilder) {
    for name in [ACCESS, REFRESH] {
        response.cookie(cookie(req, name, String::new(), 0));
    }
}

/// The signed-in person.
pub struct Session {
    pub claims: Claims,
}

/// A token pair renewed while handling a request; [`carry_renewal`] sets its cookies on
/// whatever response the request gets, errors included (the old refresh token is spent).
#[derive(Clone)]
struct Renewed(TokenPair);

/// Middleware: adds the cookies of a session renewed during the request to its response.
pub async fn carry_renewal(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut response = next.call(req).await?;
    let renewed = response.request().extensions().get::<Renewed>().cloned();
    if let Some(Renewed(pair)) = renewed {
        let request = response.request().clone();
        let cookies = [
            cookie(
                &request,
                ACCESS,
                pair.access_token.clone(),
                i64::from(pair.expires_in),
            ),
            cookie(
                &request,
                REFRESH,
                pair.refresh_token.clone(),
                pair.refresh_expires_in,
            ),
        ];
        for c in cookies {
            let _ = response.response_mut().add_cookie(&c);
        }
    }
    Ok(response)
}

/// The session of the request, if any (renewing an expired access token).
pub async fn current(req: &HttpRequest, state: &AppState) -> Option<Session> {
    let now = state.clock.now().timestamp();
    if let Some(access) = req.cookie(ACCESS)
        && let Ok(claims) = state.tokens.verify(access.value(), now)
    {
        return Some(Session { claims });
    }
    let refresh = req.cookie(REFRESH)?.value().to_string();
    let shared = state.clone();
    let pair = state
        .blocking(move || {
            super::account_service(&shared)
                .refresh(&refresh)
                .map_err(|e| AppError::unauthorized(e.to_string()))
        })
        .await
        .ok()?;
    let claims = state.tokens.verify(&pair.access_token, now).ok()?;
    req.extensions_mut().insert(Renewed(pair));
    Some(Session { claims })
}

/// Ends the session's refresh token family (best effort: the cookies go anyway).
pub async fn end(req: &HttpRequest, state: &AppState) {
    if let Some(refresh) = req.cookie(REFRESH).map(|c| c.value().to_string()) {
        let shared = state.clone();
        let _ = state
            .blocking(move || {
                super::account_service(&shared)
                    .logout(&refresh)
                    .map_err(|e| AppError::unauthorized(e.to_string()))
            })
            .await;
    }
}

/// The CSRF token of this browser (the cookie's, or a new one to set).
pub fn csrf_token(req: &HttpRequest) -> (String, bool) {
    match req.cookie(CSRF) {
        Some(c) if c.value().len() >= 32 => (c.value().to_string(), false),
        _ => (
            crate::auth::random_token("")
                .unwrap_or_else(|_| uuid::Uuid::new_v4().simple().to_string()),
            true,
        ),
    }
}

/// Sets a new CSRF cookie when the page made one.
pub fn keep_csrf(req: &HttpRequest, response: &mut HttpResponseBuilder, token: &(String, bool)) {
    if token.1 {
        response.cookie(cookie(req, CSRF, token.0.clone(), 60 * 60 * 24 * 7));
    }
}

/// The detail of a refused form, which error pages recognise.
pub const CSRF_REFUSED: &str =
    "the form is out of date or came from another site; open the page again and resend it";

/// Refuses a form whose CSRF field does not match this browser's cookie.
pub fn check_csrf(req: &HttpRequest, submitted: &str) -> Result<(), AppError> {
    match req.cookie(CSRF) {
        Some(c) if !submitted.is_empty() && constant_time_eq(c.value(), submitted) => Ok(()),
        _ => Err(AppError::forbidden(CSRF_REFUSED)),
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A 303 to `location` (after a form, or to the sign-in page).
pub fn see_other(location: &str) -> HttpResponseBuilder {
    let mut response = HttpResponse::SeeOther();
    response.insert_header((actix_web::http::header::LOCATION, location.to_string()));
    response
}
