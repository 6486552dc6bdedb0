//! Code registry queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{
    code_batches, codes, company_prefix_licences, distributor_authorisations, issuer_keys, issuers,
};

/// SQLite binds at most 32766 values per statement; keep well below.
pub const CHUNK: usize = 1000;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = issuers)]
pub struct IssuerRow {
    pub client_id: String,
    pub name: String,
    pub kind: String,
    pub code_prefix: Option<String>,
    pub province: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn find_issuer(conn: &mut DbConnection, client_id: &str) -> QueryResult<Option<IssuerRow>> {
    issuers::table
        .find(client_id)
        .select(IssuerRow::as_select())
        .first(conn)
        .optional()
}

pub fn issuer_by_prefix(conn: &mut DbConnection, prefix: &str) -> QueryResult<Option<IssuerRow>> {
    issuers::table
        .filter(issuers::code_prefix.eq(prefix))
        .select(IssuerRow::as_select())
        .first(conn)
        .optional()
}

pub fn upsert_issuer(conn: &mut DbConnection, row: &IssuerRow) -> QueryResult<()> {
    if find_issuer(conn, &row.client_id)?.is_some() {
        diesel::update(issuers::table.find(&row.client_id))
            .set((
                issuers::name.eq(&row.name),
                issuers::kind.eq(&row.kind),
                issuers::code_prefix.eq(&row.code_prefix),
                issuers::province.eq(&row.province),
            ))
            .execute(conn)?;
    } else {
        diesel::insert_into(issuers::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

pub fn insert_key(
    conn: &mut DbConnection,
    key_id: &str,
    issuer: &str,
    public_key: &[u8],
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(issuer_keys::table)
        .values((
            issuer_keys::key_id.eq(key_id),
            issuer_keys::issuer_id.eq(issuer),
            issuer_keys::public_key.eq(public_key),
            issuer_keys::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// An issuer's usable key.
pub fn active_key(
    conn: &mut DbConnection,
    issuer: &str,
    key_id: &str,
) -> QueryResult<Option<Vec<u8>>> {
    issuer_keys::table
        .filter(issuer_keys::key_id.eq(key_id))
        .filter(issuer_keys::issuer_id.eq(issuer))
        .filter(issuer_keys::revoked_at.is_null())
        .select(issuer_keys::public_key)
        .first(conn)
        .optional()
}

pub fn keys_of(
    conn: &mut DbConnection,
    issuer: &str,
) -> QueryResult<Vec<(String, NaiveDateTime, Option<NaiveDateTime>)>> {
    issuer_keys::table
        .filter(issuer_keys::issuer_id.eq(issuer))
        .order(issuer_keys::created_at.asc())
        .select((
            issuer_keys::key_id,
            issuer_keys::created_at,
            issuer_keys::revoked_at,
        ))
        .load(conn)
}

pub fn revoke_key(
    conn: &mut DbConnection,
    issuer: &str,
    key_id: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(
        issuer_keys::table
            .filter(issuer_keys::key_id.eq(key_id))
            .filter(issuer_keys::issuer_id.eq(issuer))
            .filter(issuer_keys::revoked_at.is_null()),
    )
    .set(issuer_keys::revoked_at.eq(now))
    .execute(conn)?;
    Ok(changed == 1)
}

/// `None` is written as NULL (no column here has a default): this lets SQLite insert many
/// rows per statement (it inserts row by row when a value may be DEFAULT) and PostgreSQL
/// take the rows through COPY.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = codes, treat_none_as_default_value = false)]
pub struct CodeRow {
    pub code_key: String,
    pub level: String,
    pub gtin: Option<String>,
    pub issuer_id: String,
    pub owner_code: String,
    pub product_name: String,
    pub category: String,
    pub origin: Option<String>,
    pub production_date: Option<String>,
    pub expiry_date: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub batch_id: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Which of `keys` are registered already.
pub fn existing_keys(conn: &mut DbConnection, keys: &[String]) -> QueryResult<Vec<String>> {
    let mut found = Vec::new();
    for chunk in keys.chunks(CHUNK) {
        found.extend(
            codes::table
                .filter(codes::code_key.eq_any(chunk))
                .select(codes::code_key)
                .load::<String>(conn)?,
        );
    }
    Ok(found)
}

/// Inserts rows in bulk: COPY (binary) on PostgreSQL, multi-row inserts on SQLite.
pub fn insert_codes(conn: &mut DbConnection, rows: &[CodeRow]) -> QueryResult<()> {
    match conn {
        DbConnection::Postgresql(c) => {
            diesel::copy_from(codes::table)
                .from_insertable(rows)
                .execute(c)?;
        }
        DbConnection::Sqlite(c) => {
            // 15 columns: 500 rows keep a statement at 7,500 of SQLite's 32,766 binds.
            for chunk in rows.chunks(500) {
                diesel::insert_into(codes::table).values(chunk).execute(c)?;
            }
        }
    }
    Ok(())
}

/// The receipt of a batch of exactly these bytes (SHA-256 hex) from this issuer.
pub fn batch_by_digest(
    conn: &mut DbConnection,
    issuer: &str,
    body_sha256: &str,
) -> QueryResult<Option<super::registry::BatchReceipt>> {
    let found: Option<(String, i32)> = code_batches::table
        .filter(code_batches::issuer_id.eq(issuer))
        .filter(code_batches::body_sha256.eq(body_sha256))
        .select((code_batches::id, code_batches::rows_count))
        .first(conn)
        .optional()?;
    Ok(found.map(|(batch_id, rows)| super::registry::BatchReceipt {
        batch_id,
        codes: usize::try_from(rows).unwrap_or_default(),
        registered_before: true,
    }))
}

pub fn insert_batch(
    conn: &mut DbConnection,
    id: &str,
    issuer: &str,
    key_id: &str,
    body_sha256: &str,
    rows: i32,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(code_batches::table)
        .values((
            code_batches::id.eq(id),
            code_batches::issuer_id.eq(issuer),
            code_batches::key_id.eq(key_id),
            code_batches::body_sha256.eq(body_sha256),
            code_batches::rows_count.eq(rows),
            code_batches::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A product's registered lots and serials, when the product itself is not registered:
/// how many, and the newest (which names the product and its owner).
pub fn registered_under_product(
    conn: &mut DbConnection,
    gtin: &str,
) -> QueryResult<(i64, Option<CodeRow>)> {
    let count: i64 = codes::table
        .filter(codes::gtin.eq(gtin))
        .count()
        .get_result(conn)?;
    let newest = codes::table
        .filter(codes::gtin.eq(gtin))
        .order(codes::created_at.desc())
        .select(CodeRow::as_select())
        .first(conn)
        .optional()?;
    Ok((count, newest))
}

/// The registered codes among `keys` (any level).
pub fn find_codes(conn: &mut DbConnection, keys: &[String]) -> QueryResult<Vec<CodeRow>> {
    let mut found = Vec::new();
    for chunk in keys.chunks(CHUNK) {
        found.extend(
            codes::table
                .filter(codes::code_key.eq_any(chunk))
                .select(CodeRow::as_select())
                .load(conn)?,
        );
    }
    Ok(found)
}

pub fn set_status(
    conn: &mut DbConnection,
    key: &str,
    status: &str,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(codes::table.find(key))
        .set((
            codes::status.eq(status),
            codes::status_reason.eq(reason),
            codes::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Licensed company prefixes of these enterprises: (enterprise, prefix).
pub fn licences_of(
    conn: &mut DbConnection,
    enterprises: &[String],
) -> QueryResult<Vec<(String, String)>> {
    company_prefix_licences::table
        .filter(company_prefix_licences::enterprise_code.eq_any(enterprises))
        .select((
            company_prefix_licences::enterprise_code,
            company_prefix_licences::prefix,
        ))
        .load(conn)
}

pub fn upsert_licence(
    conn: &mut DbConnection,
    prefix: &str,
    enterprise: &str,
    issuer: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(company_prefix_licences::table.find(prefix)).execute(conn)?;
    diesel::insert_into(company_prefix_licences::table)
        .values((
            company_prefix_licences::prefix.eq(prefix),
            company_prefix_licences::enterprise_code.eq(enterprise),
            company_prefix_licences::issuer_id.eq(issuer),
            company_prefix_licences::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn insert_authorisation(
    conn: &mut DbConnection,
    id: &str,
    code_key: &str,
    owner: &str,
    distributor: &str,
    valid_until: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(distributor_authorisations::table)
        .values((
            distributor_authorisations::id.eq(id),
            distributor_authorisations::code_key.eq(code_key),
            distributor_authorisations::owner_code.eq(owner),
            distributor_authorisations::distributor_code.eq(distributor),
            distributor_authorisations::valid_until.eq(valid_until),
            distributor_authorisations::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether `distributor` may sell any of `keys` (product or lot keys) at `now`.
pub fn is_authorised(
    conn: &mut DbConnection,
    keys: &[String],
    distributor: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let count: i64 = distributor_authorisations::table
        .filter(distributor_authorisations::code_key.eq_any(keys))
        .filter(distributor_authorisations::distributor_code.eq(distributor))
        .filter(distributor_authorisations::valid_until.gt(now))
        .filter(distributor_authorisations::revoked_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}
