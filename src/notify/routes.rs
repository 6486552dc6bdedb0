//! Admin API over the outbox: see what is waiting or was given up, and put it back in line.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::outbox::{self, OutboxRow, OutboxState};
use crate::audit::{self, NewAuditEntry};
use crate::auth::AdminAuth;
use crate::db::write_transaction;
use crate::error::{AppError, Problem};
use crate::http::Endpoint;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/v1/admin/outbox").get(list))
        .service(Endpoint::new("/v1/admin/outbox/{id}/retry").post(retry));
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// `pending` (default), `dead` or `delivered`.
    pub state: Option<OutboxState>,
    /// Cursor: the `next` value of the previous page.
    pub before: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxPage {
    pub messages: Vec<OutboxRow>,
    /// Cursor for the next page, absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Outbox messages by state, newest first (admins only).
#[utoipa::path(get, path = "/v1/admin/outbox", tag = "admin", params(OutboxQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of messages", body = OutboxPage),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    state: web::Data<AppState>,
    _caller: AdminAuth,
    query: web::Query<OutboxQuery>,
) -> Result<web::Json<OutboxPage>, AppError> {
    let OutboxQuery {
        state: wanted,
        before,
        limit,
    } = query.into_inner();
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 200"));
    }
    let messages = state
        .db(move |conn| {
            Ok(outbox::list(
                conn,
                wanted.unwrap_or(OutboxState::Pending),
                before.as_deref(),
                limit,
            )?)
        })
        .await?;
    let next = (messages.len() as i64 == limit)
        .then(|| messages.last().map(|m| m.id.clone()))
        .flatten();
    Ok(web::Json(OutboxPage { messages, next }))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct OutboxPath {
    pub id: String,
}

/// Put an undelivered message back in line with fresh attempts (admins only).
#[utoipa::path(post, path = "/v1/admin/outbox/{id}/retry", tag = "admin", params(OutboxPath), security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued for delivery"),
        (status = 404, description = "No such undelivered message", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retry(
    state: web::Data<AppState>,
    caller: AdminAuth,
    path: web::Path<OutboxPath>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner().id;
    let now = state.clock.now();
    state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                if !outbox::retry(conn, &id, now)? {
                    return Err(AppError::not_found("no undelivered message with this id"));
                }
                audit::append(
                    conn,
                    now,
                    &NewAuditEntry::new(
                        format!("account:{}", caller.account_id),
                        "outbox.retried",
                        format!("outbox:{id}"),
                    ),
                )?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::Accepted().finish())
}
