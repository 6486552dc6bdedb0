//! The home page at `/`: look a product code up, or go on to the seller portal, the
//! officers' console or a complaint. Public; it works without any script, and where the
//! browser reads barcodes itself our one script offers to scan the code with the camera.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use super::{language, page, switch_link};
use crate::error::AppError;
use crate::http::Endpoint;
use crate::i18n::Language;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/").get(home));
}

#[derive(Template)]
#[template(path = "pages/home.html")]
struct HomePage {
    lang: Language,
    switch_link: String,
}

async fn home(req: HttpRequest) -> Result<HttpResponse, AppError> {
    let lang = language(&req);
    let template = HomePage {
        lang: lang.0,
        switch_link: switch_link(&req, lang.0),
    };
    let mut response = page(&req, StatusCode::OK, lang, &template)?;
    super::allow_script(&mut response);
    Ok(response)
}
