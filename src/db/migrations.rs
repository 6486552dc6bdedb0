//! Embedded migrations, one folder per backend with identical migration names.

use diesel::RunQueryDsl;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConnection;

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Key of the PostgreSQL advisory lock that keeps nodes starting together from migrating
/// at the same time.
const MIGRATION_LOCK: i64 = 0x7472_6163_6567_6174; // "tracegat"

pub type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// Applies pending migrations; returns the versions applied.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, MigrationError> {
    match conn {
        DbConnection::Sqlite(c) => applied(c.run_pending_migrations(SQLITE)?),
        DbConnection::Postgresql(c) => {
            diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})")).execute(c)?;
            let result = c.run_pending_migrations(POSTGRES).map(|v| applied(v));
            diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(c)?;
            result?
        }
    }
}

fn applied(
    versions: Vec<diesel::migration::MigrationVersion<'_>>,
) -> Result<Vec<String>, MigrationError> {
    Ok(versions.iter().map(|v| v.to_string()).collect())
}

/// True when the database lacks migrations this binary carries.
pub fn has_pending_migrations(conn: &mut DbConnection) -> Result<bool, MigrationError> {
    match conn {
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE),
        DbConnection::Postgresql(c) => c.has_pending_migration(POSTGRES),
    }
}
