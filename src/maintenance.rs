//! Housekeeping of the decision log, run by every node and done by one at a time (under
//! the `decision-partitions` lease): PostgreSQL month partitions created ahead of the
//! months that will need them.

use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::db::{DbPool, partitions};
use crate::leases::{self, NodeId};

/// The lease's name in `worker_leases`.
const LEASE_NAME: &str = "decision-partitions";
/// Creating a few empty tables takes well under this.
const ROUND_LEASE: TimeDelta = TimeDelta::minutes(5);
/// How often a node looks; partitions exist months ahead, so this need not be often.
pub const INTERVAL: Duration = Duration::from_secs(60 * 60);

pub struct PartitionKeeper {
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub node: NodeId,
    pub interval: Duration,
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
