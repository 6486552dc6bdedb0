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
        && !state.revocations.is_revoked(&claims)
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
        if let Err(error) = state.revoked_now().await {
            // The follower reads it within its poll interval all the same.
            tracing::warn!(error = %error, "ending a session: revocation list not updated at once");
        }
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

/// Where to go after signing in: `next` when it is a path of this service inside `area`
/// (`/portal` or `/console`), never another origin (`//host`, `/\\host`, a scheme).
pub fn safe_next(next: &str, area: &str) -> Option<String> {
    let inside = next == area
        || next.starts_with(&format!("{area}/"))
        || next.starts_with(&format!("{area}?"));
    let plain = !next.contains(['\\', '\r', '\n', '\t']) && !next.starts_with("//");
    // Dot segments (also percent-encoded) would lead out of the area once resolved.
    let path = next
        .split('?')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let climbs = path
        .split('/')
        .any(|segment| matches!(segment, "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e."));
    (inside && plain && !climbs && !next.contains("/login")).then(|| next.to_string())
}

/// A 303 to the area's sign-in page that comes back to `next` afterwards.
pub fn to_sign_in(area: &str, next: &str) -> HttpResponse {
    if next == area {
        return see_other(&format!("{area}/login")).finish();
    }
    let query = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
    see_other(&format!("{area}/login?{query}")).finish()
}

/// The page a request was for, to come back to after signing in: the page itself for a
/// GET, the page whose form was sent for a POST (`…/actions` → the case).
pub fn back_to(req: &HttpRequest) -> String {
    let path = req.path();
    if req.method() == actix_web::http::Method::GET {
        return match req.query_string() {
            "" => path.to_string(),
            q => format!("{path}?{q}"),
        };
    }
    for tail in ["/actions", "/evidence", "/notes", "/assign", "/reveal"] {
        if let Some(page) = path.strip_suffix(tail) {
            return page.to_string();
        }
    }
    path.rsplit_once('/')
        .map_or("/", |(head, _)| head)
        .to_string()
}

const DRAFT: &str = "tg_draft";

/// The main text of each case form, by its action.
fn draft_field(action: &str) -> Option<&'static str> {
    Some(match action {
        "respond" | "decide" | "decide_appeal" => "statement",
        "supply_information" => "answer",
        "appeal" => "grounds",
        "request_information" => "question",
        "record_settlement" | "resume_review" | "note" => "note",
        _ => return None,
    })
}

/// The sign-in redirect for a case form sent after the session ended, keeping the text
/// typed (in a cookie, up to a few kilobytes) so that the case page offers it again.
pub fn to_sign_in_keeping(
    req: &HttpRequest,
    area: &str,
    action: &str,
    form: &std::collections::HashMap<String, String>,
) -> HttpResponse {
    let next = back_to(req);
    let mut response = to_sign_in(area, &next);
    let text = draft_field(action)
        .and_then(|f| form.get(f))
        .filter(|t| !t.trim().is_empty());
    if let Some(text) = text {
        let text: String = text.chars().take(1500).collect();
        let value = serde_urlencoded::to_string([
            ("page", next.as_str()),
            ("action", action),
            ("text", text.as_str()),
        ])
        .unwrap_or_default();
        if let Err(e) = response.add_cookie(&cookie(req, DRAFT, value, 60 * 60 * 24)) {
            tracing::warn!(error = %e, "the typed text could not be kept");
        }
    }
    response
}

/// The text kept for this page's form: (action, text).
pub fn draft_for(req: &HttpRequest, page: &str) -> Option<(String, String)> {
    let kept: std::collections::HashMap<String, String> =
        serde_urlencoded::from_str(req.cookie(DRAFT)?.value()).ok()?;
    (kept.get("page").map(String::as_str) == Some(page))
        .then(|| Some((kept.get("action")?.clone(), kept.get("text")?.clone())))
        .flatten()
}

/// Forgets a kept text once its page has offered it.
pub fn drop_draft(req: &HttpRequest, response: &mut HttpResponseBuilder) {
    if req.cookie(DRAFT).is_some() {
        response.cookie(cookie(req, DRAFT, String::new(), 0));
    }
}

/// A 303 to `location` (after a form, or to the sign-in page).
pub fn see_other(location: &str) -> HttpResponseBuilder {
    let mut response = HttpResponse::SeeOther();
    response.insert_header((actix_web::http::header::LOCATION, location.to_string()));
    response
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_paths_inside_the_area_are_followed() {
        assert_eq!(
            safe_next("/portal/disputes/1", "/portal").as_deref(),
            Some("/portal/disputes/1")
        );
        assert_eq!(safe_next("/portal", "/portal").as_deref(), Some("/portal"));
        for refused in [
            "//evil.example",
            "https://evil.example/portal",
            "/\\evil.example",
            "/portal/../console",
            "/portal/%2E%2E/console",
            "/console/disputes/1",
            "/portalx",
            "/portal/login",
            "",
        ] {
            assert_eq!(safe_next(refused, "/portal"), None, "{refused}");
        }
    }
}
