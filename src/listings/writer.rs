//! Group commit of listing decisions: requests hand their records to a writer thread, which
//! stores whatever has queued up in one transaction and only then answers each request. A
//! decision is never answered before its record is durable, and the cost of a commit (an
//! fsync) is shared by every decision in it.
//!
//! Inside the transaction the writer takes the facts lock shared and reads the fact changes
//! recorded since the facts each decision was made on: a decision whose facts changed
//! meanwhile is not stored (its request decides again). A change that commits later sees
//! the stored decision and withdraws it. A row the database refuses fails alone: the group
//! is written again without it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::store::{self, CheckRow};
use crate::db::{self, Backend, ConnectionManager, DbConnection, write_transaction};
use crate::facts::{Fact, RecordedChange, changes_since, lock_shared};
use crate::metrics::Metrics;

/// Decisions stored per transaction at most.
const GROUP: usize = 2000;

/// What a decision rested on, as far as later changes can touch it.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// The model's sequence when the facts were read.
    pub seq: i64,
    pub seller: Option<String>,
    /// Every look-up key of every readable code.
    pub code_keys: Vec<String>,
    /// Some look-up key was not registered (a new batch may register it).
    pub unregistered: bool,
    /// Keys under which distributor rights were looked up.
    pub right_keys: Vec<String>,
    /// (business, lot) pairs whose custody was read.
    pub custody: Vec<(String, String)>,
}

impl Watch {
    fn touched_by(&self, row: &CheckRow, change: &RecordedChange) -> bool {
        if change.seq <= self.seq {
            return false;
        }
        match &change.fact {
            Fact::Code(key) => self.code_keys.iter().any(|k| k == key),
            Fact::CodeBatch(_) => self.unregistered,
            Fact::Seller(id) => self.seller.as_deref() == Some(id.as_str()),
            Fact::Binding { platform, shop } => {
                *platform == row.platform_id && *shop == row.shop_id
            }
            Fact::Authorisation(key) => self.right_keys.iter().any(|k| k == key),
            Fact::Links(_) => false,
            Fact::Block { platform, listing } => {
                *platform == row.platform_id && *listing == row.listing_id
            }
            Fact::Custody { business, lot } => {
                self.custody.iter().any(|(b, l)| b == business && l == lot)
            }
        }
    }
}

/// One decision to store.
#[derive(Debug)]
pub struct Pending {
    pub row: CheckRow,
    /// Code keys to link the decision to (decisions that let a listing go on).
    pub links: Vec<String>,
    pub watch: Watch,
}

/// What became of a submitted decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Written,
    /// A decision in force has the same replay key (a concurrent or earlier request).
    AlreadyDecided,
    /// A fact it rested on changed meanwhile (up to this change): decide again.
    Stale(i64),
}

/// Why a decision could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("the database is unreachable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the database refused the decision")]
    Refused(#[source] diesel::result::Error),
    #[error("the decision writer has stopped")]
    Stopped,
}

type Reply = oneshot::Sender<Result<Vec<Stored>, Arc<WriteError>>>;

struct Job {
    decisions: Vec<Pending>,
    reply: Reply,
}

/// Hands decisions to the writer threads. Dropping every handle stops them.
#[derive(Clone)]
pub struct DecisionWriter {
    jobs: mpsc::Sender<Job>,
}

impl std::fmt::Debug for DecisionWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecisionWriter")
    }
}

impl DecisionWriter {
    /// Starts `writers` writer threads, each with its own connection. One is right for
    /// SQLite (a single writer at a time anyway); PostgreSQL commits several groups at
    /// once, so while one group waits for its commit the next is already being written.
    pub fn start(
        connections: ConnectionManager,
        metrics: Arc<Metrics>,
        writers: usize,
    ) -> Result<Self, std::io::Error> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        // The checkpointer runs while any writer does (each holds a sender).
        let (alive, writers_gone) = mpsc::channel::<()>();
        if connections.backend() == Backend::Sqlite {
            let connections = connections.clone();
            std::thread::Builder::new()
                .name("wal-checkpointer".into())
                .spawn(move || checkpoint_while(&connections, &writers_gone))?;
        }
        for n in 0..writers.max(1) {
            let (connections, queue, metrics, alive) = (
                connections.clone(),
                queue.clone(),
                metrics.clone(),
                alive.clone(),
            );
            std::thread::Builder::new()
                .name(format!("decision-writer-{n}"))
                .spawn(move || {
                    run(&connections, &queue, &metrics);
                    drop(alive);
                })?;
        }
        Ok(Self { jobs })
    }

    /// Queues decisions (stored together or each on its own, never lost in between); the
    /// returned future resolves, one outcome per decision in order, once they are
    /// committed.
    pub fn submit(
        &self,
        decisions: Vec<Pending>,
    ) -> impl Future<Output = Result<Vec<Stored>, Arc<WriteError>>> + use<> {
        let (reply, answer) = oneshot::channel();
        let sent = self.jobs.send(Job { decisions, reply });
        async move {
            sent.map_err(|_| Arc::new(WriteError::Stopped))?;
            answer.await.map_err(|_| Arc::new(WriteError::Stopped))?
        }
    }
}

/// The next group: waits for one job, then takes whatever else is queued. The queue is held
/// only while collecting, so another writer collects while this one commits.
fn next_group(queue: &Mutex<mpsc::Receiver<Job>>) -> Option<Vec<Job>> {
    let queue = queue.lock().unwrap_or_else(|p| p.into_inner());
    let first = queue.recv().ok()?;
    let mut size = first.decisions.len();
    let mut group = vec![first];
    while size < GROUP {
        match queue.try_recv() {
            Ok(job) => {
                size += job.decisions.len();
                group.push(job);
            }
            Err(_) => break,
        }
    }
    Some(group)
}

/// Whether an error means the connection (not the data) failed.
fn connection_lost(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        error,
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        ) | Error::BrokenTransactionManager
    )
}

/// How often the write-ahead log is checkpointed (SQLite).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

fn checkpoint_while(connections: &ConnectionManager, writers_gone: &mpsc::Receiver<()>) {
    let mut conn: Option<DbConnection> = None;
    while let Err(mpsc::RecvTimeoutError::Timeout) = writers_gone.recv_timeout(CHECKPOINT_EVERY) {
        if conn.is_none() {
            conn = r2d2::ManageConnection::connect(connections).ok();
        }
        if let Some(c) = conn.as_mut()
            && let Err(error) = db::checkpoint(c)
        {
            tracing::warn!(error = %error, "checkpointing the write-ahead log failed");
            conn = None;
        }
    }
}

fn run(connections: &ConnectionManager, queue: &Mutex<mpsc::Receiver<Job>>, metrics: &Metrics) {
    let mut conn: Option<DbConnection> = None;
    while let Some(group) = next_group(queue) {
        let started = Instant::now();
        let count: usize = group.iter().map(|j| j.decisions.len()).sum();
        if conn.is_none() {
            let connected = r2d2::ManageConnection::connect(connections).and_then(|mut c| {
                db::prepare_group_writer(&mut c)?;
                Ok(c)
            });
            match connected {
                Ok(c) => conn = Some(c),
                Err(error) => {
                    tracing::warn!(error = %error, "decision writer cannot connect");
                    let error = Arc::new(WriteError::Unavailable(Box::new(error)));
                    for job in group {
                        let _ = job.reply.send(Err(error.clone()));
                    }
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        let outcome = store_group(c, &group);
        metrics.observe_decision_group(count, started.elapsed());
        match outcome {
            Ok(results) => {
                for (job, result) in group.into_iter().zip(results) {
                    let _ = job.reply.send(result);
                }
            }
            Err(error) => {
                tracing::error!(error = %error, decisions = count, "storing listing decisions failed");
                conn = None;
                let error = Arc::new(WriteError::Unavailable(Box::new(error)));
                for job in group {
                    let _ = job.reply.send(Err(error.clone()));
                }
            }
        }
    }
}

type JobResult = Result<Vec<Stored>, Arc<WriteError>>;

/// Stores a group; on a refused row, each job again on its own so that only the job with
/// the bad row fails. An error returned means the connection is lost.
fn store_group(
    conn: &mut DbConnection,
    group: &[Job],
) -> Result<Vec<JobResult>, diesel::result::Error> {
    let all: Vec<&Pending> = group.iter().flat_map(|j| &j.decisions).collect();
    match write_decisions(conn, &all) {
        Ok(stored) => {
            let mut stored = stored.into_iter();
            Ok(group
                .iter()
                .map(|job| Ok(stored.by_ref().take(job.decisions.len()).collect()))
                .collect())
        }
        Err(error) if connection_lost(&error) || group.len() == 1 => {
            if connection_lost(&error) {
                return Err(error);
            }
            Ok(vec![Err(Arc::new(WriteError::Refused(error)))])
        }
        Err(_) => {
            let mut results = Vec::with_capacity(group.len());
            for job in group {
                let decisions: Vec<&Pending> = job.decisions.iter().collect();
                results.push(match write_decisions(conn, &decisions) {
                    Ok(stored) => Ok(stored),
                    Err(error) if connection_lost(&error) => return Err(error),
                    Err(error) => {
                        tracing::warn!(error = %error, "a listing decision was refused by the database");
                        Err(Arc::new(WriteError::Refused(error)))
                    }
                });
            }
            Ok(results)
        }
    }
}

/// Stores decisions in one transaction; returns one outcome per decision, in order.
fn write_decisions(
    conn: &mut DbConnection,
    decisions: &[&Pending],
) -> Result<Vec<Stored>, diesel::result::Error> {
    write_transaction(conn, |conn| {
        lock_shared(conn)?;
        let since = decisions.iter().map(|d| d.watch.seq).min().unwrap_or(0);
        let changes = changes_since(conn, since, i64::MAX)?;
        let mut outcome: Vec<Option<Stored>> = decisions
            .iter()
            .map(|d| {
                changes
                    .iter()
                    .filter(|c| d.watch.touched_by(&d.row, c))
                    .map(|c| c.seq)
                    .max()
                    .map(Stored::Stale)
            })
            .collect();
        // In one order for every group, so that concurrent groups on PostgreSQL wait for
        // each other's keys instead of deadlocking on them.
        let mut rows: Vec<&CheckRow> = decisions
            .iter()
            .zip(&outcome)
            .filter(|(_, o)| o.is_none())
            .map(|(d, _)| &d.row)
            .collect();
        rows.sort_unstable_by(|a, b| a.replay_key.cmp(&b.replay_key));
        let written = if rows.is_empty() {
            Some(HashSet::new())
        } else {
            store::insert_checks(conn, &rows)?
        };
        let mut links: Vec<(&str, &str)> = Vec::new();
        for (decision, result) in decisions.iter().zip(outcome.iter_mut()) {
            if result.is_some() {
                continue;
            }
            let stored = written
                .as_ref()
                .is_none_or(|w| w.contains(&decision.row.id));
            *result = Some(if stored {
                links.extend(
                    decision
                        .links
                        .iter()
                        .map(|k| (decision.row.id.as_str(), k.as_str())),
                );
                Stored::Written
            } else {
                Stored::AlreadyDecided
            });
        }
        store::insert_links(conn, &links)?;
        Ok(outcome
            .into_iter()
            .map(|o| o.unwrap_or(Stored::AlreadyDecided))
            .collect())
    })
}
