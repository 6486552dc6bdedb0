//! Scans of serialised codes on the public page. One item scanned from many networks, or
//! very often, suggests its code was copied onto other goods; such serials are flagged on
//! the page and listed for officers.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::{code_scan_flags, code_scans};
use crate::policies::ScanPolicy;

/// What one scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanCount {
    pub places: i64,
    pub scans: i64,
    /// Past the policy's limits (now, or before).
    pub flagged: bool,
    /// Flagged by this scan.
    pub newly_flagged: bool,
}

/// Counts a scan of `code_key` from `place` and flags the serial when past the limits.
/// Call inside a write transaction.
pub fn record(
    conn: &mut DbConnection,
    code_key: &str,
    place: &str,
    now: NaiveDateTime,
    policy: &ScanPolicy,
) -> QueryResult<ScanCount> {
    let since = now - TimeDelta::days(i64::from(policy.window_days));
    // A network's scans from before the window no longer count.
    diesel::update(
        code_scans::table
            .filter(code_scans::code_key.eq(code_key))
            .filter(code_scans::place.eq(place))
            .filter(code_scans::last_at.lt(since)),
    )
    .set((code_scans::scans.eq(0i64), code_scans::first_at.eq(now)))
    .execute(conn)?;
    crate::on_backend!(conn, c => diesel::insert_into(code_scans::table)
        .values((
            code_scans::code_key.eq(code_key),
            code_scans::place.eq(place),
            code_scans::first_at.eq(now),
            code_scans::last_at.eq(now),
            code_scans::scans.eq(1i64),
        ))
        .on_conflict((code_scans::code_key, code_scans::place))
        .do_update()
        .set((
            code_scans::last_at.eq(now),
            code_scans::scans.eq(code_scans::scans + 1),
        ))
        .execute(c))?;
    // One row per network: few for a genuine item, and the sum is done here so that both
    // backends agree on its type.
    let recent: Vec<i64> = code_scans::table
        .filter(code_scans::code_key.eq(code_key))
        .filter(code_scans::last_at.ge(since))
        .select(code_scans::scans)
        .load(conn)?;
    let places = recent.len() as i64;
    let scans: i64 = recent.iter().sum();
    let over = places > i64::from(policy.max_places) || scans > i64::from(policy.max_scans);
    // Two scans at once may both find the serial past the limits: one flag is kept.
    let newly_flagged = over
        && crate::on_backend!(conn, c => diesel::insert_into(code_scan_flags::table)
            .values((
                code_scan_flags::code_key.eq(code_key),
                code_scan_flags::flagged_at.eq(now),
                code_scan_flags::places.eq(places),
                code_scan_flags::scans.eq(scans),
            ))
            .on_conflict_do_nothing()
            .execute(c))?
            == 1;
    let flagged = over
        || code_scan_flags::table
            .find(code_key)
            .select(code_scan_flags::code_key)
            .first::<String>(conn)
            .optional()?
            .is_some();
    Ok(ScanCount {
        places,
        scans,
        flagged,
        newly_flagged,
    })
}

/// A serial flagged as a possible copy.
#[derive(Debug, Clone, Serialize, ToSchema, Queryable)]
pub struct Flag {
    pub code_key: String,
    pub flagged_at: NaiveDateTime,
    pub places: i64,
    pub scans: i64,
}

/// Flagged serials, newest first.
pub fn flags(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<Flag>> {
    code_scan_flags::table
        .order(code_scan_flags::flagged_at.desc())
        .limit(limit)
        .select((
            code_scan_flags::code_key,
            code_scan_flags::flagged_at,
            code_scan_flags::places,
            code_scan_flags::scans,
        ))
        .load(conn)
}
