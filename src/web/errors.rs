//! Errors on pages: a person gets a page in their language, not the problem+json body an
//! API client gets. API paths keep their problems.

use actix_web::HttpResponse;
use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use askama::Template;

use super::{labels, language, page, switch_link};
use crate::error::PROBLEM_JSON;
use crate::i18n::{Language, lookup};

/// Paths that answer machines only.
const MACHINE_PATHS: &[&str] = &[
    "/v1/",
    "/openapi.json",
    "/docs",
    "/healthz",
    "/readyz",
    "/metrics",
    "/.well-known/",
    "/qr/",
];

#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage {
    lang: Language,
    switch_link: String,
    status: u16,
    heading: &'static str,
    detail: String,
    home: &'static str,
}

fn heading(status: u16, lang: Language) -> &'static str {
    let key = match status {
        400 | 422 => "error_heading.invalid",
        401 | 403 => "error_heading.forbidden",
        404 => "error_heading.not_found",
        405 => "error_heading.method",
        409 | 412 => "error_heading.conflict",
        413 => "error_heading.too_large",
        429 => "error_heading.too_many",
        _ => "error_heading.failed",
    };
    lookup(key, lang).unwrap_or_default()
}

/// What to tell the reader: in Vietnamese the catalogue's words for the problem's type and
/// for each field in error (a problem's own detail is English); in English the detail.
fn detail_for(problem: &serde_json::Value, lang: Language) -> String {
    if !lang.is_vi() {
        return problem["detail"].as_str().unwrap_or_default().to_string();
    }
    let slug = if problem["detail"].as_str() == Some(super::session::CSRF_REFUSED) {
        "csrf"
    } else {
        problem["type"]
            .as_str()
            .and_then(|t| t.rsplit('/').next())
            .unwrap_or("internal")
    };
    let mut lines: Vec<String> = lookup(&format!("problem.{slug}"), lang)
        .into_iter()
        .map(str::to_string)
        .collect();
    if let Some(errors) = problem["errors"].as_array() {
        for e in errors {
            let field = e["field"].as_str().unwrap_or_default();
            let message = e["message"].as_str().unwrap_or_default();
            let line = labels::field_error(field, message, lang);
            if !lines.contains(&line) {
                lines.push(line);
            }
        }
    }
    lines.join(" ")
}

/// Middleware: turns a problem answer to a browser on a page path into an error page.
pub async fn pages_for_people(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let path = req.path().to_string();
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let response = next.call(req).await?.map_into_boxed_body();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if !wants_html || !is_problem || MACHINE_PATHS.iter().any(|p| path.starts_with(p)) {
        return Ok(response);
    }
    let (request, old) = response.into_parts();
    let status = old.status();
    let kept: Vec<_> = old
        .headers()
        .iter()
        .filter(|(name, _)| {
            **name == header::SET_COOKIE || name.as_str().eq_ignore_ascii_case("x-request-id")
        })
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let body = to_bytes(old.into_body()).await.unwrap_or_default();
    let lang = language(&request);
    let detail = serde_json::from_slice::<serde_json::Value>(&body)
        .map(|p| detail_for(&p, lang.0))
        .unwrap_or_default();
    let home = if path.starts_with("/console") {
        "/console"
    } else if path.starts_with("/portal") {
        "/portal"
    } else {
        "/"
    };
    let template = ErrorPage {
        lang: lang.0,
        switch_link: switch_link(&request, lang.0),
        status: status.as_u16(),
        heading: heading(status.as_u16(), lang.0),
        detail,
        home,
    };
    let mut replacement = page(&request, status, lang, &template)
        .unwrap_or_else(|_| HttpResponse::build(status).finish());
    for (name, value) in kept {
        replacement.headers_mut().append(name, value);
    }
    Ok(ServiceResponse::new(request, replacement))
}
