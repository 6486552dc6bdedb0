//! The authorisation letter in the business check: the seller uploads it from the portal
//! (a PDF or a scan), officers of the seller's province read it from the console.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::session;
use crate::auth::PrincipalKind;
use crate::disputes::Caller;
use crate::error::AppError;
use crate::http::Endpoint;
use crate::identity::letters::{LetterError, LetterRow, Letters};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/portal/business/letter").post(upload))
        .service(Endpoint::new("/console/sellers/{id}/letters/{letter_id}").get(download));
}

pub(super) fn letter_service(state: &AppState) -> Letters<'_> {
    Letters {
        pool: &state.pool,
        clock: state.clock.as_ref(),
        store: &state.evidence,
    }
}

/// A seller's letters as pages list them: (id, file name, day uploaded).
pub(super) fn listed(rows: Vec<LetterRow>) -> Vec<(String, String, String)> {
    rows.into_iter()
        .map(|r| {
            let day = crate::disputes::calendar::local(
                chrono::DateTime::from_naive_utc_and_offset(r.created_at, chrono::Utc),
            )
            .format("%d/%m/%Y")
            .to_string();
            (r.id, r.file_name, day)
        })
        .collect()
}

pub(super) fn letter_error(error: LetterError) -> AppError {
    match error {
        LetterError::NotFound => AppError::not_found("no such letter"),
        other => AppError::internal(anyhow::Error::new(other).context("authorisation letter")),
    }
}

async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: Multipart,
) -> Result<HttpResponse, AppError> {
    // Turned away before the upload is read: a browser without the CSRF cookie, or no
    // seller signed in.
    if req.cookie("tg_csrf").is_none() {
        return Err(AppError::forbidden(
            "the form is out of date or came from another site; open the page again and resend it",
        ));
    }
    let seller_id = match session::current(&req, &state).await {
        Some(s) if s.claims.kind == PrincipalKind::Seller => s.claims.sub,
        _ => return Ok(session::to_sign_in("/portal", "/portal")),
    };
    let limit = state.config.disputes.evidence_max_bytes as usize;
    let (fields, file) = crate::http::read_upload(payload, limit).await?;
    session::check_csrf(&req, fields.get("csrf").map(String::as_str).unwrap_or(""))?;
    let Some((name, media_type, content)) = file else {
        return Ok(session::see_other("/portal?done=letter_missing").finish());
    };
    let shared = state.clone();
    let outcome = state
        .blocking(move || {
            Ok(letter_service(&shared).upload(&seller_id, &name, &media_type, &content))
        })
        .await?;
    match outcome {
        Ok(_) => Ok(session::see_other("/portal?done=letter").finish()),
        Err(LetterError::Invalid(..)) => {
            Ok(session::see_other("/portal?done=letter_refused").finish())
        }
        Err(other) => Err(letter_error(other)),
    }
}

async fn download(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (_, caller) = match super::console::officer(&state, &req).await {
        Ok(o) => o,
        Err(redirect) => return Ok(redirect),
    };
    let Caller::Officer { scope, .. } = caller else {
        return Err(AppError::forbidden("officers only"));
    };
    let (seller_id, letter_id) = path.into_inner();
    let shared = state.clone();
    let (row, content) = state
        .blocking(move || {
            // Only a seller of the officer's provinces; out of scope reads as not found.
            match super::seller_service(&shared).for_officer(&scope, &seller_id) {
                Ok(_) => {}
                Err(
                    crate::identity::IdentityError::NotFound(_)
                    | crate::identity::IdentityError::Forbidden(_),
                ) => return Err(AppError::not_found("no such seller in your provinces")),
                Err(other) => return Err(other.into()),
            }
            letter_service(&shared)
                .read(&seller_id, &letter_id)
                .map_err(letter_error)
        })
        .await?;
    let ascii_name: String = row
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, row.media_type.clone()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{ascii_name}\""),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Content-Security-Policy", "default-src 'none'; sandbox"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(content))
}
