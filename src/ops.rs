//! Operational endpoints: liveness, readiness, metrics.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db;
use crate::error::AppError;
use crate::http::Endpoint;
use crate::listings::model::FOLLOW_LAG_LIMIT;
use crate::metrics::{self, Metrics, PoolUsage};
use crate::state::AppState;

/// Longest a readiness probe waits for a database connection.
const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/healthz").get(healthz))
        .service(Endpoint::new("/readyz").get(readyz))
        .service(Endpoint::new("/metrics").get(metrics));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the process answers.
    pub status: &'static str,
    /// Version of the running binary.
    pub version: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub database: String,
}

/// Liveness: the process is up and serving HTTP. Touches nothing else.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is alive", body = Health)))]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Readiness: the database answers and carries every migration this binary expects, and
/// the listing gate has loaded its facts and follows their changes.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve traffic", body = Readiness),
        (status = 503, description = "Database unreachable or migrations pending",
            body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Readiness>, AppError> {
    let pool = state.pool.clone();
    let model = state.gate.model.clone();
    let revocations = state.revocations.clone();
    let clock_now = state.clock.now();
    let now = clock_now.naive_utc();
    let timeout = READINESS_TIMEOUT.min(Duration::from_secs(u64::from(
        state.config.database.connect_timeout_secs,
    )));
    let backend = web::block(move || -> Result<db::Backend, AppError> {
        let mut conn = pool.get_timeout(timeout)?;
        let pending = db::has_pending_migrations(&mut conn).map_err(|e| {
            tracing::warn!(error = %e, "readiness: cannot read migration state");
            AppError::ServiceUnavailable {
                detail: "the database does not answer queries".into(),
            }
        })?;
        if pending {
            return Err(AppError::ServiceUnavailable {
                detail: "database migrations are pending; run `tracegate migrate`".into(),
            });
        }
        // The listing gate answers only from loaded facts that follow every change.
        if !model.is_loaded() {
            model.load(&mut conn, now).map_err(|e| {
                tracing::warn!(error = %e, "readiness: cannot load the listing gate's facts");
                AppError::ServiceUnavailable {
                    detail: "the listing gate is loading its facts".into(),
                }
            })?;
        }
        if model.behind() > FOLLOW_LAG_LIMIT {
            return Err(AppError::ServiceUnavailable {
                detail: "the listing gate cannot follow fact changes; its answers could be stale"
                    .into(),
            });
        }
        // Tokens are checked against the revocation list only; a list that stopped
        // following could accept tokens that ended.
        if !revocations.is_current() {
            revocations.update(&mut conn, clock_now).map_err(|e| {
                tracing::warn!(error = %e, "readiness: cannot read revoked sessions");
                AppError::ServiceUnavailable {
                    detail: "the list of ended sessions cannot be brought up to date".into(),
                }
            })?;
        }
        Ok(conn.backend())
    })
    .await
    .map_err(|e| AppError::internal(anyhow::anyhow!("readiness task failed: {e}")))??;
    Ok(web::Json(Readiness {
        status: "ready",
        database: backend.to_string(),
    }))
}

/// Metrics in Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format",
        body = String, content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>, metrics: web::Data<Metrics>) -> HttpResponse {
    let pool = state.pool.state();
    let usage = PoolUsage {
        idle: pool.idle_connections,
        in_use: pool.connections.saturating_sub(pool.idle_connections),
        max: state.pool.max_size(),
    };
    HttpResponse::Ok()
        .content_type(metrics::CONTENT_TYPE)
        .body(metrics.render(usage))
}
