//! Housekeeping of the decision log, run by every node and done by one at a time (each
//! under its lease): PostgreSQL month partitions created ahead of the months that will
//! need them (every hour), and the retention policy applied (once a day).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::db::{DbPool, partitions};
use crate::leases::{self, NodeId};
use crate::retention::{self, RetentionError, RetentionPolicy, RetentionReport};

/// The lease's name in `worker_leases`.
const LEASE_NAME: &str = "decision-partitions";
/// Creating a few empty tables takes well under this.
const ROUND_LEASE: TimeDelta = TimeDelta::minutes(5);
/// How often a node looks; partitions exist months ahead, so this need not be often.
pub const INTERVAL: Duration = Duration::from_secs(60 * 60);
/// The retention lease's name; a run exports before it drops, which may take a while.
const RETENTION_LEASE_NAME: &str = "retention";
const RETENTION_LEASE: TimeDelta = TimeDelta::hours(1);
/// How often each node applies the retention policy (whole months expire at a time).
const RETENTION_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

pub struct PartitionKeeper {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub node: NodeId,
    pub interval: Duration,
    pub retention: Arc<RetentionPolicy>,
    /// Where the retention run writes its exports.
    pub export_dir: PathBuf,
    /// Where dispute evidence files live (expired ones are exported, then deleted).
    pub evidence_dir: PathBuf,
    /// Signs the audit head after a run drops entries, so their export's record is signed.
    pub signer: Arc<crate::audit::CheckpointSigner>,
}

#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
}

impl PartitionKeeper {
    /// Runs rounds until `shutdown` turns true, the first at once.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let keeper = Arc::new(self);
        let mut retained: Option<Instant> = None;
        loop {
            let this = keeper.clone();
            match tokio::task::spawn_blocking(move || this.round()).await {
                Ok(Ok(created)) if !created.is_empty() => {
                    tracing::info!(?created, "decision log partitions created ahead")
                }
                Ok(Ok(_)) => {}
                // A DEFAULT partition holding rows of the month refuses the new partition:
                // decisions still go in (to DEFAULT), and the log says why.
                Ok(Err(error)) => {
                    tracing::warn!(error = %error, "decision log partitions not created")
                }
                Err(error) => tracing::error!(error = %error, "partition task failed"),
            }
            if retained.is_none_or(|at| at.elapsed() >= RETENTION_EVERY) {
                retained = Some(Instant::now());
                let this = keeper.clone();
                match tokio::task::spawn_blocking(move || this.retention_round()).await {
                    Ok(Ok(report)) if report != RetentionReport::default() => {
                        tracing::info!(?report, "retention policy applied")
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(error = %format!("{:#}", anyhow::Error::new(error)), "retention run failed")
                    }
                    Err(error) => tracing::error!(error = %error, "retention task failed"),
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(keeper.interval) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// One round: the partitions of this month and the next ones, if no other node is
    /// making them; returns the names created.
    pub fn round(&self) -> Result<Vec<String>, MaintenanceError> {
        let now = self.clock.now();
        leases::under_lease(&self.pool, LEASE_NAME, &self.node, now, ROUND_LEASE, || {
            Ok(partitions::ensure_ahead(
                &mut *self.pool.get()?,
                now.date_naive(),
            )?)
        })
        .map(Option::unwrap_or_default)
    }
}

impl PartitionKeeper {
    /// Exports and drops what the retention policy lets go, if no other node is doing so.
    pub fn retention_round(&self) -> Result<RetentionReport, RetentionError> {
        let now = self.clock.now();
        leases::under_lease(
            &self.pool,
            RETENTION_LEASE_NAME,
            &self.node,
            now,
            RETENTION_LEASE,
            || {
                retention::run(
                    &mut *self.pool.get()?,
                    &self.retention,
                    &self.signer,
                    &self.export_dir,
                    &self.evidence_dir,
                    now,
                )
            },
        )
        .map(Option::unwrap_or_default)
    }
}
