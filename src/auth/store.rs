//! Login throttle counts in the database.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::throttle::{FORGET_AFTER, Policy};
use crate::db::DbConnection;
use crate::db::schema::login_attempts;

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
