//! Audit log storage: append under the chain-head lock, and verify the whole chain.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::NewAuditEntry;
use super::chain::{ChainBreak, GENESIS_HASH, HashedFields, entry_hash};
use super::checkpoint::{Checkpoint, signature_holds};
use crate::db::DbConnection;
use crate::db::schema::{audit_checkpoints, audit_head, audit_log};
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
    /// Entries checked (from `first_seq` to `last_seq`).
    pub entries: i64,
    /// The first entry checked: 1, or the entry after the anchor of a truncated chain.
    pub first_seq: i64,
    /// The last entry that held (0: none).
    pub last_seq: i64,
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
    /// When the oldest entries were exported and dropped by the retention policy: the
    /// signed checkpoint the remaining chain starts from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anchor: Option<ChainAnchor>,
}

/// The signed checkpoint a truncated chain starts from. The retention run drops entries
/// only up to a checkpoint, so the first kept entry links to the hash that checkpoint
/// signed: its signature vouches for everything the dropped entries led to.
#[derive(Debug, Clone, Serialize)]
pub struct ChainAnchor {
    pub checkpoint: Checkpoint,
    /// Whether its signature was checked with the audit key (not without the key, nor
    /// when an earlier audit key signed it).
    pub signature_checked: bool,
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

/// The kept `retention.exported` entry after the anchor that records that the entries up
/// to `anchor` were exported, if any: a truncation nobody recorded is a deletion.
fn truncation_record(conn: &mut DbConnection, anchor: i64) -> QueryResult<Option<i64>> {
    let exports: Vec<(i64, String)> = audit_log::table
        .filter(audit_log::action.eq(TRUNCATION_ACTION))
        .filter(audit_log::seq.gt(anchor))
        .order(audit_log::seq.asc())
        .select((audit_log::seq, audit_log::details))
        .load(conn)?;
    Ok(exports.into_iter().find_map(|(seq, details)| {
        serde_json::from_str::<serde_json::Value>(&details)
            .is_ok_and(|d| {
                d["kind"] == TRUNCATION_KIND && d["through_seq"].as_i64() == Some(anchor)
            })
            .then_some(seq)
    }))
}

/// The action and `kind` of the entry a retention run writes when it exports audit
/// entries; its `through_seq` names the checkpoint the remaining chain starts from.
pub const TRUNCATION_ACTION: &str = "retention.exported";
pub const TRUNCATION_KIND: &str = "audit_entries";

/// As [`verify`], and with the audit key also checks every checkpoint's signature and
/// that the chain still passes through each signed head: a rewrite up to a checkpoint, or
/// entries cut from the end below one, are found even with every hash recomputed.
///
/// A chain whose oldest entries the retention policy dropped starts from its anchor: the
/// checkpoint at the entry before the first kept one, whose signed hash the first kept
/// entry must link to, and whose truncation a kept `retention.exported` entry records.
pub fn verify_against(
    conn: &mut DbConnection,
    key: Option<&ed25519_dalek::VerifyingKey>,
) -> QueryResult<VerifyReport> {
    let (head_seq, head_hash): (i64, String) = audit_head::table
        .filter(audit_head::id.eq(1))
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    let mut result = VerifyReport {
        entries: 0,
        first_seq: 1,
        last_seq: 0,
        head_hash: GENESIS_HASH.to_string(),
        broken: None,
        checkpoints_checked: 0,
        checkpoints_other_key: 0,
        vouched_through: 0,
        vouched_hash: None,
        anchor: None,
    };
    let signed = match key {
        Some(key) => {
            let all: Vec<Checkpoint> = super::checkpoint::checkpoints(conn, 0, i64::MAX)?;
            let kid = super::checkpoint::key_id(key);
            let (ours, other): (Vec<_>, Vec<_>) = all.into_iter().partition(|c| c.key_id == kid);
            result.checkpoints_other_key = other.len();
            if let Some(bad) = ours.iter().find(|c| !signature_holds(c, key)) {
                result.broken = Some(ChainBreak::CheckpointForged { seq: bad.seq });
                return Ok(result);
            }
            ours
        }
        None => Vec::new(),
    };
    result.checkpoints_checked = signed.len();
    let mut previous_seq = 0i64;
    let mut previous_hash = GENESIS_HASH.to_string();
    let mut vouched: Option<&Checkpoint> = None;
    let first: Option<i64> = audit_log::table
        .filter(audit_log::seq.le(head_seq))
        .select(diesel::dsl::min(audit_log::seq))
        .first(conn)?;
    if let Some(first) = first.filter(|f| *f > 1) {
        let anchor: Option<Checkpoint> = audit_checkpoints::table
            .find(first - 1)
            .select(Checkpoint::as_select())
            .first(conn)
            .optional()?;
        let Some(anchor) = anchor else {
            result.first_seq = first;
            result.broken = Some(ChainBreak::Unanchored {
                first,
                anchor: first - 1,
            });
            return Ok(result);
        };
        previous_seq = anchor.seq;
        previous_hash.clone_from(&anchor.head_hash);
        vouched = signed.iter().find(|c| c.seq == anchor.seq);
        let unsigned = key.is_some() && vouched.is_none();
        result.anchor = Some(ChainAnchor {
            signature_checked: vouched.is_some(),
            checkpoint: anchor,
        });
        // With the key, an anchor it did not sign could have been inserted by anyone who
        // can write to the database, along with the chain after it.
        if unsigned {
            result.first_seq = first;
            result.broken = Some(ChainBreak::AnchorUnsigned { anchor: first - 1 });
            return Ok(result);
        }
    }
    let anchor_seq = previous_seq;
    result.first_seq = anchor_seq + 1;
    // Checkpoints at or before the anchor cover dropped entries only.
    let mut pending = signed.iter().filter(|c| c.seq > anchor_seq).peekable();
    let mut broken = None;
    'walk: loop {
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
            broken = if entry.seq != previous_seq + 1 {
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
            broken = broken.or_else(|| {
                let checkpoint = pending.next_if(|c| c.seq == entry.seq)?;
                if checkpoint.head_hash == entry.hash {
                    vouched = Some(checkpoint);
                    None
                } else {
                    Some(ChainBreak::Rewritten {
                        seq: entry.seq,
                        since: vouched.map_or(anchor_seq, |c| c.seq),
                    })
                }
            });
            if broken.is_some() {
                break 'walk;
            }
            previous_seq = entry.seq;
            previous_hash.clone_from(&entry.hash);
        }
    }
    if broken.is_none() {
        broken = if let Some(checkpoint) = pending.next() {
            // A signed head the chain no longer reaches: entries were cut from the end.
            Some(ChainBreak::Truncated {
                checkpoint_seq: checkpoint.seq,
                last_seq: previous_seq,
            })
        } else if previous_seq != head_seq || previous_hash != head_hash {
            Some(ChainBreak::Head {
                head_seq,
                last_seq: previous_seq,
            })
        } else if anchor_seq > 0 {
            // With the key, the record of the export must itself be signed: an unsigned
            // one at the end of the chain is what a deletion would append to hide itself.
            match truncation_record(conn, anchor_seq)? {
                None => Some(ChainBreak::UnrecordedTruncation { anchor: anchor_seq }),
                Some(record) if key.is_some() && vouched.is_none_or(|c| c.seq < record) => {
                    Some(ChainBreak::TruncationUnsigned { anchor: anchor_seq })
                }
                Some(_) => None,
            }
        } else {
            None
        };
    }
    result.entries = previous_seq - anchor_seq;
    result.last_seq = previous_seq;
    result.head_hash = previous_hash;
    result.broken = broken;
    result.vouched_through = vouched.map_or(0, |c| c.seq);
    result.vouched_hash = vouched.map(|c| c.head_hash.clone());
    Ok(result)
}
