//! The decision log by month on PostgreSQL: the service keeps month partitions ahead, and
//! a decision lands in the partition of its month. Retention (both backends): decisions
//! past the policy's period are exported to a compressed file whose digest is in the audit
//! log, then dropped.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Months, TimeDelta};
use serde_json::json;
use tracegate::clock::Clock;
use tracegate::db::partitions::{MONTHS_AHEAD, PARTITIONED, partition_name};
use tracegate::maintenance::PartitionKeeper;
use tracegate::retention::RetentionPolicy;

use crate::both_backends;
use crate::fixtures::{bound_enterprise_seller, gtin, issuer, post_batch};
use crate::helpers::{TestApp, TestBackend};

async fn partition_exists(app: &TestApp, name: &str) -> bool {
    app.count_sql(&format!(
        "SELECT count(*) AS n FROM pg_class WHERE relname = '{name}' AND relispartition"
    ))
    .await
        == 1
}

fn keeper(app: &TestApp) -> PartitionKeeper {
    PartitionKeeper {
        pool: app.state.pool.clone(),
        clock: app.state.clock.clone(),
        node: app.state.node.clone(),
        interval: Duration::from_secs(3600),
        retention: Arc::new(RetentionPolicy::load(None).expect("policy")),
        export_dir: app.state.config.retention.export_dir.clone().into(),
        evidence_dir: app.state.config.disputes.evidence_dir.clone().into(),
        signer: Arc::new(tracegate::audit::CheckpointSigner::new(&app.state.keys)),
    }
}

async fn keeper_round(app: &TestApp) -> Vec<String> {
    let this = keeper(app);
    tokio::task::spawn_blocking(move || this.round())
        .await
        .expect("task")
        .expect("round")
}

/// A platform token for a bound seller's shop `shop-1`, and a registered code.
async fn seller_with_code(app: &TestApp) -> (String, String) {
    let (_, _, platform, _) = bound_enterprise_seller(app, "shop-1").await;
    let issuer = issuer(app, "national", None).await;
    let code = format!("(01){}(10)MONTH", gtin("893850000030"));
    let body = json!({ "codes": [{ "code": code, "owner": "0799000033", "product_name": "Kem dưỡng Sen", "category": "cosmetics", "origin": "79", "expiry_date": "2030-12-31" }] }).to_string();
    assert_eq!(
        post_batch(app, &issuer, "application/json", &body)
            .await
            .status(),
        201
    );
    (platform, code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decision_partitions_are_created_ahead_and_decisions_land_in_their_month() {
    let Some(backend) = TestBackend::postgres() else {
        return;
    };
    let (_env, app) = TestApp::spawn(&backend).await;
    let today = app.clock.now().date_naive();
    for ahead in 0..=MONTHS_AHEAD {
        let month = today.checked_add_months(Months::new(ahead)).expect("month");
        for table in PARTITIONED {
            let name = partition_name(table, month);
            let started = Instant::now();
            while !partition_exists(&app, &name).await {
                assert!(started.elapsed() < Duration::from_secs(3), "{name} exists");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    // Five months on, the next round adds the months now ahead.
    app.clock.advance(TimeDelta::days(5 * 31));
    let later = app.clock.now().date_naive();
    let created = keeper_round(&app).await;
    let newest = partition_name(
        "listing_checks",
        later
            .checked_add_months(Months::new(MONTHS_AHEAD))
            .expect("month"),
    );
    assert!(created.contains(&newest), "{created:?}");
    assert!(keeper_round(&app).await.is_empty(), "made once");

    let (platform, code) = seller_with_code(&app).await;
    let response = app
        .post_as(
            "/v1/listing-checks",
            &platform,
            json!({ "shop_id": "shop-1", "listing_id": "l-1", "category": "cosmetics", "title": "Kem dưỡng", "codes": [code] }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let month = partition_name("listing_checks", later);
    assert_eq!(
        app.count_sql(&format!("SELECT count(*) AS n FROM {month}"))
            .await,
        1,
        "the decision is in the partition of its month"
    );
    assert_eq!(
        app.count_sql("SELECT count(*) AS n FROM listing_checks_default")
            .await,
        0
    );
    // Replays still find it across the partitioned table.
    let again = app
        .post_as(
            "/v1/listing-checks",
            &platform,
            json!({ "shop_id": "shop-1", "listing_id": "l-1", "category": "cosmetics", "title": "Kem dưỡng", "codes": [code] }),
        )
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        app.count_sql("SELECT count(*) AS n FROM listing_checks")
            .await,
        1,
        "the same request on the same facts is replayed, not stored again"
    );
}

async fn expired_decisions_are_exported_with_their_digest_audited_then_dropped(
    backend: TestBackend,
) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (platform, code) = seller_with_code(&app).await;
    let response = app
        .post_as(
            "/v1/listing-checks",
            &platform,
            json!({ "shop_id": "shop-1", "listing_id": "l-old", "category": "cosmetics", "title": "Kem dưỡng", "codes": [code] }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let decision: serde_json::Value = response.json().await.expect("decision");
    let id = decision["id"].as_str().expect("id").to_string();
    let made_in = partition_name("listing_checks", app.clock.now().date_naive());

    let first = keeper(&app);
    let months = first.retention.decisions.months;
    let nothing = tokio::task::spawn_blocking(move || first.retention_round())
        .await
        .expect("task")
        .expect("round");
    assert_eq!(nothing.decisions, 0, "nothing has expired yet");

    app.clock
        .advance(TimeDelta::days(31 * (i64::from(months) + 2)));
    let later = keeper(&app);
    let report = tokio::task::spawn_blocking(move || later.retention_round())
        .await
        .expect("task")
        .expect("round");
    assert_eq!(report.decisions, 1, "{report:?}");
    assert_eq!(
        app.count_sql("SELECT count(*) AS n FROM listing_checks")
            .await,
        0,
        "dropped"
    );
    assert_eq!(
        app.count_sql("SELECT count(*) AS n FROM listing_check_codes")
            .await,
        0,
        "its links too"
    );
    let (file, digest) = report.files.first().expect("an export").clone();
    let bytes = std::fs::read(&file).expect("export file");
    let computed: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    assert_eq!(computed, digest);
    let mut csv = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut csv)
        .expect("gzip CSV");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "a header and the decision: {csv}");
    assert!(
        lines[0].starts_with("\"id\",\"platform_id\""),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with(&format!("\"{id}\"")), "{}", lines[1]);

    let audited = app
        .count_sql(&format!(
            "SELECT count(*) AS n FROM audit_log WHERE action = 'retention.exported' AND details LIKE '%{digest}%'"
        ))
        .await;
    assert_eq!(audited, 1, "the export's digest is in the audit log");
    let intact = app
        .state
        .db(|conn| Ok(tracegate::audit::verify(conn)?))
        .await
        .expect("verify");
    assert!(intact.broken.is_none(), "the audit chain still verifies");
    if matches!(backend, TestBackend::Postgres(_)) {
        assert!(
            !partition_exists(&app, &made_in).await,
            "{made_in} is dropped whole"
        );
    }
}
both_backends!(expired_decisions_are_exported_with_their_digest_audited_then_dropped);

async fn retention_runs_from_the_command_line(backend: TestBackend) {
    let (env, _app) = TestApp::spawn(&backend).await;
    let output = env.command(&["retention", "run"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("0 decisions and 0 decision-code links exported and dropped"),
        "{stdout}"
    );
}
both_backends!(retention_runs_from_the_command_line);

/// Files a case against `shop-1` and attaches a text file as the seller; returns the case
/// id and the evidence id.
async fn case_with_evidence(
    app: &TestApp,
    platform: &str,
    seller: &str,
    listing: &str,
    content: &[u8],
) -> (String, String) {
    let filed = app
        .post_as(
            "/v1/disputes",
            platform,
            json!({
                "shop_id": "shop-1",
                "listing_id": listing,
                "kind": "counterfeit",
                "claim": "refund",
                "description": "Hộp kem không có tem chống giả.",
                "buyer": { "reference": "buyer-1", "email": "mua.hang@example.vn", "language": "vi" }
            }),
        )
        .await;
    assert_eq!(filed.status(), 201);
    let case: serde_json::Value = filed.json().await.expect("case");
    let id = case["id"].as_str().expect("id").to_string();
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(content.to_vec())
            .file_name("hoa-don.txt")
            .mime_str("text/plain")
            .expect("mime"),
    );
    let uploaded = app
        .client
        .post(app.url(&format!("/v1/disputes/{id}/evidence")))
        .bearer_auth(seller)
        .multipart(form)
        .send()
        .await
        .expect("sent");
    assert_eq!(uploaded.status(), 201);
    let evidence: serde_json::Value = uploaded.json().await.expect("evidence");
    (id, evidence["id"].as_str().expect("id").to_string())
}

async fn evidence_of_final_cases_is_exported_then_deleted_past_its_period(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, _, platform, seller) = bound_enterprise_seller(&app, "shop-1").await;
    let (ended, ended_file) =
        case_with_evidence(&app, &platform, &seller, "l-1", b"Hoa don 1").await;
    let (open, open_file) = case_with_evidence(&app, &platform, &seller, "l-2", b"Hoa don 2").await;
    let withdrawn = app
        .post_as(
            &format!("/v1/disputes/{ended}/actions"),
            &platform,
            json!({ "action": "withdraw", "reason": "Đã nhận được hàng thay thế" }),
        )
        .await;
    assert_eq!(withdrawn.status(), 200);
    let evidence_dir = std::path::PathBuf::from(&app.state.config.disputes.evidence_dir);
    let original = evidence_dir.join(&ended).join(&ended_file);
    assert!(original.exists());

    let first = keeper(&app);
    let months = first.retention.evidence.months;
    let report = tokio::task::spawn_blocking(move || first.retention_round())
        .await
        .expect("task")
        .expect("round");
    assert_eq!(report.evidence_files, 0, "kept for the policy's period");

    app.clock
        .advance(TimeDelta::days(31 * (i64::from(months) + 1)));
    let later = keeper(&app);
    let report = tokio::task::spawn_blocking(move || later.retention_round())
        .await
        .expect("task")
        .expect("round");
    assert_eq!(
        report.evidence_files, 1,
        "only the final case's: {report:?}"
    );
    assert!(!original.exists(), "deleted");
    assert!(
        evidence_dir.join(&open).join(&open_file).exists(),
        "an open case keeps its evidence"
    );
    let export_dir = std::path::PathBuf::from(&app.state.config.retention.export_dir);
    let (manifest, digest) = report
        .files
        .iter()
        .find(|(p, _)| p.to_string_lossy().contains("evidence-"))
        .expect("a manifest")
        .clone();
    let mut csv = String::new();
    flate2::read::GzDecoder::new(&std::fs::read(&manifest).expect("manifest")[..])
        .read_to_string(&mut csv)
        .expect("gzip CSV");
    let row = csv.lines().nth(1).expect("a row");
    assert!(row.starts_with(&format!("\"{ended_file}\"")), "{row}");
    let exported_as = row
        .rsplit(',')
        .next()
        .expect("last field")
        .trim_matches('"');
    assert_eq!(
        std::fs::read(export_dir.join(exported_as)).expect("exported copy"),
        b"Hoa don 1"
    );
    assert_eq!(
        app.count_sql("SELECT count(*) AS n FROM dispute_evidence WHERE expired_at IS NOT NULL")
            .await,
        1,
        "the record stays, marked"
    );
    assert_eq!(
        app.count_sql(&format!(
            "SELECT count(*) AS n FROM audit_log WHERE action = 'retention.exported' AND details LIKE '%{digest}%' AND details LIKE '%evidence%'"
        ))
        .await,
        1,
        "the manifest's digest is audited"
    );
    let intact = app
        .state
        .db(|conn| Ok(tracegate::audit::verify(conn)?))
        .await
        .expect("verify");
    assert!(intact.broken.is_none(), "the audit chain still verifies");

    // The case still lists the record; its file answers with why it is gone.
    let officer = crate::fixtures::officer(
        &app,
        tracegate::auth::OfficerRole::Officer,
        tracegate::policies::ProvinceScope::Only(vec!["79".into()]),
    )
    .await;
    let gone = app
        .get_as(
            &format!("/v1/disputes/{ended}/evidence/{ended_file}"),
            &officer.access_token,
        )
        .await;
    assert_eq!(gone.status(), 404);
    let body = crate::helpers::problem(gone).await;
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("retention policy")),
        "{body}"
    );
}
both_backends!(evidence_of_final_cases_is_exported_then_deleted_past_its_period);
