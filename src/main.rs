//! The `tracegate` command line: parse arguments, load configuration, dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tracegate::accounts::{Accounts, NewOfficer};
use tracegate::auth::hashing::HashingPool;
use tracegate::auth::{OfficerRole, TokenService};
use tracegate::clients::{ClientKind, Clients};
use tracegate::clock::Clock;
use tracegate::clock::SystemClock;
use tracegate::config::{Config, LoadedConfig};
use tracegate::i18n::Language;
use tracegate::identity::{EnterpriseCode, NationalId};
use tracegate::keys::KeyRing;
use tracegate::policies::Policies;
use tracegate::startup::{self, Application};
use tracegate::vault::Vault;
use tracegate::{audit, db, reseal, telemetry};

#[derive(Parser)]
#[command(
    name = "tracegate",
    version,
    about = "Binds online sellers to legal entities, gates marketplace listings on verified traceability codes, and runs disputes.",
    long_about = None
)]
struct Cli {
    /// Configuration file (default: ./tracegate.toml when it exists). TRACEGATE_* environment
    /// variables override it.
    #[arg(long, global = true, env = "TRACEGATE_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API and background workers (the default when no command is given).
    Serve,
    /// Seed a SYNTHETIC demo data set (once), print its credentials and example requests,
    /// and serve.
    Demo,
    /// Seed the SYNTHETIC sandbox (once, into an empty database): fixed, documented
    /// credentials and a listing for every reason the gate gives; print them and serve.
    Sandbox,
    /// Apply pending database migrations, print what was applied, and exit.
    Migrate,
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Work with the hash-chained audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Apply the retention policy (policies/retention.toml).
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Work with traceability codes.
    Codes {
        #[command(subcommand)]
        command: CodesCommand,
    },
    /// Chain of custody: GS1 EPCIS 2.0 events.
    Epcis {
        #[command(subcommand)]
        command: EpcisCommand,
    },
    /// Check identifiers offline, as `POST /v1/identifiers/parse` does.
    Ids {
        #[command(subcommand)]
        command: IdsCommand,
    },
    /// Administration: officers and machine clients.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum CodesCommand {
    /// Parse a code (GTIN, element string, Digital Link, EPC URN, issuer code) and print
    /// the result as JSON; exit 1 with the reason when it cannot be read.
    Parse { code: String },
    /// Register a signed batch of codes for an issuer, as POST /v1/issuers/me/code-batches
    /// does: JSON (`{"codes": [...]}`) or, for a `.csv` file, CSV.
    Import {
        /// The batch file; its exact bytes are what the signature covers.
        file: PathBuf,
        /// Client id of the issuer.
        #[arg(long)]
        issuer: String,
        /// Id of the issuer's key that signed the file.
        #[arg(long)]
        key_id: String,
        /// Base64 Ed25519 signature of the file (detached).
        #[arg(long)]
        signature: String,
    },
}

#[derive(Subcommand)]
enum EpcisCommand {
    /// Capture an EPCIS 2.0 JSON/JSON-LD `EPCISDocument` (bulk history), as
    /// POST /v1/epcis/capture does: refused whole, every bad event named, when any event is
    /// bad; events stored before (same event hash) are left as they are.
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum IdsCommand {
    /// Parse an identifier and print its parts as JSON; exit 1 with the reason when invalid.
    Parse {
        #[arg(value_enum)]
        kind: IdKind,
        value: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum IdKind {
    NationalId,
    EnterpriseCode,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an officer and queue an invitation to set a password (delivered by `serve`).
    CreateOfficer {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Province codes from policies/jurisdictions.toml, comma-separated, or * for all.
        #[arg(long)]
        provinces: String,
        /// Language of the invitation and later mail.
        #[arg(long, value_enum, default_value = "vi")]
        language: LanguageArg,
    },
    /// Replace the generated encryption key (configured keys: after changing the
    /// configuration) and re-seal every stored secret with the current key. Restart the
    /// service afterwards so that it loads the new key.
    RotateKey,
    /// Create a platform or issuer client and print its id and secret (shown only now).
    CreateClient {
        #[arg(long, value_enum)]
        kind: KindArg,
        #[arg(long)]
        name: String,
        /// Scopes to grant, comma-separated (default: every scope of the kind).
        #[arg(long, value_delimiter = ',')]
        scopes: Option<Vec<String>>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Officer,
    Supervisor,
    Admin,
}

#[derive(Clone, Copy, ValueEnum)]
enum LanguageArg {
    Vi,
    En,
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Platform,
    Issuer,
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Export what has expired to compressed files, log their digests in the audit log,
    /// then drop it; print what was done.
    Run,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the whole chain and check it against the signed checkpoints; print the
    /// first broken entry and exit 1 if there is one, and name the entries no checkpoint
    /// vouches for yet.
    Verify {
        /// The audit public key (base64url, the `x` of its JWK) to check checkpoints with;
        /// by default the key of this installation's key set.
        #[arg(long)]
        public_key: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check the configuration and the policy files, and print the effective values,
    /// secrets redacted.
    Check,
}

/// glibc gives each thread that allocates its own arena; with HTTP workers, blocking pools
/// and large request bodies that fragments memory (measured: 346 MB resident under load
/// with the default, 188 MB with two arenas, same throughput). Blocks of 128 KiB and more
/// are mapped for each use and returned when freed: glibc would otherwise raise that
/// threshold after the first large free and carve batch bodies, PostgreSQL's result buffers
/// and each password hash's 19 MiB from the arenas, which then stay that large (a sign-in
/// flood left 364 MiB resident with the default, 84 MiB with a fixed threshold). mimalloc
/// was tried in its place: no throughput gained within the noise of this machine, 80 MB
/// more resident (docs/PERFORMANCE.md).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: called first in main, before any other thread exists; mallopt only sets a
    // tunable of the allocator.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let loaded = match Config::load(cli.config.as_deref()) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => run_async(serve(loaded)),
        Command::Demo => run_async(demo(loaded)),
        Command::Sandbox => run_async(sandbox(loaded)),
        Command::Migrate => run_async(migrate(loaded)),
        Command::Retention {
            command: RetentionCommand::Run,
        } => run_async(retention_run(loaded)),
        Command::Config {
            command: ConfigCommand::Check,
        } => config_check(&loaded),
        Command::Admin { command } => run_async(admin(loaded, command)),
        Command::Codes {
            command: CodesCommand::Parse { code },
        } => return parse_code(&code),
        Command::Codes {
            command:
                CodesCommand::Import {
                    file,
                    issuer,
                    key_id,
                    signature,
                },
        } => run_async(import_codes(loaded, file, issuer, key_id, signature)),
        Command::Epcis {
            command: EpcisCommand::Import { file },
        } => run_async(import_epcis(loaded, file)),
        Command::Ids {
            command: IdsCommand::Parse { kind, value },
        } => return parse_id(kind, &value),
        Command::Audit {
            command: AuditCommand::Verify { public_key },
        } => match run_async(audit_verify(loaded, public_key)) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(error) => Err(error),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_async<T, F: Future<Output = anyhow::Result<T>>>(future: F) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(future)
}

async fn demo(loaded: LoadedConfig) -> anyhow::Result<()> {
    telemetry::init(&loaded.config.log);
    let config = loaded.config;
    let pool = command_pool(&config)?;
    startup::migrate(&pool).await?;
    let file = tracegate::demo::credentials_file(&config);
    let credentials = if file.exists() {
        toml::from_str(&std::fs::read_to_string(&file)?)?
    } else {
        let keys = KeyRing::load_or_generate(&config.keys)?;
        let policies = load_policies(&config)?;
        let registers = tracegate::identity::Registers::from_config(&config.identity)
            .map_err(anyhow::Error::msg)?;
        let seeding = config.clone();
        let credentials = tokio::task::spawn_blocking(move || {
            tracegate::demo::Demo {
                pool: &pool,
                config: &seeding,
                clock: &SystemClock,
                keys: &keys,
                policies: &policies,
                registers: &registers,
            }
            .seed()
        })
        .await??;
        let text = format!(
            "# Credentials of the SYNTHETIC demo data set. Delete this file and the database to start over.\n{}",
            toml::to_string(&credentials)?
        );
        tracegate::keys::write_private(&file, text.as_bytes())?;
        credentials
    };
    println!(
        "{}",
        tracegate::demo::describe(&credentials, config.server.public_url.trim_end_matches('/'))
    );
    let app = Application::build(config).await?;
    app.run_until_stopped().await?;
    Ok(())
}

async fn sandbox(loaded: LoadedConfig) -> anyhow::Result<()> {
    telemetry::init(&loaded.config.log);
    let config = loaded.config;
    tracegate::sandbox::prepare(&config).await?;
    println!(
        "{}",
        tracegate::sandbox::describe(config.server.public_url.trim_end_matches('/'))
    );
    let app = Application::build(config).await?;
    app.run_until_stopped().await?;
    Ok(())
}

async fn import_codes(
    loaded: LoadedConfig,
    file: PathBuf,
    issuer: String,
    key_id: String,
    signature: String,
) -> anyhow::Result<()> {
    use tracegate::codes::registry::{BatchFormat, Registry};
    telemetry::init(&loaded.config.log);
    let config = loaded.config;
    let pool = command_pool(&config)?;
    if config.database.migrate_on_start {
        startup::migrate(&pool).await?;
    }
    let body =
        std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let format = if file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        BatchFormat::Csv
    } else {
        BatchFormat::Json
    };
    let policies = load_policies(&config)?;
    let receipt = tokio::task::spawn_blocking(move || {
        Registry {
            pool: &pool,
            clock: &SystemClock,
            policies: &policies,
            // A separate process: running services follow the change it records.
            facts: &tracegate::listings::fact_bus(),
        }
        .import_batch(
            &issuer,
            &body,
            format,
            Some(&format!("keyid={key_id},sig={signature}")),
        )
    })
    .await?;
    match receipt {
        Ok(receipt) => {
            println!(
                "batch {} registered: {} codes",
                receipt.batch_id, receipt.codes
            );
            Ok(())
        }
        Err(tracegate::codes::registry::RegistryError::BadRows(rows)) => {
            for row in &rows {
                eprintln!("{}: {}", row.field, row.message);
            }
            anyhow::bail!("{} rows are not acceptable; nothing was stored", rows.len())
        }
        Err(error) => Err(error.into()),
    }
}

async fn import_epcis(loaded: LoadedConfig, file: PathBuf) -> anyhow::Result<()> {
    use tracegate::epcis::{Caller, Epcis, EpcisError, field_errors};
    telemetry::init(&loaded.config.log);
    let config = loaded.config;
    let pool = command_pool(&config)?;
    if config.database.migrate_on_start {
        startup::migrate(&pool).await?;
    }
    let body =
        std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let document: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| anyhow::anyhow!("{} is not JSON: {e}", file.display()))?;
    let summary = tokio::task::spawn_blocking(move || {
        let summary = Epcis {
            pool: &pool,
            clock: &SystemClock,
            // A separate process: running services follow the changes it records.
            facts: &tracegate::listings::fact_bus(),
        }
        .capture(&Caller::Operator, &document);
        // The process ends here: freeing a document of 100,000 events value by value
        // would cost a sixth of its import, for memory the exit returns at once.
        std::mem::forget(document);
        summary
    })
    .await?;
    match summary {
        Ok(summary) => {
            println!(
                "{} events captured, {} stored before",
                summary.captured, summary.duplicates
            );
            Ok(())
        }
        Err(error @ EpcisError::Document(_)) => {
            let errors = field_errors(&error);
            for e in &errors {
                eprintln!("{}: {}", e.field, e.message);
            }
            anyhow::bail!("{} problems; nothing was stored", errors.len())
        }
        Err(error) => Err(error.into()),
    }
}

async fn serve(loaded: LoadedConfig) -> anyhow::Result<()> {
    telemetry::init(&loaded.config.log);
    let app = Application::build(loaded.config).await?;
    app.run_until_stopped().await?;
    tracing::info!("stopped");
    Ok(())
}

fn load_policies(config: &Config) -> anyhow::Result<Policies> {
    Ok(match &config.policies.dir {
        Some(dir) => Policies::from_dir(std::path::Path::new(dir))?,
        None => Policies::built_in()?,
    })
}

fn config_check(loaded: &LoadedConfig) -> anyhow::Result<()> {
    let policies = load_policies(&loaded.config)?;
    print!("{}", loaded.describe());
    let source = loaded.config.policies.dir.as_deref().unwrap_or("built in");
    println!("# policies: {source}, version {}", policies.version);
    Ok(())
}

/// A one-connection pool for commands that run and exit.
fn command_pool(config: &Config) -> anyhow::Result<db::DbPool> {
    let connections = config.connections().map_err(anyhow::Error::msg)?;
    Ok(db::build_pool(
        connections,
        1,
        std::time::Duration::from_secs(u64::from(config.database.connect_timeout_secs)),
    ))
}

async fn migrate(loaded: LoadedConfig) -> anyhow::Result<()> {
    telemetry::init(&loaded.config.log);
    let pool = command_pool(&loaded.config)?;
    let applied = startup::migrate(&pool).await?;
    if applied.is_empty() {
        println!("database is up to date");
    } else {
        for version in applied {
            println!("applied {version}");
        }
    }
    Ok(())
}

/// The audit public key to check checkpoints with: the one given, or this installation's
/// (only when its keys exist: verifying never generates keys).
fn audit_key(
    config: &Config,
    given: Option<String>,
) -> anyhow::Result<Option<ed25519_dalek::VerifyingKey>> {
    if let Some(text) = given {
        let bytes = data_encoding::BASE64URL_NOPAD
            .decode(text.trim().trim_end_matches('=').as_bytes())
            .map_err(|_| anyhow::anyhow!("--public-key: expected base64url"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("--public-key: expected 32 bytes"))?;
        return Ok(Some(ed25519_dalek::VerifyingKey::from_bytes(&bytes)?));
    }
    let supplied = config.keys.signing_secret.is_some();
    if !supplied && !std::path::Path::new(&config.keys.file).exists() {
        return Ok(None);
    }
    let keys = KeyRing::load_or_generate(&config.keys)?;
    Ok(Some(audit::CheckpointSigner::new(&keys).public_key()))
}

/// Returns whether the chain is intact.
async fn retention_run(loaded: LoadedConfig) -> anyhow::Result<()> {
    telemetry::init(&loaded.config.log);
    let config = loaded.config;
    let policy = tracegate::retention::RetentionPolicy::load(config.policies.dir.as_deref())?;
    let pool = command_pool(&config)?;
    let export_dir = PathBuf::from(&config.retention.export_dir);
    let evidence_dir = PathBuf::from(&config.disputes.evidence_dir);
    // The service's own audit key: a run that drops audit entries signs the new head.
    let signer = audit::CheckpointSigner::new(&KeyRing::load_or_generate(&config.keys)?);
    let report = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut conn = pool.get()?;
        Ok(tracegate::retention::run(
            &mut conn,
            &policy,
            &signer,
            &export_dir,
            &evidence_dir,
            chrono::Utc::now(),
        )?)
    })
    .await??;
    println!(
        "retention: {} decisions and {} decision-code links exported and dropped",
        report.decisions, report.links
    );
    for (path, digest) in &report.files {
        println!("  {} sha256:{digest}", path.display());
    }
    println!(
        "retention: {} closed accounts pseudonymised, {} evidence files exported and deleted",
        report.accounts_pseudonymised, report.evidence_files
    );
    for partition in &report.partitions_dropped {
        println!("  dropped partition {partition}");
    }
    println!(
        "retention: {} authorisation letters exported and deleted, {} complainants' email addresses erased",
        report.letters, report.complaint_emails_erased
    );
    match (&report.audit_anchor, &report.audit_kept) {
        (Some(anchor), _) => println!(
            "retention: {} audit entries exported and deleted; the chain now starts from the signed checkpoint at entry {anchor}",
            report.audit_entries
        ),
        (None, Some(kept)) => println!("retention: audit entries kept: {kept}"),
        (None, None) => println!("retention: no audit entries past their period"),
    }
    Ok(())
}

async fn audit_verify(loaded: LoadedConfig, public_key: Option<String>) -> anyhow::Result<bool> {
    telemetry::init(&loaded.config.log);
    let key = audit_key(&loaded.config, public_key)?;
    let pool = command_pool(&loaded.config)?;
    let report = tokio::task::spawn_blocking(move || -> anyhow::Result<audit::VerifyReport> {
        let mut conn = pool.get()?;
        Ok(audit::verify_against(&mut conn, key.as_ref())?)
    })
    .await??;
    if key.is_none() {
        println!(
            "no audit key here (give --public-key): the chain is checked, the signed checkpoints are not"
        );
    }
    if let Some(anchor) = &report.anchor {
        let c = &anchor.checkpoint;
        println!(
            "entries 1 to {} were exported and dropped by the retention policy; the chain is verified from the signed checkpoint at entry {} (hash {}, signed {} with {}, signature {})",
            c.seq,
            c.seq,
            c.head_hash,
            c.signed_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
            c.key_id,
            if anchor.signature_checked {
                "checked"
            } else {
                "NOT checked: give --public-key of the key that signed it"
            },
        );
    }
    match &report.broken {
        None => {
            println!(
                "audit log intact: {} entries ({} to {}), head {}",
                report.entries, report.first_seq, report.last_seq, report.head_hash
            );
            if key.is_some() {
                println!(
                    "{} signed checkpoints hold; the last vouches for entries {} to {} (hash {}); compare it with a copy kept outside the database",
                    report.checkpoints_checked,
                    report.first_seq,
                    report.vouched_through,
                    report.vouched_hash.as_deref().unwrap_or("-"),
                );
            }
            if report.checkpoints_other_key > 0 {
                println!(
                    "{} checkpoints are signed with another audit key and were not checked (give its --public-key)",
                    report.checkpoints_other_key
                );
            }
            if report.last_seq > report.vouched_through {
                println!(
                    "cannot vouch for entries {} to {}: no signed checkpoint covers them yet",
                    report.vouched_through.max(report.first_seq - 1) + 1,
                    report.last_seq
                );
            }
            Ok(true)
        }
        Some(broken) => {
            println!("audit log BROKEN: {broken}");
            if report.entries > 0 {
                println!(
                    "entries {} to {} are intact (last good hash {})",
                    report.first_seq, report.last_seq, report.head_hash
                );
            } else {
                println!("no entry could be checked");
            }
            Ok(false)
        }
    }
}

async fn admin(loaded: LoadedConfig, command: AdminCommand) -> anyhow::Result<()> {
    telemetry::init(&loaded.config.log);
    let config = loaded.config;
    let pool = command_pool(&config)?;
    if config.database.migrate_on_start {
        startup::migrate(&pool).await?;
    }
    let keys = KeyRing::load_or_generate(&config.keys)?;
    let policies = load_policies(&config)?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let clock = SystemClock;
        let tokens = TokenService::new(&keys, &config.server.public_url);
        match command {
            AdminCommand::CreateOfficer {
                email,
                role,
                provinces,
                language,
            } => {
                let scope = policies
                    .jurisdictions
                    .parse_scope(&provinces)
                    .map_err(|m| anyhow::anyhow!("--provinces: {m}"))?;
                let accounts = Accounts {
                    pool: &pool,
                    config: &config,
                    clock: &clock,
                    tokens: &tokens,
                    vault: &Vault::new(&keys),
                    hashing: &HashingPool::start(1, std::time::Duration::from_secs(60))?,
                    retention: &tracegate::retention::RetentionPolicy::load(
                        config.policies.dir.as_deref(),
                    )?,
                };
                let id = accounts
                    .create_officer(&NewOfficer {
                        email: &email,
                        role: match role {
                            RoleArg::Officer => OfficerRole::Officer,
                            RoleArg::Supervisor => OfficerRole::Supervisor,
                            RoleArg::Admin => OfficerRole::Admin,
                        },
                        provinces: &scope,
                        language: match language {
                            LanguageArg::Vi => Language::Vi,
                            LanguageArg::En => Language::En,
                        },
                        created_by: "cli",
                    })
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("officer {id} created; the invitation to {email} is queued and goes out while `tracegate serve` runs");
            }
            AdminCommand::RotateKey => {
                let mut keys = keys;
                if keys.generated {
                    keys.rotate_generated_encryption_key(&config.keys)?;
                    println!("new encryption key {} written to {}", keys.encryption.id(), config.keys.file);
                }
                let done = reseal::reseal_all(&pool, &Vault::new(&keys), clock.now())?;
                println!(
                    "re-sealed with key {}: {} citizen IDs, {} TOTP secrets, {} webhook secrets",
                    keys.encryption.id(),
                    done.citizen_ids,
                    done.totp_secrets,
                    done.webhook_secrets
                );
            }
            AdminCommand::CreateClient { kind, name, scopes } => {
                let clients = Clients {
                    pool: &pool,
                    config: &config,
                    clock: &clock,
                    tokens: &tokens,
                    vault: &Vault::new(&keys),
                    hashing: &HashingPool::start(1, std::time::Duration::from_secs(60))?,
                };
                let kind = match kind {
                    KindArg::Platform => ClientKind::Platform,
                    KindArg::Issuer => ClientKind::Issuer,
                };
                let created = clients
                    .create(kind, &name, scopes.as_deref(), "cli")
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("client_id     = {}", created.client.id);
                println!("client_secret = {}", created.client_secret);
                println!("scopes        = {}", created.client.scopes.join(" "));
                println!("The secret is shown only now; store it safely.");
            }
        }
        Ok(())
    })
    .await?
}

fn parse_id(kind: IdKind, value: &str) -> ExitCode {
    let parsed = match kind {
        IdKind::NationalId => NationalId::parse(value)
            .map(|id| serde_json::to_string_pretty(&id.parts()))
            .map_err(|e| format!("citizen ID {e}")),
        IdKind::EnterpriseCode => EnterpriseCode::parse(value)
            .map(|code| serde_json::to_string_pretty(&code.parts()))
            .map_err(|e| format!("enterprise code {e}")),
    };
    match parsed {
        Ok(Ok(json)) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Ok(Err(error)) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
        Err(reason) => {
            eprintln!("error: {reason}");
            ExitCode::FAILURE
        }
    }
}

fn parse_code(code: &str) -> ExitCode {
    use chrono::Datelike;
    match tracegate::codes::parse(code, chrono::Utc::now().year()) {
        Ok(parsed) => match serde_json::to_string_pretty(&parsed) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        },
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
