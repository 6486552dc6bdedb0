//! Audit log storage: append under the chain-head lock, and verify the whole chain.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::NewAuditEntry;
use super::chain::{ChainBreak, GENESIS_HASH, HashedFields, entry_hash};
use super::checkpoint::{Checkpoint, signature_holds};
use crate::db::DbConnection;
use crate::db::schema::{audit_head, audit_log};
use crate::telemetry;

/// One stored entry.
#[derive(Debug, Clone, Queryable, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub occurred_at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: String,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The fields its hash covers.
    pub fn hashed_fields(&self) -> HashedFields<'_> {
        HashedFields {
            seq: self.seq,
            occurred_at: self.occurred_at,
            actor: &self.actor,
            action: &self.action,
            subject: &self.subject,
            details: &self.details,
            request_id: self.request_id.as_deref(),
            prev_hash: &self.prev_hash,
        }
    }
}

/// Appends `entry` at time `at`. Call it inside the transaction of the change it records;
/// on its own it opens one. Incrementing the head row first takes a row lock (PostgreSQL)
/// or the write lock (SQLite), so concurrent writers queue and the chain never forks.
pub fn append(
    conn: &mut DbConnection,
    at: DateTime<Utc>,
    entry: &NewAuditEntry,
) -> QueryResult<AuditEntry> {
    conn.transaction(|conn| {
        let (seq, prev_hash): (i64, String) =
            diesel::update(audit_head::table.filter(audit_head::id.eq(1)))
                .set(audit_head::seq.eq(audit_head::seq + 1))
                .returning((audit_head::seq, audit_head::hash))
                .get_result(conn)?;
        let stored = AuditEntry {
            seq,
            // Both backends keep microseconds; hash what will be read back.
            occurred_at: at.naive_utc().trunc_subsecs(6),
            actor: entry.actor.clone(),
            action: entry.action.to_string(),
            subject: entry.subject.clone(),
            details: entry.details.to_string(),
            request_id: telemetry::current_request_id(),
            prev_hash,
            hash: String::new(),
        };
        let hash = entry_hash(&stored.hashed_fields());
        diesel::insert_into(audit_log::table)
            .values((
                audit_log::seq.eq(stored.seq),
                audit_log::occurred_at.eq(stored.occurred_at),
                audit_log::actor.eq(&stored.actor),
                audit_log::action.eq(&stored.action),
                audit_log::subject.eq(&stored.subject),
                audit_log::details.eq(&stored.details),
                audit_log::request_id.eq(&stored.request_id),
                audit_log::prev_hash.eq(&stored.prev_hash),
                audit_log::hash.eq(&hash),
            ))
            .execute(conn)?;
        diesel::update(audit_head::table.filter(audit_head::id.eq(1)))
            .set(audit_head::hash.eq(&hash))
            .execute(conn)?;
        Ok(AuditEntry { hash, ..stored })
    })
}

/// Result of checking the chain.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// Entries checked.
    pub entries: i64,
    /// Hash of the last entry (the value to publish or notarise).
    pub head_hash: String,
    /// The first break found, if any.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "display")]
    pub broken: Option<ChainBreak>,
    /// Checkpoints whose signature was checked with the audit key (none when verified
    /// without the key).
    pub checkpoints_checked: usize,
    /// Checkpoints signed with another key (an earlier audit key), which this key cannot
    /// check.
    pub checkpoints_other_key: usize,
    /// The last entry a checked checkpoint vouches for (0: none). Entries after it hold
    /// together as a chain, but nothing signed vouches for them yet.
    pub vouched_through: i64,
    /// Hash of that entry as signed: compare it with a copy kept outside the database
    /// (the service log, or `GET /v1/audit/checkpoints` saved earlier).
    pub vouched_hash: Option<String>,
}

fn display<S: serde::Serializer>(value: &Option<ChainBreak>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(b) => s.serialize_str(&b.to_string()),
        None => s.serialize_none(),
    }
}

/// Entries read per query while verifying.
const VERIFY_BATCH: i64 = 1000;

/// Recomputes every hash up to the head recorded when verification starts, and names the
/// first entry where the chain is broken. The chain alone: see [`verify_against`].
pub fn verify(conn: &mut DbConnection) -> QueryResult<VerifyReport> {
    verify_against(conn, None)
}

/// As [`verify`], and with the audit key also checks every checkpoint's signature and
/// that the chain still passes through each signed head: a rewrite up to a checkpoint, or
/// entries cut from the end below one, are found even with every hash recomputed.
pub fn verify_against(
    conn: &mut DbConnection,
    key: Option<&ed25519_dalek::VerifyingKey>,
) -> QueryResult<VerifyReport> {
    let (head_seq, head_hash): (i64, String) = audit_head::table
        .filter(audit_head::id.eq(1))
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    let (signed, checkpoints_other_key) = match key {
        Some(key) => {
            let all: Vec<Checkpoint> = super::checkpoint::checkpoints(conn, 0, i64::MAX)?;
            let kid = super::checkpoint::key_id(key);
            let (ours, other): (Vec<_>, Vec<_>) = all.into_iter().partition(|c| c.key_id == kid);
            if let Some(bad) = ours.iter().find(|c| !signature_holds(c, key)) {
                return Ok(VerifyReport {
                    entries: 0,
                    head_hash: GENESIS_HASH.to_string(),
                    broken: Some(ChainBreak::CheckpointForged { seq: bad.seq }),
                    checkpoints_checked: 0,
                    checkpoints_other_key: other.len(),
                    vouched_through: 0,
                    vouched_hash: None,
                });
            }
            (ours, other.len())
        }
        None => (Vec::new(), 0),
    };
    let checkpoints_checked = signed.len();
    let mut pending = signed.iter().peekable();
    let mut vouched: Option<&Checkpoint> = None;
    let mut previous_seq = 0i64;
    let mut previous_hash = GENESIS_HASH.to_string();
    let report = |entries: i64,
                  head_hash: String,
                  broken: Option<ChainBreak>,
                  vouched: Option<&Checkpoint>| VerifyReport {
        entries,
        head_hash,
        broken,
        checkpoints_checked,
        checkpoints_other_key,
        vouched_through: vouched.map_or(0, |c| c.seq),
        vouched_hash: vouched.map(|c| c.head_hash.clone()),
    };
    loop {
        let batch: Vec<AuditEntry> = audit_log::table
            .filter(audit_log::seq.gt(previous_seq))
            .filter(audit_log::seq.le(head_seq))
            .order(audit_log::seq.asc())
            .limit(VERIFY_BATCH)
            .load(conn)?;
        if batch.is_empty() {
            break;
        }
        for entry in &batch {
            let broken = if entry.seq != previous_seq + 1 {
                Some(ChainBreak::Gap {
                    seq: entry.seq,
                    previous: previous_seq,
                })
            } else if entry.prev_hash != previous_hash {
                Some(ChainBreak::Unlinked {
                    seq: entry.seq,
                    previous: previous_seq,
                })
            } else if entry_hash(&entry.hashed_fields()) != entry.hash {
                Some(ChainBreak::Altered { seq: entry.seq })
            } else {
                None
            };
            // The chain must pass through every signed head.
            let broken = broken.or_else(|| {
                let checkpoint = pending.next_if(|c| c.seq == entry.seq)?;
                if checkpoint.head_hash == entry.hash {
                    vouched = Some(checkpoint);
                    None
                } else {
                    Some(ChainBreak::Rewritten {
                        seq: entry.seq,
                        since: vouched.map_or(0, |c| c.seq),
                    })
                }
            });
            if broken.is_some() {
                return Ok(report(previous_seq, previous_hash, broken, vouched));
            }
            previous_seq = entry.seq;
            previous_hash.clone_from(&entry.hash);
        }
    }
    let broken = if let Some(checkpoint) = pending.next() {
        // A signed head the chain no longer reaches: entries were cut from the end.
        Some(ChainBreak::Truncated {
            checkpoint_seq: checkpoint.seq,
            last_seq: previous_seq,
        })
    } else {
        (previous_seq != head_seq || previous_hash != head_hash).then_some(ChainBreak::Head {
            head_seq,
            last_seq: previous_seq,
        })
    };
    Ok(report(previous_seq, previous_hash, broken, vouched))
}
