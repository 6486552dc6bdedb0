//! The deadline worker: withdraws filings never confirmed, reminds sellers before their
//! deadline, sends cases to officers when a party stays silent, flags cases past their
//! resolution deadline to supervisors, closes decided cases when the appeal window
//! passes, and ends suspensions whose days have run out. Time comes from the clock, so
//! tests move it instead of waiting.

use std::sync::Arc;
use std::time::Duration;

use chrono::{Datelike, TimeDelta};
use tokio::sync::watch;

use super::store::{self, Deadline};
use super::{DisputeError, Disputes, Move};
use crate::clock::Clock;
use crate::config::DisputesConfig;
use crate::db::DbPool;
use crate::facts::FactBus;
use crate::leases::{self, NodeId};
use crate::policies::Policies;
use crate::vault::Vault;

/// Cases handled per kind of deadline and round.
const BATCH: i64 = 200;
/// One node at a time runs a round (each step also checks the case's version, so a step
/// is taken once even if rounds overlapped); a node that dies mid-round leaves the next
/// round to another node after this long.
const ROUND_LEASE: TimeDelta = TimeDelta::minutes(2);
/// The lease's name in `worker_leases`.
const LEASE_NAME: &str = "dispute-deadlines";

pub struct DisputeWorker {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub policies: Arc<Policies>,
    pub facts: Arc<FactBus>,
    pub vault: Arc<Vault>,
    pub evidence: Arc<super::evidence::EvidenceStore>,
    pub config: DisputesConfig,
    pub public_url: String,
    pub interval: Duration,
    /// This node, as the holder of the round's lease.
    pub node: NodeId,
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
            facts: &self.facts,
            vault: &self.vault,
            evidence: &self.evidence,
            config: &self.config,
            public_url: &self.public_url,
        }
    }

    /// Runs rounds until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        self.check_calendar();
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

    /// One round over every kind of deadline, if no other node is running one (then this
    /// node does nothing this time). A case that cannot be handled is logged and left for
    /// the next round; it does not hold up the others.
    pub fn round(&self) -> Result<Round, DisputeError> {
        let now = self.clock.now();
        leases::under_lease(&self.pool, LEASE_NAME, &self.node, now, ROUND_LEASE, || {
            self.round_held()
        })
        .map(Option::unwrap_or_default)
    }

    fn round_held(&self) -> Result<Round, DisputeError> {
        let service = self.service();
        let now = self.clock.now();
        let at = now.naive_utc();
        let deadlines = &self.policies.disputes.deadlines;
        let mut round = Round::default();
        // A connection per query, given back at once: each step takes its own.
        let due = |statuses: &[&str], deadline: Deadline, before: chrono::NaiveDateTime| {
            store::due(&mut *self.pool.get()?, statuses, deadline, before, BATCH)
                .map_err(DisputeError::from)
        };
        let tally = |count: &mut usize, id: &str, done: Result<bool, DisputeError>| match done {
            Ok(true) => *count += 1,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(case = %id, error = %error, "dispute deadline step failed")
            }
        };

        let unconfirmed = (now - TimeDelta::hours(i64::from(deadlines.confirm_hours))).naive_utc();
        for row in due(&["filed"], Deadline::Filed, unconfirmed)? {
            let done = service.system_move(
                &row,
                Move::Withdraw,
                "withdrawn",
                serde_json::json!({ "reason": "email address not confirmed in time" }),
            );
            tally(&mut round.lapsed, &row.id, done);
        }
        let horizon =
            (now + TimeDelta::hours(i64::from(deadlines.reminder_hours_before))).naive_utc();
        for row in store::to_remind(&mut *self.pool.get()?, horizon, BATCH)? {
            if row.seller_due_at.is_some_and(|due| due > at) {
                let done = service.remind_seller(&row);
                tally(&mut round.reminded, &row.id, done);
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
            for row in due(&[status], deadline, at)? {
                let done = service.system_move(
                    &row,
                    Move::Escalate,
                    "escalated",
                    serde_json::json!({ "reason": why }),
                );
                tally(&mut round.escalated, &row.id, done);
            }
        }
        for row in due(
            &["awaiting_seller", "seller_responded", "under_review"],
            Deadline::Resolution,
            at,
        )? {
            let done = service.mark_overdue(&row);
            tally(&mut round.overdue, &row.id, done);
        }
        for row in due(&["decided"], Deadline::Appeal, at)? {
            let done = service.system_move(
                &row,
                Move::Close,
                "closed",
                serde_json::json!({ "reason": "no appeal within the time allowed" }),
            );
            tally(&mut round.closed, &row.id, done);
        }
        for row in due(&["appeal_decided"], Deadline::Filed, at)? {
            let done = service.system_move(
                &row,
                Move::Close,
                "closed",
                serde_json::json!({ "reason": "the appeal decision is final" }),
            );
            tally(&mut round.closed, &row.id, done);
        }
        for sanction in store::ended_suspensions(&mut *self.pool.get()?, at)? {
            let done = service.end_suspension(&sanction);
            tally(&mut round.suspensions_ended, &sanction.id, done);
        }
        Ok(round)
    }

    /// Says so when the holiday list does not reach the current year: deadlines would then
    /// count holidays as working days.
    fn check_calendar(&self) {
        let year = super::calendar::local(self.clock.now()).year();
        if !self
            .policies
            .disputes
            .holidays
            .iter()
            .any(|day| day.year() == year)
        {
            tracing::warn!(
                year,
                "policies/disputes.toml lists no holidays for this year; add the days the Government announced"
            );
        }
    }
}
