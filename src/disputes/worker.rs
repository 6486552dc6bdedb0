//! The deadline worker: withdraws filings never confirmed, reminds sellers before their
//! deadline, sends cases to officers when a party stays silent, flags cases past their
//! resolution deadline to supervisors, closes decided cases when the appeal window
//! passes, and ends suspensions whose days have run out. Time comes from the clock, so
//! tests move it instead of waiting.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::watch;

use super::store::{self, Deadline};
use super::{DisputeError, Disputes, Move};
use crate::clock::Clock;
use crate::config::DisputesConfig;
use crate::db::DbPool;
use crate::listings::HotCache;
use crate::policies::Policies;
use crate::vault::Vault;

/// Cases handled per kind of deadline and round.
const BATCH: i64 = 200;

pub struct DisputeWorker {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub policies: Arc<Policies>,
    pub cache: Arc<HotCache>,
    pub vault: Arc<Vault>,
    pub evidence: Arc<super::evidence::EvidenceStore>,
    pub config: DisputesConfig,
    pub public_url: String,
    pub interval: Duration,
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub lapsed: usize,
    pub reminded: usize,
    pub escalated: usize,
    pub overdue: usize,
    pub closed: usize,
    pub suspensions_ended: usize,
}

impl DisputeWorker {
    fn service(&self) -> Disputes<'_> {
        Disputes {
            pool: &self.pool,
            clock: self.clock.as_ref(),
            policies: &self.policies,
            cache: &self.cache,
            vault: &self.vault,
            evidence: &self.evidence,
            config: &self.config,
            public_url: &self.public_url,
        }
    }

    /// Runs rounds until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let worker = Arc::new(self);
        loop {
            let this = worker.clone();
            match tokio::task::spawn_blocking(move || this.round()).await {
                Ok(Ok(round)) if round != Round::default() => {
                    tracing::info!(?round, "dispute deadline round")
                }
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::warn!(error = %error, "dispute deadline round failed"),
                Err(error) => tracing::error!(error = %error, "dispute deadline task failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(worker.interval) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// One round over every kind of deadline.
    pub fn round(&self) -> Result<Round, DisputeError> {
        let service = self.service();
        let now = self.clock.now();
        let deadlines = &self.policies.disputes.deadlines;
        let mut round = Round::default();
        let mut conn = self.pool.get()?;

        let unconfirmed_before = now - TimeDelta::hours(i64::from(deadlines.confirm_hours));
        for row in store::due(
            &mut conn,
            &["filed"],
            Deadline::Filed,
            unconfirmed_before.naive_utc(),
            BATCH,
        )? {
            if service.system_move(
                &row,
                Move::Withdraw,
                "withdrawn",
                serde_json::json!({ "reason": "email address not confirmed in time" }),
            )? {
                round.lapsed += 1;
            }
        }
        let horizon = now + TimeDelta::hours(i64::from(deadlines.reminder_hours_before));
        for row in store::to_remind(&mut conn, horizon.naive_utc(), BATCH)? {
            if row.seller_due_at.is_some_and(|due| due > now.naive_utc())
                && service.remind_seller(&row)?
            {
                round.reminded += 1;
            }
        }
        for (status, deadline, why) in [
            (
                "awaiting_seller",
                Deadline::Seller,
                "the seller did not answer in time",
            ),
            (
                "seller_responded",
                Deadline::Buyer,
                "the buyer did not reply to the answer in time",
            ),
        ] {
            for row in store::due(&mut conn, &[status], deadline, now.naive_utc(), BATCH)? {
                if service.system_move(
                    &row,
                    Move::Escalate,
                    "escalated",
                    serde_json::json!({ "reason": why }),
                )? {
                    round.escalated += 1;
                }
            }
        }
        for row in store::due(
            &mut conn,
            &["awaiting_seller", "seller_responded", "under_review"],
            Deadline::Resolution,
            now.naive_utc(),
            BATCH,
        )? {
            if service.mark_overdue(&row)? {
                round.overdue += 1;
            }
        }
        for row in store::due(
            &mut conn,
            &["decided"],
            Deadline::Appeal,
            now.naive_utc(),
            BATCH,
        )? {
            if service.system_move(
                &row,
                Move::Close,
                "closed",
                serde_json::json!({ "reason": "no appeal within the time allowed" }),
            )? {
                round.closed += 1;
            }
        }
        for row in store::due(
            &mut conn,
            &["appeal_decided"],
            Deadline::Filed,
            now.naive_utc(),
            BATCH,
        )? {
            if service.system_move(
                &row,
                Move::Close,
                "closed",
                serde_json::json!({ "reason": "the appeal decision is final" }),
            )? {
                round.closed += 1;
            }
        }
        for sanction in store::ended_suspensions(&mut conn, now.naive_utc())? {
            if service.end_suspension(&sanction)? {
                round.suspensions_ended += 1;
            }
        }
        Ok(round)
    }
}
