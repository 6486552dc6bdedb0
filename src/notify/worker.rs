//! The delivery worker: claims due outbox messages, delivers them, and records the outcome
//! (delivered, retry later with back-off, or dead after the last attempt).

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use lettre::message::Mailbox;
use tokio::sync::watch;

use super::mail::{MailTransport, RenderedMail};
use super::outbox::{self, OutboxKind, OutboxRow};
use super::{retry_delay, webhooks};
use crate::clock::Clock;
use crate::db::DbPool;
use crate::metrics::Metrics;
use crate::vault::Vault;

/// Messages claimed per round.
const BATCH: i64 = 20;
/// How long a claim holds before another worker may take the message over (a worker that
/// died mid-delivery must not keep it forever).
const LEASE: TimeDelta = TimeDelta::minutes(5);

pub struct OutboxWorker {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub vault: Arc<Vault>,
    pub http: ureq::Agent,
    pub mail: MailTransport,
    pub from: Mailbox,
    pub metrics: Arc<Metrics>,
    pub max_attempts: u32,
    pub poll_interval: Duration,
}

#[derive(Debug, thiserror::Error)]
enum WorkerError {
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("no database connection: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("blocking task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl OutboxWorker {
    /// Delivers until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!("outbox worker started");
        loop {
            let claimed = match self.run_once().await {
                Ok(n) => n,
                Err(error) => {
                    tracing::warn!(error = %error, "outbox round failed");
                    0
                }
            };
            // A full batch means more may be waiting: go again without sleeping.
            if claimed < BATCH as usize {
                tokio::select! {
                    _ = tokio::time::sleep(self.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
            }
            if *shutdown.borrow() {
                tracing::info!("outbox worker stopped");
                return;
            }
        }
    }

    /// One round: claim, deliver, record. Returns how many messages were claimed.
    async fn run_once(&self) -> Result<usize, WorkerError> {
        let pool = self.pool.clone();
        let now = self.clock.now();
        let rows = tokio::task::spawn_blocking(move || -> Result<Vec<OutboxRow>, WorkerError> {
            let mut conn = pool.get()?;
            Ok(outbox::claim_due(&mut conn, now, LEASE, BATCH)?)
        })
        .await??;
        let claimed = rows.len();
        for row in rows {
            let outcome = self.deliver(&row).await;
            self.record(&row, outcome).await?;
        }
        self.refresh_pending_gauge().await?;
        Ok(claimed)
    }

    async fn deliver(&self, row: &OutboxRow) -> Result<(), String> {
        match OutboxKind::parse(&row.kind) {
            Some(OutboxKind::Mail) => {
                let mail: RenderedMail = serde_json::from_str(&row.payload)
                    .map_err(|e| format!("unreadable mail payload: {e}"))?;
                self.mail.send(&self.from, &mail).await
            }
            Some(OutboxKind::Webhook) => self.deliver_webhook(row).await,
            None => Err(format!("unknown message kind {:?}", row.kind)),
        }
    }

    async fn deliver_webhook(&self, row: &OutboxRow) -> Result<(), String> {
        let platform = row
            .destination
            .strip_prefix("platform:")
            .ok_or_else(|| format!("bad webhook destination {:?}", row.destination))?
            .to_string();
        let (pool, vault) = (self.pool.clone(), self.vault.clone());
        let endpoint = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            webhooks::endpoint(&mut conn, &vault, &platform).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())??;
        let Some((url, secret, _)) = endpoint else {
            return Err("the platform has no webhook URL configured yet".into());
        };
        let event_type = serde_json::from_str::<serde_json::Value>(&row.payload)
            .ok()
            .and_then(|v| v["type"].as_str().map(str::to_string))
            .unwrap_or_default();
        let signature = webhooks::signature(&secret, self.clock.now().timestamp(), &row.payload);
        let (agent, id, body) = (self.http.clone(), row.id.clone(), row.payload.clone());
        tokio::task::spawn_blocking(move || {
            agent
                .post(&url)
                .header("content-type", "application/json")
                .header("tracegate-signature", &signature)
                .header("tracegate-event-id", &id)
                .header("tracegate-event", &event_type)
                .send(body.as_bytes())
                .map(|response| response.status())
                .map_err(|e| format!("POST {url}: {e}"))
                .and_then(|status| {
                    if status.is_success() {
                        Ok(())
                    } else {
                        Err(format!("POST {url} answered {status}"))
                    }
                })
        })
        .await
        .map_err(|e| e.to_string())?
    }

    async fn record(
        &self,
        row: &OutboxRow,
        outcome: Result<(), String>,
    ) -> Result<(), WorkerError> {
        let now = self.clock.now();
        let attempts = row.attempts.unsigned_abs();
        let kind = row.kind.clone();
        let label = match &outcome {
            Ok(()) => "delivered",
            Err(_) if attempts >= self.max_attempts => "dead",
            Err(_) => "retry",
        };
        match &outcome {
            Ok(()) => tracing::info!(id = %row.id, kind = %kind, attempts, "message delivered"),
            Err(error) => {
                tracing::warn!(id = %row.id, kind = %kind, attempts, outcome = label, error = %error, "delivery failed")
            }
        }
        self.metrics.observe_delivery(&kind, label);
        let retry_at =
            (attempts < self.max_attempts).then(|| now + retry_delay(attempts, jitter()));
        let pool = self.pool.clone();
        let id = row.id.clone();
        tokio::task::spawn_blocking(move || -> Result<(), WorkerError> {
            let mut conn = pool.get()?;
            match outcome {
                Ok(()) => outbox::mark_delivered(&mut conn, &id, now)?,
                Err(error) => outbox::mark_failed(&mut conn, &id, now, &error, retry_at)?,
            }
            Ok(())
        })
        .await?
    }

    async fn refresh_pending_gauge(&self) -> Result<(), WorkerError> {
        let pool = self.pool.clone();
        let counts =
            tokio::task::spawn_blocking(move || -> Result<Vec<(String, i64)>, WorkerError> {
                let mut conn = pool.get()?;
                Ok(outbox::pending_counts(&mut conn)?)
            })
            .await??;
        self.metrics.set_outbox_pending(&counts);
        Ok(())
    }
}

/// A number in 0..=1 that differs between messages and nodes.
fn jitter() -> f64 {
    let mut byte = [0u8; 1];
    match getrandom::fill(&mut byte) {
        Ok(()) => f64::from(byte[0]) / 255.0,
        Err(_) => 0.5,
    }
}
