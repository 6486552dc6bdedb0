//! Builds the running service from a configuration. `main` and the integration tests both
//! use [`Application::build`], so tests exercise exactly what production runs.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use utoipa_swagger_ui::SwaggerUi;

use tokio::sync::watch;

use crate::auth::TokenService;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::db::{self, DbPool};
use crate::disputes::evidence::EvidenceStore;
use crate::disputes::worker::DisputeWorker;
use crate::error::AppError;
use crate::identity::Registers;
use crate::identity::facts::VerifiedBusinesses;
use crate::identity::monitor::IdentityMonitor;
use crate::keys::KeyRing;
use crate::links::LinkIndex;
use crate::listings::{Attester, DecisionWriter, Gate, GateModel};
use crate::metrics::Metrics;
use crate::notify::MailTransport;
use crate::notify::worker::OutboxWorker;
use crate::policies::Policies;
use crate::state::AppState;
use crate::vault::Vault;
use crate::{
    accounts, clients, codes, disputes, http, identity, listings, notify, openapi, ops, telemetry,
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    #[error("cannot connect to the database to migrate it")]
    Database(#[from] r2d2::Error),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("cannot load the listing gate's facts")]
    Facts(#[source] diesel::result::Error),
    #[error(transparent)]
    Policy(#[from] crate::policies::PolicyError),
    #[error("mail: {0}")]
    Mail(String),
    #[error("cannot start the password hashing threads")]
    Hashing(#[source] std::io::Error),
    #[error("cannot listen on {address}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

/// A built, listening service that has not started serving yet.
pub struct Application {
    server: Server,
    port: u16,
    state: AppState,
    outbox_worker: OutboxWorker,
    identity_monitor: IdentityMonitor,
    dispute_worker: DisputeWorker,
    checkpoint_worker: crate::audit::checkpoint::CheckpointWorker,
    partition_keeper: crate::maintenance::PartitionKeeper,
}

impl Application {
    /// Builds the service with the system clock.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        Self::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Builds the service with the given clock (tests move time by hand).
    pub async fn build_with_clock(
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let connections = config.connections().map_err(StartupError::Config)?;
        let backend = connections.backend();
        let address = config.bind_addr().map_err(StartupError::Config)?;
        let policies = match &config.policies.dir {
            Some(dir) => Policies::from_dir(std::path::Path::new(dir))?,
            None => Policies::built_in()?,
        };
        let retention = Arc::new(
            crate::retention::RetentionPolicy::load(config.policies.dir.as_deref())
                .map_err(|e| StartupError::Config(e.to_string()))?,
        );
        let keys = KeyRing::load_or_generate(&config.keys)?;
        let revocations = Arc::new(crate::auth::revocation::Revocations::new(
            config
                .auth
                .access_token_ttl_secs
                .max(config.auth.client_token_ttl_secs),
        ));
        let hashing = crate::auth::hashing::HashingPool::start(
            config.auth.hashing_threads,
            Duration::from_millis(u64::from(config.auth.hashing_wait_ms)),
        )
        .map_err(StartupError::Hashing)?;
        let registers = Registers::from_config(&config.identity).map_err(StartupError::Config)?;
        if keys.generated {
            tracing::warn!(
                file = %config.keys.file,
                "using keys generated on this machine; production must supply its own (TRACEGATE_KEYS_*)"
            );
        }
        let pool = db::build_pool(
            connections.clone(),
            config.database.max_connections,
            Duration::from_secs(u64::from(config.database.connect_timeout_secs)),
        );
        if config.database.migrate_on_start {
            migrate(&pool).await?;
        }

        let listener = TcpListener::bind(address).map_err(|source| StartupError::Bind {
            address: address.to_string(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                address: address.to_string(),
                source,
            })?
            .port();

        let mail = MailTransport::from_config(&config.mail).map_err(StartupError::Mail)?;
        let from = config
            .mail
            .from
            .parse()
            .map_err(|e| StartupError::Mail(format!("mail.from: {e}")))?;
        let policies = Arc::new(policies);
        let attester = Arc::new(Attester::new(&keys));
        let facts = listings::fact_bus();
        let metrics = Arc::new(Metrics::new());
        let links = Arc::new(LinkIndex::new());
        let businesses = Arc::new(VerifiedBusinesses::new());
        let model = Arc::new(
            GateModel::new(Box::new(|conn, only| {
                disputes::blocked_listings(conn, only)
            }))
            .keeping(links.clone())
            .keeping(businesses.clone()),
        );
        // A service whose database is not ready still starts (and is not ready); the
        // follower loads the facts once it can.
        if let Err(error) = load_model(&pool, &model, clock.as_ref()).await {
            tracing::warn!(error = %format!("{:#}", anyhow::Error::new(error)), "the listing gate's facts are not loaded yet");
        }
        // Tokens that ended are known before the first request (else /readyz loads them).
        let (list, list_pool, now) = (revocations.clone(), pool.clone(), clock.now());
        let loaded = tokio::task::spawn_blocking(move || {
            let mut conn = list_pool.get().map_err(|e| e.to_string())?;
            list.update(&mut conn, now).map_err(|e| e.to_string())
        })
        .await;
        if !matches!(loaded, Ok(Ok(()))) {
            tracing::warn!(result = ?loaded, "the list of ended sessions is not loaded yet");
        }
        let gate = Arc::new(Gate {
            pool: pool.clone(),
            clock: clock.clone(),
            policies: policies.clone(),
            attester: attester.clone(),
            issuer: config.server.public_url.clone(),
            model,
            facts: facts.clone(),
            metrics: metrics.clone(),
            writer: DecisionWriter::start(
                connections,
                metrics.clone(),
                decision_writers(backend, config.database.decision_writers),
            )
            .map_err(|source| StartupError::Bind {
                address: "decision writer thread".into(),
                source,
            })?,
        });
        let state = AppState {
            tokens: Arc::new(TokenService::new(&keys, &config.server.public_url)),
            vault: Arc::new(Vault::new(&keys)),
            metrics,
            policies,
            retention,
            registers,
            attester,
            facts,
            gate,
            links,
            businesses,
            evidence: Arc::new(EvidenceStore::new(&config.disputes.evidence_dir)),
            hashing: Arc::new(hashing),
            revocations: revocations.clone(),
            node: crate::leases::NodeId::new(),
            keys: Arc::new(keys),
            pool,
            clock,
            config: Arc::new(config),
        };
        let outbox_worker = OutboxWorker {
            pool: state.pool.clone(),
            clock: state.clock.clone(),
            vault: state.vault.clone(),
            http: crate::outbound::agent(Duration::from_secs(10)),
            mail,
            from,
            metrics: state.metrics.clone(),
            max_attempts: state.config.mail.max_attempts,
            poll_interval: Duration::from_millis(u64::from(state.config.mail.poll_interval_ms)),
            node: state.node.clone(),
            lease: Duration::from_secs(u64::from(state.config.mail.lease_secs)),
        };
        let identity_monitor = IdentityMonitor {
            pool: state.pool.clone(),
            facts: state.facts.clone(),
            clock: state.clock.clone(),
            registers: state.registers.clone(),
            policies: state.policies.clone(),
            public_url: state.config.server.public_url.clone(),
            interval: Duration::from_secs(u64::from(state.config.identity.monitor_interval_secs)),
            node: state.node.clone(),
        };
        let dispute_worker = DisputeWorker {
            pool: state.pool.clone(),
            clock: state.clock.clone(),
            policies: state.policies.clone(),
            facts: state.facts.clone(),
            vault: state.vault.clone(),
            evidence: state.evidence.clone(),
            config: state.config.disputes.clone(),
            public_url: state.config.server.public_url.clone(),
            interval: Duration::from_secs(u64::from(state.config.disputes.worker_interval_secs)),
            node: state.node.clone(),
        };
        let partition_keeper = crate::maintenance::PartitionKeeper {
            pool: state.pool.clone(),
            clock: state.clock.clone(),
            node: state.node.clone(),
            interval: crate::maintenance::INTERVAL,
            retention: state.retention.clone(),
            export_dir: state.config.retention.export_dir.clone().into(),
            evidence_dir: state.config.disputes.evidence_dir.clone().into(),
            signer: Arc::new(crate::audit::CheckpointSigner::new(&state.keys)),
        };
        let checkpoint_worker = crate::audit::checkpoint::CheckpointWorker {
            pool: state.pool.clone(),
            clock: state.clock.clone(),
            signer: Arc::new(crate::audit::CheckpointSigner::new(&state.keys)),
            policy: crate::audit::checkpoint::CheckpointPolicy {
                every_entries: i64::from(state.config.audit.checkpoint_every_entries),
                every: chrono::TimeDelta::seconds(i64::from(
                    state.config.audit.checkpoint_every_secs,
                )),
            },
        };
        let server = http_server(state.clone(), listener)?;
        tracing::info!(address = %address, port, "listening");
        Ok(Self {
            server,
            port,
            state,
            outbox_worker,
            identity_monitor,
            dispute_worker,
            checkpoint_worker,
            partition_keeper,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle that stops the server (graceful or not) from elsewhere.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Shared state, for tests that inspect the database directly.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves, and runs the background workers, until SIGINT/SIGTERM (or a stop through
    /// [`Application::handle`]); then lets in-flight requests and deliveries finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (stop, stopped) = watch::channel(false);
        let follower = tokio::spawn(self.state.gate.clone().follow(FOLLOW_POLL, stopped.clone()));
        let outbox = tokio::spawn(self.outbox_worker.run(stopped.clone()));
        let monitor = tokio::spawn(self.identity_monitor.run(stopped.clone()));
        let disputes = tokio::spawn(self.dispute_worker.run(stopped.clone()));
        let checkpoints = tokio::spawn(self.checkpoint_worker.run(stopped.clone()));
        let partitions = tokio::spawn(self.partition_keeper.run(stopped.clone()));
        let revocations = tokio::spawn(crate::auth::revocation::follow(
            self.state.revocations.clone(),
            self.state.pool.clone(),
            self.state.clock.clone(),
            stopped,
        ));
        let result = self.server.await;
        let _ = stop.send(true);
        for (name, worker) in [
            ("fact follower", follower),
            ("outbox worker", outbox),
            ("identity monitor", monitor),
            ("dispute worker", disputes),
            ("audit checkpoints", checkpoints),
            ("partition keeper", partitions),
            ("revocation follower", revocations),
        ] {
            if let Err(error) = worker.await {
                tracing::error!(error = %error, worker = name, "background worker ended abnormally");
            }
        }
        result
    }
}

/// How often the gate looks for fact changes made by other processes (other nodes, the
/// command line); changes made in this process are applied at once.
const FOLLOW_POLL: Duration = Duration::from_millis(250);

/// Writer threads for listing decisions, each with its own connection: as configured, or
/// one on SQLite (one writer at a time anyway) and two on PostgreSQL, so that one group is
/// written while the other commits (more compete with PostgreSQL for two cores).
fn decision_writers(backend: db::Backend, configured: u32) -> usize {
    match (configured, backend) {
        (0, db::Backend::Sqlite) => 1,
        (0, db::Backend::Postgres) => 2,
        (n, _) => n as usize,
    }
}

/// Loads the gate's facts before serving (a node answers only from a loaded model).
async fn load_model(
    pool: &DbPool,
    model: &Arc<GateModel>,
    clock: &dyn Clock,
) -> Result<(), StartupError> {
    let (pool, model, now) = (pool.clone(), model.clone(), clock.now());
    let started = std::time::Instant::now();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        model
            .load(&mut conn, now.naive_utc())
            .map_err(StartupError::Facts)?;
        give_back_freed_memory();
        tracing::info!(size = ?model.size(), seconds = started.elapsed().as_secs_f64(), "listing gate ready");
        Ok(())
    })
    .await
    .map_err(|e| StartupError::Migration(format!("loading the gate's facts failed: {e}")))?
}

/// PostgreSQL's client library holds a whole result in memory: loading a million codes
/// leaves some hundred megabytes free in the heap, which glibc keeps unless asked (measured:
/// 352 MB resident on PostgreSQL against 138 MB on SQLite after the same load).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn give_back_freed_memory() {
    // SAFETY: malloc_trim only returns free pages of the allocator to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn give_back_freed_memory() {}

/// Applies pending migrations (blocking work, off the async threads).
pub async fn migrate(pool: &DbPool) -> Result<Vec<String>, StartupError> {
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get()?;
        let applied =
            db::run_migrations(&mut conn).map_err(|e| StartupError::Migration(e.to_string()))?;
        for version in &applied {
            tracing::info!(version = %version, "applied migration");
        }
        // Folded search names are computed in Rust, so a migration cannot fill them.
        let filled = crate::identity::fill_search_names(&mut conn)
            .map_err(|e| StartupError::Migration(format!("filling search names: {e}")))?;
        if filled > 0 {
            tracing::info!(rows = filled, "filled folded search names");
        }
        Ok(applied)
    })
    .await
    .map_err(|e| StartupError::Migration(format!("migration task failed: {e}")))?
}

fn http_server(state: AppState, listener: TcpListener) -> Result<Server, StartupError> {
    let server_config = state.config.server.clone();
    let metrics = web::Data::from(state.metrics.clone());
    let docs = openapi::document(&state.policies);
    let data = web::Data::new(state);
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(metrics.clone())
            .app_data(http::BodyTimeout(Duration::from_secs(u64::from(
                server_config.body_timeout_secs,
            ))))
            .wrap(from_fn(http::body_deadline))
            .wrap(from_fn(crate::web::errors::pages_for_people))
            .wrap(from_fn(crate::web::session::carry_renewal))
            .wrap(from_fn(telemetry::observe))
            .configure(|cfg| http::configure_extractors(cfg, server_config.max_body_bytes as usize))
            // Routes are matched in order, a regular expression each: the most called
            // first (the listing gate, then the resolver every scan reaches).
            .configure(listings::routes::configure)
            .configure(crate::web::verify::configure)
            .configure(ops::configure)
            .configure(accounts::routes::configure)
            .configure(clients::routes::configure)
            .configure(notify::routes::configure)
            .configure(identity::routes::configure)
            .configure(codes::routes::configure)
            .configure(|cfg| {
                codes::routes::configure_registry(cfg, server_config.max_batch_bytes as usize)
            })
            .configure(crate::links::routes::configure)
            .configure(|cfg| {
                crate::epcis::routes::configure(cfg, server_config.max_batch_bytes as usize)
            })
            .configure(disputes::routes::configure)
            .configure(crate::audit::routes::configure)
            .configure(crate::web::configure)
            .service(web::redirect("/docs", "/docs/"))
            .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", docs.clone()))
            .default_service(web::to(unknown_route))
    })
    .shutdown_timeout(u64::from(server_config.shutdown_timeout_secs))
    // Blocking work waits for one of a few database connections anyway; more threads only
    // add memory and context switches.
    .worker_max_blocking_threads(server_config.blocking_threads as usize)
    // Slow connections are bounded in time (headers by actix-web's 5 s, bodies by
    // `body_timeout_secs`) and in number, so that they cannot take every socket.
    .max_connections(server_config.max_connections as usize);
    if server_config.workers > 0 {
        server = server.workers(server_config.workers as usize);
    }
    let server = match (&server_config.tls_cert_file, &server_config.tls_key_file) {
        (Some(cert), Some(key)) => server
            .listen_rustls_0_23(listener, tls_config(cert, key)?)
            .map_err(|source| StartupError::Bind { address, source })?,
        _ => server
            .listen(listener)
            .map_err(|source| StartupError::Bind { address, source })?,
    };
    Ok(server.run())
}

/// The rustls configuration of native TLS: the certificate chain and key from PEM files,
/// the ring provider, TLS 1.2 and 1.3.
fn tls_config(cert_file: &str, key_file: &str) -> Result<rustls::ServerConfig, StartupError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            StartupError::Config(format!(
                "server.tls_cert_file: cannot read certificates from {cert_file}: {e}"
            ))
        })?;
    if certs.is_empty() {
        return Err(StartupError::Config(format!(
            "server.tls_cert_file: no certificate in {cert_file}"
        )));
    }
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| {
        StartupError::Config(format!(
            "server.tls_key_file: cannot read a private key from {key_file}: {e}"
        ))
    })?;
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| StartupError::Config(format!("TLS: {e}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            StartupError::Config(format!(
                "server.tls_cert_file / server.tls_key_file: the key does not fit the certificate: {e}"
            ))
        })
}

async fn unknown_route() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::not_found(
        "no resource at this path; the API is described at /openapi.json and /docs",
    ))
}
