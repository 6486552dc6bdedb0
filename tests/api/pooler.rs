//! Through a pooler in transaction mode (pgbouncer `pool_mode = transaction`, its URL in
//! `TRACEGATE_TEST_PGBOUNCER_URL`) with `database.pooler = "transaction"`: the service
//! migrates, and real flows run with many requests at once, so that consecutive
//! transactions of one client connection land on different server connections.
//!
//! PostgreSQL only: the test database is made on `TRACEGATE_TEST_POSTGRES_URL` and reached
//! through the pooler under the same name (pgbouncer's `*` database entry).

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};
use tracegate::db::Pooler;

use crate::fixtures::{bound_enterprise_seller, gtin, issuer, post_batch};
use crate::helpers::{TestApp, TestBackend, TestEnv, skip, with_database};

/// URL of a pgbouncer in transaction mode in front of the test PostgreSQL server.
pub const PGBOUNCER_ENV: &str = "TRACEGATE_TEST_PGBOUNCER_URL";

/// The database a PostgreSQL URL names.
fn database_name(url: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    base.rsplit('/').next().unwrap_or("").to_string()
}

/// Posts `body` to `path` as `token` and gives the status and the JSON answer.
async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    let response = app.post_as(path, token, body).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn check(app: &TestApp, platform: &str, listing: &str, code: &str) -> (u16, Value) {
    post(
        app,
        "/v1/listing-checks",
        platform,
        json!({ "shop_id": "shop-1", "listing_id": listing, "category": "cosmetics", "title": "Kem dưỡng da Sen", "codes": [code] }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_flows_run_through_a_transaction_pooler() {
    let Some(backend) = TestBackend::postgres() else {
        return;
    };
    let bouncer = match std::env::var(PGBOUNCER_ENV) {
        Ok(url) if !url.is_empty() => url,
        _ => {
            skip(&format!(
                "set {PGBOUNCER_ENV} to a pgbouncer in transaction mode to run this test"
            ));
            return;
        }
    };
    let mut env = TestEnv::new(&backend);
    let name = database_name(env.database_url());
    env.config.database.url = with_database(&bouncer, &name);
    env.config.database.pooler = Pooler::Transaction;
    // More client connections than the pooler lends server connections.
    env.config.database.max_connections = 12;
    env.config.server.workers = 2;
    // Migrates through the pooler too.
    let app = TestApp::start(env.config.clone()).await;

    let (_, _, platform, _) = bound_enterprise_seller(&app, "shop-1").await;
    let issuer = issuer(&app, "national", None).await;
    let codes: Vec<String> = (0..8)
        .map(|n| format!("(01){}(10)POOL{n}", gtin("893850000030")))
        .collect();
    let batch: Vec<Value> = codes
        .iter()
        .map(|code| json!({ "code": code, "owner": "0799000033", "product_name": "Kem dưỡng Sen", "category": "cosmetics", "origin": "79", "expiry_date": "2030-12-31" }))
        .collect();
    let stored = post_batch(
        &app,
        &issuer,
        "application/json",
        &json!({ "codes": batch }).to_string(),
    )
    .await;
    assert_eq!(stored.status(), 201, "code batch stored through the pooler");

    // Listing checks: decided, stored by the decision writers, answered.
    let answers = join_all((0..160).map(|n| {
        let (app, platform, code) = (&app, &platform, &codes[n % codes.len()]);
        async move { check(app, platform, &format!("pool-{n}"), code).await }
    }))
    .await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["decision"], "allow", "{body}");
    }

    // A recall (a fact change, published in its transaction) while checks run.
    let recalled = &codes[0];
    let (recall, during) = tokio::join!(
        post(
            &app,
            "/v1/issuers/me/code-status",
            &issuer.token,
            json!({ "code": recalled, "status": "recalled", "reason": "Lô hàng nhiễm khuẩn" }),
        ),
        join_all((0..40).map(|n| {
            let (app, platform, code) = (&app, &platform, &codes[1 + n % (codes.len() - 1)]);
            async move { check(app, platform, &format!("during-{n}"), code).await }
        }))
    );
    assert_eq!(recall.0, 200, "{}", recall.1);
    assert!(
        during.iter().all(|(status, _)| *status == 200),
        "{during:?}"
    );
    let (status, body) = check(&app, &platform, "after-recall", recalled).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["decision"], "deny",
        "the recall is seen at once: {body}"
    );

    // Disputes, each filed in a transaction that also queues mail.
    let filed = join_all((0..16).map(|n| {
        let (app, platform) = (&app, &platform);
        async move {
            post(
                app,
                "/v1/disputes",
                platform,
                json!({
                    "shop_id": "shop-1",
                    "listing_id": format!("pool-{n}"),
                    "kind": "counterfeit",
                    "claim": "refund",
                    "description": "Hộp kem không có tem chống giả, mã QR dẫn tới trang lạ.",
                    "buyer": { "reference": format!("buyer-{n}"), "email": format!("mua.hang{n}@example.vn"), "language": "vi" }
                }),
            )
            .await
        }
    }))
    .await;
    for (status, body) in &filed {
        assert_eq!(*status, 201, "{body}");
    }

    // The outbox worker claims and delivers what the disputes queued.
    let queued = app
        .count_sql("SELECT count(*) AS n FROM outbox WHERE kind = 'mail'")
        .await;
    assert!(queued >= 16, "the disputes queued their mail ({queued})");
    let started = Instant::now();
    loop {
        let delivered = app
            .count_sql(
                "SELECT count(*) AS n FROM outbox WHERE kind = 'mail' AND delivered_at IS NOT NULL",
            )
            .await;
        if delivered == queued {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{delivered} of {queued} mails delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let stored = app
        .count_sql("SELECT count(*) AS n FROM listing_checks")
        .await;
    assert!(
        stored >= 201,
        "every answered decision is stored ({stored})"
    );
    let backends = app
        .count_sql("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()")
        .await;
    eprintln!("server connections to the test database behind the pooler: {backends}");
}
