//! Storage: one diesel schema over embedded SQLite and PostgreSQL.
//!
//! The backend is chosen from the URL scheme only ([`DatabaseUrl`]), never guessed.
//! Backend-specific SQL stays in this folder; feature stores use the diesel DSL on
//! [`DbConnection`] and [`write_transaction`].

mod migrations;
pub mod partitions;
mod pool;
pub mod schema;
mod url;

pub use migrations::{has_pending_migrations, run_migrations};
pub use pool::{ConnectError, ConnectionManager, DbPool, PooledConnection, Pooler, build_pool};
pub use url::{Backend, DatabaseUrl, redact as redact_url};

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

/// A connection to whichever backend the configuration names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

impl DbConnection {
    /// Which backend this connection talks to.
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Postgresql(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// Runs the same diesel expression on the backend's own connection type.
///
/// The multi-backend connection cannot express multi-row inserts or `ON CONFLICT`
/// upserts; stores write those as `on_backend!(conn, c => insert_into(t).values(&rows).execute(c))`.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, $inner:ident => $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($inner) => $body,
            $crate::db::DbConnection::Sqlite($inner) => $body,
        }
    };
}

/// Prepares a connection that commits in groups for its work. On SQLite it takes the
/// write-ahead log's checkpoints out of its commits (see [`checkpoint`]): a checkpoint
/// copies pages into the database file and syncs it, which would stall every decision
/// waiting on that commit.
pub fn prepare_group_writer(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    use diesel::connection::SimpleConnection;
    if let DbConnection::Sqlite(c) = conn {
        c.batch_execute("PRAGMA wal_autocheckpoint = 0;")?;
    }
    Ok(())
}

/// Copies what the write-ahead log holds into the SQLite database file without waiting
/// for the writer (a passive checkpoint); run from a thread of its own. Nothing on
/// PostgreSQL.
pub fn checkpoint(conn: &mut DbConnection) -> diesel::QueryResult<()> {
    use diesel::connection::SimpleConnection;
    if let DbConnection::Sqlite(c) = conn {
        c.batch_execute("PRAGMA wal_checkpoint(PASSIVE);")?;
    }
    Ok(())
}

/// Runs `f` in a transaction that holds the write lock from its first statement.
///
/// On SQLite a deferred transaction that reads and then writes fails with `SQLITE_BUSY`
/// when another writer committed in between; `BEGIN IMMEDIATE` waits for the lock
/// instead (bounded by the busy timeout). On PostgreSQL it is an ordinary transaction.
/// Every store function that changes data runs inside one of these.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        DbConnection::Postgresql(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    type Manager = <DbConnection as diesel::Connection>::TransactionManager;
    match f(conn) {
        Ok(value) => match Manager::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(commit_error) => {
                // A failed COMMIT leaves the transaction open on some backends.
                let _ = Manager::rollback_transaction(conn);
                Err(commit_error.into())
            }
        },
        Err(error) => {
            Manager::rollback_transaction(conn)?;
            Err(error)
        }
    }
}

diesel::define_sql_function! {
    /// Text in lower case, for searches that ignore case (on SQLite, ASCII letters only).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// A `LIKE` pattern for a folded search column (see [`crate::i18n::fold`]): `text` folded
/// the same way, escaped as [`contains_pattern`] does. `None` when nothing is left once
/// folded (only accents, say): its pattern would be `%%`, matching every row, so the
/// search must find nothing instead.
pub fn folded_pattern(text: &str) -> Option<String> {
    let folded = crate::i18n::fold(text);
    (!folded.is_empty()).then(|| contains_pattern(&folded))
}

/// A `LIKE` pattern finding `text` anywhere, in lower case, with `\`, `%` and `_` escaped
/// (use with `.escape('\\')`), so what a person types is matched as written.
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.trim().to_lowercase().chars() {
        if matches!(c, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::{contains_pattern, folded_pattern};

    #[test]
    fn a_search_of_only_accents_has_no_pattern() {
        assert_eq!(folded_pattern("\u{0301}"), None);
        assert_eq!(folded_pattern(" \u{0301}\u{0300} "), None);
        assert_eq!(folded_pattern("Hòa_Bình"), Some("%hoa\\_binh%".to_string()));
        assert_eq!(contains_pattern("50%"), "%50\\%%");
    }
}
