//! The retention policy (`policies/retention.toml`) and its run: decisions older than the
//! policy's period are exported to gzip-compressed CSV files, each file's SHA-256 is
//! written to the audit log, and only then are they dropped (whole month partitions on
//! PostgreSQL, rows on SQLite).
//!
//! Accounts closed longer ago than `closed_accounts.days` are pseudonymised in the same run:
//! their contact, sign-in secrets and identity data are cleared, the account id stays (see
//! [`pseudonymise_closed`]).
//!
//! Evidence files of cases that are final, filed longer ago than `evidence.months`, are
//! copied (checked against their recorded SHA-256) into the export, listed in a manifest
//! whose digest is audited, then deleted; their records stay, marked `expired_at`.
//!
//! Audit entries older than `audit_entries.months` are exported as stored and deleted, but
//! only up to a signed checkpoint, which then anchors the remaining chain (see
//! [`crate::audit::verify_against`]); with no such checkpoint nothing is deleted and the
//! report says why ([`AuditKept`]).
//!
//! Authorisation letters of accounts closed longer than `authorisation_letters.months` are
//! exported like evidence and deleted with their records; complainants' email addresses
//! are erased `complaint_emails.months` after their complaint closed.
//!
//! Export format: one `decisions-<from>-<until>.csv.gz` and one
//! `decision-codes-<from>-<until>.csv.gz` per run. CSV per RFC 4180 with a header row,
//! every field quoted, UTF-8; times as `YYYY-MM-DD HH:MM:SS[.ffffff]` UTC; NULL as an empty
//! field; `replay_key` as lower-case hex. Audit entries go to
//! `audit-entries-<first>-<last>.csv.gz` (seq, occurred_at as RFC 3339 with microseconds,
//! actor, action, subject, details, request_id, prev_hash, hash), so the chain of the rows
//! can be recomputed up to the anchoring checkpoint's hash.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::audit::{self, AuditEntry, Checkpoint, NewAuditEntry};
use crate::db::schema::{
    accounts, audit_checkpoints, audit_log, authorisation_letters, consumer_complaints,
    dispute_evidence, disputes, identity_holders, listing_check_codes, listing_checks, outbox,
    sellers,
};
use crate::db::{DbConnection, lower, partitions, write_transaction};
use crate::disputes::evidence::EvidenceStore;
use crate::disputes::lifecycle::ALL_STATUSES;
use crate::listings::store::CheckRow;

/// The policy as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicy {
    pub decisions: Period,
    pub audit_entries: Period,
    pub evidence: Period,
    pub closed_accounts: Days,
    pub authorisation_letters: Period,
    pub complaint_emails: Period,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub months: u32,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Days {
    pub days: u32,
}

const BUILT_IN: &str = include_str!("../policies/retention.toml");

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("{file}: {message}")]
    Policy { file: String, message: String },
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Pool(#[from] r2d2::Error),
    #[error("cannot write the export {path}")]
    Export {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl RetentionPolicy {
    /// `retention.toml` from the policy folder when it has one, else the built-in policy.
    pub fn load(dir: Option<&str>) -> Result<Self, RetentionError> {
        let (file, text) = match dir.map(|d| Path::new(d).join("retention.toml")) {
            Some(path) if path.exists() => {
                let text = std::fs::read_to_string(&path).map_err(|e| RetentionError::Policy {
                    file: path.display().to_string(),
                    message: e.to_string(),
                })?;
                (path.display().to_string(), text)
            }
            _ => (
                "policies/retention.toml (built in)".to_string(),
                BUILT_IN.to_string(),
            ),
        };
        let policy: Self = toml::from_str(&text).map_err(|e| RetentionError::Policy {
            file: file.clone(),
            message: e.message().to_string(),
        })?;
        if policy.decisions.months == 0 {
            return Err(RetentionError::Policy {
                file,
                message: "decisions.months: expected at least 1".into(),
            });
        }
        Ok(policy)
    }

    /// The first moment kept: the start of the month `decisions.months` before `now`'s.
    pub fn decisions_kept_from(&self, now: DateTime<Utc>) -> NaiveDateTime {
        kept_from(self.decisions, now)
    }

    /// The first moment of the audit log kept: the start of the month
    /// `audit_entries.months` before `now`'s.
    pub fn audit_entries_kept_from(&self, now: DateTime<Utc>) -> NaiveDateTime {
        kept_from(self.audit_entries, now)
    }
}

/// The start of the month `period` before `now`'s: whole months expire at a time.
fn kept_from(period: Period, now: DateTime<Utc>) -> NaiveDateTime {
    let this_month =
        NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap_or_else(|| now.date_naive());
    this_month
        .checked_sub_months(Months::new(period.months))
        .unwrap_or(this_month)
        .and_time(chrono::NaiveTime::MIN)
}

/// What a run exported and dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub decisions: usize,
    pub links: usize,
    /// The files written, with their SHA-256 (hex).
    pub files: Vec<(PathBuf, String)>,
    /// PostgreSQL partitions dropped.
    pub partitions_dropped: Vec<String>,
    /// Closed accounts pseudonymised.
    pub accounts_pseudonymised: usize,
    /// Evidence files exported and deleted.
    pub evidence_files: usize,
    /// Audit entries exported and deleted.
    pub audit_entries: usize,
    /// The signed checkpoint the remaining audit chain now starts from, when entries were
    /// dropped.
    pub audit_anchor: Option<i64>,
    /// Why audit entries past their period were kept, when they were.
    pub audit_kept: Option<AuditKept>,
    /// Authorisation letters exported and deleted.
    pub letters: usize,
    /// Complaints whose complainant's email address was erased.
    pub complaint_emails_erased: usize,
}

/// Why the audit entries past their period were not dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditKept {
    /// Entries up to `expired_through` are past their period, but no signed checkpoint
    /// lies between the first kept entry and them, and dropping entries anywhere else
    /// would leave a chain nothing signed anchors.
    NoCheckpoint { expired_through: i64 },
    /// The chain does not verify: dropping entries would destroy the evidence.
    ChainBroken(crate::audit::ChainBreak),
    /// The checkpoint's hash is not the hash of the entry it names.
    CheckpointMismatch { seq: i64 },
    /// Another retention run dropped these entries while this one exported them.
    AnotherRun,
}

impl std::fmt::Display for AuditKept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuditKept::NoCheckpoint { expired_through } => write!(
                f,
                "entries up to {expired_through} are past their period, but no signed checkpoint covers them yet: nothing dropped"
            ),
            AuditKept::ChainBroken(broken) => {
                write!(f, "the chain does not verify ({broken}): nothing dropped")
            }
            AuditKept::AnotherRun => {
                write!(f, "another retention run dropped these entries meanwhile")
            }
            AuditKept::CheckpointMismatch { seq } => write!(
                f,
                "the checkpoint at entry {seq} does not match that entry: nothing dropped"
            ),
        }
    }
}

/// Exports and drops the decisions made before the policy's period, at `now`.
pub fn run(
    conn: &mut DbConnection,
    policy: &RetentionPolicy,
    signer: &crate::audit::CheckpointSigner,
    export_dir: &Path,
    evidence_dir: &Path,
    now: DateTime<Utc>,
) -> Result<RetentionReport, RetentionError> {
    let until = policy.decisions_kept_from(now);
    let mut report = RetentionReport::default();
    let decisions: Vec<CheckRow> = listing_checks::table
        .filter(listing_checks::created_at.lt(until))
        .order(listing_checks::created_at.asc())
        .select(CheckRow::as_select())
        .load(conn)?;
    let postgres = matches!(conn, DbConnection::Postgresql(_));
    // On PostgreSQL a link is filed by the month it was written; on SQLite by its decision.
    let links: Vec<(String, String)> = if postgres {
        listing_check_codes::table
            .filter(listing_check_codes::created_at.lt(until))
            .select((listing_check_codes::check_id, listing_check_codes::code_key))
            .load(conn)?
    } else {
        listing_check_codes::table
            .inner_join(
                listing_checks::table.on(listing_checks::id.eq(listing_check_codes::check_id)),
            )
            .filter(listing_checks::created_at.lt(until))
            .select((listing_check_codes::check_id, listing_check_codes::code_key))
            .load(conn)?
    };
    if !decisions.is_empty() || !links.is_empty() {
        std::fs::create_dir_all(export_dir).map_err(|source| RetentionError::Export {
            path: export_dir.to_path_buf(),
            source,
        })?;
        let stamp = format!("before-{}", until.format("%Y-%m"));
        let decisions_file = export_dir.join(format!("decisions-{stamp}.csv.gz"));
        let digest = write_csv(
            &decisions_file,
            DECISION_COLUMNS,
            decisions.iter().map(decision_fields),
        )?;
        report.files.push((decisions_file, digest));
        let links_file = export_dir.join(format!("decision-codes-{stamp}.csv.gz"));
        let digest = write_csv(
            &links_file,
            &["check_id", "code_key"],
            links
                .iter()
                .map(|(c, k)| vec![Some(c.clone()), Some(k.clone())]),
        )?;
        report.files.push((links_file, digest));
    }
    report.decisions = decisions.len();
    report.links = links.len();
    let ids: Vec<&str> = decisions.iter().map(|d| d.id.as_str()).collect();
    write_transaction(conn, |conn| -> Result<(), RetentionError> {
        // The digests go into the audit log before anything is dropped, in one transaction.
        for (path, digest) in &report.files {
            let entry = export_entry(
                path,
                serde_json::json!({
                    "sha256": digest,
                    "kind": "decisions",
                    "before": until.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    "decisions": report.decisions,
                    "links": report.links,
                }),
            );
            audit::append(conn, now, &entry)?;
        }
        match conn {
            DbConnection::Postgresql(pg) => {
                report.partitions_dropped = partitions::drop_before(pg, until)?;
                // Rows no month partition covered wait in DEFAULT.
                diesel::delete(listing_checks::table.filter(listing_checks::created_at.lt(until)))
                    .execute(pg)?;
                diesel::delete(
                    listing_check_codes::table.filter(listing_check_codes::created_at.lt(until)),
                )
                .execute(pg)?;
            }
            DbConnection::Sqlite(_) => {
                for chunk in ids.chunks(500) {
                    diesel::delete(
                        listing_check_codes::table
                            .filter(listing_check_codes::check_id.eq_any(chunk)),
                    )
                    .execute(conn)?;
                    diesel::delete(listing_checks::table.filter(listing_checks::id.eq_any(chunk)))
                        .execute(conn)?;
                }
            }
        }
        Ok(())
    })?;
    report.accounts_pseudonymised = pseudonymise_closed(conn, policy, now)?;
    if let Some((files, manifest)) = expire_evidence(conn, policy, evidence_dir, export_dir, now)? {
        report.evidence_files = files;
        report.files.push(manifest);
    }
    if let Some((letters, manifest)) = expire_letters(conn, policy, evidence_dir, export_dir, now)?
    {
        report.letters = letters;
        report.files.push(manifest);
    }
    report.complaint_emails_erased = erase_complaint_emails(conn, policy, now)?;
    // Last, so the entries this run wrote are part of the chain it checks.
    expire_audit_entries(conn, policy, signer, export_dir, now, &mut report)?;
    Ok(report)
}

const AUDIT_COLUMNS: &[&str] = &[
    "seq",
    "occurred_at",
    "actor",
    "action",
    "subject",
    "details",
    "request_id",
    "prev_hash",
    "hash",
];

/// Exports and deletes the audit entries older than `audit_entries.months`, up to the
/// newest signed checkpoint among them: the remaining chain then starts from that
/// checkpoint, whose signed hash the first kept entry links to (see
/// [`crate::audit::verify_against`]). Nothing is dropped when no checkpoint covers expired
/// entries or when the chain does not verify (the report says why).
///
/// The export holds the entries as stored, so anyone holding it can recompute their
/// chain up to the checkpoint's hash; the entry that records the export (its SHA-256, the
/// range and the checkpoint) is written in the transaction that deletes them.
fn expire_audit_entries(
    conn: &mut DbConnection,
    policy: &RetentionPolicy,
    signer: &crate::audit::CheckpointSigner,
    export_dir: &Path,
    now: DateTime<Utc>,
    report: &mut RetentionReport,
) -> Result<(), RetentionError> {
    let cutoff = policy.audit_entries_kept_from(now);
    let first: Option<i64> = audit_log::table
        .select(diesel::dsl::min(audit_log::seq))
        .first(conn)?;
    let Some(first) = first else {
        return Ok(());
    };
    // Entries are numbered in the order they were written; the first one still within its
    // period bounds what may go, even if a later one carries an earlier time.
    let first_young: Option<i64> = audit_log::table
        .filter(audit_log::occurred_at.ge(cutoff))
        .select(diesel::dsl::min(audit_log::seq))
        .first(conn)?;
    let expired_through = match first_young {
        Some(seq) => seq - 1,
        None => audit_log::table
            .select(diesel::dsl::max(audit_log::seq))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0),
    };
    if expired_through < first {
        return Ok(());
    }
    // Only this installation's key anchors a shortened chain: the verifier checks the
    // anchor's signature with it.
    let checkpoint: Option<Checkpoint> = audit_checkpoints::table
        .filter(audit_checkpoints::seq.ge(first))
        .filter(audit_checkpoints::seq.le(expired_through))
        .filter(audit_checkpoints::key_id.eq(signer.kid()))
        .order(audit_checkpoints::seq.desc())
        .select(Checkpoint::as_select())
        .first(conn)
        .optional()?;
    let Some(checkpoint) = checkpoint else {
        report.audit_kept = Some(AuditKept::NoCheckpoint { expired_through });
        return Ok(());
    };
    // Dropping entries of a broken chain would destroy the evidence of the break. With
    // the key, the anchor's signature (and every other checkpoint's) is checked too.
    let verified = audit::verify_against(conn, Some(&signer.public_key()))?;
    if let Some(broken) = verified.broken {
        report.audit_kept = Some(AuditKept::ChainBroken(broken));
        return Ok(());
    }
    let signed_entry: Option<String> = audit_log::table
        .find(checkpoint.seq)
        .select(audit_log::hash)
        .first(conn)
        .optional()?;
    if signed_entry.as_deref() != Some(checkpoint.head_hash.as_str()) {
        report.audit_kept = Some(AuditKept::CheckpointMismatch {
            seq: checkpoint.seq,
        });
        return Ok(());
    }
    std::fs::create_dir_all(export_dir).map_err(|source| RetentionError::Export {
        path: export_dir.to_path_buf(),
        source,
    })?;
    let file = export_dir.join(format!(
        "audit-entries-{first:012}-{:012}.csv.gz",
        checkpoint.seq
    ));
    // Written under a name of its own first: a run that overlaps this one (the command
    // line beside the worker) must not overwrite an export with what it read after the
    // entries were deleted.
    let partial = file.with_extension(format!("partial-{}", uuid::Uuid::new_v4().simple()));
    let mut csv = CsvExport::create(&partial, AUDIT_COLUMNS)?;
    let mut after = first - 1;
    let mut exported = 0usize;
    loop {
        let batch: Vec<AuditEntry> = audit_log::table
            .filter(audit_log::seq.gt(after))
            .filter(audit_log::seq.le(checkpoint.seq))
            .order(audit_log::seq.asc())
            .limit(1000)
            .load(conn)?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.seq;
        for e in &batch {
            csv.row(&[
                Some(e.seq.to_string()),
                Some(e.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()),
                Some(e.actor.clone()),
                Some(e.action.clone()),
                Some(e.subject.clone()),
                Some(e.details.clone()),
                e.request_id.clone(),
                Some(e.prev_hash.clone()),
                Some(e.hash.clone()),
            ])?;
        }
        exported += batch.len();
    }
    let digest = csv.finish()?;
    let complete = i64::try_from(exported).is_ok_and(|n| n == checkpoint.seq - first + 1);
    if !complete {
        let _ = std::fs::remove_file(&partial);
        report.audit_kept = Some(AuditKept::AnotherRun);
        return Ok(());
    }
    std::fs::rename(&partial, &file).map_err(|source| RetentionError::Export {
        path: file.clone(),
        source,
    })?;
    let outcome = write_transaction(conn, |conn| -> Result<bool, RetentionError> {
        let entry = export_entry(
            &file,
            serde_json::json!({
                "sha256": digest,
                "kind": audit::TRUNCATION_KIND,
                "before": cutoff.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "from_seq": first,
                "through_seq": checkpoint.seq,
                "entries": exported,
                "checkpoint": {
                    "seq": checkpoint.seq,
                    "head_hash": checkpoint.head_hash,
                    "signed_at": checkpoint.signed_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
                    "key_id": checkpoint.key_id,
                    "signature": checkpoint.signature,
                },
            }),
        );
        // Appending takes the chain's head, so runs are in line from here: one that finds
        // the first entry gone lost the race and leaves the chain as it is.
        audit::append(conn, now, &entry)?;
        let still_first: Option<i64> = audit_log::table
            .select(diesel::dsl::min(audit_log::seq))
            .first(conn)?;
        if still_first != Some(first) {
            return Err(RetentionError::Database(
                diesel::result::Error::RollbackTransaction,
            ));
        }
        diesel::delete(audit_log::table.filter(audit_log::seq.le(checkpoint.seq))).execute(conn)?;
        // The record of the export is signed at once: verifying with the key refuses a
        // truncation whose record no checkpoint covers.
        audit::checkpoint_if_due(conn, signer, now, None)?;
        Ok(true)
    });
    match outcome {
        Ok(_) => {}
        Err(RetentionError::Database(diesel::result::Error::RollbackTransaction)) => {
            report.audit_kept = Some(AuditKept::AnotherRun);
            return Ok(());
        }
        Err(other) => return Err(other),
    }
    report.audit_entries = exported;
    report.audit_anchor = Some(checkpoint.seq);
    report.files.push((file, digest));
    Ok(())
}

/// Copies a stored file (`(path, sha256)` in `store`) to `folder/relative`, synced to disk.
/// The inner error says why the stored file is missing or no longer matches its digest:
/// such a file is not exported, so it is not deleted either.
fn copy_verified(
    store: &EvidenceStore,
    (stored, sha256): (&str, &str),
    folder: &Path,
    relative: &str,
) -> Result<Result<(), String>, RetentionError> {
    let content = match store.read_verified(stored, sha256) {
        Ok(content) => content,
        Err(problem) => return Ok(Err(problem)),
    };
    let target = folder.join(relative);
    target
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&target, &content))
        .and_then(|()| std::fs::File::open(&target)?.sync_all())
        .map_err(|source| RetentionError::Export {
            path: target.clone(),
            source,
        })?;
    Ok(Ok(()))
}

/// The audit entry recording an export: the file's name as subject, its digest and what
/// it holds in `details`.
fn export_entry(file: &Path, details: serde_json::Value) -> NewAuditEntry {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
    let mut entry =
        NewAuditEntry::new("system", audit::TRUNCATION_ACTION, name.unwrap_or_default());
    entry.details = details;
    entry
}

/// An export file and its SHA-256 (hex).
type ExportFile = (PathBuf, String);

/// An evidence record due to expire.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = dispute_evidence)]
struct ExpiringEvidence {
    id: String,
    dispute_id: String,
    media_type: String,
    size_bytes: i64,
    sha256: String,
    storage_path: String,
    created_at: NaiveDateTime,
}

/// Exports and deletes the evidence files of final cases filed before `evidence.months`
/// ago; returns how many and the manifest with its SHA-256 (none when nothing expired).
/// A file missing or changed on disk is left as it is (and logged by id), since deleting
/// it would hide the discrepancy.
fn expire_evidence(
    conn: &mut DbConnection,
    policy: &RetentionPolicy,
    evidence_dir: &Path,
    export_dir: &Path,
    now: DateTime<Utc>,
) -> Result<Option<(usize, ExportFile)>, RetentionError> {
    let naive = now.naive_utc();
    let before = naive
        .checked_sub_months(Months::new(policy.evidence.months))
        .unwrap_or(naive);
    let finals: Vec<&str> = ALL_STATUSES
        .iter()
        .filter(|s| s.is_final())
        .map(|s| s.as_str())
        .collect();
    let due: Vec<ExpiringEvidence> = dispute_evidence::table
        .filter(dispute_evidence::created_at.lt(before))
        .filter(dispute_evidence::expired_at.is_null())
        .filter(
            dispute_evidence::dispute_id.eq_any(
                disputes::table
                    .filter(disputes::status.eq_any(finals))
                    .select(disputes::id),
            ),
        )
        .order(dispute_evidence::created_at.asc())
        .select(ExpiringEvidence::as_select())
        .load(conn)?;
    if due.is_empty() {
        return Ok(None);
    }
    let store = EvidenceStore::new(evidence_dir);
    let stamp = format!("before-{}", before.format("%Y-%m-%dT%H%M%S"));
    let folder = export_dir.join(format!("evidence-{stamp}"));
    let mut exported = Vec::new();
    for evidence in due {
        let relative = format!("{}/{}", evidence.dispute_id, evidence.id);
        let stored = (evidence.storage_path.as_str(), evidence.sha256.as_str());
        if let Err(problem) = copy_verified(&store, stored, &folder, &relative)? {
            tracing::warn!(evidence = %evidence.id, %problem, "evidence file not expired");
            continue;
        }
        exported.push((evidence, relative));
    }
    if exported.is_empty() {
        return Ok(None);
    }
    let manifest = export_dir.join(format!("evidence-{stamp}.csv.gz"));
    let digest = write_csv(
        &manifest,
        &[
            "evidence_id",
            "dispute_id",
            "media_type",
            "size_bytes",
            "sha256",
            "created_at",
            "exported_as",
        ],
        exported.iter().map(|(e, relative)| {
            vec![
                Some(e.id.clone()),
                Some(e.dispute_id.clone()),
                Some(e.media_type.clone()),
                Some(e.size_bytes.to_string()),
                Some(e.sha256.clone()),
                Some(e.created_at.to_string()),
                Some(format!("evidence-{stamp}/{relative}")),
            ]
        }),
    )?;
    let ids: Vec<&str> = exported.iter().map(|(e, _)| e.id.as_str()).collect();
    write_transaction(conn, |conn| -> Result<(), RetentionError> {
        let entry = export_entry(
            &manifest,
            serde_json::json!({
                "sha256": digest,
                "kind": "evidence",
                "before": before.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "files": ids.len(),
            }),
        );
        audit::append(conn, now, &entry)?;
        for chunk in ids.chunks(500) {
            diesel::update(dispute_evidence::table.filter(dispute_evidence::id.eq_any(chunk)))
                .set(dispute_evidence::expired_at.eq(naive))
                .execute(conn)?;
        }
        Ok(())
    })?;
    // Only once the export is audited and the records marked: a failed run deletes nothing.
    for (e, _) in &exported {
        store.discard(&e.storage_path);
    }
    Ok(Some((exported.len(), (manifest, digest))))
}

/// An authorisation letter due to expire.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = authorisation_letters)]
struct ExpiringLetter {
    id: String,
    seller_id: String,
    file_name: String,
    media_type: String,
    size_bytes: i64,
    sha256: String,
    stored_path: String,
    created_at: NaiveDateTime,
}

/// Exports and deletes the authorisation letters of accounts closed more than
/// `authorisation_letters.months` before `now`: each file (checked against its SHA-256)
/// is copied into the export, listed in a manifest whose digest is audited, then its
/// record and file are deleted. A letter of an open account is what its authorisation
/// rests on, so it stays whatever its age. A file missing or changed on disk is left as it
/// is (and logged by id), since deleting it would hide the discrepancy.
fn expire_letters(
    conn: &mut DbConnection,
    policy: &RetentionPolicy,
    evidence_dir: &Path,
    export_dir: &Path,
    now: DateTime<Utc>,
) -> Result<Option<(usize, ExportFile)>, RetentionError> {
    let naive = now.naive_utc();
    let closed_before = naive
        .checked_sub_months(Months::new(policy.authorisation_letters.months))
        .unwrap_or(naive);
    let holders: Vec<String> = authorisation_letters::table
        .select(authorisation_letters::seller_id)
        .distinct()
        .load(conn)?;
    let mut closed: Vec<String> = Vec::new();
    for chunk in holders.chunks(500) {
        closed.extend(
            accounts::table
                .filter(accounts::id.eq_any(chunk))
                .filter(accounts::closed_at.lt(closed_before))
                .select(accounts::id)
                .load::<String>(conn)?,
        );
    }
    let mut due: Vec<ExpiringLetter> = Vec::new();
    for chunk in closed.chunks(500) {
        due.extend(
            authorisation_letters::table
                .filter(authorisation_letters::seller_id.eq_any(chunk))
                .order(authorisation_letters::created_at.asc())
                .select(ExpiringLetter::as_select())
                .load(conn)?,
        );
    }
    if due.is_empty() {
        return Ok(None);
    }
    let store = EvidenceStore::new(evidence_dir);
    let stamp = format!("closed-before-{}", closed_before.format("%Y-%m-%dT%H%M%S"));
    let folder = export_dir.join(format!("authorisation-letters-{stamp}"));
    let mut exported = Vec::new();
    for letter in due {
        let relative = format!("{}/{}", letter.seller_id, letter.id);
        let stored = (letter.stored_path.as_str(), letter.sha256.as_str());
        if let Err(problem) = copy_verified(&store, stored, &folder, &relative)? {
            tracing::warn!(letter = %letter.id, %problem, "authorisation letter not expired");
            continue;
        }
        exported.push((letter, relative));
    }
    if exported.is_empty() {
        return Ok(None);
    }
    let manifest = export_dir.join(format!("authorisation-letters-{stamp}.csv.gz"));
    let digest = write_csv(
        &manifest,
        &[
            "letter_id",
            "seller_id",
            "file_name",
            "media_type",
            "size_bytes",
            "sha256",
            "created_at",
            "exported_as",
        ],
        exported.iter().map(|(l, relative)| {
            vec![
                Some(l.id.clone()),
                Some(l.seller_id.clone()),
                Some(l.file_name.clone()),
                Some(l.media_type.clone()),
                Some(l.size_bytes.to_string()),
                Some(l.sha256.clone()),
                Some(l.created_at.to_string()),
                Some(format!("authorisation-letters-{stamp}/{relative}")),
            ]
        }),
    )?;
    let ids: Vec<&str> = exported.iter().map(|(l, _)| l.id.as_str()).collect();
    write_transaction(conn, |conn| -> Result<(), RetentionError> {
        let entry = export_entry(
            &manifest,
            serde_json::json!({
                "sha256": digest,
                "kind": "authorisation_letters",
                "closed_before": closed_before.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "files": ids.len(),
            }),
        );
        audit::append(conn, now, &entry)?;
        for chunk in ids.chunks(500) {
            diesel::delete(
                authorisation_letters::table.filter(authorisation_letters::id.eq_any(chunk)),
            )
            .execute(conn)?;
        }
        Ok(())
    })?;
    // Only once the export is audited and the records gone: a failed run deletes nothing.
    for (l, _) in &exported {
        store.discard(&l.stored_path);
    }
    Ok(Some((exported.len(), (manifest, digest))))
}

/// Erases the complainant's email address of complaints closed more than
/// `complaint_emails.months` before `now`; returns how many. A complaint has no steps of
/// its own once filed: it is closed when filed, unless it was traced to a shop and its
/// complainant has a case about that shop (the case opened for it), which closes the
/// complaint only once every such case is final, at its last change. The complaint's facts
/// (what, where, when, traced to whom) stay, for the statistics and inspections they serve.
pub fn erase_complaint_emails(
    conn: &mut DbConnection,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
) -> Result<usize, RetentionError> {
    let naive = now.naive_utc();
    let before = naive
        .checked_sub_months(Months::new(policy.complaint_emails.months))
        .unwrap_or(naive);
    write_transaction(conn, |conn| -> Result<usize, RetentionError> {
        let candidates: Vec<(String, String, Option<String>)> = consumer_complaints::table
            .filter(consumer_complaints::created_at.lt(before))
            .filter(consumer_complaints::email_erased_at.is_null())
            .select((
                consumer_complaints::id,
                consumer_complaints::email,
                consumer_complaints::shop_id,
            ))
            .load(conn)?;
        let mut erased = Vec::new();
        for (id, email, shop_id) in candidates {
            if let Some(shop_id) = shop_id {
                let cases: Vec<(String, NaiveDateTime)> = disputes::table
                    .filter(disputes::shop_id.eq(&shop_id))
                    // Without case on both sides: complaints stored before addresses
                    // were lower-cased may differ in case from the case's buyer address.
                    .filter(lower(disputes::buyer_email).eq(email.to_ascii_lowercase()))
                    .select((disputes::status, disputes::updated_at))
                    .load(conn)?;
                let still_open = cases.iter().any(|(status, updated_at)| {
                    let done = ALL_STATUSES
                        .iter()
                        .any(|s| s.as_str() == status && s.is_final());
                    !done || *updated_at >= before
                });
                if still_open {
                    continue;
                }
            }
            erased.push(id);
        }
        if erased.is_empty() {
            return Ok(0);
        }
        for chunk in erased.chunks(500) {
            diesel::update(
                consumer_complaints::table.filter(consumer_complaints::id.eq_any(chunk)),
            )
            .set((
                consumer_complaints::email.eq(""),
                consumer_complaints::email_erased_at.eq(naive),
            ))
            .execute(conn)?;
        }
        let mut entry =
            NewAuditEntry::new("system", "retention.complaint_emails_erased", "complaints");
        entry.details = serde_json::json!({
            "complaints": erased.len(),
            "closed_before": before.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "months": policy.complaint_emails.months,
        });
        audit::append(conn, now, &entry)?;
        Ok(erased.len())
    })
}

/// Pseudonymises the accounts closed more than `closed_accounts.days` before `now`; returns
/// how many. What stays is what other records need and is no one's personal data: the
/// account id (named by decisions, cases and the audit log, whose entries name accounts by
/// id only, so the chain is untouched), its kind and dates, and a seller's business, whose
/// code and name are public register data. What goes: the email (replaced by one derived
/// from the id, since it is unique), display name, password and second factor, the
/// national ID number sealed, its keyed index, its masked form, the name, birth date and
/// province of residence, the note about an authorisation, the place held under the
/// national ID, and the mail still held for the address. One audit entry with the counts,
/// in the same transaction.
pub fn pseudonymise_closed(
    conn: &mut DbConnection,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
) -> Result<usize, RetentionError> {
    let before =
        (now - chrono::TimeDelta::days(i64::from(policy.closed_accounts.days))).naive_utc();
    let naive = now.naive_utc();
    write_transaction(conn, |conn| -> Result<usize, RetentionError> {
        let due: Vec<(String, String)> = accounts::table
            .filter(accounts::closed_at.lt(before))
            .filter(accounts::pseudonymised_at.is_null())
            .select((accounts::id, accounts::email))
            .load(conn)?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut sellers_cleared = 0;
        let mut mails_dropped = 0;
        for (id, email) in &due {
            diesel::update(accounts::table.find(id))
                .set((
                    accounts::email.eq(format!("closed-{id}@closed.invalid")),
                    accounts::email_verified_at.eq(None::<NaiveDateTime>),
                    accounts::display_name.eq(None::<String>),
                    accounts::password_hash.eq(None::<String>),
                    accounts::totp_secret.eq(None::<Vec<u8>>),
                    accounts::totp_key_id.eq(None::<String>),
                    accounts::totp_confirmed_at.eq(None::<NaiveDateTime>),
                    accounts::totp_last_step.eq(None::<i64>),
                    accounts::pseudonymised_at.eq(naive),
                    accounts::updated_at.eq(naive),
                    accounts::version.eq(accounts::version + 1),
                ))
                .execute(conn)?;
            sellers_cleared += diesel::update(sellers::table.find(id))
                .set((
                    sellers::national_id_sealed.eq(None::<Vec<u8>>),
                    sellers::national_id_key.eq(None::<String>),
                    sellers::national_id_index.eq(None::<String>),
                    sellers::national_id_masked.eq(None::<String>),
                    sellers::full_name.eq(None::<String>),
                    sellers::birth_date.eq(None::<String>),
                    sellers::residence_province.eq(None::<String>),
                    sellers::authorisation_note.eq(None::<String>),
                    sellers::updated_at.eq(naive),
                    sellers::version.eq(sellers::version + 1),
                ))
                .execute(conn)?;
            // The folded copy of the name goes with the name.
            crate::identity::refresh_search_name(conn, id)?;
            diesel::delete(identity_holders::table.filter(identity_holders::account_id.eq(id)))
                .execute(conn)?;
            mails_dropped += diesel::delete(outbox::table.filter(outbox::destination.eq(email)))
                .execute(conn)?;
        }
        let mut entry = NewAuditEntry::new("system", "retention.pseudonymised", "accounts");
        entry.details = serde_json::json!({
            "accounts": due.len(),
            "sellers": sellers_cleared,
            "mails_dropped": mails_dropped,
            "closed_before": before.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "days": policy.closed_accounts.days,
        });
        audit::append(conn, now, &entry)?;
        Ok(due.len())
    })
}

const DECISION_COLUMNS: &[&str] = &[
    "id",
    "platform_id",
    "listing_id",
    "content_hash",
    "shop_id",
    "seller_id",
    "category",
    "decision",
    "record",
    "policy_version",
    "attestation",
    "created_at",
    "withdrawn_at",
    "replay_key",
    "facts_seq",
    "batch_id",
    "expires_at",
    "withdrawn_reason",
];

fn decision_fields(d: &CheckRow) -> Vec<Option<String>> {
    let time = |t: &NaiveDateTime| t.to_string();
    vec![
        Some(d.id.clone()),
        Some(d.platform_id.clone()),
        Some(d.listing_id.clone()),
        Some(d.content_hash.clone()),
        Some(d.shop_id.clone()),
        d.seller_id.clone(),
        Some(d.category.clone()),
        Some(d.decision.clone()),
        Some(d.record.clone()),
        Some(d.policy_version.clone()),
        d.attestation.clone(),
        Some(time(&d.created_at)),
        d.withdrawn_at.as_ref().map(time),
        d.replay_key
            .as_ref()
            .map(|k| k.iter().map(|b| format!("{b:02x}")).collect()),
        Some(d.facts_seq.to_string()),
        d.batch_id.clone(),
        Some(time(&d.expires_at)),
        d.withdrawn_reason.clone(),
    ]
}

/// Writes a gzip-compressed CSV file; returns the SHA-256 (hex) of the file as written.
fn write_csv(
    path: &Path,
    header: &[&str],
    rows: impl Iterator<Item = Vec<Option<String>>>,
) -> Result<String, RetentionError> {
    let mut csv = CsvExport::create(path, header)?;
    for row in rows {
        csv.row(&row)?;
    }
    csv.finish()
}

/// A gzip-compressed CSV file written row by row, so a large export never sits in memory.
struct CsvExport {
    path: PathBuf,
    gz: flate2::write::GzEncoder<std::fs::File>,
}

impl CsvExport {
    fn create(path: &Path, header: &[&str]) -> Result<Self, RetentionError> {
        let file = std::fs::File::create(path).map_err(|source| RetentionError::Export {
            path: path.to_path_buf(),
            source,
        })?;
        let mut csv = Self {
            path: path.to_path_buf(),
            gz: flate2::write::GzEncoder::new(file, flate2::Compression::default()),
        };
        let header: Vec<Option<String>> = header.iter().map(|h| Some((*h).to_string())).collect();
        csv.row(&header)?;
        Ok(csv)
    }

    fn failed(&self, source: std::io::Error) -> RetentionError {
        RetentionError::Export {
            path: self.path.clone(),
            source,
        }
    }

    fn row(&mut self, fields: &[Option<String>]) -> Result<(), RetentionError> {
        let mut line = fields
            .iter()
            .map(|f| match f {
                Some(text) => format!("\"{}\"", text.replace('"', "\"\"")),
                None => String::new(),
            })
            .collect::<Vec<_>>()
            .join(",");
        line.push_str("\r\n");
        self.gz
            .write_all(line.as_bytes())
            .map_err(|e| self.failed(e))
    }

    /// Closes the file, synced to disk; returns its SHA-256 (hex).
    fn finish(self) -> Result<String, RetentionError> {
        let path = self.path.clone();
        let failed = |source| RetentionError::Export {
            path: path.clone(),
            source,
        };
        let file = self.gz.finish().map_err(failed)?;
        file.sync_all().map_err(failed)?;
        let bytes = std::fs::read(&path).map_err(failed)?;
        Ok(hex_sha256(&bytes))
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_policy_reads_and_keeps_whole_months() {
        let policy = RetentionPolicy::load(None).expect("policy");
        assert_eq!(policy.decisions.months, 36);
        let now = DateTime::parse_from_rfc3339("2026-11-28T15:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(
            policy.decisions_kept_from(now).to_string(),
            "2023-11-01 00:00:00"
        );
    }

    #[test]
    fn the_built_in_policy_names_every_kind_and_a_missing_kind_is_refused() {
        let policy = RetentionPolicy::load(None).expect("policy");
        assert_eq!(policy.audit_entries.months, 120);
        assert_eq!(policy.authorisation_letters.months, 36);
        assert_eq!(policy.complaint_emails.months, 12);
        let now = DateTime::parse_from_rfc3339("2026-11-28T15:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(
            policy.audit_entries_kept_from(now).to_string(),
            "2016-11-01 00:00:00"
        );
        let dir = tempfile::tempdir().expect("dir");
        let without_letters = BUILT_IN.replace("[authorisation_letters]", "[unknown_kind]");
        std::fs::write(dir.path().join("retention.toml"), without_letters).expect("write");
        let refused = RetentionPolicy::load(dir.path().to_str()).expect_err("refused");
        assert!(refused.to_string().contains("retention.toml"), "{refused}");
    }
}
