//! The published checkpoints of the audit log. Public: a checkpoint holds only a sequence
//! number, a hash, a time and a signature, nothing about what was recorded, and the more
//! copies exist outside the database, the less a rewrite can hide.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::checkpoint::{self, Checkpoint, CheckpointSigner};
use crate::error::{AppError, Problem};
use crate::http::Endpoint;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/v1/audit/checkpoints").get(list_checkpoints));
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CheckpointQuery {
    /// Cursor: checkpoints after this entry (the `next_after` of the previous page).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointPage {
    /// The audit key that signs new checkpoints (its `kid` is also in
    /// `/.well-known/jwks.json`).
    #[schema(value_type = Object)]
    pub key: serde_json::Value,
    /// Oldest first.
    pub checkpoints: Vec<Checkpoint>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<i64>,
}

/// Signed checkpoints of the audit log (public). Each signs the chain head at a moment
/// with the audit key (Ed25519) over `tracegate audit checkpoint\n{seq}\n{head_hash}\n{signed_at}`;
/// keep copies: `tracegate audit verify` finds any rewrite of the entries a checkpoint
/// covers.
#[utoipa::path(get, path = "/v1/audit/checkpoints", tag = "operations", params(CheckpointQuery),
    responses(
        (status = 200, description = "A page of checkpoints", body = CheckpointPage),
        (status = 400, description = "Bad query parameter", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter out of range", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_checkpoints(
    state: web::Data<AppState>,
    query: web::Query<CheckpointQuery>,
) -> Result<HttpResponse, AppError> {
    let CheckpointQuery { after, limit } = query.into_inner();
    let after = after.unwrap_or(0);
    if after < 0 {
        return Err(AppError::invalid("after", "must be 0 or more"));
    }
    let limit = limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::invalid("limit", "must be between 1 and 1000"));
    }
    let found = state
        .db(move |conn| Ok(checkpoint::checkpoints(conn, after, limit + 1)?))
        .await?;
    let more = found.len() as i64 > limit;
    let checkpoints: Vec<Checkpoint> = found.into_iter().take(limit as usize).collect();
    let page = CheckpointPage {
        key: CheckpointSigner::new(&state.keys).jwk(),
        next_after: more.then(|| checkpoints.last().map(|c| c.seq)).flatten(),
        checkpoints,
    };
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-cache"))
        .json(page))
}
