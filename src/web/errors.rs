//! Errors on pages: a person gets a page in their language, not the problem+json body an
//! API client gets. API paths keep their problems.

use actix_web::HttpResponse;
use actix_web::body::{BoxBody, MessageBody, to_bytes};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use askama::Template;

use super::{language, page, switch_link};
use crate::error::PROBLEM_JSON;
use crate::i18n::Language;

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
    let vi = lang.is_vi();
    match status {
        400 | 422 => {
            if vi {
                "Thông tin gửi lên chưa đúng"
            } else {
                "Something in the request is wrong"
            }
        }
        401 | 403 => {
            if vi {
                "Bạn không có quyền xem trang này"
            } else {
                "You may not see this page"
            }
        }
        404 => {
            if vi {
                "Không tìm thấy trang"
            } else {
                "Page not found"
            }
        }
        405 => {
            if vi {
                "Trang không hỗ trợ thao tác này"
            } else {
                "This page does not do that"
            }
        }
        409 | 412 => {
            if vi {
                "Dữ liệu đã thay đổi; hãy tải lại trang"
            } else {
                "Things changed meanwhile; reload the page"
            }
        }
        413 => {
            if vi {
                "Nội dung gửi lên quá lớn"
            } else {
                "What you sent is too large"
            }
        }
        429 => {
            if vi {
                "Quá nhiều yêu cầu; hãy thử lại sau"
            } else {
                "Too many requests; try again later"
            }
        }
        _ => {
            if vi {
                "Đã có lỗi; hãy thử lại sau"
            } else {
                "Something went wrong; try again later"
            }
        }
    }
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
    let detail = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|p| p["detail"].as_str().map(str::to_string))
        .unwrap_or_default();
    let lang = language(&request);
    let home = if path.starts_with("/console") {
        "/console"
    } else if path.starts_with("/portal") {
        "/portal"
    } else {
        "/verify"
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
