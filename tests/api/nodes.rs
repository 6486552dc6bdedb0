//! Several nodes on one database: outbox lanes (a hanging webhook endpoint delays only its
//! own platform), each message delivered once by two nodes, a message whose node died
//! taken over after its short lease, deadlines acted on once by two deadline workers, a
//! seller reminded once by two registry monitors, and a recall made on one node denied by
//! another within a second.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use diesel::prelude::*;
use serde_json::{Value, json};
use tracegate::clients::ClientKind;
use tracegate::clock::Clock;
use tracegate::db::schema::outbox;
use tracegate::notify::outbox::{OutboxKind, enqueue, enqueue_as};
use tracegate::notify::{RenderedMail, webhooks};

use crate::both_backends;
use crate::fixtures::{
    bound_enterprise_seller, client, gtin, issuer, post_batch, token_for_client,
};
use crate::helpers::{TestApp, TestBackend, TestEnv};
use crate::stubs::HookServer;

/// A webhook endpoint that accepts connections and never answers.
struct HangingEndpoint {
    url: String,
    accepted: Arc<AtomicUsize>,
}

impl HangingEndpoint {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://127.0.0.1:{}/hooks/tracegate",
            listener.local_addr().expect("addr").port()
        );
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        Self { url, accepted }
    }
}

/// A platform whose webhooks go to `url`; returns its client id.
async fn platform_hooked_to(app: &TestApp, url: &str) -> String {
    let (platform_id, secret) = client(app, ClientKind::Platform).await;
    let token = token_for_client(app, &platform_id, &secret).await;
    let response = app
        .client
        .put(app.url("/v1/platforms/me/webhook"))
        .bearer_auth(&token)
        .json(&json!({ "url": url }))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200, "webhook URL set");
    platform_id
}

fn mail_payload(to: &str, n: usize) -> String {
    serde_json::to_string(&RenderedMail {
        to: to.into(),
        subject: format!("Thông báo {n}"),
        text: "Nội dung".into(),
        html: "<p>Nội dung</p>".into(),
    })
    .expect("mail JSON")
}

/// Queues `mails` mails and `hooks` webhook events to `platform_id`, in one transaction;
/// returns their ids.
async fn queue(app: &TestApp, platform_id: &str, mails: usize, hooks: usize) -> Vec<String> {
    let (now, platform) = (app.clock.now(), platform_id.to_string());
    app.state
        .db(move |conn| {
            Ok(conn.transaction(|conn| {
                let mut ids = Vec::new();
                for n in 0..mails {
                    let to = format!("nguoi.nhan{n}@example.vn");
                    ids.push(enqueue(
                        conn,
                        now,
                        OutboxKind::Mail,
                        &to,
                        &mail_payload(&to, n),
                    )?);
                }
                for n in 0..hooks {
                    let id = uuid::Uuid::now_v7().to_string();
                    let body = json!({ "id": id, "type": "seller.suspended", "n": n }).to_string();
                    ids.push(enqueue_as(
                        conn,
                        &id,
                        now,
                        OutboxKind::Webhook,
                        &webhooks::destination(&platform),
                        &body,
                    )?);
                }
                diesel::QueryResult::Ok(ids)
            })?)
        })
        .await
        .expect("queued")
}

/// (delivered_at set, attempts) of an outbox message.
async fn delivery(app: &TestApp, id: &str) -> (bool, i32) {
    let id = id.to_string();
    let (delivered, attempts): (Option<chrono::NaiveDateTime>, i32) = app
        .state
        .db(move |conn| {
            Ok(outbox::table
                .find(id)
                .select((outbox::delivered_at, outbox::attempts))
                .first(conn)?)
        })
        .await
        .expect("outbox row");
    (delivered.is_some(), attempts)
}

async fn delivered_count(app: &TestApp) -> i64 {
    app.count_sql("SELECT count(*) AS n FROM outbox WHERE delivered_at IS NOT NULL")
        .await
}

fn eml_files(env: &TestEnv) -> usize {
    std::fs::read_dir(&env.config.mail.outbox_dir)
        .map(|dir| {
            dir.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
        .unwrap_or(0)
}

async fn a_hanging_webhook_endpoint_does_not_delay_mail(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let hanging = HangingEndpoint::start();
    let platform_id = platform_hooked_to(&app, &hanging.url).await;
    queue(&app, &platform_id, 0, 5).await;
    let started = Instant::now();
    while hanging.accepted.load(Ordering::SeqCst) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the webhook delivery starts"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mail = queue(&app, &platform_id, 1, 0).await.remove(0);
    let queued = Instant::now();
    while !delivery(&app, &mail).await.0 {
        assert!(
            queued.elapsed() < Duration::from_secs(2),
            "mail waits behind a hanging webhook endpoint"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        hanging.accepted.load(Ordering::SeqCst),
        1,
        "the platform's lane delivers one event at a time"
    );
}
both_backends!(a_hanging_webhook_endpoint_does_not_delay_mail);

async fn two_nodes_deliver_each_message_once(backend: TestBackend) {
    let env = TestEnv::new(&backend);
    let first = TestApp::start(env.config.clone()).await;
    // Delivers from the same database; only its outbox worker matters here.
    let _second = TestApp::start(env.config.clone()).await;
    let hooks = HookServer::start();
    let platform_id = platform_hooked_to(&first, &hooks.url).await;
    const EACH: usize = 40;
    let ids = queue(&first, &platform_id, EACH, EACH).await;

    let started = Instant::now();
    while delivered_count(&first).await < ids.len() as i64 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{} of {} delivered",
            delivered_count(&first).await,
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut received: HashMap<String, usize> = HashMap::new();
    for hook in hooks.all() {
        let id = hook.header("tracegate-event-id").expect("event id");
        *received.entry(id.to_string()).or_default() += 1;
    }
    assert_eq!(received.len(), EACH, "every event arrived");
    assert!(
        received.values().all(|&n| n == 1),
        "no event arrived twice: {received:?}"
    );
    assert_eq!(eml_files(&env), EACH, "every mail sent once");
    assert_eq!(
        first
            .count_sql("SELECT count(*) AS n FROM outbox WHERE attempts <> 1")
            .await,
        0,
        "each message claimed once"
    );
}
both_backends!(two_nodes_deliver_each_message_once);

async fn a_message_whose_node_died_is_delivered_after_its_lease(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let hooks = HookServer::start();
    let platform_id = platform_hooked_to(&app, &hooks.url).await;
    // The message as a node leaves it when killed mid-delivery: claimed, never recorded.
    let (now, platform) = (app.clock.now(), platform_id.clone());
    let lease = TimeDelta::seconds(i64::from(app.state.config.mail.lease_secs));
    let id: String = app
        .state
        .db(move |conn| {
            Ok(conn.transaction(|conn| {
                let id = uuid::Uuid::now_v7().to_string();
                let body = json!({ "id": id, "type": "seller.suspended" }).to_string();
                enqueue_as(
                    conn,
                    &id,
                    now,
                    OutboxKind::Webhook,
                    &webhooks::destination(&platform),
                    &body,
                )?;
                diesel::update(outbox::table.find(&id))
                    .set((
                        outbox::locked_until.eq((now + lease).naive_utc()),
                        outbox::lease_holder.eq("node-killed"),
                        outbox::attempts.eq(1),
                    ))
                    .execute(conn)?;
                diesel::QueryResult::Ok(id)
            })?)
        })
        .await
        .expect("queued");

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(delivery(&app, &id).await, (false, 1), "the lease holds");
    assert!(hooks.all().is_empty());

    app.clock.advance(lease + TimeDelta::seconds(1));
    let started = Instant::now();
    while !delivery(&app, &id).await.0 {
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "another node takes the message over once its lease ran out"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(delivery(&app, &id).await, (true, 2));
    let received = hooks.all();
    assert_eq!(received.len(), 1);
    assert_eq!(
        received[0].header("tracegate-event-id"),
        Some(id.as_str()),
        "the event id is the message id, the same on every attempt"
    );
}
both_backends!(a_message_whose_node_died_is_delivered_after_its_lease);

/// Files a case about `listing` as the platform; returns its seller-answer deadline.
async fn file_case(app: &TestApp, platform: &str, listing: &str) -> chrono::DateTime<chrono::Utc> {
    let response = app
        .post_as(
            "/v1/disputes",
            platform,
            json!({
                "shop_id": "shop-1",
                "listing_id": listing,
                "kind": "counterfeit",
                "claim": "refund",
                "description": "Hộp kem không có tem chống giả, mã QR dẫn tới trang lạ.",
                "buyer": { "reference": listing, "email": "mua.hang@example.vn", "language": "vi" }
            }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let case: Value = response.json().await.expect("case");
    chrono::DateTime::parse_from_rfc3339(case["deadlines"]["seller_answer"].as_str().expect("due"))
        .expect("time")
        .with_timezone(&chrono::Utc)
}

async fn two_deadline_workers_act_once_on_each_deadline(backend: TestBackend) {
    let env = TestEnv::new(&backend);
    let first = TestApp::start(env.config.clone()).await;
    let second = TestApp::start(env.config.clone()).await;
    let (_, _, platform, _) = bound_enterprise_seller(&first, "shop-1").await;
    const CASES: usize = 6;
    let mut due = None;
    for n in 0..CASES {
        due = Some(file_case(&first, &platform, &format!("listing-{n}")).await);
    }
    let due = due.expect("cases filed");
    for app in [&first, &second] {
        let now = app.clock.now();
        app.clock.advance(due - now + TimeDelta::hours(1));
    }
    let mails_before = first
        .count_sql("SELECT count(*) AS n FROM outbox WHERE kind = 'mail'")
        .await;

    let (a, b, c, d) = tokio::join!(
        first.dispute_round(),
        second.dispute_round(),
        second.dispute_round(),
        first.dispute_round()
    );
    assert_eq!(
        a.escalated + b.escalated + c.escalated + d.escalated,
        CASES,
        "{a:?} {b:?} {c:?} {d:?}"
    );
    let escalations = first
        .audit_actions()
        .await
        .iter()
        .filter(|action| action.ends_with("escalated"))
        .count();
    assert_eq!(escalations, CASES, "one audit entry per escalation");
    let mails = first
        .count_sql("SELECT count(*) AS n FROM outbox WHERE kind = 'mail'")
        .await;
    let (e, f) = tokio::join!(first.dispute_round(), second.dispute_round());
    assert_eq!(e.escalated + f.escalated, 0, "nothing left to do");
    assert_eq!(
        first
            .count_sql("SELECT count(*) AS n FROM outbox WHERE kind = 'mail'")
            .await,
        mails,
        "no mail sent twice"
    );
    assert!(mails > mails_before, "the escalations were told by mail");
}
both_backends!(two_deadline_workers_act_once_on_each_deadline);

async fn decide(app: &TestApp, platform: &str, listing: &str, code: &str) -> String {
    let response = app
        .post_as(
            "/v1/listing-checks",
            platform,
            json!({ "shop_id": "shop-1", "listing_id": listing, "category": "cosmetics", "title": "Kem dưỡng da Sen", "codes": [code] }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let decision: Value = response.json().await.expect("decision");
    decision["decision"].as_str().unwrap_or("").to_string()
}

async fn a_recall_on_one_node_is_denied_by_another_within_a_second(backend: TestBackend) {
    let env = TestEnv::new(&backend);
    let first = TestApp::start(env.config.clone()).await;
    let second = TestApp::start(env.config.clone()).await;
    let (_, _, platform, _) = bound_enterprise_seller(&first, "shop-1").await;
    let issuer = issuer(&first, "national", None).await;
    let code = format!("(01){}(10)NODES", gtin("893850000030"));
    let body = json!({ "codes": [{ "code": code, "owner": "0799000033", "product_name": "Kem dưỡng Sen", "category": "cosmetics", "origin": "79", "expiry_date": "2030-12-31" }] }).to_string();
    assert_eq!(
        post_batch(&first, &issuer, "application/json", &body)
            .await
            .status(),
        201
    );
    // The second node learns of the new code through the change feed too.
    let started = Instant::now();
    while decide(&second, &platform, "warm-up", &code).await != "allow" {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the code is known"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let recalled = first
        .post_as(
            "/v1/issuers/me/code-status",
            &issuer.token,
            json!({ "code": code, "status": "recalled", "reason": "Lô hàng nhiễm khuẩn" }),
        )
        .await;
    assert_eq!(recalled.status(), 200);
    let recalled_at = Instant::now();
    assert_eq!(
        decide(&first, &platform, "after-1", &code).await,
        "deny",
        "at once on the node that recalled"
    );
    let mut n = 0;
    while decide(&second, &platform, &format!("after-{n}"), &code).await != "deny" {
        assert!(
            recalled_at.elapsed() < Duration::from_secs(1),
            "the other node still allows the recalled code after a second"
        );
        n += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "recall seen by the other node after {} ms",
        recalled_at.elapsed().as_millis()
    );
}
both_backends!(a_recall_on_one_node_is_denied_by_another_within_a_second);

async fn two_registry_monitors_remind_a_seller_once(backend: TestBackend) {
    let env = TestEnv::new(&backend);
    let first = TestApp::start(env.config.clone()).await;
    let second = TestApp::start(env.config.clone()).await;
    let (email, _) = crate::fixtures::verified_person(&first, crate::fixtures::KHOA).await;
    // Both monitors run a round every second (test configuration), on clocks 30 days
    // before the verification ends.
    for app in [&first, &second] {
        app.clock.advance(TimeDelta::days(336));
    }
    let reminders = || async {
        first
            .mails_to(&email)
            .await
            .iter()
            .filter(|(subject, _)| subject.contains("sắp hết hạn"))
            .count()
    };
    let started = Instant::now();
    while reminders().await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "a reminder is mailed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A few more rounds of both monitors.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(reminders().await, 1, "reminded once by two nodes");
}
both_backends!(two_registry_monitors_remind_a_seller_once);
