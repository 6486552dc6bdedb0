//! Group commit of listing decisions: requests hand their record to one writer thread,
//! which stores whatever has queued up in a single transaction and only then answers each
//! request. A decision is never returned before its record is durable, and the cost of a
//! commit (an fsync) is shared by every decision in it.

use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use diesel::prelude::*;
use tokio::sync::oneshot;

use super::store::CheckRow;
use crate::db::schema::{listing_check_codes, listing_checks};
use crate::db::{DbConnection, DbPool, write_transaction};
use crate::metrics::Metrics;

/// Decisions stored per transaction at most.
const GROUP: usize = 500;

/// What became of a submitted decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Written,
    /// The same platform, listing and content was decided already (by a concurrent request).
    AlreadyDecided,
}

struct Job {
    row: CheckRow,
    keys: Vec<String>,
    reply: oneshot::Sender<Result<Stored, String>>,
}

/// Hands decisions to the writer thread. Dropping every handle stops the thread.
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
    /// Starts `writers` writer threads. One is right for SQLite (a single writer at a
    /// time anyway); PostgreSQL commits several groups at once, so while one group waits
    /// for its commit the next is already being written.
    pub fn start(
        pool: DbPool,
        metrics: Arc<Metrics>,
        writers: usize,
    ) -> Result<Self, std::io::Error> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..writers.max(1) {
            let (pool, queue, metrics) = (pool.clone(), queue.clone(), metrics.clone());
            std::thread::Builder::new()
                .name(format!("decision-writer-{n}"))
                .spawn(move || run(&pool, &queue, &metrics))?;
        }
        Ok(Self { jobs })
    }

    /// Queues a decision; the returned future resolves once it is committed.
    pub fn submit(
        &self,
        row: CheckRow,
        keys: Vec<String>,
    ) -> impl Future<Output = Result<Stored, String>> + use<> {
        let (reply, answer) = oneshot::channel();
        let sent = self.jobs.send(Job { row, keys, reply });
        async move {
            sent.map_err(|_| "the decision writer has stopped".to_string())?;
            answer
                .await
                .map_err(|_| "the decision writer dropped the request".to_string())?
        }
    }
}

/// The next group: waits for one decision, then takes whatever else is queued. The queue
/// is held only while collecting, so another writer collects while this one commits.
fn next_group(queue: &Mutex<mpsc::Receiver<Job>>) -> Option<Vec<Job>> {
    let queue = queue.lock().unwrap_or_else(|p| p.into_inner());
    let first = queue.recv().ok()?;
    let mut group = vec![first];
    while group.len() < GROUP {
        match queue.try_recv() {
            Ok(job) => group.push(job),
            Err(_) => break,
        }
    }
    Some(group)
}

fn run(pool: &DbPool, queue: &Mutex<mpsc::Receiver<Job>>, metrics: &Metrics) {
    while let Some(group) = next_group(queue) {
        let started = Instant::now();
        let outcome = pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut conn| write_group(&mut conn, &group).map_err(|e| e.to_string()));
        metrics.observe_decision_group(group.len(), started.elapsed());
        match outcome {
            Ok(stored) => {
                for (job, result) in group.into_iter().zip(stored) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(error) => {
                tracing::error!(error = %error, decisions = group.len(), "storing listing decisions failed");
                for job in group {
                    let _ = job.reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// Rows per multi-row statement on SQLite. Statements are prepared once and cached by their
/// SQL, so groups are cut into chunks of this fixed size (and single rows for the rest)
/// rather than one statement of whatever size the group has, prepared anew each time.
const CHUNK: usize = 32;

/// Inserts decision rows; a row whose (platform, listing, content) has a decision in force
/// is skipped (the partial unique index; PostgreSQL: ON CONFLICT DO NOTHING, SQLite:
/// INSERT OR IGNORE). Returns rows written.
fn insert_checks(conn: &mut DbConnection, rows: &[&CheckRow]) -> QueryResult<usize> {
    let c = match conn {
        // PostgreSQL: one statement for the group; a round trip costs more than planning it.
        DbConnection::Postgresql(c) => {
            return diesel::insert_into(listing_checks::table)
                .values(rows.to_vec())
                .on_conflict_do_nothing()
                .execute(c);
        }
        DbConnection::Sqlite(c) => c,
    };
    let mut written = 0;
    let mut chunks = rows.chunks_exact(CHUNK);
    for chunk in &mut chunks {
        written += diesel::insert_or_ignore_into(listing_checks::table)
            .values(chunk.to_vec())
            .execute(c)?;
    }
    for row in chunks.remainder() {
        written += diesel::insert_or_ignore_into(listing_checks::table)
            .values(*row)
            .execute(c)?;
    }
    Ok(written)
}

fn link<'a>(
    (check, key): (&'a str, &'a str),
) -> (
    diesel::dsl::Eq<listing_check_codes::check_id, &'a str>,
    diesel::dsl::Eq<listing_check_codes::code_key, &'a str>,
) {
    (
        listing_check_codes::check_id.eq(check),
        listing_check_codes::code_key.eq(key),
    )
}

fn insert_links(conn: &mut DbConnection, links: &[(&str, &str)]) -> QueryResult<()> {
    let c = match conn {
        DbConnection::Postgresql(c) => {
            for chunk in links.chunks(5000) {
                let values: Vec<_> = chunk.iter().map(|pair| link(*pair)).collect();
                diesel::insert_into(listing_check_codes::table)
                    .values(&values)
                    .execute(c)?;
            }
            return Ok(());
        }
        DbConnection::Sqlite(c) => c,
    };
    let mut chunks = links.chunks_exact(CHUNK);
    for chunk in &mut chunks {
        let values: Vec<_> = chunk.iter().map(|pair| link(*pair)).collect();
        diesel::insert_into(listing_check_codes::table)
            .values(&values)
            .execute(c)?;
    }
    for pair in chunks.remainder() {
        diesel::insert_into(listing_check_codes::table)
            .values(link(*pair))
            .execute(c)?;
    }
    Ok(())
}

/// Stores a group in one transaction.
fn write_group(conn: &mut DbConnection, group: &[Job]) -> QueryResult<Vec<Stored>> {
    write_transaction(conn, |conn| {
        // In one order for every group, so that concurrent groups on PostgreSQL wait for
        // each other's keys instead of deadlocking on them.
        let mut rows: Vec<&CheckRow> = group.iter().map(|j| &j.row).collect();
        rows.sort_unstable_by(|a, b| {
            (&a.platform_id, &a.listing_id, &a.content_hash).cmp(&(
                &b.platform_id,
                &b.listing_id,
                &b.content_hash,
            ))
        });
        let written_count = insert_checks(conn, &rows)?;
        // Usually every row is new; only when some were skipped ask which.
        let written: Option<std::collections::HashSet<String>> = if written_count == rows.len() {
            None
        } else {
            let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            Some(
                listing_checks::table
                    .filter(listing_checks::id.eq_any(&ids))
                    .select(listing_checks::id)
                    .load::<String>(conn)?
                    .into_iter()
                    .collect(),
            )
        };
        let mut links = Vec::new();
        let mut stored = Vec::with_capacity(group.len());
        for job in group {
            if written.as_ref().is_none_or(|w| w.contains(&job.row.id)) {
                links.extend(job.keys.iter().map(|k| (job.row.id.as_str(), k.as_str())));
                stored.push(Stored::Written);
            } else {
                stored.push(Stored::AlreadyDecided);
            }
        }
        insert_links(conn, &links)?;
        Ok(stored)
    })
}
