//! Test harness: a real tracegate on port 0 with a fresh database per test, on SQLite and,
//! when `TRACEGATE_TEST_POSTGRES_URL` is set, on PostgreSQL (a new database per test,
//! dropped afterwards).
//!
//! Write a test once as `async fn name(backend: TestBackend)` and add `both_backends!(name);`
//! under it: that generates `name::sqlite` and `name::postgres`.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use diesel::{Connection, RunQueryDsl};
use tempfile::TempDir;
use tracegate::clock::ManualClock;
use tracegate::config::{Config, LogConfig, LogFormat};
use tracegate::startup::Application;
use tracegate::state::AppState;

/// PostgreSQL server URL (any database on it) for the PostgreSQL half of the suite.
pub const POSTGRES_ENV: &str = "TRACEGATE_TEST_POSTGRES_URL";

/// Generates `#[tokio::test]`s `NAME::sqlite` and `NAME::postgres` that call `NAME(backend)`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::TestBackend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(backend) = $crate::helpers::TestBackend::postgres() {
                    super::$name(backend).await
                }
            }
        }
    };
}

#[derive(Debug, Clone)]
pub enum TestBackend {
    Sqlite,
    /// URL of the server's maintenance database, used to create and drop test databases.
    Postgres(String),
}

impl TestBackend {
    /// The PostgreSQL backend, or `None` (with a note on stderr) when it is not configured.
    pub fn postgres() -> Option<Self> {
        match std::env::var(POSTGRES_ENV) {
            Ok(url) if !url.is_empty() => Some(TestBackend::Postgres(url)),
            _ => {
                skip(&format!(
                    "set {POSTGRES_ENV} to run this test on PostgreSQL"
                ));
                None
            }
        }
    }
}

/// Says that a test could not run here and why. Under CI (`CI` set, as `.ci/run` does)
/// a test that cannot run is a failure, never a silent pass.
pub fn skip(why: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") {
        panic!("cannot run under CI: {why}");
    }
    eprintln!("skipped: {why}");
}

/// A data directory and an empty database, removed when dropped.
pub struct TestEnv {
    pub dir: TempDir,
    pub config: Config,
    /// Dropped with the environment, which drops the database.
    _postgres: Option<PostgresDatabase>,
}

impl TestEnv {
    pub fn new(backend: &TestBackend) -> Self {
        install_log_capture();
        let dir = tempfile::tempdir().expect("temporary directory");
        let (url, postgres) = match backend {
            TestBackend::Sqlite => (
                format!("sqlite://{}", dir.path().join("tracegate.db").display()),
                None,
            ),
            TestBackend::Postgres(admin) => {
                let db = PostgresDatabase::create(admin);
                (db.url.clone(), Some(db))
            }
        };
        let mut config = Config::default();
        config.server.bind = "127.0.0.1:0".into();
        config.server.workers = 1;
        config.server.shutdown_timeout_secs = 1;
        config.database.url = url;
        config.database.max_connections = 5;
        config.database.connect_timeout_secs = 2;
        config.keys.file = dir.path().join("keys.toml").display().to_string();
        config.mail.outbox_dir = dir.path().join("outbox").display().to_string();
        config.mail.poll_interval_ms = 50;
        config.identity.monitor_interval_secs = 1;
        config.disputes.evidence_dir = dir.path().join("evidence").display().to_string();
        config.retention.export_dir = dir.path().join("retention").display().to_string();
        // Tests run deadline rounds themselves, on a clock they move.
        config.disputes.worker_interval_secs = 3600;
        config.log = test_log_config();
        Self {
            dir,
            config,
            _postgres: postgres,
        }
    }

    /// The database URL of this environment.
    pub fn database_url(&self) -> &str {
        &self.config.database.url
    }

    /// Runs the `tracegate` binary with this environment's configuration.
    pub fn command(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_tracegate"))
            .args(args)
            .current_dir(self.dir.path())
            .env("TRACEGATE_DATABASE_URL", self.database_url())
            .env("TRACEGATE_KEYS_FILE", &self.config.keys.file)
            .env("TRACEGATE_MAIL_OUTBOX_DIR", &self.config.mail.outbox_dir)
            .env("TRACEGATE_LOG_FILTER", "warn")
            .output()
            .expect("run tracegate binary")
    }
}

/// A running service, on a clock the test moves.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    handle: actix_web::dev::ServerHandle,
}

impl TestApp {
    /// A fresh environment and a service running in it.
    pub async fn spawn(backend: &TestBackend) -> (TestEnv, TestApp) {
        let env = TestEnv::new(backend);
        let app = TestApp::start(env.config.clone()).await;
        (env, app)
    }

    /// Starts a service with exactly this configuration.
    pub async fn start(config: Config) -> TestApp {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let app = Application::build_with_clock(config, clock.clone())
            .await
            .expect("application builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        TestApp {
            address,
            client,
            state,
            clock,
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_as(
        &self,
        path: &str,
        token: &str,
        body: serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    /// Mail queued for `to`, oldest first, as (subject, text).
    pub async fn mails_to(&self, to: &str) -> Vec<(String, String)> {
        use diesel::prelude::*;
        use tracegate::db::schema::outbox;
        let to = to.to_string();
        let payloads: Vec<String> = self
            .state
            .db(move |conn| {
                Ok(outbox::table
                    .filter(outbox::kind.eq("mail"))
                    .filter(outbox::destination.eq(to))
                    .order(outbox::id.asc())
                    .select(outbox::payload)
                    .load(conn)?)
            })
            .await
            .expect("read outbox");
        payloads
            .iter()
            .map(|p| {
                let mail: serde_json::Value =
                    serde_json::from_str(p).expect("mail payload is JSON");
                (
                    mail["subject"].as_str().unwrap_or("").to_string(),
                    mail["text"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// The token in the link of the newest mail to `to`.
    pub async fn link_token(&self, to: &str) -> String {
        let mails = self.mails_to(to).await;
        let (_, text) = mails.last().expect("a mail was queued");
        token_in(text)
    }

    /// Runs one SQL statement directly against the service's database (to tamper with it).
    pub async fn execute_sql(&self, sql: &str) {
        let sql = sql.to_string();
        use diesel::RunQueryDsl;
        self.state
            .db(move |conn| {
                diesel::sql_query(&sql).execute(conn)?;
                Ok(())
            })
            .await
            .expect("SQL statement runs");
    }

    /// Every audit action recorded so far, in order.
    pub async fn audit_actions(&self) -> Vec<String> {
        use diesel::prelude::*;
        use tracegate::db::schema::audit_log;
        self.state
            .db(|conn| {
                Ok(audit_log::table
                    .order(audit_log::seq.asc())
                    .select(audit_log::action)
                    .load(conn)?)
            })
            .await
            .expect("read audit log")
    }

    /// Runs one round of the dispute deadline worker now, at the app's clock.
    pub async fn dispute_round(&self) -> tracegate::disputes::worker::Round {
        let state = self.state.clone();
        let worker = tracegate::disputes::worker::DisputeWorker {
            pool: state.pool.clone(),
            clock: state.clock.clone(),
            policies: state.policies.clone(),
            facts: state.facts.clone(),
            vault: state.vault.clone(),
            evidence: state.evidence.clone(),
            config: state.config.disputes.clone(),
            public_url: state.config.server.public_url.clone(),
            interval: std::time::Duration::from_secs(3600),
            node: state.node.clone(),
        };
        tokio::task::spawn_blocking(move || worker.round())
            .await
            .expect("task")
            .expect("round")
    }

    /// The number a `SELECT count(*) AS n …` statement gives.
    pub async fn count_sql(&self, sql: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let sql = sql.to_string();
        self.state
            .db(move |conn| {
                let row: Count = diesel::sql_query(&sql).get_result(conn)?;
                Ok(row.n)
            })
            .await
            .expect("count query runs")
    }

    /// Webhook events queued for a platform, oldest first, as (type, data).
    pub async fn webhooks_to(&self, platform_id: &str) -> Vec<(String, serde_json::Value)> {
        use diesel::prelude::*;
        use tracegate::db::schema::outbox;
        let destination = format!("platform:{platform_id}");
        let payloads: Vec<String> = self
            .state
            .db(move |conn| {
                Ok(outbox::table
                    .filter(outbox::destination.eq(destination))
                    .order(outbox::id.asc())
                    .select(outbox::payload)
                    .load(conn)?)
            })
            .await
            .expect("read outbox");
        payloads
            .iter()
            .map(|p| {
                let event: serde_json::Value = serde_json::from_str(p).expect("webhook JSON");
                (
                    event["type"].as_str().unwrap_or("").to_string(),
                    event["data"].clone(),
                )
            })
            .collect()
    }

    /// Stops the server and waits until it has.
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command at once; the server finishes on its own threads.
        drop(self.handle.stop(false));
    }
}

/// Reads a problem+json body, checking the media type.
pub async fn problem(response: reqwest::Response) -> serde_json::Value {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert_eq!(
        content_type, "application/problem+json",
        "error bodies are problem+json"
    );
    response.json().await.expect("problem body is JSON")
}

struct PostgresDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    fn create(admin_url: &str) -> Self {
        let name = format!("tracegate_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = diesel::PgConnection::establish(admin_url).expect("connect to PostgreSQL");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create test database");
        Self {
            admin_url: admin_url.to_string(),
            url: with_database(admin_url, &name),
            name,
        }
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = diesel::PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

/// Replaces the database name in a PostgreSQL URL, keeping any query string.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{}", &base[..host_end], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

// ---- log capture: every log line of the suite, for tests that inspect logs ----

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

fn log_buffer() -> Arc<Mutex<Vec<u8>>> {
    LOGS.get_or_init(|| Arc::new(Mutex::new(Vec::new())))
        .clone()
}

fn test_log_config() -> LogConfig {
    // Debug for our own code, so that a test that checks what is never logged sees it all.
    LogConfig {
        format: LogFormat::Json,
        filter: "info,tracegate=debug".into(),
    }
}

struct CaptureWriter;

/// The suite's log file, which `.ci/run` searches for personal data after the run.
fn log_file() -> Option<&'static Mutex<std::fs::File>> {
    static FILE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-logs");
        std::fs::create_dir_all(&dir).ok()?;
        let path = dir.join(format!("api-{}.log", std::process::id()));
        std::fs::File::create(path).ok().map(Mutex::new)
    })
    .as_ref()
}

impl Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        log_buffer()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        if let Some(file) = log_file() {
            let _ = file
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .write_all(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_writer() -> CaptureWriter {
    CaptureWriter
}

fn install_log_capture() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED
        .get_or_init(|| tracegate::telemetry::init_with_writer(&test_log_config(), capture_writer));
}

/// Every log line written so far by any test in this process.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

/// The value of `token=` in a text.
pub fn token_in(text: &str) -> String {
    let start = text.find("token=").expect("a link with a token") + "token=".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}
