//! Throttle counts in the database, shared by every node.
//!
//! A guess is counted *before* its secret is checked ([`reserve`]): the count and the
//! lock are decided under a row lock (PostgreSQL) or the database write lock (SQLite), so
//! concurrent guesses queue on the count and no more than the limit are ever checked. A
//! guess that turns out right gives its count back ([`release`], [`clear`]).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::throttle::{FORGET_AFTER, Policy};
use crate::db::DbConnection;
use crate::db::schema::login_attempts;

/// One throttle counter an attempt is charged to, with its limits.
#[derive(Debug, Clone)]
pub struct ThrottleKey {
    pub key: String,
    pub policy: Policy,
    /// Counts guesses of one secret (not all guesses from a source): the right secret
    /// forgets its earlier failures.
    pub per_secret: bool,
}

/// The keys in the one order every caller locks them in, so two attempts never wait on
/// each other's rows.
fn in_lock_order(keys: &[ThrottleKey]) -> Vec<&ThrottleKey> {
    let mut keys: Vec<&ThrottleKey> = keys.iter().collect();
    keys.sort_by(|a, b| a.key.cmp(&b.key));
    keys
}

/// Takes the row of `key` for this transaction, creating it (with no failures) first.
fn lock_row(
    conn: &mut DbConnection,
    key: &str,
    now: NaiveDateTime,
) -> QueryResult<(i32, Option<NaiveDateTime>, NaiveDateTime)> {
    crate::on_backend!(conn, c => diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::throttle_key.eq(key),
            login_attempts::failures.eq(0),
            login_attempts::locked_until.eq(None::<NaiveDateTime>),
            login_attempts::updated_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    let query = login_attempts::table.find(key).select((
        login_attempts::failures,
        login_attempts::locked_until,
        login_attempts::updated_at,
    ));
    match conn {
        DbConnection::Postgresql(c) => query.for_update().first(c),
        // `BEGIN IMMEDIATE` (see `write_transaction`) already holds the write lock.
        DbConnection::Sqlite(c) => query.first(c),
    }
}

/// Counts one attempt against every key, before its secret is checked; or, when any key
/// is locked now, counts nothing and answers the seconds until all of them allow a try.
/// Run inside `write_transaction`.
pub fn reserve(
    conn: &mut DbConnection,
    keys: &[ThrottleKey],
    now: DateTime<Utc>,
) -> QueryResult<Option<u64>> {
    let now = now.naive_utc();
    let keys = in_lock_order(keys);
    let mut rows = Vec::with_capacity(keys.len());
    for key in &keys {
        rows.push(lock_row(conn, &key.key, now)?);
    }
    let locked = rows
        .iter()
        .filter_map(|(_, until, _)| *until)
        .map(|until| (until - now).num_seconds())
        .filter(|left| *left > 0)
        .max();
    if let Some(left) = locked {
        return Ok(Some(left.unsigned_abs()));
    }
    for (key, (count, _, at)) in keys.iter().zip(rows) {
        let failures = if now - at < FORGET_AFTER {
            count.saturating_add(1)
        } else {
            1
        };
        let locked_until = key
            .policy
            .lock_for(failures.unsigned_abs())
            .map(|d| now + d);
        diesel::update(login_attempts::table.find(&key.key))
            .set((
                login_attempts::failures.eq(failures),
                login_attempts::locked_until.eq(locked_until),
                login_attempts::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(None)
}

/// Gives back the attempt [`reserve`] counted, once it turned out right (`right_secret`:
/// the per-secret counts start over) or was never checked. Run inside `write_transaction`.
pub fn give_back(
    conn: &mut DbConnection,
    keys: &[ThrottleKey],
    right_secret: bool,
) -> QueryResult<()> {
    for key in in_lock_order(keys) {
        if right_secret && key.per_secret {
            clear(conn, &key.key)?;
        } else {
            release(conn, key)?;
        }
    }
    Ok(())
}

/// Gives back one attempt counted against `key`, lifting the lock it may have set.
fn release(conn: &mut DbConnection, key: &ThrottleKey) -> QueryResult<()> {
    let query = login_attempts::table
        .find(&key.key)
        .select(login_attempts::failures);
    // Locked like `reserve`, or two releases at once would give back only one attempt.
    let count: Option<i32> = match conn {
        DbConnection::Postgresql(c) => query.for_update().first(c).optional()?,
        DbConnection::Sqlite(c) => query.first(c).optional()?,
    };
    let Some(count) = count else {
        return Ok(());
    };
    let failures = count.saturating_sub(1).max(0);
    let target = login_attempts::table.find(&key.key);
    if key.policy.lock_for(failures.unsigned_abs()).is_none() {
        diesel::update(target)
            .set((
                login_attempts::failures.eq(failures),
                login_attempts::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    } else {
        diesel::update(target)
            .set(login_attempts::failures.eq(failures))
            .execute(conn)?;
    }
    Ok(())
}

/// Seconds until `key` may try again, if it is locked now.
pub fn locked_for(
    conn: &mut DbConnection,
    key: &str,
    now: DateTime<Utc>,
) -> QueryResult<Option<u64>> {
    let until: Option<Option<NaiveDateTime>> = login_attempts::table
        .find(key)
        .select(login_attempts::locked_until)
        .first(conn)
        .optional()?;
    Ok(until.flatten().and_then(|until| {
        let left = (until - now.naive_utc()).num_seconds();
        (left > 0).then(|| left.unsigned_abs())
    }))
}

/// Counts a failure for `key` and locks it if the policy says so.
pub fn record_failure(
    conn: &mut DbConnection,
    key: &str,
    now: DateTime<Utc>,
    policy: Policy,
) -> QueryResult<()> {
    let now = now.naive_utc();
    let previous: Option<(i32, NaiveDateTime)> = login_attempts::table
        .find(key)
        .select((login_attempts::failures, login_attempts::updated_at))
        .first(conn)
        .optional()?;
    let failures = match previous {
        Some((count, at)) if now - at < FORGET_AFTER => count.saturating_add(1),
        _ => 1,
    };
    let locked_until = policy.lock_for(failures.unsigned_abs()).map(|d| now + d);
    if previous.is_some() {
        diesel::update(login_attempts::table.find(key))
            .set((
                login_attempts::failures.eq(failures),
                login_attempts::locked_until.eq(locked_until),
                login_attempts::updated_at.eq(now),
            ))
            .execute(conn)?;
    } else {
        diesel::insert_into(login_attempts::table)
            .values((
                login_attempts::throttle_key.eq(key),
                login_attempts::failures.eq(failures),
                login_attempts::locked_until.eq(locked_until),
                login_attempts::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Forgets the failures of `key` (after a successful login).
pub fn clear(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    diesel::delete(login_attempts::table.find(key)).execute(conn)?;
    Ok(())
}
