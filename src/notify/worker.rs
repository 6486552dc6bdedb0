//! The delivery worker: finds lanes with due messages, and drains each lane in a task of
//! its own (all mail in one lane, each platform's webhooks in theirs), so that a platform
//! whose endpoint hangs holds up only its own events. A lane claims one message at a
//! time under a short lease it renews while delivering, and records the outcome
//! (delivered, retry later with back-off, or dead after the last attempt).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use lettre::message::Mailbox;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::mail::{MailTransport, RenderedMail};
use super::outbox::{self, Lane, OutboxKind, OutboxRow};
use super::{retry_delay, webhooks};
use crate::clock::Clock;
use crate::db::DbPool;
use crate::leases::NodeId;
use crate::metrics::Metrics;
use crate::vault::Vault;

/// Lanes delivered at once by one node. Each lane holds at most one blocking thread (a
/// webhook in flight), so this also bounds what hanging endpoints can hold.
const MAX_LANES: usize = 16;

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
    /// This node, as the holder of the messages it delivers.
    pub node: NodeId,
    /// How long a claim holds without renewal: about what one delivery may take. A node
    /// that dies mid-delivery leaves the message to another node after this long.
    pub lease: Duration,
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
    /// Delivers until `shutdown` turns true; then lets each lane finish the message it is
    /// delivering.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(node = %self.node, "outbox worker started");
        let worker = Arc::new(self);
        let mut lanes: HashMap<Lane, JoinHandle<()>> = HashMap::new();
        loop {
            lanes.retain(|_, task| !task.is_finished());
            match worker.due_lanes().await {
                Ok(due) => {
                    for lane in due {
                        if lanes.len() >= MAX_LANES {
                            break;
                        }
                        if lanes.contains_key(&lane) {
                            continue;
                        }
                        let task =
                            tokio::spawn(worker.clone().drain(lane.clone(), shutdown.clone()));
                        lanes.insert(lane, task);
                    }
                }
                Err(error) => tracing::warn!(error = %error, "outbox round failed"),
            }
            if let Err(error) = worker.refresh_pending_gauge().await {
                tracing::warn!(error = %error, "outbox gauge not refreshed");
            }
            tokio::select! {
                _ = tokio::time::sleep(worker.poll_interval) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                for (_, task) in lanes {
                    if let Err(error) = task.await {
                        tracing::error!(error = %error, "outbox lane ended abnormally");
                    }
                }
                tracing::info!("outbox worker stopped");
                return;
            }
        }
    }

    async fn due_lanes(&self) -> Result<Vec<Lane>, WorkerError> {
        let (pool, now) = (self.pool.clone(), self.clock.now());
        tokio::task::spawn_blocking(move || -> Result<Vec<Lane>, WorkerError> {
            Ok(outbox::due_lanes(&mut *pool.get()?, now, MAX_LANES as i64)?)
        })
        .await?
    }

    /// Delivers a lane's due messages one after the other until none is left.
    async fn drain(self: Arc<Self>, lane: Lane, shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            let row = match self.claim(&lane).await {
                Ok(Some(row)) => row,
                Ok(None) => return,
                Err(error) => {
                    tracing::warn!(lane = %lane.key(), error = %error, "outbox claim failed");
                    return;
                }
            };
            let outcome = self.deliver_renewing(&row).await;
            if let Err(error) = self.record(&row, outcome).await {
                tracing::warn!(lane = %lane.key(), id = %row.id, error = %error, "outbox outcome not recorded; the message is tried again after its lease");
                return;
            }
        }
    }

    async fn claim(&self, lane: &Lane) -> Result<Option<OutboxRow>, WorkerError> {
        let (pool, now, lane) = (self.pool.clone(), self.clock.now(), lane.clone());
        let (node, lease) = (self.node.clone(), self.lease_delta());
        tokio::task::spawn_blocking(move || -> Result<Option<OutboxRow>, WorkerError> {
            Ok(outbox::claim_next(
                &mut *pool.get()?,
                &lane,
                node.as_str(),
                now,
                lease,
            )?)
        })
        .await?
    }

    fn lease_delta(&self) -> TimeDelta {
        TimeDelta::from_std(self.lease).unwrap_or(TimeDelta::seconds(30))
    }

    /// Delivers, renewing the lease every third of its length meanwhile.
    async fn deliver_renewing(&self, row: &OutboxRow) -> Result<(), String> {
        let delivery = self.deliver(row);
        tokio::pin!(delivery);
        let mut renewal = tokio::time::interval(self.lease / 3);
        renewal.tick().await;
        loop {
            tokio::select! {
                outcome = &mut delivery => return outcome,
                _ = renewal.tick() => self.renew(row).await,
            }
        }
    }

    async fn renew(&self, row: &OutboxRow) {
        let (pool, now, id) = (self.pool.clone(), self.clock.now(), row.id.clone());
        let (node, lease) = (self.node.clone(), self.lease_delta());
        let renewed = tokio::task::spawn_blocking(move || -> Result<bool, WorkerError> {
            Ok(outbox::renew(
                &mut *pool.get()?,
                &id,
                node.as_str(),
                now,
                lease,
            )?)
        })
        .await;
        match renewed {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => {
                tracing::warn!(id = %row.id, "outbox lease lost mid-delivery; the receiver may see this event id twice")
            }
            Ok(Err(error)) => {
                tracing::warn!(id = %row.id, error = %error, "outbox lease not renewed")
            }
            Err(error) => {
                tracing::warn!(id = %row.id, error = %error, "outbox lease renewal failed")
            }
        }
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
