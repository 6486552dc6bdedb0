//! The retention run beyond decisions and evidence: audit entries dropped only up to a
//! signed checkpoint (the chain still verifies from it, and tampering is still found),
//! authorisation letters of long-closed accounts exported and deleted, and complainants'
//! email addresses erased once their complaints are closed long enough.

use std::io::Read;
use std::path::PathBuf;

use chrono::TimeDelta;
use diesel::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tracegate::audit::{self, ChainBreak, NewAuditEntry};
use tracegate::clock::Clock;
use tracegate::db::schema::{accounts, audit_log};
use tracegate::retention::{self, AuditKept, RetentionPolicy, RetentionReport};

use crate::both_backends;
use crate::fixtures::{AN, PASSWORD, bound_enterprise_seller, verified_person};
use crate::helpers::{TestApp, TestBackend};

async fn run_with(app: &TestApp, policy: RetentionPolicy) -> RetentionReport {
    let export_dir = PathBuf::from(&app.state.config.retention.export_dir);
    let evidence_dir = PathBuf::from(&app.state.config.disputes.evidence_dir);
    let retention_signer = tracegate::audit::CheckpointSigner::new(&app.state.keys);
    let now = app.clock.now();
    app.state
        .db(move |conn| {
            retention::run(
                conn,
                &policy,
                &retention_signer,
                &export_dir,
                &evidence_dir,
                now,
            )
            .map_err(tracegate::error::AppError::internal)
        })
        .await
        .expect("retention run")
}

/// The built-in policy with audit entries kept one month.
fn short_audit_policy() -> RetentionPolicy {
    let mut policy = RetentionPolicy::load(None).expect("policy");
    policy.audit_entries.months = 1;
    policy
}

/// Appends `count` entries at the app's clock; returns their numbers.
async fn append(app: &TestApp, count: usize) -> Vec<i64> {
    let now = app.clock.now();
    app.state
        .db(move |conn| {
            let mut seqs = Vec::new();
            for i in 0..count {
                let entry = NewAuditEntry::new("system", "test.write", format!("test:{i}"))
                    .details(json!({ "i": i }));
                seqs.push(audit::append(conn, now, &entry)?.seq);
            }
            Ok(seqs)
        })
        .await
        .expect("append")
}

async fn checkpoint_now(app: &TestApp) -> audit::Checkpoint {
    let signer = audit::CheckpointSigner::new(&app.state.keys);
    let now = app.clock.now();
    app.state
        .db(move |c| Ok(audit::checkpoint_if_due(c, &signer, now, None)?))
        .await
        .expect("checkpoint")
        .expect("a head past the last checkpoint")
}

async fn verify(app: &TestApp, with_key: bool) -> audit::VerifyReport {
    let key = audit::CheckpointSigner::new(&app.state.keys).public_key();
    app.state
        .db(move |c| Ok(audit::verify_against(c, with_key.then_some(&key))?))
        .await
        .expect("verify")
}

async fn first_seq(app: &TestApp) -> Option<i64> {
    app.state
        .db(|c| {
            Ok(audit_log::table
                .select(diesel::dsl::min(audit_log::seq))
                .first(c)?)
        })
        .await
        .expect("first entry")
}

/// The details of the newest `retention.exported` entry of `kind`.
async fn export_record(app: &TestApp, kind: &str) -> Value {
    let all: Vec<String> = app
        .state
        .db(|c| {
            Ok(audit_log::table
                .filter(audit_log::action.eq("retention.exported"))
                .order(audit_log::seq.desc())
                .select(audit_log::details)
                .load(c)?)
        })
        .await
        .expect("records");
    all.iter()
        .map(|d| serde_json::from_str::<Value>(d).expect("json"))
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no export of {kind}"))
}

fn gunzip(path: &std::path::Path) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).expect("export file"))
        .read_to_string(&mut text)
        .expect("gzip");
    text
}

fn sha256_hex(path: &std::path::Path) -> String {
    Sha256::digest(std::fs::read(path).expect("read"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn audit_entries_past_their_period_are_dropped_up_to_a_signed_checkpoint(
    backend: TestBackend,
) {
    // Checkpoints only when the test signs them.
    let env = crate::helpers::TestEnv::new(&backend);
    let mut config = env.config.clone();
    config.audit.checkpoint_every_entries = u32::MAX;
    config.audit.checkpoint_every_secs = u32::MAX;
    let app = TestApp::start(config).await;
    let old = append(&app, 3).await;
    let last_old = *old.last().expect("entries");
    app.clock.advance(TimeDelta::days(70));

    // Past their period, but nothing signed anchors what would remain: all kept.
    let report = run_with(&app, short_audit_policy()).await;
    assert_eq!(report.audit_entries, 0, "{report:?}");
    assert_eq!(
        report.audit_kept,
        Some(AuditKept::NoCheckpoint {
            expired_through: last_old
        })
    );
    assert_eq!(first_seq(&app).await, Some(1));

    let anchor = checkpoint_now(&app).await;
    assert_eq!(anchor.seq, last_old);
    let young = append(&app, 2).await;
    let newest_checkpoint = checkpoint_now(&app).await;
    let report = run_with(&app, short_audit_policy()).await;
    assert_eq!(report.audit_entries as i64, last_old, "{report:?}");
    assert_eq!(report.audit_anchor, Some(last_old));
    assert_eq!(report.audit_kept, None);
    assert_eq!(first_seq(&app).await, Some(young[0]), "old entries gone");

    // The export holds the dropped entries as stored, and its digest is in the log.
    let (file, digest) = report
        .files
        .iter()
        .find(|(p, _)| p.to_string_lossy().contains("audit-entries-"))
        .expect("an audit export")
        .clone();
    assert_eq!(sha256_hex(&file), digest);
    let csv = gunzip(&file);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("\"seq\",\"occurred_at\""), "{csv}");
    assert_eq!(lines.len() as i64, 1 + last_old, "{csv}");
    assert!(lines[1].starts_with("\"1\","), "{csv}");
    assert!(
        csv.contains(&anchor.head_hash),
        "the last row is the signed one"
    );
    let record = export_record(&app, "audit_entries").await;
    assert_eq!(record["sha256"], digest);
    assert_eq!(record["through_seq"], last_old);
    assert_eq!(record["entries"], last_old);
    assert_eq!(record["checkpoint"]["head_hash"], anchor.head_hash.as_str());

    // The chain verifies from the anchor, with and without the key.
    let chain_only = verify(&app, false).await;
    assert!(chain_only.broken.is_none(), "{:?}", chain_only.broken);
    let anchored = chain_only.anchor.as_ref().expect("an anchor");
    assert_eq!(anchored.checkpoint.seq, last_old);
    assert!(!anchored.signature_checked);
    assert_eq!(chain_only.first_seq, last_old + 1);
    let with_key = verify(&app, true).await;
    assert!(with_key.broken.is_none(), "{:?}", with_key.broken);
    assert!(with_key.anchor.as_ref().expect("anchor").signature_checked);
    assert!(with_key.vouched_through >= newest_checkpoint.seq);
    let output = env.command(&["audit", "verify"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("signed checkpoint at entry {last_old}")),
        "{stdout}"
    );
    assert!(stdout.contains("intact"), "{stdout}");

    // Nothing more is due.
    let again = run_with(&app, short_audit_policy()).await;
    assert_eq!((again.audit_entries, again.audit_kept), (0, None));

    // A kept entry edited is still found, and so is the first kept entry removed.
    app.execute_sql(&format!(
        "UPDATE audit_log SET details = '{{\"i\":999}}' WHERE seq = {}",
        young[1]
    ))
    .await;
    assert_eq!(
        verify(&app, true).await.broken,
        Some(ChainBreak::Altered { seq: young[1] })
    );
    app.execute_sql(&format!("DELETE FROM audit_log WHERE seq = {}", young[0]))
        .await;
    assert_eq!(
        verify(&app, false).await.broken,
        Some(ChainBreak::Unanchored {
            first: young[1],
            anchor: young[0]
        })
    );
    let output = env.command(&["audit", "verify"]);
    assert!(!output.status.success());
}
both_backends!(audit_entries_past_their_period_are_dropped_up_to_a_signed_checkpoint);

async fn entries_removed_up_to_a_checkpoint_outside_a_retention_run_are_found(
    backend: TestBackend,
) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let old = append(&app, 3).await;
    checkpoint_now(&app).await;
    append(&app, 1).await;
    app.execute_sql(&format!("DELETE FROM audit_log WHERE seq <= {}", old[2]))
        .await;
    assert_eq!(
        verify(&app, true).await.broken,
        Some(ChainBreak::UnrecordedTruncation { anchor: old[2] })
    );
}
both_backends!(entries_removed_up_to_a_checkpoint_outside_a_retention_run_are_found);

/// What someone able to write to the database could do to hide a deletion: recompute the
/// chain's tail so that it records an export nobody made. The key tells it apart.
async fn a_forged_export_record_or_anchor_does_not_pass_with_the_key(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let old = append(&app, 3).await;
    let signed = checkpoint_now(&app).await;
    assert_eq!(signed.seq, old[2]);
    append(&app, 1).await;
    app.execute_sql(&format!("DELETE FROM audit_log WHERE seq <= {}", old[2]))
        .await;
    let now = app.clock.now();
    let through = old[2];
    app.state
        .db(move |conn| {
            let entry = NewAuditEntry::new("system", audit::TRUNCATION_ACTION, "forged.csv.gz")
                .details(json!({ "kind": audit::TRUNCATION_KIND, "through_seq": through }));
            Ok(audit::append(conn, now, &entry)?)
        })
        .await
        .expect("append");
    // The chain alone cannot tell; the key can: no signed checkpoint covers the record.
    assert_eq!(verify(&app, false).await.broken, None);
    assert_eq!(
        verify(&app, true).await.broken,
        Some(ChainBreak::TruncationUnsigned { anchor: old[2] })
    );

    // An anchor the key did not sign: a checkpoint row written straight into the table.
    let (_env, app) = TestApp::spawn(&backend).await;
    let old = append(&app, 3).await;
    let last = old[2];
    let hash: String = app
        .state
        .db(move |c| {
            Ok(audit_log::table
                .find(last)
                .select(audit_log::hash)
                .first(c)?)
        })
        .await
        .expect("hash");
    app.execute_sql(&format!(
        "INSERT INTO audit_checkpoints (seq, head_hash, signed_at, key_id, signature) \
         VALUES ({}, '{hash}', '2026-01-01 00:00:00', 'audit-made-up', 'AAAA')",
        old[2]
    ))
    .await;
    append(&app, 1).await;
    app.execute_sql(&format!("DELETE FROM audit_log WHERE seq <= {}", old[2]))
        .await;
    assert_eq!(
        verify(&app, true).await.broken,
        Some(ChainBreak::AnchorUnsigned { anchor: old[2] })
    );
    // Nor does a retention run anchor on it.
    app.clock.advance(TimeDelta::days(70));
    let report = run_with(&app, short_audit_policy()).await;
    assert_eq!(report.audit_entries, 0, "{report:?}");
}
both_backends!(a_forged_export_record_or_anchor_does_not_pass_with_the_key);

async fn account_id(app: &TestApp, email: &str) -> String {
    let email = email.to_string();
    app.state
        .db(move |c| {
            Ok(accounts::table
                .filter(accounts::email.eq(email))
                .select(accounts::id)
                .first(c)?)
        })
        .await
        .expect("account")
}

async fn letters_of_a_long_closed_account_are_exported_and_deleted(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, _) = verified_person(&app, AN).await;
    let seller = account_id(&app, &email).await;
    let content = b"%PDF-1.4\n% Giay uy quyen so 15/2026/UQ\n".to_vec();
    let letter = {
        let state = app.state.clone();
        let seller = seller.clone();
        state
            .clone()
            .blocking(move || {
                tracegate::identity::letters::Letters {
                    pool: &state.pool,
                    clock: state.clock.as_ref(),
                    store: &state.evidence,
                }
                .upload(&seller, "giay-uy-quyen.pdf", "application/pdf", &content)
                .map_err(tracegate::error::AppError::internal)
            })
            .await
            .expect("uploaded")
    };
    let stored = PathBuf::from(&app.state.config.disputes.evidence_dir).join(&letter.stored_path);
    assert!(stored.exists());
    let policy = RetentionPolicy::load(None).expect("policy");
    let months = policy.authorisation_letters.months;

    // An open account keeps its letter whatever its age.
    app.clock
        .advance(TimeDelta::days(31 * i64::from(months) + 1));
    assert_eq!(run_with(&app, policy.clone()).await.letters, 0);
    // Signed in again: the first session has long expired.
    let login: Value = app
        .post(
            "/v1/auth/login",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await
        .json()
        .await
        .expect("login");
    let token = login["access_token"].as_str().expect("access token");
    let closed = app
        .post_as("/v1/me/close", token, json!({ "password": PASSWORD }))
        .await;
    assert_eq!(closed.status(), 204);
    assert_eq!(
        run_with(&app, policy.clone()).await.letters,
        0,
        "kept after closing"
    );

    app.clock
        .advance(TimeDelta::days(31 * i64::from(months) + 1));
    let report = run_with(&app, policy.clone()).await;
    assert_eq!(report.letters, 1, "{report:?}");
    assert!(!stored.exists(), "the file is deleted");
    assert_eq!(
        app.count_sql("SELECT count(*) AS n FROM authorisation_letters")
            .await,
        0
    );
    let (manifest, digest) = report
        .files
        .iter()
        .find(|(p, _)| p.to_string_lossy().contains("authorisation-letters-"))
        .expect("a manifest")
        .clone();
    assert_eq!(sha256_hex(&manifest), digest);
    let csv = gunzip(&manifest);
    assert!(csv.contains(&letter.sha256), "{csv}");
    let exported_as = csv
        .lines()
        .nth(1)
        .and_then(|l| l.rsplit(',').next())
        .map(|f| f.trim_matches('"').to_string())
        .expect("exported_as");
    let copy = PathBuf::from(&app.state.config.retention.export_dir).join(exported_as);
    assert_eq!(
        std::fs::read(copy).expect("the exported copy"),
        b"%PDF-1.4\n% Giay uy quyen so 15/2026/UQ\n"
    );
    let record = export_record(&app, "authorisation_letters").await;
    assert_eq!(record["sha256"], digest);
    assert_eq!(record["files"], 1);
    assert!(verify(&app, false).await.broken.is_none());
    assert_eq!(run_with(&app, policy).await.letters, 0, "once only");
}
both_backends!(letters_of_a_long_closed_account_are_exported_and_deleted);

async fn file_complaint(app: &TestApp, shop_name: &str, email: &str) -> String {
    let state = app.state.clone();
    let (shop_name, email) = (shop_name.to_string(), email.to_string());
    state
        .clone()
        .blocking(move || {
            tracegate::complaints::Complaints {
                pool: &state.pool,
                clock: state.clock.as_ref(),
                policies: &state.policies,
                public_url: &state.config.server.public_url,
            }
            .file(
                &tracegate::complaints::ComplaintInput {
                    listing_link: "https://shop.example.vn/sp/123".into(),
                    shop_name,
                    kind: "counterfeit".into(),
                    claim: "refund".into(),
                    description: "Hàng nhận được không có tem chống giả.".into(),
                    email,
                    ..Default::default()
                },
                tracegate::i18n::Language::Vi,
                // No case from the complaint itself: the test files the buyer's case apart.
                |_, _, _, _| None,
            )
            .map(|filed| filed.reference)
            .map_err(tracegate::error::AppError::internal)
        })
        .await
        .expect("filed")
}

async fn complainants_emails_are_erased_once_their_complaints_are_closed_long_enough(
    backend: TestBackend,
) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, _, platform, _) = bound_enterprise_seller(&app, "shop-1").await;
    let untraced = file_complaint(&app, "", "nguoi.mua@example.vn").await;
    // Traced to the bound shop, and its complainant's case about that shop is still open.
    let traced = file_complaint(&app, "shop-1", "mua.hang@example.vn").await;
    let filed = app
        .post_as(
            "/v1/disputes",
            &platform,
            json!({
                "shop_id": "shop-1",
                "listing_id": "l-1",
                "kind": "counterfeit",
                "claim": "refund",
                "description": "Hộp kem không có tem chống giả.",
                "buyer": { "reference": "buyer-1", "email": "mua.hang@example.vn", "language": "vi" }
            }),
        )
        .await;
    assert_eq!(filed.status(), 201);
    // Stored before addresses were lower-cased: its case is still the buyer's open one.
    app.execute_sql(&format!(
        "UPDATE consumer_complaints SET email = 'Mua.Hang@Example.vn' WHERE reference = '{traced}'"
    ))
    .await;
    let policy = RetentionPolicy::load(None).expect("policy");
    assert_eq!(
        run_with(&app, policy.clone()).await.complaint_emails_erased,
        0
    );

    app.clock.advance(TimeDelta::days(
        31 * i64::from(policy.complaint_emails.months) + 1,
    ));
    let report = run_with(&app, policy.clone()).await;
    assert_eq!(report.complaint_emails_erased, 1, "{report:?}");
    for (sql, expected, what) in [
        (format!("SELECT count(*) AS n FROM consumer_complaints WHERE reference = '{untraced}' AND email = '' AND email_erased_at IS NOT NULL AND description LIKE 'Hàng%' AND listing_link IS NOT NULL"), 1, "the address goes, the facts stay"),
        (format!("SELECT count(*) AS n FROM consumer_complaints WHERE reference = '{traced}' AND email = 'Mua.Hang@Example.vn'"), 1, "kept while the case is open"),
        ("SELECT count(*) AS n FROM audit_log WHERE action = 'retention.complaint_emails_erased' AND details LIKE '%\"complaints\":1%'".into(), 1, "counted in the audit log"),
        ("SELECT count(*) AS n FROM audit_log WHERE details LIKE '%nguoi.mua@example.vn%'".into(), 0, "no address in the audit log"),
    ] {
        assert_eq!(app.count_sql(&sql).await, expected, "{what}: {sql}");
    }
    assert!(verify(&app, false).await.broken.is_none());
    assert_eq!(
        run_with(&app, policy).await.complaint_emails_erased,
        0,
        "once only"
    );
}
both_backends!(complainants_emails_are_erased_once_their_complaints_are_closed_long_enough);
