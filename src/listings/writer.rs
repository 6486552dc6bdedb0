//! Group commit of listing decisions: requests hand their record to one writer thread,
//! which stores whatever has queued up in a single transaction and only then answers each
//! request. A decision is never returned before its record is durable, and the cost of a
//! commit (an fsync) is shared by every decision in it.

use std::sync::mpsc;

use diesel::prelude::*;
use tokio::sync::oneshot;

use super::store::CheckRow;
use crate::db::schema::{listing_check_codes, listing_checks};
use crate::db::{DbConnection, DbPool, write_transaction};

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
    pub fn start(pool: DbPool) -> Result<Self, std::io::Error> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("decision-writer".into())
            .spawn(move || run(&pool, &queue))?;
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

fn run(pool: &DbPool, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let outcome = pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut conn| write_group(&mut conn, &group).map_err(|e| e.to_string()));
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

/// Inserts a group; rows whose (platform, listing, content) exists already are skipped.
fn write_group(conn: &mut DbConnection, group: &[Job]) -> QueryResult<Vec<Stored>> {
    write_transaction(conn, |conn| {
        let rows: Vec<&CheckRow> = group.iter().map(|j| &j.row).collect();
        let values: Vec<CheckRow> = rows.iter().map(|r| (*r).clone()).collect();
        // A decision already stored for the same platform, listing and content is skipped
        // (PostgreSQL: ON CONFLICT DO NOTHING; SQLite: INSERT OR IGNORE).
        match conn {
            DbConnection::Postgresql(c) => diesel::insert_into(listing_checks::table)
                .values(&values)
                .on_conflict((
                    listing_checks::platform_id,
                    listing_checks::listing_id,
                    listing_checks::content_hash,
                ))
                .do_nothing()
                .execute(c)?,
            DbConnection::Sqlite(c) => diesel::insert_or_ignore_into(listing_checks::table)
                .values(&values)
                .execute(c)?,
        };
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let written: std::collections::HashSet<String> = listing_checks::table
            .filter(listing_checks::id.eq_any(&ids))
            .select(listing_checks::id)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let mut links = Vec::new();
        let mut stored = Vec::with_capacity(group.len());
        for job in group {
            if written.contains(&job.row.id) {
                for key in &job.keys {
                    links.push((
                        listing_check_codes::check_id.eq(job.row.id.clone()),
                        listing_check_codes::code_key.eq(key.clone()),
                    ));
                }
                stored.push(Stored::Written);
            } else {
                stored.push(Stored::AlreadyDecided);
            }
        }
        for chunk in links.chunks(5000) {
            crate::on_backend!(conn, c => diesel::insert_into(listing_check_codes::table).values(chunk).execute(c))?;
        }
        Ok(stored)
    })
}
