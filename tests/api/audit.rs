//! The hash-chained audit log: concurrent writers, and tampering found by `audit verify`.

use diesel::prelude::*;
use tracegate::audit::{self, AuditEntry, ChainBreak, NewAuditEntry, entry_hash};
use tracegate::clock::Clock;
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

/// Signs the current head now, as the checkpoint worker does when one is due.
async fn checkpoint_now(app: &TestApp) -> audit::Checkpoint {
    let signer = audit::CheckpointSigner::new(&app.state.keys);
    let now = app.clock.now();
    app.state
        .db(move |c| Ok(audit::checkpoint_if_due(c, &signer, now, None)?))
        .await
        .expect("checkpoint")
        .expect("a head past the last checkpoint")
}

async fn verify_with_the_key(app: &TestApp) -> audit::VerifyReport {
    let key = audit::CheckpointSigner::new(&app.state.keys).public_key();
    app.state
        .db(move |c| Ok(audit::verify_against(c, Some(&key))?))
        .await
        .expect("verify")
}

fn verify_command(env: &crate::helpers::TestEnv) -> (bool, String) {
    let output = env.command(&["audit", "verify"]);
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

async fn rows_cut_from_the_end_with_the_head_rolled_back_are_found_by_a_checkpoint(
    backend: TestBackend,
) {
    let (env, app) = TestApp::spawn(&backend).await;
    append_entries(&app, 6).await;
    let checkpoint = checkpoint_now(&app).await;
    assert_eq!(checkpoint.seq, 6);
    // Someone with write access removes the last two entries and sets the head back to
    // the entry before them: the chain alone holds together.
    let hash_of_4: String = app
        .state
        .db(|c| {
            Ok(audit_log::table
                .find(4i64)
                .select(audit_log::hash)
                .first(c)?)
        })
        .await
        .expect("hash");
    app.execute_sql("DELETE FROM audit_log WHERE seq > 4").await;
    app.execute_sql(&format!(
        "UPDATE audit_head SET seq = 4, hash = '{hash_of_4}' WHERE id = 1"
    ))
    .await;
    let chain_only = app
        .state
        .db(|c| Ok(audit::verify(c)?))
        .await
        .expect("verify");
    assert!(chain_only.broken.is_none(), "the chain alone cannot tell");

    let report = verify_with_the_key(&app).await;
    assert_eq!(
        report.broken,
        Some(ChainBreak::Truncated {
            checkpoint_seq: 6,
            last_seq: 4
        })
    );
    let (ok, stdout) = verify_command(&env);
    assert!(!ok, "{stdout}");
    assert!(stdout.contains("entries were removed"), "{stdout}");
}
both_backends!(rows_cut_from_the_end_with_the_head_rolled_back_are_found_by_a_checkpoint);

async fn a_row_rewritten_with_every_later_hash_recomputed_is_found_by_a_checkpoint(
    backend: TestBackend,
) {
    let (env, app) = TestApp::spawn(&backend).await;
    append_entries(&app, 6).await;
    checkpoint_now(&app).await;
    // Edit entry 3, then recompute its hash, every later link and hash, and the head.
    app.state
        .db(|c| {
            let rows: Vec<AuditEntry> = audit_log::table
                .filter(audit_log::seq.ge(3i64))
                .order(audit_log::seq.asc())
                .load(c)?;
            let mut previous: String = audit_log::table
                .find(2i64)
                .select(audit_log::hash)
                .first(c)?;
            for mut row in rows {
                if row.seq == 3 {
                    row.actor = "seller:forged".into();
                }
                row.prev_hash = previous.clone();
                let hash = entry_hash(&row.hashed_fields());
                diesel::update(audit_log::table.find(row.seq))
                    .set((
                        audit_log::actor.eq(&row.actor),
                        audit_log::prev_hash.eq(&row.prev_hash),
                        audit_log::hash.eq(&hash),
                    ))
                    .execute(c)?;
                previous = hash;
            }
            diesel::update(tracegate::db::schema::audit_head::table)
                .set(tracegate::db::schema::audit_head::hash.eq(&previous))
                .execute(c)?;
            Ok(())
        })
        .await
        .expect("rewrite");
    let chain_only = app
        .state
        .db(|c| Ok(audit::verify(c)?))
        .await
        .expect("verify");
    assert!(chain_only.broken.is_none(), "the chain alone cannot tell");

    let report = verify_with_the_key(&app).await;
    assert_eq!(
        report.broken,
        Some(ChainBreak::Rewritten { seq: 6, since: 0 })
    );
    let (ok, stdout) = verify_command(&env);
    assert!(!ok, "{stdout}");
    assert!(stdout.contains("was rewritten"), "{stdout}");

    // Nor can the forger sign a new checkpoint for the rewritten head.
    app.execute_sql(
        "UPDATE audit_checkpoints SET head_hash = (SELECT hash FROM audit_head WHERE id = 1)",
    )
    .await;
    assert_eq!(
        verify_with_the_key(&app).await.broken,
        Some(ChainBreak::CheckpointForged { seq: 6 })
    );
}
both_backends!(a_row_rewritten_with_every_later_hash_recomputed_is_found_by_a_checkpoint);

async fn checkpoints_are_signed_when_due_published_and_name_what_they_do_not_cover(
    backend: TestBackend,
) {
    let env = crate::helpers::TestEnv::new(&backend);
    let mut config = env.config.clone();
    config.audit.checkpoint_every_entries = 4;
    let app = TestApp::start(config).await;
    append_entries(&app, 4).await;
    // The worker looks once a second.
    let mut published = serde_json::Value::Null;
    for _ in 0..50 {
        published = app
            .get("/v1/audit/checkpoints")
            .await
            .json()
            .await
            .expect("json");
        if published["checkpoints"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let checkpoint = &published["checkpoints"][0];
    assert_eq!(checkpoint["seq"], 4, "{published}");
    assert!(
        crate::helpers::captured_logs().contains("audit checkpoint signed"),
        "logged"
    );
    // Anyone can check it with the key in the JWKS.
    let jwks: serde_json::Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .expect("jwks");
    let kid = checkpoint["key_id"].as_str().expect("kid");
    assert_eq!(published["key"]["kid"], kid);
    let jwk = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid)
        .expect("the audit key is published");
    use data_encoding::BASE64URL_NOPAD;
    use ed25519_dalek::Verifier;
    let x: [u8; 32] = BASE64URL_NOPAD
        .decode(jwk["x"].as_str().expect("x").as_bytes())
        .expect("b64")
        .try_into()
        .expect("32 bytes");
    let key = ed25519_dalek::VerifyingKey::from_bytes(&x).expect("key");
    let signature = ed25519_dalek::Signature::from_slice(
        &BASE64URL_NOPAD
            .decode(checkpoint["signature"].as_str().expect("sig").as_bytes())
            .expect("b64"),
    )
    .expect("signature");
    let message = format!(
        "tracegate audit checkpoint\n4\n{}\n{}",
        checkpoint["head_hash"].as_str().expect("hash"),
        checkpoint["signed_at"].as_str().expect("time")
    );
    key.verify(message.as_bytes(), &signature)
        .expect("the signature holds");
    // Bad input is a problem naming the parameter.
    let bad = app.get("/v1/audit/checkpoints?limit=0").await;
    assert_eq!(bad.status(), 422);

    // Entries after the last checkpoint hold together, and are named as not vouched for.
    append_entries(&app, 2).await;
    let (ok, stdout) = verify_command(&env);
    assert!(ok, "{stdout}");
    assert!(
        stdout.contains("cannot vouch for entries 5 to 6"),
        "{stdout}"
    );
    let (ok, stdout) = {
        let output = env.command(&[
            "audit",
            "verify",
            "--public-key",
            jwk["x"].as_str().expect("x"),
        ]);
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    assert!(
        ok && stdout.contains("1 signed checkpoints hold"),
        "{stdout}"
    );
}
both_backends!(checkpoints_are_signed_when_due_published_and_name_what_they_do_not_cover);
