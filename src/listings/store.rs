//! Listing decision queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{dispute_sanctions, listing_check_codes, listing_checks};

// `None` is written as NULL (no column here has a default), so that SQLite inserts many
// rows per statement instead of one at a time.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = listing_checks)]
#[diesel(treat_none_as_default_value = false)]
pub struct CheckRow {
    pub id: String,
    pub platform_id: String,
    pub listing_id: String,
    pub content_hash: String,
    pub shop_id: String,
    pub seller_id: Option<String>,
    pub category: String,
    pub decision: String,
    /// The decision's JSON body, as answered.
    pub reasons: String,
    pub policy_version: String,
    pub attestation: String,
    pub created_at: NaiveDateTime,
    pub withdrawn_at: Option<NaiveDateTime>,
}

pub fn find_same(
    conn: &mut DbConnection,
    platform: &str,
    listing: &str,
    hash: &str,
) -> QueryResult<Option<CheckRow>> {
    listing_checks::table
        .filter(listing_checks::platform_id.eq(platform))
        .filter(listing_checks::listing_id.eq(listing))
        .filter(listing_checks::content_hash.eq(hash))
        .filter(listing_checks::withdrawn_at.is_null())
        .select(CheckRow::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConnection, platform: &str, id: &str) -> QueryResult<Option<CheckRow>> {
    listing_checks::table
        .find(id)
        .filter(listing_checks::platform_id.eq(platform))
        .select(CheckRow::as_select())
        .first(conn)
        .optional()
}

/// A decision in force, as withdrawing it needs it.
#[derive(Debug, Clone, Queryable)]
pub struct InForce {
    pub id: String,
    pub platform_id: String,
    pub listing_id: String,
    pub shop_id: String,
    pub decision: String,
}

type InForceColumns = (
    listing_checks::id,
    listing_checks::platform_id,
    listing_checks::listing_id,
    listing_checks::shop_id,
    listing_checks::decision,
);

const IN_FORCE: InForceColumns = (
    listing_checks::id,
    listing_checks::platform_id,
    listing_checks::listing_id,
    listing_checks::shop_id,
    listing_checks::decision,
);

/// Decisions in force (not withdrawn) that rested on `code_key`.
pub fn in_force_for_code(conn: &mut DbConnection, code_key: &str) -> QueryResult<Vec<InForce>> {
    listing_checks::table
        .inner_join(
            listing_check_codes::table.on(listing_check_codes::check_id.eq(listing_checks::id)),
        )
        .filter(listing_check_codes::code_key.eq(code_key))
        .filter(listing_checks::withdrawn_at.is_null())
        .select(IN_FORCE)
        .load(conn)
}

/// Decisions in force on a seller's listings.
pub fn in_force_for_seller(conn: &mut DbConnection, seller_id: &str) -> QueryResult<Vec<InForce>> {
    listing_checks::table
        .filter(listing_checks::seller_id.eq(seller_id))
        .filter(listing_checks::withdrawn_at.is_null())
        .select(IN_FORCE)
        .load(conn)
}

/// Decisions in force on one listing of a platform.
pub fn in_force_for_listing(
    conn: &mut DbConnection,
    platform: &str,
    listing: &str,
) -> QueryResult<Vec<InForce>> {
    listing_checks::table
        .filter(listing_checks::platform_id.eq(platform))
        .filter(listing_checks::listing_id.eq(listing))
        .filter(listing_checks::withdrawn_at.is_null())
        .select(IN_FORCE)
        .load(conn)
}

/// Registry keys the decisions on one listing of a platform rested on.
pub fn codes_of_listing(
    conn: &mut DbConnection,
    platform: &str,
    listing: &str,
) -> QueryResult<Vec<String>> {
    listing_checks::table
        .inner_join(
            listing_check_codes::table.on(listing_check_codes::check_id.eq(listing_checks::id)),
        )
        .filter(listing_checks::platform_id.eq(platform))
        .filter(listing_checks::listing_id.eq(listing))
        .select(listing_check_codes::code_key)
        .distinct()
        .load(conn)
}

/// Listings a dispute sanction in force blocks, as `{platform}/{listing}`.
pub fn blocked_listings(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    dispute_sanctions::table
        .filter(dispute_sanctions::kind.eq("block_listing"))
        .filter(dispute_sanctions::lifted_at.is_null())
        .select(dispute_sanctions::target)
        .load::<Option<String>>(conn)
        .map(|targets| targets.into_iter().flatten().collect())
}

/// The newest decision on a platform's listing.
pub fn latest_for_listing(
    conn: &mut DbConnection,
    platform: &str,
    listing: &str,
) -> QueryResult<Option<CheckRow>> {
    listing_checks::table
        .filter(listing_checks::platform_id.eq(platform))
        .filter(listing_checks::listing_id.eq(listing))
        .order(listing_checks::id.desc())
        .select(CheckRow::as_select())
        .first(conn)
        .optional()
}

pub fn mark_withdrawn(
    conn: &mut DbConnection,
    ids: &[String],
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(listing_checks::table.filter(listing_checks::id.eq_any(ids)))
        .set(listing_checks::withdrawn_at.eq(now))
        .execute(conn)?;
    Ok(())
}
