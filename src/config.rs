//! Typed configuration: built-in defaults, then `tracegate.toml` (or `--config PATH`),
//! then `TRACEGATE_<SECTION>_<KEY>` environment variables, in that order of precedence.
//!
//! Every value is checked once here so the rest of the program can trust it. A bad value
//! stops start-up with an error that names the key, where it came from and what was expected.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use crate::db::{ConnectionManager, DatabaseUrl, Pooler};

/// Prefix of every environment variable that configures tracegate.
pub const ENV_PREFIX: &str = "TRACEGATE_";

/// Environment variables with this prefix belong to other tools (the test harness) and are
/// not configuration.
const ENV_IGNORED: &[&str] = &["TRACEGATE_TEST_", "TRACEGATE_CONFIG"];

/// File read when no `--config` is given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "tracegate.toml";

/// More decision writers than this only queue behind the database's own locks.
const MAX_DECISION_WRITERS: u32 = 16;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub log: LogConfig,
    pub keys: KeysConfig,
    pub auth: AuthConfig,
    pub mail: MailConfig,
    pub policies: PoliciesConfig,
    pub identity: IdentityConfig,
    pub disputes: DisputesConfig,
    pub audit: AuditConfig,
    pub retention: RetentionConfig,
}

/// Signed checkpoints of the audit log: the chain head is signed once this many entries
/// or this many seconds have passed since the last checkpoint, whichever comes first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Entries after which the head is signed at the latest.
    pub checkpoint_every_entries: u32,
    /// Seconds an entry waits at most before a checkpoint vouches for it.
    pub checkpoint_every_secs: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            checkpoint_every_entries: 1000,
            checkpoint_every_secs: 300,
        }
    }
}

/// Where the retention run (`policies/retention.toml`) puts what it exports before dropping.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Folder of the exported files (created if missing); keep it on storage that outlives
    /// the database, and back it up.
    pub export_dir: String,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            export_dir: "./data/retention".into(),
        }
    }
}

/// Dispute cases: where evidence files live, what may be uploaded, how often deadlines
/// are looked at.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DisputesConfig {
    /// Folder of evidence files (created if missing).
    pub evidence_dir: String,
    /// Largest evidence file accepted, in bytes.
    pub evidence_max_bytes: u32,
    /// Media types accepted as evidence.
    pub evidence_types: Vec<String>,
    /// Seconds between rounds of the deadline worker.
    pub worker_interval_secs: u32,
}

impl Default for DisputesConfig {
    fn default() -> Self {
        Self {
            evidence_dir: "./data/evidence".into(),
            evidence_max_bytes: 10 * 1024 * 1024,
            evidence_types: ["image/jpeg", "image/png", "application/pdf", "text/plain"]
                .map(String::from)
                .to_vec(),
            worker_interval_secs: 60,
        }
    }
}

/// Which implementation answers for a national register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegisterKind {
    /// Files (`*_file`), or the built-in synthetic data set when no file is given.
    Local,
    /// The register's HTTP API (`*_url`).
    Http,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    pub population_register: RegisterKind,
    pub business_register: RegisterKind,
    /// CSV export of the population register, for `local`.
    pub population_file: Option<String>,
    /// JSON export of the business register, for `local`.
    pub business_file: Option<String>,
    pub population_url: String,
    pub business_url: String,
    /// Header that carries the API key.
    pub api_key_header: String,
    pub api_key: Option<String>,
    /// PEM file with a client certificate and key, for registers that require mutual TLS.
    pub client_identity_file: Option<String>,
    pub timeout_ms: u32,
    /// Retries after a timeout, connection error or 5xx answer.
    pub retries: u32,
    /// Consecutive failed calls that open the circuit breaker.
    pub breaker_threshold: u32,
    /// Seconds the breaker stays open before a trial call.
    pub breaker_open_secs: u32,
    /// Seconds between rounds of the monitor (business re-checks, expiry reminders).
    pub monitor_interval_secs: u32,
}

impl fmt::Debug for IdentityConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityConfig")
            .field("population_register", &self.population_register)
            .field("business_register", &self.business_register)
            .field("population_url", &self.population_url)
            .field("business_url", &self.business_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            population_register: RegisterKind::Local,
            business_register: RegisterKind::Local,
            population_file: None,
            business_file: None,
            population_url: String::new(),
            business_url: String::new(),
            api_key_header: "X-Api-Key".into(),
            api_key: None,
            client_identity_file: None,
            timeout_ms: 3000,
            retries: 2,
            breaker_threshold: 5,
            breaker_open_secs: 30,
            monitor_interval_secs: 60,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoliciesConfig {
    /// Folder of policy files to use instead of those built into the binary.
    pub dir: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Lifetime of access tokens for people (sellers, officers), in seconds.
    pub access_token_ttl_secs: u32,
    /// Lifetime of access tokens for machine clients (platforms, issuers), in seconds.
    pub client_token_ttl_secs: u32,
    /// Lifetime of a refresh token (and so of an idle session), in days.
    pub refresh_token_ttl_days: u32,
    /// How long an email verification link stays valid, in hours.
    pub email_verification_ttl_hours: u32,
    /// How long a password reset link stays valid, in minutes.
    pub password_reset_ttl_minutes: u32,
    /// How long an officer invitation stays valid, in hours.
    pub invitation_ttl_hours: u32,
    /// Failed logins for one account (or secrets for one client) from one source before
    /// that source is locked out of it for a while. Never counted per account alone, so
    /// guesses from elsewhere cannot lock out the holder of the right secret.
    pub max_failures_per_account: u32,
    /// Failed logins (or client secrets) from one source, an IPv4 address or IPv6 /64,
    /// before that source is locked for a while.
    pub max_failures_per_ip: u32,
    /// First lock-out, in seconds; each further failure doubles it up to 15 minutes.
    pub lockout_base_secs: u32,
    /// Officers must confirm a TOTP second factor before they may use officer routes.
    pub require_officer_totp: bool,
    /// Password hashes (19 MiB of memory each) computed at once, on threads of their own;
    /// 0 means one per two CPU cores (at least one).
    pub hashing_threads: u32,
    /// How long a sign-in waits for a free hashing thread before it is answered 503
    /// (with `Retry-After`), in milliseconds.
    pub hashing_wait_ms: u32,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// `file` writes each message as an .eml file under `outbox_dir`; `smtp` sends it.
    pub transport: MailTransportKind,
    /// Sender, e.g. `tracegate <no-reply@example.gov.vn>`.
    pub from: String,
    /// Folder for `.eml` files when `transport = "file"`.
    pub outbox_dir: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `starttls`, `tls` (implicit, usually port 465) or `none` (local relays only).
    pub smtp_security: SmtpSecurity,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<String>,
    /// Seconds to wait for the SMTP server.
    pub smtp_timeout_secs: u32,
    /// Delivery attempts before a message (mail or webhook) is given up as dead.
    pub max_attempts: u32,
    /// How often the delivery worker looks for due messages, in milliseconds.
    pub poll_interval_ms: u32,
    /// How long a node holds an outbox message it is delivering before another node may
    /// take it over, in seconds; renewed while the delivery runs. About what one delivery
    /// may take (webhook timeout 10 s, `smtp_timeout_secs`) plus a margin: a node that dies
    /// mid-delivery delays the message by this much.
    pub lease_secs: u32,
}

impl fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailConfig")
            .field("transport", &self.transport)
            .field("from", &self.from)
            .field("outbox_dir", &self.outbox_dir)
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_security", &self.smtp_security)
            .field("smtp_username", &self.smtp_username)
            .field(
                "smtp_password",
                &self.smtp_password.as_ref().map(|_| "<redacted>"),
            )
            .field("max_attempts", &self.max_attempts)
            .field("poll_interval_ms", &self.poll_interval_ms)
            .field("lease_secs", &self.lease_secs)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransportKind {
    File,
    Smtp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    Starttls,
    Tls,
    None,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 900,
            client_token_ttl_secs: 900,
            refresh_token_ttl_days: 30,
            email_verification_ttl_hours: 48,
            password_reset_ttl_minutes: 60,
            invitation_ttl_hours: 72,
            max_failures_per_account: 5,
            max_failures_per_ip: 50,
            lockout_base_secs: 30,
            require_officer_totp: true,
            hashing_threads: 0,
            hashing_wait_ms: 1000,
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            transport: MailTransportKind::File,
            from: "tracegate <no-reply@tracegate.localhost>".into(),
            outbox_dir: "./data/outbox".into(),
            smtp_host: "localhost".into(),
            smtp_port: 587,
            smtp_security: SmtpSecurity::Starttls,
            smtp_username: None,
            smtp_password: None,
            smtp_timeout_secs: 10,
            max_attempts: 12,
            poll_interval_ms: 1000,
            lease_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub bind: String,
    /// The URL people and platforms use to reach this service (links in mail, QR codes).
    pub public_url: String,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: u32,
    /// Largest request body accepted, in bytes (uploads have their own limit).
    pub max_body_bytes: u32,
    /// Largest code batch body accepted from an issuer, in bytes.
    pub max_batch_bytes: u32,
    /// Seconds to let in-flight requests finish after SIGINT/SIGTERM.
    pub shutdown_timeout_secs: u32,
    /// Threads per HTTP worker for blocking work (database, password hashing).
    pub blocking_threads: u32,
    /// PEM certificate chain: with `tls_key_file`, the service speaks HTTPS itself
    /// (rustls); without both, plain HTTP (behind a TLS proxy).
    pub tls_cert_file: Option<String>,
    /// PEM private key of `tls_cert_file`.
    pub tls_key_file: Option<String>,
    /// Seconds a request's body may take to arrive after its headers; then 408 and the
    /// connection is closed.
    pub body_timeout_secs: u32,
    /// Connections each HTTP worker holds at once; further ones wait in the listen queue.
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (embedded) or `postgres://…` / `postgresql://…`.
    pub url: String,
    /// Connections kept in the pool.
    pub max_connections: u32,
    /// Seconds to wait for a free or new connection before answering 503.
    pub connect_timeout_secs: u32,
    /// Threads that store listing decisions, each with its own connection (not from the
    /// pool). 0 chooses: 1 on SQLite (one writer at a time anyway), 2 on PostgreSQL (one
    /// group written while the other commits).
    pub decision_writers: u32,
    /// Apply pending migrations when `serve` starts.
    pub migrate_on_start: bool,
    /// `none`, or `transaction` when a pooler in transaction mode (pgbouncer
    /// `pool_mode = transaction`) sits between tracegate and PostgreSQL.
    pub pooler: Pooler,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `human` (coloured, for a terminal) or `json` (one object per line).
    pub format: LogFormat,
    /// tracing filter directives, e.g. `info` or `tracegate=debug,actix_web=info`.
    pub filter: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    /// File holding generated keys when none are supplied below (created with mode 0600).
    pub file: String,
    /// Base64 of 32 random bytes: seed of the Ed25519 key that signs tokens and attestations.
    pub signing_secret: Option<String>,
    /// Base64 of 32 random bytes: AES-256-GCM key for personal data at rest.
    pub encryption_secret: Option<String>,
    /// Base64 of 32 random bytes: HMAC-SHA256 key for blind indexes of personal data.
    pub blind_index_secret: Option<String>,
    /// Encryption keys used before the current one (base64), kept until
    /// `tracegate admin rotate-key` has re-sealed what they sealed.
    pub previous_encryption_secrets: Vec<String>,
    /// Base64 of 32 random bytes: seed of the Ed25519 key that signs audit checkpoints.
    /// Keep it out of the database's reach; when absent it is derived from
    /// `signing_secret` (or generated into `keys.file`).
    pub audit_signing_secret: Option<String>,
}

impl fmt::Debug for KeysConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("KeysConfig")
            .field("file", &self.file)
            .field("signing_secret", &shown(&self.signing_secret))
            .field("encryption_secret", &shown(&self.encryption_secret))
            .field("blind_index_secret", &shown(&self.blind_index_secret))
            .field(
                "previous_encryption_secrets",
                &self.previous_encryption_secrets.len(),
            )
            .field("audit_signing_secret", &shown(&self.audit_signing_secret))
            .finish()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            workers: 0,
            max_body_bytes: 1024 * 1024,
            max_batch_bytes: 64 * 1024 * 1024,
            shutdown_timeout_secs: 30,
            blocking_threads: 16,
            tls_cert_file: None,
            tls_key_file: None,
            body_timeout_secs: 60,
            max_connections: 10_000,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://./data/tracegate.db".into(),
            max_connections: 10,
            connect_timeout_secs: 1,
            decision_writers: 0,
            migrate_on_start: true,
            pooler: Pooler::Direct,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            filter: "info".into(),
        }
    }
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            file: "./data/keys.toml".into(),
            signing_secret: None,
            encryption_secret: None,
            blind_index_secret: None,
            previous_encryption_secrets: Vec::new(),
            audit_signing_secret: None,
        }
    }
}

/// Keys whose values are secrets: never printed.
const SECRET_KEYS: &[&str] = &[
    "keys.previous_encryption_secrets",
    "mail.smtp_password",
    "identity.api_key",
    "keys.signing_secret",
    "keys.encryption_secret",
    "keys.blind_index_secret",
    "keys.audit_signing_secret",
];

/// Where a configuration value came from, so errors and `config check` can say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(p) => write!(f, "file {}", p.display()),
            Origin::Env(name) => write!(f, "environment {name}"),
        }
    }
}

/// A configuration value that cannot be used, or a file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config key `{key}` ({origin}): {message}")]
    Invalid {
        key: String,
        origin: Origin,
        message: String,
    },
    #[error("cannot read config file {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
}

/// The effective configuration and where each of its values came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: Config,
    origins: BTreeMap<String, Origin>,
}

impl LoadedConfig {
    /// Where the value of `key` (dotted, e.g. `database.url`) came from.
    pub fn origin(&self, key: &str) -> &Origin {
        self.origins.get(key).unwrap_or(&Origin::Default)
    }

    /// The effective configuration as TOML, secrets redacted, each value annotated with
    /// its origin when it is not the default.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let tree = match Value::try_from(&self.config) {
            Ok(Value::Table(t)) => t,
            _ => Table::new(),
        };
        for (section, body) in &tree {
            let Value::Table(body) = body else { continue };
            out.push_str(&format!("[{section}]\n"));
            for (key, value) in body {
                let path = format!("{section}.{key}");
                let shown = if SECRET_KEYS.contains(&path.as_str()) {
                    "\"<redacted>\"".to_string()
                } else if let (true, Value::String(url)) = (path == "database.url", value) {
                    Value::String(crate::db::redact_url(url)).to_string()
                } else {
                    value.to_string()
                };
                match self.origin(&path) {
                    Origin::Default => out.push_str(&format!("{key} = {shown}\n")),
                    origin => out.push_str(&format!("{key} = {shown}  # {origin}\n")),
                }
            }
            out.push('\n');
        }
        out
    }
}

impl Config {
    /// Loads defaults, then `file` (or `tracegate.toml` if present), then the environment.
    pub fn load(file: Option<&Path>) -> Result<LoadedConfig, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        Self::load_from(file, &env)
    }

    /// As [`Config::load`], with the environment given explicitly (for tests).
    pub fn load_from(
        file: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<LoadedConfig, ConfigError> {
        let defaults = match Value::try_from(Config::default()) {
            Ok(Value::Table(t)) => t,
            _ => Table::new(),
        };
        let mut tree = defaults.clone();
        let mut origins = BTreeMap::new();

        let file = match file {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
        };
        if let Some(path) = file {
            let text =
                std::fs::read_to_string(&path).map_err(|source| ConfigError::Unreadable {
                    path: path.clone(),
                    source,
                })?;
            let parsed: Table = text
                .parse()
                .map_err(|e: toml::de::Error| ConfigError::Syntax {
                    path: path.clone(),
                    message: e.message().to_string(),
                })?;
            merge_file(&mut tree, parsed, &path, &mut origins)?;
        }

        for (name, raw) in env {
            if ENV_IGNORED.iter().any(|p| name.starts_with(p)) {
                continue;
            }
            let (key, value) = env_entry(&defaults, name, raw)?;
            let (section, field) = key.split_once('.').unwrap_or((&key, ""));
            if let Some(Value::Table(t)) = tree.get_mut(section) {
                t.insert(field.to_string(), value);
            }
            origins.insert(key, Origin::Env(name.clone()));
        }

        let config: Config = serde_path_to_error::deserialize(Value::Table(tree)).map_err(|e| {
            let message = e.inner().to_string();
            let key = e.path().to_string();
            let origin = origins.get(&key).cloned().unwrap_or(Origin::Default);
            ConfigError::Invalid {
                key,
                origin,
                message,
            }
        })?;
        let loaded = LoadedConfig { config, origins };
        loaded.validate()?;
        Ok(loaded)
    }

    /// The database URL, already checked by [`Config::load`].
    pub fn database_url(&self) -> Result<DatabaseUrl, String> {
        DatabaseUrl::parse(&self.database.url)
    }

    /// Opens connections to the configured database, as the configured pooler needs them.
    pub fn connections(&self) -> Result<ConnectionManager, String> {
        Ok(ConnectionManager::new(
            self.database_url()?,
            self.database.pooler,
        ))
    }

    /// The listen address, already checked by [`Config::load`].
    pub fn bind_addr(&self) -> Result<SocketAddr, String> {
        self.server.bind.parse().map_err(|_| {
            format!(
                "expected HOST:PORT such as 127.0.0.1:8080, got {:?}",
                self.server.bind
            )
        })
    }
}

impl LoadedConfig {
    fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            key: key.to_string(),
            origin: self.origin(key).clone(),
            message: message.into(),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let c = &self.config;
        let url = c
            .database_url()
            .map_err(|m| self.invalid("database.url", m))?;
        if c.database.pooler == Pooler::Transaction && url.backend() != crate::db::Backend::Postgres
        {
            return Err(self.invalid(
                "database.pooler",
                "a pooler sits in front of PostgreSQL; with a sqlite:// URL leave it \"none\"",
            ));
        }
        c.bind_addr().map_err(|m| self.invalid("server.bind", m))?;
        if !(c.server.public_url.starts_with("http://")
            || c.server.public_url.starts_with("https://"))
        {
            return Err(self.invalid(
                "server.public_url",
                format!(
                    "expected an http:// or https:// URL, got {:?}",
                    c.server.public_url
                ),
            ));
        }
        match (&c.server.tls_cert_file, &c.server.tls_key_file) {
            (Some(_), None) | (None, Some(_)) => {
                return Err(self.invalid(
                    "server.tls_cert_file",
                    "give both tls_cert_file and tls_key_file for HTTPS, or neither for plain HTTP",
                ));
            }
            (Some(_), Some(_)) if !c.server.public_url.starts_with("https://") => {
                return Err(self.invalid(
                    "server.public_url",
                    "with TLS on, the public URL starts with https:// (links, QR codes and linksets name it)",
                ));
            }
            _ => {}
        }
        if c.server.max_body_bytes < 1024 {
            return Err(self.invalid("server.max_body_bytes", "expected at least 1024 bytes"));
        }
        if c.disputes.evidence_max_bytes == 0 {
            return Err(self.invalid("disputes.evidence_max_bytes", "expected at least 1 byte"));
        }
        if let Some(bad) = c
            .disputes
            .evidence_types
            .iter()
            .find(|t| !crate::disputes::evidence::KNOWN_TYPES.contains(&t.as_str()))
        {
            return Err(self.invalid(
                "disputes.evidence_types",
                format!(
                    "{bad:?} is not a type tracegate can check; use some of {}",
                    crate::disputes::evidence::KNOWN_TYPES.join(", ")
                ),
            ));
        }
        for (key, value) in [
            ("server.body_timeout_secs", c.server.body_timeout_secs),
            ("server.max_connections", c.server.max_connections),
            (
                "audit.checkpoint_every_entries",
                c.audit.checkpoint_every_entries,
            ),
            ("audit.checkpoint_every_secs", c.audit.checkpoint_every_secs),
        ] {
            if value == 0 {
                return Err(self.invalid(key, "expected at least 1"));
            }
        }
        if c.disputes.worker_interval_secs == 0 {
            return Err(self.invalid(
                "disputes.worker_interval_secs",
                "expected at least 1 second",
            ));
        }
        if c.database.max_connections == 0 {
            return Err(self.invalid("database.max_connections", "expected at least 1"));
        }
        if c.database.connect_timeout_secs == 0 {
            return Err(self.invalid(
                "database.connect_timeout_secs",
                "expected at least 1 second",
            ));
        }
        if c.database.decision_writers > MAX_DECISION_WRITERS {
            return Err(self.invalid(
                "database.decision_writers",
                format!("expected 0 (automatic) to {MAX_DECISION_WRITERS}"),
            ));
        }
        if c.mail.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(self.invalid(
                "mail.from",
                format!(
                    "expected a mailbox such as `tracegate <no-reply@example.org>`, got {:?}",
                    c.mail.from
                ),
            ));
        }
        if c.mail.transport == MailTransportKind::Smtp && c.mail.smtp_host.trim().is_empty() {
            return Err(self.invalid("mail.smtp_host", "required when mail.transport = \"smtp\""));
        }
        if c.mail.smtp_username.is_some() != c.mail.smtp_password.is_some() {
            return Err(self.invalid(
                "mail.smtp_username",
                "give both smtp_username and smtp_password, or neither",
            ));
        }
        for (key, kind, url) in [
            (
                "identity.population_url",
                c.identity.population_register,
                &c.identity.population_url,
            ),
            (
                "identity.business_url",
                c.identity.business_register,
                &c.identity.business_url,
            ),
        ] {
            if kind == RegisterKind::Http
                && !(url.starts_with("https://") || url.starts_with("http://"))
            {
                return Err(self.invalid(
                    key,
                    "an http(s):// URL is required when the register is \"http\"",
                ));
            }
        }
        for (key, value) in [
            ("server.blocking_threads", c.server.blocking_threads),
            ("identity.timeout_ms", c.identity.timeout_ms),
            (
                "identity.monitor_interval_secs",
                c.identity.monitor_interval_secs,
            ),
            ("identity.breaker_threshold", c.identity.breaker_threshold),
            ("mail.max_attempts", c.mail.max_attempts),
            ("mail.poll_interval_ms", c.mail.poll_interval_ms),
            ("mail.lease_secs", c.mail.lease_secs),
            ("mail.smtp_timeout_secs", c.mail.smtp_timeout_secs),
            ("auth.access_token_ttl_secs", c.auth.access_token_ttl_secs),
            ("auth.client_token_ttl_secs", c.auth.client_token_ttl_secs),
            ("auth.refresh_token_ttl_days", c.auth.refresh_token_ttl_days),
            (
                "auth.max_failures_per_account",
                c.auth.max_failures_per_account,
            ),
            ("auth.max_failures_per_ip", c.auth.max_failures_per_ip),
            ("auth.hashing_wait_ms", c.auth.hashing_wait_ms),
        ] {
            if value == 0 {
                return Err(self.invalid(key, "expected at least 1"));
            }
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&c.log.filter) {
            return Err(self.invalid("log.filter", format!("not a valid tracing filter: {e}")));
        }
        for (key, secret) in [
            ("keys.signing_secret", &c.keys.signing_secret),
            ("keys.encryption_secret", &c.keys.encryption_secret),
            ("keys.blind_index_secret", &c.keys.blind_index_secret),
            ("keys.audit_signing_secret", &c.keys.audit_signing_secret),
        ] {
            if let Some(s) = secret {
                crate::keys::decode_secret(s).map_err(|m| self.invalid(key, m))?;
            }
        }
        let supplied = [
            &c.keys.signing_secret,
            &c.keys.encryption_secret,
            &c.keys.blind_index_secret,
        ]
        .iter()
        .filter(|s| s.is_some())
        .count();
        if supplied != 0 && supplied != 3 {
            return Err(self.invalid(
                "keys",
                "supply all three of signing_secret, encryption_secret and blind_index_secret, or none (then they are generated into keys.file)",
            ));
        }
        Ok(())
    }
}

/// Copies a parsed config file over the defaults, refusing sections and keys that do not exist.
fn merge_file(
    tree: &mut Table,
    file: Table,
    path: &Path,
    origins: &mut BTreeMap<String, Origin>,
) -> Result<(), ConfigError> {
    for (section, body) in file {
        let Some(Value::Table(target)) = tree.get_mut(&section) else {
            return Err(ConfigError::Invalid {
                key: section.clone(),
                origin: Origin::File(path.to_path_buf()),
                message: format!("unknown section; expected one of {}", section_names()),
            });
        };
        let Value::Table(body) = body else {
            return Err(ConfigError::Invalid {
                key: section,
                origin: Origin::File(path.to_path_buf()),
                message: "expected a [section] table".into(),
            });
        };
        for (key, value) in body {
            origins.insert(format!("{section}.{key}"), Origin::File(path.to_path_buf()));
            target.insert(key, value);
        }
    }
    Ok(())
}

fn section_names() -> String {
    match Value::try_from(Config::default()) {
        Ok(Value::Table(t)) => t.keys().cloned().collect::<Vec<_>>().join(", "),
        _ => String::new(),
    }
}

/// Maps `TRACEGATE_DATABASE_MAX_CONNECTIONS=4` to (`database.max_connections`, 4), typed
/// after the default value of that key.
fn env_entry(defaults: &Table, name: &str, raw: &str) -> Result<(String, Value), ConfigError> {
    let rest = name[ENV_PREFIX.len()..].to_ascii_lowercase();
    let unknown = || ConfigError::Invalid {
        key: rest.clone(),
        origin: Origin::Env(name.to_string()),
        message: format!(
            "unknown setting; expected {ENV_PREFIX}<SECTION>_<KEY> with SECTION one of {}",
            section_names()
        ),
    };
    let (section, body) = defaults
        .iter()
        .filter_map(|(s, v)| match v {
            Value::Table(t) => rest.strip_prefix(&format!("{s}_")).map(|_| (s, t)),
            _ => None,
        })
        .max_by_key(|(s, _)| s.len())
        .ok_or_else(unknown)?;
    let field = &rest[section.len() + 1..];
    let key = format!("{section}.{field}");
    let bad = |expected: &str| ConfigError::Invalid {
        key: key.clone(),
        origin: Origin::Env(name.to_string()),
        message: format!("expected {expected}, got {raw:?}"),
    };
    let value = match body.get(field) {
        Some(Value::Integer(_)) => {
            Value::Integer(raw.trim().parse().map_err(|_| bad("a whole number"))?)
        }
        Some(Value::Boolean(_)) => match raw.trim() {
            "true" | "1" | "yes" => Value::Boolean(true),
            "false" | "0" | "no" => Value::Boolean(false),
            _ => return Err(bad("true or false")),
        },
        Some(Value::Array(_)) => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
        // Strings, and optional keys with no default, are taken as written.
        _ => Value::String(raw.to_string()),
    };
    Ok((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load(file: Option<&str>, vars: &[(&str, &str)]) -> Result<LoadedConfig, ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tracegate.toml");
        if let Some(text) = file {
            std::fs::write(&path, text).expect("write config");
        }
        Config::load_from(file.map(|_| path.as_path()), &env(vars))
    }

    #[test]
    fn no_configuration_gives_embedded_sqlite_on_localhost() {
        let c = load(None, &[]).expect("defaults load").config;
        assert_eq!(c.database.url, "sqlite://./data/tracegate.db");
        assert_eq!(c.server.bind, "127.0.0.1:8080");
        assert!(c.database.migrate_on_start);
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        let loaded = load(
            Some("[database]\nmax_connections = 3\nurl = \"sqlite://file.db\"\n"),
            &[("TRACEGATE_DATABASE_URL", "postgres://db/tracegate")],
        )
        .expect("loads");
        assert_eq!(loaded.config.database.url, "postgres://db/tracegate");
        assert_eq!(loaded.config.database.max_connections, 3);
        assert_eq!(
            loaded.origin("database.url"),
            &Origin::Env("TRACEGATE_DATABASE_URL".into())
        );
        assert!(matches!(
            loaded.origin("database.max_connections"),
            Origin::File(_)
        ));
    }

    #[test]
    fn bad_environment_number_names_key_and_variable() {
        let err = load(None, &[("TRACEGATE_DATABASE_MAX_CONNECTIONS", "many")]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("database.max_connections"), "{text}");
        assert!(
            text.contains("TRACEGATE_DATABASE_MAX_CONNECTIONS"),
            "{text}"
        );
        assert!(text.contains("whole number"), "{text}");
    }

    #[test]
    fn decision_writers_are_bounded() {
        let loaded = load(None, &[("TRACEGATE_DATABASE_DECISION_WRITERS", "4")]).expect("valid");
        assert_eq!(loaded.config.database.decision_writers, 4);
        let err = load(None, &[("TRACEGATE_DATABASE_DECISION_WRITERS", "17")]).unwrap_err();
        assert!(
            err.to_string().contains("database.decision_writers"),
            "{err}"
        );
    }

    #[test]
    fn unknown_database_scheme_is_refused() {
        let err = load(None, &[("TRACEGATE_DATABASE_URL", "mysql://x/y")]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("database.url"), "{text}");
        assert!(text.contains("sqlite://"), "{text}");
    }

    #[test]
    fn transaction_pooler_is_read_from_the_environment() {
        let loaded = load(
            None,
            &[
                (
                    "TRACEGATE_DATABASE_URL",
                    "postgres://127.0.0.1:6432/tracegate",
                ),
                ("TRACEGATE_DATABASE_POOLER", "transaction"),
            ],
        )
        .expect("loads");
        assert_eq!(loaded.config.database.pooler, Pooler::Transaction);
        assert_eq!(Config::default().database.pooler, Pooler::Direct);
    }

    #[test]
    fn pooler_is_refused_in_front_of_sqlite_or_when_unknown() {
        let text = load(None, &[("TRACEGATE_DATABASE_POOLER", "transaction")])
            .unwrap_err()
            .to_string();
        assert!(text.contains("database.pooler"), "{text}");
        assert!(text.contains("sqlite://"), "{text}");
        let text = load(
            Some("[database]\nurl = \"postgres://db/t\"\npooler = \"session\"\n"),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(text.contains("database.pooler"), "{text}");
        assert!(text.contains("transaction"), "{text}");
    }

    #[test]
    fn unknown_key_in_file_is_refused_by_name() {
        let err = load(Some("[server]\nbnid = \"0.0.0.0:1\"\n"), &[]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("bnid"), "{text}");
    }

    #[test]
    fn wrong_type_in_file_names_the_key() {
        let err = load(Some("[server]\nworkers = \"four\"\n"), &[]).unwrap_err();
        assert!(err.to_string().contains("server.workers"), "{err}");
    }

    #[test]
    fn unknown_section_is_refused() {
        let err = load(Some("[databse]\nurl = \"x\"\n"), &[]).unwrap_err();
        assert!(err.to_string().contains("databse"), "{err}");
    }

    #[test]
    fn unknown_environment_setting_is_refused() {
        let err = load(None, &[("TRACEGATE_SERVR_BIND", "x")]).unwrap_err();
        assert!(err.to_string().contains("TRACEGATE_SERVR_BIND"), "{err}");
    }

    #[test]
    fn test_harness_variables_are_not_configuration() {
        load(None, &[("TRACEGATE_TEST_POSTGRES_URL", "postgres://x")]).expect("ignored");
    }

    #[test]
    fn tls_needs_both_files_and_an_https_public_url() {
        let err = load(None, &[("TRACEGATE_SERVER_TLS_CERT_FILE", "/x/cert.pem")]).unwrap_err();
        assert!(err.to_string().contains("tls_key_file"), "{err}");
        let err = load(
            None,
            &[
                ("TRACEGATE_SERVER_TLS_CERT_FILE", "/x/cert.pem"),
                ("TRACEGATE_SERVER_TLS_KEY_FILE", "/x/key.pem"),
            ],
        )
        .unwrap_err();
        assert!(err.to_string().contains("https://"), "{err}");
        let loaded = load(
            None,
            &[
                ("TRACEGATE_SERVER_TLS_CERT_FILE", "/x/cert.pem"),
                ("TRACEGATE_SERVER_TLS_KEY_FILE", "/x/key.pem"),
                (
                    "TRACEGATE_SERVER_PUBLIC_URL",
                    "https://tracegate.example.vn",
                ),
            ],
        )
        .expect("loads");
        assert_eq!(
            loaded.config.server.tls_key_file.as_deref(),
            Some("/x/key.pem")
        );
    }

    #[test]
    fn partial_key_set_is_refused() {
        let secret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let err = load(None, &[("TRACEGATE_KEYS_SIGNING_SECRET", secret)]).unwrap_err();
        assert!(err.to_string().contains("keys"), "{err}");
    }

    #[test]
    fn describe_redacts_secrets_and_names_origins() {
        let secret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let loaded = load(
            None,
            &[
                ("TRACEGATE_KEYS_SIGNING_SECRET", secret),
                ("TRACEGATE_KEYS_ENCRYPTION_SECRET", secret),
                ("TRACEGATE_KEYS_BLIND_INDEX_SECRET", secret),
                ("TRACEGATE_SERVER_WORKERS", "2"),
            ],
        )
        .expect("loads");
        let text = loaded.describe();
        assert!(!text.contains(secret), "{text}");
        assert!(text.contains("signing_secret = \"<redacted>\""), "{text}");
        assert!(
            text.contains("workers = 2  # environment TRACEGATE_SERVER_WORKERS"),
            "{text}"
        );
    }
}
