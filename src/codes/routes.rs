//! HTTP for codes: parse any accepted form into its canonical key.

use actix_web::web;
use chrono::Datelike;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{CodeError, ParsedCode, parse};
use crate::auth::Authenticated;
use crate::error::{AppError, Problem};
use crate::http::{Endpoint, JsonBody};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/v1/codes/parse").post(parse_code));
}

impl From<CodeError> for AppError {
    fn from(error: CodeError) -> Self {
        AppError::invalid("code", error.to_string())
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeInput {
    /// A GTIN, a GS1 element string (bracketed, or raw with GS separators), a GS1 Digital
    /// Link URI, an EPC SGTIN URN, or an issuer code `prefix:value`.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParsedCodeView {
    #[serde(flatten)]
    pub code: ParsedCode,
    /// The code as a GS1 Digital Link URI on this service (GS1 codes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digital_link: Option<String>,
}

/// Read a code in any accepted form: its canonical key, level and elements (any signed-in
/// caller).
#[utoipa::path(post, path = "/v1/codes/parse", tag = "codes", request_body = CodeInput, security(("bearer" = [])),
    responses(
        (status = 200, description = "The parsed code", body = ParsedCodeView),
        (status = 422, description = "What is wrong with it, and where", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn parse_code(
    state: web::Data<AppState>,
    _caller: Authenticated,
    body: JsonBody<CodeInput>,
) -> Result<web::Json<ParsedCodeView>, AppError> {
    let code = parse(&body.0.code, state.clock.now().year())?;
    let digital_link = code.canonical.starts_with('/').then(|| {
        format!(
            "{}{}",
            state.config.server.public_url.trim_end_matches('/'),
            code.canonical
        )
    });
    Ok(web::Json(ParsedCodeView { code, digital_link }))
}
