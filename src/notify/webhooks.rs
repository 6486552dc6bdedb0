//! Webhooks to platforms: events go into the outbox addressed to a platform; the worker
//! looks up the platform's URL and secret when it delivers (so a rotated secret applies to
//! retries too) and signs each delivery.
//!
//! Signature: header `Tracegate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "<t>.<body>" with the platform's secret>`. Platforms recompute it, compare in constant
//! time, and refuse timestamps far from their clock; `Tracegate-Event-Id` makes
//! at-least-once delivery idempotent on their side.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::events::{WebhookEvent, WebhookPayload};
use super::outbox::{self, OutboxKind};
use crate::db::DbConnection;
use crate::db::schema::platform_webhooks;
use crate::vault::{Sealed, Vault};

/// Destination of a platform's webhooks in the outbox.
pub fn destination(platform_id: &str) -> String {
    format!("platform:{platform_id}")
}

/// Queues an event for a platform. Call inside the transaction of the change it reports.
pub fn queue_webhook<P: WebhookPayload>(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    platform_id: &str,
    data: &P,
) -> QueryResult<String> {
    queue_event(conn, now, platform_id, P::TYPE, data, false)
}

/// Queues one event of any type; `test` marks the webhook test's samples.
pub(crate) fn queue_event<P: Serialize>(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    platform_id: &str,
    event_type: &str,
    data: &P,
    test: bool,
) -> QueryResult<String> {
    let event = WebhookEvent {
        id: uuid::Uuid::now_v7().to_string(),
        event_type,
        created_at: now,
        test,
        data,
    };
    let body = serde_json::to_string(&event)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    outbox::enqueue_as(
        conn,
        &event.id,
        now,
        OutboxKind::Webhook,
        &destination(platform_id),
        &body,
    )
}

/// `t=…,v1=…` for a body sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={timestamp},v1={hex}")
}

pub(crate) fn secret_context(platform_id: &str) -> String {
    format!("platform:{platform_id}:webhook")
}

/// Refuses URLs webhooks must not go to: anything but https, except plain http to this
/// machine (for a platform's local development).
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed: ureq::http::Uri = url.parse().map_err(|e| format!("is not a URL: {e}"))?;
    let host = parsed.host().unwrap_or("");
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1");
    match parsed.scheme_str() {
        Some("https") if !host.is_empty() => Ok(()),
        Some("http") if loopback => Ok(()),
        Some("http") => Err("must use https (plain http only to localhost)".into()),
        Some(other) => Err(format!("scheme {other:?} is not allowed; use https")),
        None => Err("must be an absolute https:// URL".into()),
    }
}

/// Sets a platform's webhook URL with a new secret, returned once.
pub fn configure(
    conn: &mut DbConnection,
    vault: &Vault,
    platform_id: &str,
    url: &str,
    now: NaiveDateTime,
) -> Result<String, WebhookError> {
    let secret =
        crate::auth::random_token("whsec_").map_err(|e| WebhookError::Internal(e.to_string()))?;
    let sealed = vault
        .seal(secret.as_bytes(), &secret_context(platform_id))
        .map_err(|e| WebhookError::Internal(e.to_string()))?;
    let existing = platform_webhooks::table
        .find(platform_id)
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if existing {
        diesel::update(platform_webhooks::table.find(platform_id))
            .set((
                platform_webhooks::url.eq(url),
                platform_webhooks::secret_sealed.eq(&sealed.bytes),
                platform_webhooks::secret_key.eq(&sealed.key_id),
                platform_webhooks::updated_at.eq(now),
            ))
            .execute(conn)?;
    } else {
        diesel::insert_into(platform_webhooks::table)
            .values((
                platform_webhooks::platform_id.eq(platform_id),
                platform_webhooks::url.eq(url),
                platform_webhooks::secret_sealed.eq(&sealed.bytes),
                platform_webhooks::secret_key.eq(&sealed.key_id),
                platform_webhooks::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(secret)
}

/// A platform's webhook URL and (opened) secret.
pub fn endpoint(
    conn: &mut DbConnection,
    vault: &Vault,
    platform_id: &str,
) -> Result<Option<(String, Vec<u8>, NaiveDateTime)>, WebhookError> {
    let row: Option<(String, Vec<u8>, String, NaiveDateTime)> = platform_webhooks::table
        .find(platform_id)
        .select((
            platform_webhooks::url,
            platform_webhooks::secret_sealed,
            platform_webhooks::secret_key,
            platform_webhooks::updated_at,
        ))
        .first(conn)
        .optional()?;
    let Some((url, bytes, key_id, updated_at)) = row else {
        return Ok(None);
    };
    let secret = vault
        .open(&Sealed { key_id, bytes }, &secret_context(platform_id))
        .map_err(|e| WebhookError::Internal(format!("webhook secret of {platform_id}: {e}")))?;
    Ok(Some((url, secret, updated_at)))
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error("{0}")]
    Internal(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_covers_timestamp_and_body() {
        let a = signature(b"whsec_x", 1_700_000_000, r#"{"id":"1"}"#);
        assert!(a.starts_with("t=1700000000,v1="));
        assert_eq!(a.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(a, signature(b"whsec_x", 1_700_000_001, r#"{"id":"1"}"#));
        assert_ne!(a, signature(b"whsec_x", 1_700_000_000, r#"{"id":"2"}"#));
        assert_ne!(a, signature(b"whsec_y", 1_700_000_000, r#"{"id":"1"}"#));
    }

    #[test]
    fn only_https_or_local_http() {
        assert!(check_url("https://shop.example/hooks/tracegate").is_ok());
        assert!(check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(check_url("http://localhost/hook").is_ok());
        assert!(check_url("http://shop.example/hook").is_err());
        assert!(check_url("ftp://shop.example/hook").is_err());
        assert!(check_url("not a url").is_err());
    }
}
