//! Link queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::code_links;

/// One stored link. `None` is written as NULL (no column has a default).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = code_links, treat_none_as_default_value = false)]
pub struct LinkRow {
    pub id: String,
    pub code_key: String,
    /// Full URI of the link type.
    pub link_type: String,
    pub href: String,
    pub title: String,
    pub language: Option<String>,
    pub media_type: Option<String>,
    pub context: Option<String>,
    pub active_from: Option<NaiveDateTime>,
    pub active_until: Option<NaiveDateTime>,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

impl LinkRow {
    /// Whether the link is answered at `now`.
    pub fn is_active(&self, now: NaiveDateTime) -> bool {
        self.active_from.is_none_or(|from| from <= now)
            && self.active_until.is_none_or(|until| now < until)
    }
}

pub fn insert(conn: &mut DbConnection, row: &LinkRow) -> QueryResult<()> {
    diesel::insert_into(code_links::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Every link of these code keys, oldest first.
pub fn of_codes(conn: &mut DbConnection, keys: &[String]) -> QueryResult<Vec<LinkRow>> {
    code_links::table
        .filter(code_links::code_key.eq_any(keys))
        .order((code_links::created_at.asc(), code_links::id.asc()))
        .select(LinkRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<LinkRow>> {
    code_links::table
        .find(id)
        .select(LinkRow::as_select())
        .first(conn)
        .optional()
}

pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    Ok(diesel::delete(code_links::table.find(id)).execute(conn)? == 1)
}
