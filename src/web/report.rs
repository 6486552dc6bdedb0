//! A buyer's complaint from the public page of a code: the form files a case directly
//! (the buyer then confirms their address from the mailed link).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::console::{Form, field};
use super::session;
use super::{language, page_with, switch_link};
use crate::clients::ClientKind;
use crate::disputes::{CaseInput, DisputeError};
use crate::error::AppError;
use crate::http::Endpoint;
use crate::i18n::Language;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/report").get(form).post(file));
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
    platform_id: String,
    shop_id: String,
    listing_id: String,
    kind: String,
    description: String,
    email: String,
    error: Option<String>,
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

async fn page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    status: StatusCode,
    values: &HashMap<String, String>,
    error: Option<String>,
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
    let kinds = state
        .policies
        .disputes
        .kinds
        .iter()
        .map(|(id, k)| {
            (
                id.clone(),
                if lang.0.is_vi() {
                    k.name.clone()
                } else {
                    k.name_en.clone()
                },
            )
        })
        .collect();
    let value = |name: &str| values.get(name).cloned().unwrap_or_default();
    let template = ReportPage {
        lang: lang.0,
        switch_link: switch_link(req, lang.0),
        csrf: csrf.0.clone(),
        code: value("code"),
        platforms,
        kinds,
        platform_id: value("platform_id"),
        shop_id: value("shop_id"),
        listing_id: value("listing_id"),
        kind: value("kind"),
        description: value("description"),
        email: value("email"),
        error,
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
    let mut values = query.into_inner();
    if let Some(code) = values.get("code").cloned().filter(|c| !c.is_empty()) {
        let vi = language(&req).0.is_vi();
        values.insert(
            "description".into(),
            if vi {
                format!("Mã trên sản phẩm: {code}\n")
            } else {
                format!("Code on the product: {code}\n")
            },
        );
    }
    page(&state, &req, StatusCode::OK, &values, None, Vec::new()).await
}

async fn file(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: Form,
) -> Result<HttpResponse, AppError> {
    session::check_csrf(&req, field(&form, "csrf"))?;
    let lang = language(&req).0;
    let case = CaseInput {
        shop_id: field(&form, "shop_id").to_string(),
        listing_id: field(&form, "listing_id").to_string(),
        kind: field(&form, "kind").to_string(),
        claim: field(&form, "claim").to_string(),
        description: field(&form, "description").to_string(),
    };
    let (platform, email) = (
        field(&form, "platform_id").to_string(),
        field(&form, "email").to_string(),
    );
    let shared = state.clone();
    let outcome = state
        .blocking(move || {
            Ok(super::dispute_service(&shared).file_directly(&platform, &case, &email, lang))
        })
        .await?;
    let values = form.into_inner();
    match outcome {
        Ok(()) => {
            let vi = lang.is_vi();
            page(
                &state,
                &req,
                StatusCode::OK,
                &HashMap::new(),
                Some(if vi {
                    "Đã nhận khiếu nại. Hãy mở đường dẫn trong thư chúng tôi vừa gửi để xác nhận địa chỉ email."
                } else {
                    "Complaint received. Open the link in the mail we just sent to confirm your address."
                }
                .into()),
                Vec::new(),
            )
            .await
        }
        Err(DisputeError::Invalid { field, message }) => {
            page(
                &state,
                &req,
                StatusCode::UNPROCESSABLE_ENTITY,
                &values,
                None,
                vec![(
                    field.clone(),
                    super::labels::field_error(&field, &message, lang),
                )],
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}
