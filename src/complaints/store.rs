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

/// Shops still bound whose platform id or name is `name`: (platform id, shop id, seller
/// id), at most a few. Names are compared without case but with their diacritics: in
/// Vietnamese "Bà Ba" and "Bá Bá" are different shops, and a match opens a case against
/// its seller, so a name that only folds alike traces to nobody (officers trace it).
pub fn shops_named(
    conn: &mut DbConnection,
    platform_id: Option<&str>,
    name: &str,
) -> QueryResult<Vec<(String, String, String)>> {
    // Candidates by the folded name, then the exact comparison here: neither backend's
    // `lower` can be trusted with Vietnamese letters (SQLite's is ASCII only). Bindings
    // whose folded name is not written yet are found by their ASCII letters.
    let mut query = seller_bindings::table
        .filter(seller_bindings::revoked_at.is_null())
        .filter(
            seller_bindings::shop_id
                .eq(name)
                .or(seller_bindings::search_shop_name.eq(crate::i18n::fold(name)))
                .or(seller_bindings::search_shop_name.is_null().and(
                    lower(seller_bindings::shop_name.assume_not_null())
                        .like(ascii_skeleton(name))
                        .escape('\\'),
                )),
        )
        .select((
            seller_bindings::platform_id,
            seller_bindings::shop_id,
            seller_bindings::seller_id,
            seller_bindings::shop_name,
        ))
        .order(seller_bindings::id)
        .limit(200)
        .into_boxed();
    if let Some(platform) = platform_id {
        query = query.filter(seller_bindings::platform_id.eq(platform));
    }
    let wanted = name_key(name);
    Ok(query
        .load::<(String, String, String, Option<String>)>(conn)?
        .into_iter()
        .filter(|(_, shop_id, _, shop_name)| {
            shop_id == name || shop_name.as_deref().map(name_key).as_deref() == Some(&wanted)
        })
        .take(5)
        .map(|(platform, shop, seller, _)| (platform, shop, seller))
        .collect())
}

/// A shop name as compared for tracing: composed, lower case, diacritics kept, runs of
/// white space as one space.
fn name_key(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.nfc()
        .collect::<String>()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `LIKE` pattern over a lower-cased name keeping only the ASCII letters and signs of
/// `name` (lower case, escaped); anything else, and white space, matches any run.
fn ascii_skeleton(name: &str) -> String {
    let mut pattern = String::from("%");
    let mut wild = true;
    for c in name.trim().chars() {
        if c.is_ascii_graphic() {
            if matches!(c, '\\' | '%' | '_') {
                pattern.push('\\');
            }
            pattern.push(c.to_ascii_lowercase());
            wild = false;
        } else if !wild {
            pattern.push('%');
            wild = true;
        }
    }
    if !wild {
        pattern.push('%');
    }
    pattern
}
