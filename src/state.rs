//! What every handler can reach: configuration, the database, the clock, the keys.

use std::sync::Arc;

use crate::auth::TokenService;
use crate::auth::hashing::HashingPool;
use crate::auth::revocation::Revocations;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{DbConnection, DbPool};
use crate::disputes::evidence::EvidenceStore;
use crate::error::AppError;
use crate::facts::FactBus;
use crate::identity::Registers;
use crate::identity::facts::VerifiedBusinesses;
use crate::keys::KeyRing;
use crate::links::LinkIndex;
use crate::listings::{Attester, Gate};
use crate::metrics::Metrics;
use crate::policies::Policies;
use crate::telemetry;
use crate::vault::Vault;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub keys: Arc<KeyRing>,
    pub tokens: Arc<TokenService>,
    pub vault: Arc<Vault>,
    pub metrics: Arc<Metrics>,
    pub policies: Arc<Policies>,
    /// The retention policy loaded at start-up: what pages and mails state is what the
    /// retention run applies.
    pub retention: Arc<crate::retention::RetentionPolicy>,
    pub registers: Registers,
    pub attester: Arc<Attester>,
    /// Where features publish changes to the facts listing decisions rest on.
    pub facts: Arc<FactBus>,
    pub gate: Arc<Gate>,
    /// What the resolver answers from without the database (kept current with the gate's
    /// facts): published links, and the verified businesses that own codes.
    pub links: Arc<LinkIndex>,
    pub businesses: Arc<VerifiedBusinesses>,
    pub evidence: Arc<EvidenceStore>,
    /// The threads passwords are hashed on, and their turns.
    pub hashing: Arc<HashingPool>,
    /// Sessions and clients that ended before their tokens expire.
    pub revocations: Arc<Revocations>,
    /// This node among the nodes sharing the database (holder of leases and claims).
    pub node: crate::leases::NodeId,
}

impl AppState {
    /// Runs blocking work (password hashing, several database steps) on the blocking
    /// thread pool, keeping the request's span and id.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce() -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        telemetry::spawn_blocking(f)
            .await
            .map_err(|e| AppError::internal(anyhow::anyhow!("blocking task failed: {e}")))?
    }

    /// Brings the revocation list up to date at once, after a write that revoked
    /// something, so that tokens it ended are refused from the next request on.
    pub async fn revoked_now(&self) -> Result<(), AppError> {
        let (revocations, clock) = (self.revocations.clone(), self.clock.clone());
        let result = self
            .db(move |conn| Ok(revocations.update(conn, clock.now())?))
            .await;
        // Should this look fail, the follower still finds it within its poll interval.
        self.revocations.nudge();
        result
    }

    /// Runs blocking database work on the blocking thread pool with a pooled connection,
    /// keeping the request's span and id so its log lines stay attributed.
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        self.blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
    }
}
