//! Which node does a background job: every node runs the same workers, and a round of a
//! job that must happen once (deadline steps, registry re-checks, reminders) is taken
//! under a lease row in `worker_leases`. The lease is an ordinary row, not a PostgreSQL
//! session advisory lock, so it holds behind pgbouncer in transaction mode and on SQLite.
//!
//! A node that dies holding a lease leaves the job to another once the lease runs out.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::worker_leases;

/// This process among the nodes: its process id and a random part, unique per start (two
/// services in one process, as in tests, are two nodes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeId(String);

impl NodeId {
    pub fn new() -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self(format!("node-{}-{}", std::process::id(), &random[..8]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for NodeId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Takes (or extends) the lease `name` for `holder` until `now + ttl`. True when `holder`
/// holds it now; false when another node holds an unexpired lease.
///
/// Each step is one statement, so two nodes racing for it cannot both win: the insert
/// succeeds for one of them, and the update's condition is evaluated again on the row the
/// other committed (PostgreSQL) or under the single writer's lock (SQLite).
pub fn try_acquire(
    conn: &mut DbConnection,
    name: &str,
    holder: &NodeId,
    now: DateTime<Utc>,
    ttl: TimeDelta,
) -> QueryResult<bool> {
    let (now, until) = (now.naive_utc(), (now + ttl).naive_utc());
    let row = (
        worker_leases::name.eq(name),
        worker_leases::holder.eq(holder.as_str()),
        worker_leases::expires_at.eq(until),
    );
    let inserted = crate::on_backend!(conn, c => diesel::insert_into(worker_leases::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    if inserted == 1 {
        return Ok(true);
    }
    let taken = diesel::update(
        worker_leases::table.find(name).filter(
            worker_leases::holder
                .eq(holder.as_str())
                .or(worker_leases::expires_at.lt(now)),
        ),
    )
    .set((
        worker_leases::holder.eq(holder.as_str()),
        worker_leases::expires_at.eq(until),
    ))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Gives the lease back if `holder` has it, so the next node need not wait.
pub fn release(conn: &mut DbConnection, name: &str, holder: &NodeId) -> QueryResult<()> {
    diesel::delete(
        worker_leases::table
            .find(name)
            .filter(worker_leases::holder.eq(holder.as_str())),
    )
    .execute(conn)?;
    Ok(())
}

/// Runs `round` if this node can take the lease `name` for `ttl`, and gives the lease back
/// afterwards. `None` when another node holds it (its round does the work).
pub fn under_lease<T, E>(
    pool: &crate::db::DbPool,
    name: &str,
    holder: &NodeId,
    now: DateTime<Utc>,
    ttl: TimeDelta,
    round: impl FnOnce() -> Result<T, E>,
) -> Result<Option<T>, E>
where
    E: From<diesel::result::Error> + From<r2d2::Error>,
{
    if !try_acquire(&mut *pool.get()?, name, holder, now, ttl)? {
        tracing::debug!(lease = name, "another node holds the lease; round skipped");
        return Ok(None);
    }
    let result = round();
    // A lease not given back runs out by itself; the round's own outcome matters more.
    if let Err(error) = pool
        .get()
        .map_err(|e| e.to_string())
        .and_then(|mut conn| release(&mut conn, name, holder).map_err(|e| e.to_string()))
    {
        tracing::warn!(lease = name, error = %error, "lease not given back; it runs out by itself");
    }
    result.map(Some)
}
