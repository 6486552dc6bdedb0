//! The hash-chained audit log: concurrent writers, and tampering found by `audit verify`.

use diesel::prelude::*;
use tracegate::audit::{self, AuditEntry, ChainBreak, NewAuditEntry, entry_hash};
use tracegate::db;
use tracegate::db::schema::audit_log;

use crate::both_backends;
use crate::helpers::{TestApp, TestBackend};

async fn append_entries(app: &TestApp, count: usize) {
    let mut tasks = Vec::new();
    for i in 0..count {
        let state = app.state.clone();
        tasks.push(tokio::spawn(async move {
            state
                .db(move |conn| {
                    db::write_transaction(conn, |conn| {
                        let entry = NewAuditEntry::new("system", "test.write", format!("test:{i}"))
                            .details(serde_json::json!({ "i": i }));
                        audit::append(conn, chrono::Utc::now(), &entry)
                    })
                    .map_err(Into::into)
                })
                .await
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("append succeeds");
    }
}

async fn fifty_concurrent_writes_leave_one_unbroken_chain(backend: TestBackend) {
    let (env, app) = TestApp::spawn(&backend).await;
    append_entries(&app, 50).await;
    let report = app
        .state
        .db(|c| Ok(audit::verify(c)?))
        .await
        .expect("verify");
    assert_eq!(report.entries, 50);
    assert!(report.broken.is_none(), "{:?}", report.broken);

    let output = env.command(&["audit", "verify"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("intact: 50 entries"), "{stdout}");
}
both_backends!(fifty_concurrent_writes_leave_one_unbroken_chain);

async fn edited_row_is_named_by_audit_verify(backend: TestBackend) {
    let (env, app) = TestApp::spawn(&backend).await;
    append_entries(&app, 6).await;
    app.execute_sql("UPDATE audit_log SET details = '{\"i\":999}' WHERE seq = 4")
        .await;

    let report = app
        .state
        .db(|c| Ok(audit::verify(c)?))
        .await
        .expect("verify");
    assert_eq!(report.broken, Some(ChainBreak::Altered { seq: 4 }));
    assert_eq!(
        report.entries, 3,
        "entries before the break are reported intact"
    );

    let output = env.command(&["audit", "verify"]);
    assert!(!output.status.success(), "a broken chain exits non-zero");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("entry 4"), "{stdout}");
}
both_backends!(edited_row_is_named_by_audit_verify);

async fn forged_row_with_a_recomputed_hash_breaks_the_next_link(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    append_entries(&app, 5).await;
    // A forger who edits a row and recomputes its own hash still breaks the link from the
    // entry after it.
    app.state
        .db(|c| {
            let mut row: AuditEntry = audit_log::table.find(2i64).first(c)?;
            row.actor = "seller:forged".into();
            let hash = entry_hash(&row.hashed_fields());
            diesel::update(audit_log::table.find(2i64))
                .set((audit_log::actor.eq(&row.actor), audit_log::hash.eq(&hash)))
                .execute(c)?;
            Ok(())
        })
        .await
        .expect("forge");
    let report = app
        .state
        .db(|c| Ok(audit::verify(c)?))
        .await
        .expect("verify");
    assert_eq!(
        report.broken,
        Some(ChainBreak::Unlinked {
            seq: 3,
            previous: 2
        })
    );
}
both_backends!(forged_row_with_a_recomputed_hash_breaks_the_next_link);

async fn deleted_rows_are_found(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    append_entries(&app, 5).await;
    app.execute_sql("DELETE FROM audit_log WHERE seq = 3").await;
    let report = app
        .state
        .db(|c| Ok(audit::verify(c)?))
        .await
        .expect("verify");
    assert_eq!(
        report.broken,
        Some(ChainBreak::Gap {
            seq: 4,
            previous: 2
        })
    );

    app.execute_sql("DELETE FROM audit_log WHERE seq >= 3")
        .await;
    let report = app
        .state
        .db(|c| Ok(audit::verify(c)?))
        .await
        .expect("verify");
    assert_eq!(
        report.broken,
        Some(ChainBreak::Head {
            head_seq: 5,
            last_seq: 2
        })
    );
}
both_backends!(deleted_rows_are_found);
