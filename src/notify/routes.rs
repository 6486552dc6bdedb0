//! Admin API over the outbox: see what is waiting or was given up, and put it back in line;
//! and the platforms' webhook settings, with a test that sends a sample of every event.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::outbox::{self, OutboxMessage, OutboxState};
use super::{events, webhooks};
use crate::audit::{self, NewAuditEntry};
use crate::auth::{AdminAuth, PlatformAuth, require_scope};
use crate::db::write_transaction;
use crate::error::{AppError, Problem};
use crate::http::{Endpoint, JsonBody};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/v1/admin/outbox").get(list))
        .service(Endpoint::new("/v1/admin/outbox/{id}/retry").post(retry))
        .service(
            Endpoint::new("/v1/platforms/me/webhook")
                .get(webhook)
                .put(set_webhook),
        )
        .service(Endpoint::new("/v1/platforms/me/webhook/secret").post(rotate_webhook_secret))
        .service(Endpoint::new("/v1/platforms/me/webhook/test").post(test_webhook));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookSettings {
    pub url: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Your webhook URL (scope `webhooks:manage`).
#[utoipa::path(get, path = "/v1/platforms/me/webhook", tag = "webhooks", security(("bearer" = [])),
    responses(
        (status = 200, description = "The URL events go to", body = WebhookSettings),
        (status = 404, description = "No webhook set", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn webhook(
    state: web::Data<AppState>,
    caller: PlatformAuth,
) -> Result<web::Json<WebhookSettings>, AppError> {
    require_scope(&caller.scopes, "webhooks:manage")?;
    let vault = state.vault.clone();
    let found = state
        .db(move |conn| webhooks::endpoint(conn, &vault, &caller.client_id).map_err(webhook_error))
        .await?;
    let (url, _, updated_at) =
        found.ok_or_else(|| AppError::not_found("no webhook URL is set; PUT one"))?;
    Ok(web::Json(WebhookSettings {
        url,
        updated_at: chrono::DateTime::from_naive_utc_and_offset(updated_at, chrono::Utc),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// `https://…` (plain http only to localhost).
    pub url: String,
}

/// The signing secret of your webhooks, shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookSecret {
    pub url: String,
    /// HMAC-SHA256 key for `Tracegate-Signature` (`t=…,v1=hex(HMAC(secret, "t.body"))`).
    pub secret: String,
}

fn webhook_error(error: webhooks::WebhookError) -> AppError {
    match error {
        webhooks::WebhookError::Database(e) => e.into(),
        webhooks::WebhookError::Internal(message) => AppError::internal(anyhow::anyhow!(message)),
    }
}

async fn store_webhook(
    state: &web::Data<AppState>,
    platform: String,
    url: String,
    action: &'static str,
) -> Result<WebhookSecret, AppError> {
    let vault = state.vault.clone();
    let now = state.clock.now();
    state
        .db(move |conn| {
            write_transaction(conn, |conn| {
                let secret = webhooks::configure(conn, &vault, &platform, &url, now.naive_utc())
                    .map_err(webhook_error)?;
                audit::append(
                    conn,
                    now,
                    &NewAuditEntry::new(
                        format!("client:{platform}"),
                        action,
                        format!("client:{platform}"),
                    )
                    .details(serde_json::json!({ "url": url })),
                )?;
                Ok(WebhookSecret { url, secret })
            })
        })
        .await
}

/// Set the URL events are posted to, with a new signing secret (scope `webhooks:manage`).
#[utoipa::path(put, path = "/v1/platforms/me/webhook", tag = "webhooks", request_body = WebhookInput, security(("bearer" = [])),
    responses(
        (status = 200, description = "Set; keep the secret", body = WebhookSecret),
        (status = 422, description = "URL not acceptable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_webhook(
    state: web::Data<AppState>,
    caller: PlatformAuth,
    body: JsonBody<WebhookInput>,
) -> Result<HttpResponse, AppError> {
    require_scope(&caller.scopes, "webhooks:manage")?;
    let url = body.0.url.trim().to_string();
    webhooks::check_url(&url).map_err(|m| AppError::invalid("url", format!("url {m}")))?;
    let secret = store_webhook(&state, caller.client_id, url, "webhook.configured").await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(secret))
}

/// Replace the signing secret; deliveries from now on (retries too) use the new one.
#[utoipa::path(post, path = "/v1/platforms/me/webhook/secret", tag = "webhooks", security(("bearer" = [])),
    responses(
        (status = 200, description = "New secret", body = WebhookSecret),
        (status = 404, description = "No webhook set", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotate_webhook_secret(
    state: web::Data<AppState>,
    caller: PlatformAuth,
) -> Result<HttpResponse, AppError> {
    require_scope(&caller.scopes, "webhooks:manage")?;
    let vault = state.vault.clone();
    let platform = caller.client_id.clone();
    let found = state
        .db(move |conn| webhooks::endpoint(conn, &vault, &platform).map_err(webhook_error))
        .await?;
    let (url, _, _) = found.ok_or_else(|| AppError::not_found("no webhook URL is set; PUT one"))?;
    let secret = store_webhook(&state, caller.client_id, url, "webhook.secret_rotated").await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(secret))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// `pending` (default), `dead` or `delivered`.
    pub state: Option<OutboxState>,
    /// Cursor: the `next` value of the previous page.
    pub before: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutboxPage {
    pub messages: Vec<OutboxMessage>,
    /// Cursor for the next page, absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Outbox messages by state, newest first (admins only).
#[utoipa::path(get, path = "/v1/admin/outbox", tag = "admin", operation_id = "list_outbox", params(OutboxQuery), security(("bearer" = [])),
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
    // A cursor is a message id; PostgreSQL refuses a NUL inside text.
    if before
        .as_deref()
        .is_some_and(|b| b.chars().any(char::is_control))
    {
        return Err(AppError::invalid(
            "before",
            "must not contain control characters",
        ));
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
    // A kind written by a newer version is left out rather than misreported.
    let messages = messages.into_iter().filter_map(OutboxMessage::of).collect();
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

/// One sample event queued by the webhook test.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedEvent {
    /// Also sent as `Tracegate-Event-Id`.
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
}

/// What the webhook test queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookTest {
    pub url: String,
    /// One per event type, each delivered (signed, with retries) like a real event.
    pub events: Vec<QueuedEvent>,
}

/// Send a signed sample of every event type to your webhook URL (scope
/// `webhooks:manage`), to test your receiver and its signature check. The samples carry
/// `"test": true` and ids that name no real resource; they are delivered by the outbox
/// like real events (signed with the current secret, retried on failure).
#[utoipa::path(post, path = "/v1/platforms/me/webhook/test", tag = "webhooks", security(("bearer" = [])),
    responses(
        (status = 202, description = "Queued for delivery, one event per type", body = WebhookTest),
        (status = 404, description = "No webhook set", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn test_webhook(
    state: web::Data<AppState>,
    caller: PlatformAuth,
) -> Result<HttpResponse, AppError> {
    require_scope(&caller.scopes, "webhooks:manage")?;
    let vault = state.vault.clone();
    let now = state.clock.now();
    let platform = caller.client_id;
    let queued = state
        .db(move |conn| {
            let (url, _, _) = webhooks::endpoint(conn, &vault, &platform)
                .map_err(webhook_error)?
                .ok_or_else(|| AppError::not_found("no webhook URL is set; PUT one"))?;
            write_transaction(conn, |conn| {
                let mut samples = Vec::new();
                events::for_each_sample(|event_type, data| samples.push((event_type, data)));
                let mut events = Vec::new();
                for (event_type, data) in samples {
                    let id = webhooks::queue_event(conn, now, &platform, event_type, &data, true)?;
                    events.push(QueuedEvent {
                        id,
                        event_type: event_type.to_string(),
                    });
                }
                audit::append(
                    conn,
                    now,
                    &NewAuditEntry::new(
                        format!("client:{platform}"),
                        "webhook.tested",
                        format!("client:{platform}"),
                    )
                    .details(serde_json::json!({ "events": events.len() })),
                )?;
                Ok(WebhookTest { url, events })
            })
        })
        .await?;
    Ok(HttpResponse::Accepted().json(queued))
}
