//! Connection pool: r2d2 over a manager that opens exactly the backend the URL names and
//! keeps the real connection error (diesel's derived `establish` would try PostgreSQL, then
//! silently create a SQLite file named after the URL).
//!
//! Behind a pooler in transaction mode (pgbouncer `pool_mode = transaction`) a client's
//! statements may run on a different server connection in each transaction, so nothing may
//! live on a connection past a transaction: [`Pooler::Transaction`] turns diesel's cache of
//! named prepared statements off on every PostgreSQL connection opened here.

use std::time::Duration;

use diesel::Connection;
use diesel::connection::{CacheSize, SimpleConnection};
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::sqlite::SqliteConnection;

use super::{DatabaseUrl, DbConnection};

pub type DbPool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// Settings applied to every SQLite connection: write-ahead log so readers do not block the
/// writer, foreign keys enforced, a wait for the write lock instead of failing at once, and
/// full fsync at commit so an answered write survives a power cut.
/// The busy timeout comes first: switching to WAL itself needs a lock that another
/// connection opening at the same moment may hold.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA foreign_keys = ON;";

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("database connection check failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("cannot create the database directory {path}: {source}")]
    Directory {
        path: String,
        source: std::io::Error,
    },
}

/// What sits between tracegate and PostgreSQL (`database.pooler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Pooler {
    /// Nothing, or a pooler in session mode: a connection is tracegate's until it closes.
    #[default]
    #[serde(rename = "none")]
    Direct,
    /// A pooler that lends a server connection for one transaction at a time (pgbouncer
    /// `pool_mode = transaction`). Statements are sent unnamed (parse, bind and execute in
    /// one round), because a named prepared statement lives on one server connection and
    /// the next transaction may get another ("prepared statement … does not exist").
    #[serde(rename = "transaction")]
    Transaction,
}

/// Opens connections for one [`DatabaseUrl`].
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
    pooler: Pooler,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl, pooler: Pooler) -> Self {
        Self { url, pooler }
    }

    /// The backend this manager connects to.
    pub fn backend(&self) -> super::Backend {
        self.url.backend()
    }

    fn open(&self) -> Result<DbConnection, ConnectError> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| ConnectError::Directory {
                        path: dir.display().to_string(),
                        source,
                    })?;
                }
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                conn.batch_execute(SQLITE_PRAGMAS)?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => {
                let mut conn = PgConnection::establish(url)?;
                if self.pooler == Pooler::Transaction {
                    conn.set_prepared_statement_cache_size(CacheSize::Disabled);
                }
                Ok(DbConnection::Postgresql(conn))
            }
        }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConnection, ConnectError> {
        self.open()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectError> {
        conn.ping().map_err(ConnectError::from)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Logs pool errors through tracing; r2d2 would otherwise use the `log` crate.
#[derive(Debug)]
struct TracingErrorHandler;

impl r2d2::HandleError<ConnectError> for TracingErrorHandler {
    fn handle_error(&self, error: ConnectError) {
        tracing::warn!(error = %error, "database connection failed");
    }
}

/// Builds the pool without connecting: a service whose database is down still starts
/// (and reports 503 on `/readyz`) when migrations are not run at start.
pub fn build_pool(
    connections: ConnectionManager,
    max_connections: u32,
    connect_timeout: Duration,
) -> DbPool {
    r2d2::Pool::builder()
        .max_size(max_connections)
        .min_idle(Some(1))
        .connection_timeout(connect_timeout)
        .error_handler(Box::new(TracingErrorHandler))
        .build_unchecked(connections)
}
