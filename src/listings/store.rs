//! Listing decision queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Binary, Nullable, Text, Timestamp};

use crate::db::DbConnection;
use crate::db::schema::{listing_check_batches, listing_check_codes, listing_checks};

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
    /// Reasons and codes as answered (see `record::Record`).
    pub record: String,
    pub policy_version: String,
    /// The JWS of a single check; batch checks share their batch's.
    pub attestation: Option<String>,
    pub created_at: NaiveDateTime,
    pub withdrawn_at: Option<NaiveDateTime>,
    pub replay_key: Option<Vec<u8>>,
    pub facts_seq: i64,
    pub batch_id: Option<String>,
    pub expires_at: NaiveDateTime,
    pub withdrawn_reason: Option<String>,
}

/// The decision in force on a platform's listing with this replay key.
pub fn find_replay(
    conn: &mut DbConnection,
    platform: &str,
    listing: &str,
    replay_key: &[u8],
) -> QueryResult<Option<CheckRow>> {
    listing_checks::table
        .filter(listing_checks::platform_id.eq(platform))
        .filter(listing_checks::listing_id.eq(listing))
        .filter(listing_checks::replay_key.eq(replay_key))
        .filter(listing_checks::withdrawn_at.is_null())
        .select(CheckRow::as_select())
        .first(conn)
        .optional()
}

/// A decision by id, of one platform or of any.
pub fn find(
    conn: &mut DbConnection,
    platform: Option<&str>,
    id: &str,
) -> QueryResult<Option<CheckRow>> {
    let mut query = listing_checks::table
        .filter(listing_checks::id.eq(id))
        .select(CheckRow::as_select())
        .into_boxed();
    if let Some(platform) = platform {
        query = query.filter(listing_checks::platform_id.eq(platform));
    }
    query.first(conn).optional()
}

/// A batch's attestation.
pub fn batch_attestation(conn: &mut DbConnection, batch_id: &str) -> QueryResult<Option<String>> {
    listing_check_batches::table
        .find(batch_id)
        .select(listing_check_batches::attestation)
        .first(conn)
        .optional()
}

pub fn insert_batch(
    conn: &mut DbConnection,
    id: &str,
    platform: &str,
    attestation: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(listing_check_batches::table)
        .values((
            listing_check_batches::id.eq(id),
            listing_check_batches::platform_id.eq(platform),
            listing_check_batches::attestation.eq(attestation),
            listing_check_batches::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A decision in force that let a listing go on, as withdrawing it needs it.
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

/// Allowed or in-review decisions in force that rested on the code `key` or on a narrower
/// level of it (a lot or serial under a product key, a serial under a lot key).
pub fn in_force_for_code(conn: &mut DbConnection, key: &str) -> QueryResult<Vec<InForce>> {
    // Canonical keys are paths: every narrower key starts with `{key}/`, and `0` is the
    // character after `/`, so one range reads them all from the index.
    let below = format!("{key}/");
    let end = format!("{key}0");
    listing_checks::table
        .inner_join(
            listing_check_codes::table.on(listing_check_codes::check_id.eq(listing_checks::id)),
        )
        .filter(
            listing_check_codes::code_key
                .eq(key)
                .or(listing_check_codes::code_key
                    .ge(below)
                    .and(listing_check_codes::code_key.lt(end))),
        )
        .filter(listing_checks::withdrawn_at.is_null())
        .filter(listing_checks::decision.ne("deny"))
        .select(IN_FORCE)
        .distinct()
        .load(conn)
}

/// Allowed or in-review decisions in force of a seller on a platform's shop.
pub fn in_force_for_seller_on_shop(
    conn: &mut DbConnection,
    seller_id: &str,
    platform: &str,
    shop: &str,
) -> QueryResult<Vec<InForce>> {
    listing_checks::table
        .filter(listing_checks::platform_id.eq(platform))
        .filter(listing_checks::shop_id.eq(shop))
        .filter(listing_checks::withdrawn_at.is_null())
        .filter(listing_checks::decision.ne("deny"))
        .filter(listing_checks::seller_id.eq(seller_id))
        .select(IN_FORCE)
        .load(conn)
}

/// Allowed or in-review decisions in force on a platform's shop.
pub fn in_force_for_shop(
    conn: &mut DbConnection,
    platform: &str,
    shop: &str,
) -> QueryResult<Vec<InForce>> {
    listing_checks::table
        .filter(listing_checks::platform_id.eq(platform))
        .filter(listing_checks::shop_id.eq(shop))
        .filter(listing_checks::withdrawn_at.is_null())
        .filter(listing_checks::decision.ne("deny"))
        .select(IN_FORCE)
        .load(conn)
}

/// Allowed or in-review decisions in force on one listing of a platform.
pub fn in_force_for_listing(
    conn: &mut DbConnection,
    platform: &str,
    listing: &str,
) -> QueryResult<Vec<InForce>> {
    listing_checks::table
        .filter(listing_checks::platform_id.eq(platform))
        .filter(listing_checks::listing_id.eq(listing))
        .filter(listing_checks::withdrawn_at.is_null())
        .filter(listing_checks::decision.ne("deny"))
        .select(IN_FORCE)
        .load(conn)
}

pub fn mark_withdrawn(
    conn: &mut DbConnection,
    ids: &[String],
    now: NaiveDateTime,
    reason: &str,
) -> QueryResult<()> {
    for chunk in ids.chunks(crate::codes::store::CHUNK) {
        diesel::update(
            listing_checks::table
                .filter(listing_checks::id.eq_any(chunk))
                .filter(listing_checks::withdrawn_at.is_null()),
        )
        .set((
            listing_checks::withdrawn_at.eq(now),
            listing_checks::withdrawn_reason.eq(reason),
        ))
        .execute(conn)?;
    }
    Ok(())
}

/// Every decision on a platform's listing, newest first.
pub fn of_listing(
    conn: &mut DbConnection,
    platform: &str,
    listing: &str,
    limit: i64,
) -> QueryResult<Vec<CheckRow>> {
    listing_checks::table
        .filter(listing_checks::platform_id.eq(platform))
        .filter(listing_checks::listing_id.eq(listing))
        .order(listing_checks::id.desc())
        .limit(limit)
        .select(CheckRow::as_select())
        .load(conn)
}

/// Whether a newer decision on the same listing exists (the older one is then superseded).
pub fn newer_on_listing(conn: &mut DbConnection, row: &CheckRow) -> QueryResult<Option<String>> {
    listing_checks::table
        .filter(listing_checks::platform_id.eq(&row.platform_id))
        .filter(listing_checks::listing_id.eq(&row.listing_id))
        .filter(listing_checks::id.gt(&row.id))
        .order(listing_checks::id.desc())
        .select(listing_checks::id)
        .first(conn)
        .optional()
}

#[derive(QueryableByName)]
struct InsertedId {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Rows per multi-row statement on SQLite. Statements are prepared once and cached by their
/// SQL, so rows go in chunks of this fixed size (and single rows for the rest) rather than
/// one statement of whatever size the group has, prepared anew each time.
const CHUNK: usize = 32;

/// Inserts decision rows; a row whose listing has a decision in force with the same replay
/// key is skipped. Returns the ids written, or `None` when every row was.
pub fn insert_checks(
    conn: &mut DbConnection,
    rows: &[&CheckRow],
) -> QueryResult<Option<std::collections::HashSet<String>>> {
    let c = match conn {
        // One statement over arrays: parsed once whatever the group's size, one round trip.
        // The decision log is partitioned by month, so no unique index can span it: a row
        // whose listing has a decision in force with the same replay key (in any month) is
        // left out by the statement itself, and repeats within the group before it.
        DbConnection::Postgresql(c) => {
            let mut seen = std::collections::HashSet::new();
            let all = rows.len();
            let rows: Vec<&CheckRow> = rows
                .iter()
                .filter(|r| seen.insert((&r.platform_id, &r.listing_id, &r.replay_key)))
                .copied()
                .collect();
            let written: Vec<InsertedId> = diesel::sql_query(
                "INSERT INTO listing_checks (id, platform_id, listing_id, content_hash, shop_id, \
                 seller_id, category, decision, record, policy_version, attestation, created_at, \
                 replay_key, facts_seq, batch_id, expires_at) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                 $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], \
                 $12::timestamp[], $13::bytea[], $14::int8[], $15::text[], $16::timestamp[]) \
                 AS r(id, platform_id, listing_id, content_hash, shop_id, seller_id, category, \
                 decision, record, policy_version, attestation, created_at, replay_key, \
                 facts_seq, batch_id, expires_at) \
                 WHERE r.replay_key IS NULL OR NOT EXISTS (SELECT 1 FROM listing_checks c \
                 WHERE c.platform_id = r.platform_id AND c.listing_id = r.listing_id \
                 AND c.replay_key = r.replay_key AND c.withdrawn_at IS NULL) \
                 ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(
                rows.iter()
                    .map(|r| r.platform_id.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Text>, _>(
                rows.iter()
                    .map(|r| r.listing_id.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Text>, _>(
                rows.iter()
                    .map(|r| r.content_hash.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.shop_id.as_str()).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(
                rows.iter()
                    .map(|r| r.seller_id.as_deref())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.category.as_str()).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.decision.as_str()).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.record.as_str()).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(
                rows.iter()
                    .map(|r| r.policy_version.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Nullable<Text>>, _>(
                rows.iter()
                    .map(|r| r.attestation.as_deref())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
            .bind::<Array<Nullable<Binary>>, _>(
                rows.iter()
                    .map(|r| r.replay_key.as_deref())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.facts_seq).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(
                rows.iter()
                    .map(|r| r.batch_id.as_deref())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.expires_at).collect::<Vec<_>>())
            .load(c)?;
            return Ok((written.len() != all).then(|| written.into_iter().map(|w| w.id).collect()));
        }
        DbConnection::Sqlite(c) => c,
    };
    // SQLite has one writer at a time: it looks, then inserts what is new, without a
    // unique index to keep up on every insert.
    let mut fresh: Vec<&CheckRow> = Vec::with_capacity(rows.len());
    let mut seen = std::collections::HashSet::new();
    for row in rows {
        if !seen.insert((&row.platform_id, &row.listing_id, &row.replay_key)) {
            continue;
        }
        if let Some(replay) = row.replay_key.as_deref() {
            let in_force = listing_checks::table
                .filter(listing_checks::platform_id.eq(&row.platform_id))
                .filter(listing_checks::listing_id.eq(&row.listing_id))
                .filter(listing_checks::replay_key.eq(replay))
                .filter(listing_checks::withdrawn_at.is_null())
                .select(listing_checks::id)
                .first::<String>(&mut *c)
                .optional()?;
            if in_force.is_some() {
                continue;
            }
        }
        fresh.push(row);
    }
    let mut chunks = fresh.chunks_exact(CHUNK);
    for chunk in &mut chunks {
        diesel::insert_into(listing_checks::table)
            .values(chunk.to_vec())
            .execute(c)?;
    }
    for row in chunks.remainder() {
        diesel::insert_into(listing_checks::table)
            .values(*row)
            .execute(c)?;
    }
    Ok((fresh.len() != rows.len()).then(|| fresh.iter().map(|r| r.id.clone()).collect()))
}

fn link<'a>(
    (check, key): (&'a str, &'a str),
) -> (
    diesel::dsl::Eq<listing_check_codes::check_id, &'a str>,
    diesel::dsl::Eq<listing_check_codes::code_key, &'a str>,
) {
    (
        listing_check_codes::check_id.eq(check),
        listing_check_codes::code_key.eq(key),
    )
}

/// Links decisions to the codes they rested on (pairs are distinct).
pub fn insert_links(conn: &mut DbConnection, links: &[(&str, &str)]) -> QueryResult<()> {
    if links.is_empty() {
        return Ok(());
    }
    let c = match conn {
        DbConnection::Postgresql(c) => {
            diesel::sql_query(
                "INSERT INTO listing_check_codes (check_id, code_key) \
                 SELECT * FROM unnest($1::text[], $2::text[])",
            )
            .bind::<Array<Text>, _>(links.iter().map(|(c, _)| *c).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(links.iter().map(|(_, k)| *k).collect::<Vec<_>>())
            .execute(c)?;
            return Ok(());
        }
        DbConnection::Sqlite(c) => c,
    };
    let mut chunks = links.chunks_exact(CHUNK);
    for chunk in &mut chunks {
        let values: Vec<_> = chunk.iter().map(|pair| link(*pair)).collect();
        diesel::insert_into(listing_check_codes::table)
            .values(&values)
            .execute(c)?;
    }
    for pair in chunks.remainder() {
        diesel::insert_into(listing_check_codes::table)
            .values(link(*pair))
            .execute(c)?;
    }
    Ok(())
}
