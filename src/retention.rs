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
//! Export format: one `decisions-<from>-<until>.csv.gz` and one
//! `decision-codes-<from>-<until>.csv.gz` per run. CSV per RFC 4180 with a header row,
//! every field quoted, UTF-8; times as `YYYY-MM-DD HH:MM:SS[.ffffff]` UTC; NULL as an empty
//! field; `replay_key` as lower-case hex.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::audit::{self, NewAuditEntry};
use crate::db::schema::{
    accounts, dispute_evidence, disputes, identity_holders, listing_check_codes, listing_checks,
    outbox, sellers,
};
use crate::db::{DbConnection, partitions, write_transaction};
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
        let this_month =
            NaiveDate::from_ymd_opt(now.year(), now.month(), 1).unwrap_or_else(|| now.date_naive());
        this_month
            .checked_sub_months(Months::new(self.decisions.months))
            .unwrap_or(this_month)
            .and_time(chrono::NaiveTime::MIN)
    }
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
}

/// Exports and drops the decisions made before the policy's period, at `now`.
pub fn run(
    conn: &mut DbConnection,
    policy: &RetentionPolicy,
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
            let mut entry = NewAuditEntry::new(
                "system",
                "retention.exported",
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            entry.details = serde_json::json!({
                "sha256": digest,
                "kind": "decisions",
                "before": until.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                "decisions": report.decisions,
                "links": report.links,
            });
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
    Ok(report)
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
        let content = match store.read_verified(&evidence.storage_path, &evidence.sha256) {
            Ok(content) => content,
            Err(problem) => {
                tracing::warn!(evidence = %evidence.id, %problem, "evidence file not expired");
                continue;
            }
        };
        let relative = format!("{}/{}", evidence.dispute_id, evidence.id);
        let target = folder.join(&relative);
        let written = target
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&target, &content))
            .and_then(|()| std::fs::File::open(&target)?.sync_all());
        written.map_err(|source| RetentionError::Export {
            path: target.clone(),
            source,
        })?;
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
        let mut entry = NewAuditEntry::new(
            "system",
            "retention.exported",
            manifest
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        entry.details = serde_json::json!({
            "sha256": digest,
            "kind": "evidence",
            "before": before.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "files": ids.len(),
        });
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
    let failed = |source| RetentionError::Export {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(path).map_err(failed)?;
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let line = |fields: &[Option<String>]| {
        let mut out = fields
            .iter()
            .map(|f| match f {
                Some(text) => format!("\"{}\"", text.replace('"', "\"\"")),
                None => String::new(),
            })
            .collect::<Vec<_>>()
            .join(",");
        out.push_str("\r\n");
        out
    };
    let header: Vec<Option<String>> = header.iter().map(|h| Some((*h).to_string())).collect();
    gz.write_all(line(&header).as_bytes()).map_err(failed)?;
    for row in rows {
        gz.write_all(line(&row).as_bytes()).map_err(failed)?;
    }
    let file = gz.finish().map_err(failed)?;
    file.sync_all().map_err(failed)?;
    let bytes = std::fs::read(path).map_err(failed)?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
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
}
