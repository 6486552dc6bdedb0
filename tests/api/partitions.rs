//! The decision log by month on PostgreSQL: the service keeps month partitions ahead, and
//! a decision lands in the partition of its month.

use std::time::{Duration, Instant};

use chrono::{Months, TimeDelta};
use serde_json::json;
use tracegate::clock::Clock;
use tracegate::db::partitions::{MONTHS_AHEAD, PARTITIONED, partition_name};
use tracegate::maintenance::PartitionKeeper;

use crate::fixtures::{bound_enterprise_seller, gtin, issuer, post_batch};
use crate::helpers::{TestApp, TestBackend};

async fn partition_exists(app: &TestApp, name: &str) -> bool {
    app.count_sql(&format!(
        "SELECT count(*) AS n FROM pg_class WHERE relname = '{name}' AND relispartition"
    ))
    .await
        == 1
}

async fn keeper_round(app: &TestApp) -> Vec<String> {
    let keeper = PartitionKeeper {
        pool: app.state.pool.clone(),
        clock: app.state.clock.clone(),
        node: app.state.node.clone(),
        interval: Duration::from_secs(3600),
    };
    tokio::task::spawn_blocking(move || keeper.round())
        .await
        .expect("task")
        .expect("round")
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

    let (_, _, platform, _) = bound_enterprise_seller(&app, "shop-1").await;
    let issuer = issuer(&app, "national", None).await;
    let code = format!("(01){}(10)MONTH", gtin("893850000030"));
    let body = json!({ "codes": [{ "code": code, "owner": "0799000033", "product_name": "Kem dưỡng Sen", "category": "cosmetics", "origin": "79", "expiry_date": "2030-12-31" }] }).to_string();
    assert_eq!(
        post_batch(&app, &issuer, "application/json", &body)
            .await
            .status(),
        201
    );
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
