//! The change log of facts, and the lock that orders it against decisions.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::{Change, Fact};
use crate::db::DbConnection;
use crate::db::schema::fact_changes;

/// The facts lock (a PostgreSQL advisory lock; on SQLite every write transaction is serial
/// already).
const FACTS_LOCK: i64 = 0x7467_6661_6374_7331;

#[derive(Insertable)]
#[diesel(table_name = fact_changes)]
struct NewChange<'a> {
    kind: &'a str,
    scope: &'a str,
    fact_key: &'a str,
    changed_at: NaiveDateTime,
}

/// One change as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedChange {
    pub seq: i64,
    pub fact: Fact,
}

pub(super) fn lock_exclusive(conn: &mut DbConnection) -> QueryResult<()> {
    if let DbConnection::Postgresql(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
            .bind::<BigInt, _>(FACTS_LOCK)
            .execute(c)?;
    }
    Ok(())
}

/// Takes the facts lock shared until the transaction ends: no change can commit while it
/// is held, and every change committed before it is visible afterwards.
pub fn lock_shared(conn: &mut DbConnection) -> QueryResult<()> {
    if let DbConnection::Postgresql(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock_shared($1)")
            .bind::<BigInt, _>(FACTS_LOCK)
            .execute(c)?;
    }
    Ok(())
}

pub(super) fn record(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    changes: &[Change],
) -> QueryResult<()> {
    let rows: Vec<NewChange<'_>> = changes
        .iter()
        .map(|c| {
            let (kind, scope, fact_key) = c.fact.parts();
            NewChange {
                kind,
                scope,
                fact_key,
                changed_at: now.naive_utc(),
            }
        })
        .collect();
    for chunk in rows.chunks(500) {
        crate::on_backend!(conn, c => diesel::insert_into(fact_changes::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Changes after `seq`, oldest first, at most `limit`.
pub fn changes_since(
    conn: &mut DbConnection,
    seq: i64,
    limit: i64,
) -> QueryResult<Vec<RecordedChange>> {
    let rows: Vec<(i64, String, String, String)> = fact_changes::table
        .filter(fact_changes::seq.gt(seq))
        .order(fact_changes::seq.asc())
        .limit(limit)
        .select((
            fact_changes::seq,
            fact_changes::kind,
            fact_changes::scope,
            fact_changes::fact_key,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(seq, kind, scope, key)| {
            // A kind this version does not know (written by a newer node) names no fact
            // this node decides on.
            Fact::from_parts(&kind, scope, key).map(|fact| RecordedChange { seq, fact })
        })
        .collect())
}

/// The newest change's number (0 when none was ever recorded).
pub fn latest_seq(conn: &mut DbConnection) -> QueryResult<i64> {
    fact_changes::table
        .select(diesel::dsl::max(fact_changes::seq))
        .first::<Option<i64>>(conn)
        .map(|s| s.unwrap_or(0))
}
