//! Client queries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::clients;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = clients)]
pub struct ClientRow {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub secret_hash: String,
    pub scopes: String,
    pub created_at: NaiveDateTime,
    pub disabled_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = clients)]
pub struct NewClientRow<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub secret_hash: &'a str,
    pub scopes: &'a str,
    pub created_at: NaiveDateTime,
    pub created_by: &'a str,
}

pub fn insert(conn: &mut DbConnection, row: &NewClientRow<'_>) -> QueryResult<()> {
    diesel::insert_into(clients::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ClientRow>> {
    clients::table
        .find(id)
        .select(ClientRow::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<ClientRow>> {
    clients::table
        .order(clients::created_at.desc())
        .select(ClientRow::as_select())
        .load(conn)
}

/// Disables a client; false when there is no such enabled client.
pub fn disable(conn: &mut DbConnection, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let changed = diesel::update(
        clients::table
            .find(id)
            .filter(clients::disabled_at.is_null()),
    )
    .set(clients::disabled_at.eq(now))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Replaces how a client's secret is stored (same secret, another digest).
pub fn set_secret_hash(conn: &mut DbConnection, id: &str, digest: &str) -> QueryResult<()> {
    diesel::update(clients::table.find(id))
        .set(clients::secret_hash.eq(digest))
        .execute(conn)?;
    Ok(())
}

/// Clients disabled at or after `since`, with when.
pub fn disabled_since(
    conn: &mut DbConnection,
    since: NaiveDateTime,
) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    clients::table
        .filter(clients::disabled_at.ge(since))
        .select((clients::id, clients::disabled_at.assume_not_null()))
        .load(conn)
}
