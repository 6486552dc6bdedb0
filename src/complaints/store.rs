//! Complaint queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{consumer_complaints, seller_bindings};
use crate::db::{DbConnection, lower};

/// One stored complaint. `None` is written as NULL (no column has a default).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = consumer_complaints, treat_none_as_default_value = false)]
pub struct ComplaintRow {
    pub id: String,
    pub reference: String,
    pub code: Option<String>,
    pub platform_id: Option<String>,
    pub listing_link: Option<String>,
    pub shop_name: Option<String>,
    pub shop_id: Option<String>,
    pub seller_id: Option<String>,
    pub province: Option<String>,
    pub kind: String,
    pub claim: String,
    pub description: String,
    pub email: String,
    pub language: String,
    pub created_at: NaiveDateTime,
    /// When the retention run erased `email` (then empty).
    pub email_erased_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, row: &ComplaintRow) -> QueryResult<()> {
    diesel::insert_into(consumer_complaints::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// How many complaints an address has filed since `since` (counting one just stored).
/// Compared without case: rows stored before addresses were lower-cased count too
/// (addresses are ASCII, which SQLite's `lower` covers).
pub fn filed_by_since(
    conn: &mut DbConnection,
    email: &str,
    since: NaiveDateTime,
) -> QueryResult<i64> {
    consumer_complaints::table
        .filter(lower(consumer_complaints::email).eq(email.to_ascii_lowercase()))
        .filter(consumer_complaints::created_at.gt(since))
        .count()
        .get_result(conn)
}

pub fn by_reference(conn: &mut DbConnection, reference: &str) -> QueryResult<Option<ComplaintRow>> {
    consumer_complaints::table
        .filter(consumer_complaints::reference.eq(reference))
        .select(ComplaintRow::as_select())
        .first(conn)
        .optional()
}

/// The newest complaints first, `limit` of them from `offset`: of sellers in these
/// provinces only, or (`None`) all of them, traced or not.
pub fn newest(
    conn: &mut DbConnection,
    provinces: Option<&[String]>,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<ComplaintRow>> {
    let mut query = consumer_complaints::table.into_boxed();
    if let Some(provinces) = provinces {
        query = query.filter(consumer_complaints::province.eq_any(provinces.to_vec()));
    }
    query
        .order((
            consumer_complaints::created_at.desc(),
            consumer_complaints::id.desc(),
        ))
        .offset(offset)
        .limit(limit)
        .select(ComplaintRow::as_select())
        .load(conn)
}

/// Shops still bound whose platform id or name is `name` (names compared without case or
/// diacritics): (platform id, shop id, seller id), at most a few.
pub fn shops_named(
    conn: &mut DbConnection,
    platform_id: Option<&str>,
    name: &str,
) -> QueryResult<Vec<(String, String, String)>> {
    let mut query = seller_bindings::table
        .filter(seller_bindings::revoked_at.is_null())
        .filter(
            seller_bindings::shop_id
                .eq(name)
                .or(seller_bindings::search_shop_name.eq(crate::i18n::fold(name))),
        )
        .select((
            seller_bindings::platform_id,
            seller_bindings::shop_id,
            seller_bindings::seller_id,
        ))
        .limit(5)
        .into_boxed();
    if let Some(platform) = platform_id {
        query = query.filter(seller_bindings::platform_id.eq(platform));
    }
    query.load(conn)
}
