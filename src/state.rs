//! What every handler can reach: configuration, the database, the clock, the keys.

use std::sync::Arc;

use actix_web::web;

use crate::clock::Clock;
use crate::config::Config;
use crate::db::{DbConnection, DbPool};
use crate::error::AppError;
use crate::keys::KeyRing;
use crate::telemetry;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub pool: DbPool,
    pub clock: Arc<dyn Clock>,
    pub keys: Arc<KeyRing>,
}

impl AppState {
    /// Runs blocking database work on the blocking thread pool with a pooled connection,
    /// keeping the request's span and id so its log lines stay attributed.
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let span = tracing::Span::current();
        let request_id = telemetry::current_request_id();
        web::block(move || {
            let _entered = span.enter();
            telemetry::with_request_id(request_id, || {
                let mut conn = pool.get()?;
                f(&mut conn)
            })
        })
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("blocking task failed: {e}")))?
    }
}
