//! Embedded migrations, one folder per backend with identical migration names.
//!
//! On PostgreSQL the whole run is one transaction holding a transaction-scoped advisory
//! lock: nodes starting together migrate once, a failed run leaves nothing half applied,
//! and nothing outlives the transaction, so the run is as safe through a pooler in
//! transaction mode (pgbouncer) as straight to PostgreSQL. That needs every PostgreSQL
//! migration to run inside a transaction (no `CREATE INDEX CONCURRENTLY`, no
//! `run_in_transaction = false`); a test below keeps it so.

use diesel::sql_types::BigInt;
use diesel::{Connection, RunQueryDsl};
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
        // Each migration's own transaction becomes a savepoint inside this one.
        DbConnection::Postgresql(c) => c.transaction(|c| {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<BigInt, _>(MIGRATION_LOCK)
                .execute(c)?;
            applied(c.run_pending_migrations(POSTGRES)?)
        }),
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The single-transaction run above fails on a statement PostgreSQL refuses inside a
    /// transaction; such a migration needs another way to lock first.
    #[test]
    fn every_postgres_migration_can_run_inside_one_transaction() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).expect("migrations folder") {
            let folder = entry.expect("entry").path();
            assert!(
                !folder.join("metadata.toml").exists(),
                "{} opts out of its transaction",
                folder.display()
            );
            let up: String = std::fs::read_to_string(folder.join("up.sql"))
                .expect("up.sql")
                .lines()
                .map(|line| line.split("--").next().unwrap_or("").to_uppercase() + "\n")
                .collect();
            // Whole words, so that a column such as `committed_at` is no match.
            let words: Vec<&str> = up
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
                .collect();
            for refused in [
                &["CONCURRENTLY"][..],
                &["VACUUM"],
                &["COMMIT"],
                &["ALTER", "SYSTEM"],
                &["CREATE", "DATABASE"],
            ] {
                assert!(
                    !words.windows(refused.len()).any(|w| w == refused),
                    "{} uses {}, which cannot run in the migration transaction",
                    folder.display(),
                    refused.join(" ")
                );
            }
            seen += 1;
        }
        assert!(seen > 0, "no migrations found in {}", dir.display());
    }
}
