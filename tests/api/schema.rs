//! Both migration sets must build the same tables and columns.

use std::collections::BTreeMap;

use diesel::sql_types::{Integer, Text};
use diesel::{QueryableByName, RunQueryDsl};
use tracegate::db::DbConnection;

use crate::helpers::{TestApp, TestBackend};

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Integer)]
    nullable: i32,
    #[diesel(sql_type = Integer)]
    primary_key: i32,
}

/// (table, column) → (type family, nullable, part of primary key).
type Shape = BTreeMap<(String, String), (String, bool, bool)>;

/// Maps each backend's type names onto the families diesel's shared types use.
fn family(declared: &str) -> String {
    let t = declared.to_ascii_lowercase();
    let name = match t.as_str() {
        "bigint" | "int8" => "bigint",
        "integer" | "int" | "int4" => "integer",
        "smallint" | "int2" => "smallint",
        "text" | "character varying" | "varchar" => "text",
        "boolean" | "bool" => "boolean",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "blob" | "bytea" | "binary" => "binary",
        "double precision" | "double" | "real" | "float8" => "double",
        other => other,
    };
    name.to_string()
}

const SQLITE_COLUMNS: &str = "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type,
        CASE WHEN p.\"notnull\" = 1 OR p.pk > 0 THEN 0 ELSE 1 END AS nullable,
        CASE WHEN p.pk > 0 THEN 1 ELSE 0 END AS primary_key
    FROM sqlite_master m JOIN pragma_table_info(m.name) p
    WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'";

const POSTGRES_COLUMNS: &str =
    "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name,
        c.data_type::text AS data_type,
        CASE WHEN c.is_nullable = 'YES' THEN 1 ELSE 0 END AS nullable,
        CASE WHEN EXISTS (
            SELECT 1 FROM information_schema.table_constraints tc
            JOIN information_schema.key_column_usage k
              ON k.constraint_name = tc.constraint_name AND k.table_name = tc.table_name
            WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_name = c.table_name
              AND k.column_name = c.column_name) THEN 1 ELSE 0 END AS primary_key
    FROM information_schema.columns c
    WHERE c.table_schema = 'public' AND c.table_name <> '__diesel_schema_migrations'
      AND NOT EXISTS (SELECT 1 FROM pg_class p WHERE p.relname = c.table_name AND p.relispartition)";

/// Partition keys on PostgreSQL, where a partitioned table's primary key must contain its
/// partition key (and so the column is NOT NULL there); SQLite keeps one table.
const PARTITION_KEYS: &[(&str, &str)] = &[
    ("listing_checks", "created_at"),
    ("listing_check_codes", "created_at"),
];

/// Columns that are SQLite's 64-bit row id (declared `INTEGER`) and BIGINT on PostgreSQL.
const AUTOINCREMENT_ROW_IDS: &[(&str, &str)] = &[("fact_changes", "seq")];

async fn shape_of(app: &TestApp) -> Shape {
    app.state
        .db(|conn: &mut DbConnection| {
            let sql = match conn {
                DbConnection::Sqlite(_) => SQLITE_COLUMNS,
                DbConnection::Postgresql(_) => POSTGRES_COLUMNS,
            };
            let rows: Vec<ColumnRow> = diesel::sql_query(sql).load(conn)?;
            Ok(rows
                .into_iter()
                .map(|r| {
                    // A sequence SQLite numbers itself must be its `INTEGER PRIMARY KEY
                    // AUTOINCREMENT`, the 64-bit row id: PostgreSQL's BIGSERIAL.
                    let rowid = matches!(conn, DbConnection::Sqlite(_))
                        && AUTOINCREMENT_ROW_IDS
                            .contains(&(r.table_name.as_str(), r.column_name.as_str()));
                    let family = if rowid {
                        "bigint".to_string()
                    } else {
                        family(&r.data_type)
                    };
                    let partition_key =
                        PARTITION_KEYS.contains(&(r.table_name.as_str(), r.column_name.as_str()));
                    (
                        (r.table_name, r.column_name),
                        (
                            family,
                            r.nullable == 1 && !partition_key,
                            r.primary_key == 1 && !partition_key,
                        ),
                    )
                })
                .collect())
        })
        .await
        .expect("read schema")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_migration_sets_give_the_same_tables_and_columns() {
    let Some(postgres) = TestBackend::postgres() else {
        return;
    };
    let (_sqlite_env, sqlite) = TestApp::spawn(&TestBackend::Sqlite).await;
    let (_postgres_env, postgres) = TestApp::spawn(&postgres).await;
    let sqlite_shape = shape_of(&sqlite).await;
    let postgres_shape = shape_of(&postgres).await;
    assert!(sqlite_shape.contains_key(&("audit_log".to_string(), "hash".to_string())));
    let only_sqlite: Vec<_> = sqlite_shape
        .iter()
        .filter(|(k, v)| postgres_shape.get(*k) != Some(v))
        .collect();
    let only_postgres: Vec<_> = postgres_shape
        .iter()
        .filter(|(k, v)| sqlite_shape.get(*k) != Some(v))
        .collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "schemas differ\n  SQLite has: {only_sqlite:?}\n  PostgreSQL has: {only_postgres:?}"
    );
}

#[test]
fn both_backends_have_the_same_migration_names() {
    let names = |backend: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(format!(
            "{}/migrations/{backend}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("migrations folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
        names.sort();
        names
    };
    assert_eq!(names("sqlite"), names("postgres"));
    assert!(!names("sqlite").is_empty());
}
