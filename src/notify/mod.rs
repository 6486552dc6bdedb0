//! Notifications that must not be lost: messages are written to the outbox in the same
//! transaction as the change that causes them, and a worker delivers them with retries.

pub mod events;
pub mod mail;
pub mod outbox;
pub mod preferences;
pub mod routes;
mod templates;
pub mod webhooks;
pub mod worker;

pub use mail::{MailTransport, RenderedMail};
pub use outbox::{OutboxKind, OutboxRow, OutboxState};
pub use preferences::MailCategory;
pub use templates::{
    AccountClosedExists, AccountExists, ComplaintCase, ComplaintReceived, DisputeConfirm,
    DisputeUpdate, Mail, MailNote, OfficerInvitation, PasswordChanged, PasswordReset,
    SellerSuspended, VerificationExpiring, VerifyEmail,
};

use chrono::{DateTime, TimeDelta, Utc};

use crate::db::DbConnection;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("cannot render message: {0}")]
    Render(#[from] askama::Error),
    #[error("cannot encode message: {0}")]
    Encode(#[from] serde_json::Error),
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Renders `mail` for `to` and adds it to the outbox. Call inside the transaction of the
/// change the mail tells about, so that both happen or neither does.
///
/// An optional mail ([`MailCategory::silenceable`]) whose recipient's account silenced its
/// category is not queued: `None`, counted and logged by category (never by address).
pub fn queue_mail(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    to: &str,
    mail: &impl Mail,
) -> Result<Option<String>, NotifyError> {
    let category = mail.category();
    if category.silenceable()
        && preferences::store::silenced_for_address(conn, to)?.contains(&category)
    {
        crate::metrics::count_mail_suppressed(category.code());
        tracing::info!(
            category = category.code(),
            "optional mail not queued: the recipient silenced its category"
        );
        return Ok(None);
    }
    let rendered = mail.render_for(to)?;
    let payload = serde_json::to_string(&rendered)?;
    Ok(Some(outbox::enqueue(
        conn,
        now,
        OutboxKind::Mail,
        to,
        &payload,
    )?))
}

/// Wait before attempt `attempt + 1` after `attempt` failed ones: 30 s doubling each time,
/// at most 6 hours, spread by up to ±20% (from `jitter` in 0..=1) so that a recovering
/// server is not hit by every message at once.
pub fn retry_delay(attempt: u32, jitter: f64) -> TimeDelta {
    let base = 30i64.saturating_mul(1i64 << attempt.saturating_sub(1).min(20));
    let capped = base.min(6 * 60 * 60) as f64;
    let spread = capped * (0.8 + 0.4 * jitter.clamp(0.0, 1.0));
    TimeDelta::milliseconds((spread * 1000.0) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_to_a_cap() {
        assert_eq!(retry_delay(1, 0.5), TimeDelta::seconds(30));
        assert_eq!(retry_delay(2, 0.5), TimeDelta::seconds(60));
        assert_eq!(retry_delay(5, 0.5), TimeDelta::seconds(480));
        assert_eq!(retry_delay(30, 0.5), TimeDelta::hours(6));
        assert_eq!(retry_delay(1, 0.0), TimeDelta::seconds(24));
        assert_eq!(retry_delay(1, 1.0), TimeDelta::seconds(36));
    }
}
