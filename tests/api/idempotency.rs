//! `Idempotency-Key` on creating POSTs: a retry gets the first answer, the same key with
//! another request is refused, keys are per caller and kept 24 hours; and a signed code
//! batch sent again answers with its first receipt.

use serde_json::{Value, json};
use tracegate::auth::OfficerRole;
use tracegate::policies::ProvinceScope;

use crate::both_backends;
use crate::fixtures::{bound_enterprise_seller, gtin, issuer, officer, post_batch};
use crate::helpers::{TestApp, TestBackend, problem};

async fn create_client(
    app: &TestApp,
    token: &str,
    key: Option<&str>,
    name: &str,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/v1/admin/clients"))
        .bearer_auth(token)
        .json(&json!({ "name": name, "kind": "platform" }));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.expect("sent")
}

async fn client_count(app: &TestApp) -> i64 {
    app.count_sql("SELECT COUNT(*) AS n FROM clients").await
}

async fn a_retry_with_the_same_key_gets_the_first_answer(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let admin = officer(&app, OfficerRole::Admin, ProvinceScope::All).await;
    let before = client_count(&app).await;

    let first = create_client(&app, &admin.access_token, Some("key-1"), "Shop A").await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotency-replayed").is_none());
    let first: Value = first.json().await.expect("json");

    let again = create_client(&app, &admin.access_token, Some("key-1"), "Shop A").await;
    assert_eq!(again.status(), 201);
    assert_eq!(
        again
            .headers()
            .get("idempotency-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let again: Value = again.json().await.expect("json");
    assert_eq!(first, again, "the same client, secret included");
    assert_eq!(client_count(&app).await, before + 1, "created once");

    // Without a key, the same request creates another.
    assert_eq!(
        create_client(&app, &admin.access_token, None, "Shop A")
            .await
            .status(),
        201
    );
    assert_eq!(client_count(&app).await, before + 2);
    // One answer kept, sealed.
    assert_eq!(
        app.count_sql("SELECT COUNT(*) AS n FROM idempotency_keys WHERE body_sealed IS NOT NULL")
            .await,
        1
    );
}
both_backends!(a_retry_with_the_same_key_gets_the_first_answer);

async fn the_same_key_with_another_request_is_refused(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let admin = officer(&app, OfficerRole::Admin, ProvinceScope::All).await;
    assert_eq!(
        create_client(&app, &admin.access_token, Some("key-2"), "Shop A")
            .await
            .status(),
        201
    );
    let other = create_client(&app, &admin.access_token, Some("key-2"), "Shop B").await;
    assert_eq!(other.status(), 422);
    let body = problem(other).await;
    assert_eq!(body["errors"][0]["field"], "Idempotency-Key", "{body}");

    // A key that is not visible ASCII, or too long, is named.
    for bad in ["has space", &"k".repeat(256)] {
        let response = create_client(&app, &admin.access_token, Some(bad), "Shop C").await;
        assert_eq!(response.status(), 422);
        assert_eq!(
            problem(response).await["errors"][0]["field"],
            "Idempotency-Key"
        );
    }

    // After 24 hours the key is free again (its time is moved back rather than waited
    // for: the officer's token would expire meanwhile).
    app.execute_sql("UPDATE idempotency_keys SET expires_at = created_at")
        .await;
    let later = create_client(&app, &admin.access_token, Some("key-2"), "Shop B").await;
    assert_eq!(later.status(), 201);
    assert!(later.headers().get("idempotency-replayed").is_none());
}
both_backends!(the_same_key_with_another_request_is_refused);

async fn a_failed_request_does_not_use_up_its_key(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let admin = officer(&app, OfficerRole::Admin, ProvinceScope::All).await;
    let wrong = app
        .client
        .post(app.url("/v1/admin/clients"))
        .bearer_auth(&admin.access_token)
        .header("Idempotency-Key", "key-3")
        .json(&json!({ "name": "", "kind": "platform" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong.status(), 422);
    let fixed = create_client(&app, &admin.access_token, Some("key-3"), "Shop A").await;
    assert_eq!(fixed.status(), 201);
    assert!(fixed.headers().get("idempotency-replayed").is_none());
}
both_backends!(a_failed_request_does_not_use_up_its_key);

async fn keys_belong_to_their_caller(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let one = officer(&app, OfficerRole::Admin, ProvinceScope::All).await;
    let two = officer(&app, OfficerRole::Admin, ProvinceScope::All).await;
    let before = client_count(&app).await;
    let a: Value = create_client(&app, &one.access_token, Some("shared"), "Shop A")
        .await
        .json()
        .await
        .expect("json");
    let b = create_client(&app, &two.access_token, Some("shared"), "Shop A").await;
    assert_eq!(b.status(), 201);
    assert!(b.headers().get("idempotency-replayed").is_none());
    let b: Value = b.json().await.expect("json");
    assert_ne!(a["id"], b["id"]);
    assert_eq!(client_count(&app).await, before + 2);
}
both_backends!(keys_belong_to_their_caller);

async fn a_signed_batch_sent_again_answers_with_its_first_receipt(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    // The codes' owner must be a business verified in tracegate.
    bound_enterprise_seller(&app, "shop-1").await;
    let issuer = issuer(&app, "national", None).await;
    let body = json!({ "codes": [
        { "code": format!("(01){}(10)R1", gtin("893850000031")), "owner": "0799000033",
          "product_name": "Sữa rửa mặt Sen", "category": "cosmetics", "origin": "79",
          "expiry_date": "2030-12-31" }
    ] })
    .to_string();
    let first = post_batch(&app, &issuer, "application/json", &body).await;
    assert_eq!(
        first.status(),
        201,
        "{}",
        first.text().await.unwrap_or_default()
    );
    let first: Value = first.json().await.expect("json");

    // The answer was lost; the issuer sends the same signed bytes again, without a key.
    let again = post_batch(&app, &issuer, "application/json", &body).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.expect("json");
    assert_eq!(again["batch_id"], first["batch_id"]);
    assert_eq!(again["codes"], 1);
    assert_eq!(again["registered_before"], true);
    assert_eq!(
        app.count_sql("SELECT COUNT(*) AS n FROM code_batches")
            .await,
        1
    );

    // With a key, a retry replays the first answer itself.
    let other = json!({ "codes": [
        { "code": format!("(01){}(10)R2", gtin("893850000031")), "owner": "0799000033",
          "product_name": "Sữa rửa mặt Sen", "category": "cosmetics", "origin": "79",
          "expiry_date": "2030-12-31" }
    ] })
    .to_string();
    use ed25519_dalek::Signer;
    let signature = data_encoding::BASE64.encode(&issuer.signing.sign(other.as_bytes()).to_bytes());
    let send = || {
        app.client
            .post(app.url("/v1/issuers/me/code-batches"))
            .bearer_auth(&issuer.token)
            .header("content-type", "application/json")
            .header("Idempotency-Key", "batch-2")
            .header(
                "tracegate-signature",
                format!("keyid={},sig={signature}", issuer.key_id),
            )
            .body(other.clone())
            .send()
    };
    let created = send().await.expect("sent");
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("json");
    let replayed = send().await.expect("sent");
    assert_eq!(replayed.status(), 201);
    assert_eq!(
        replayed
            .headers()
            .get("idempotency-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(replayed.json::<Value>().await.expect("json"), created);
}
both_backends!(a_signed_batch_sent_again_answers_with_its_first_receipt);

async fn concurrent_duplicates_execute_once(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let admin = officer(&app, OfficerRole::Admin, ProvinceScope::All).await;
    let before = client_count(&app).await;

    // Identical requests at once: the key is reserved before the handler runs, so one
    // executes; the others are told it is in progress (409) or, once it answered, get
    // its answer again.
    let answers = futures_util::future::join_all(
        (0..6).map(|_| create_client(&app, &admin.access_token, Some("same-key"), "Shop C")),
    )
    .await;
    let mut executed = 0;
    for answer in answers {
        let replayed = answer.headers().get("idempotency-replayed").is_some();
        match answer.status().as_u16() {
            201 if !replayed => executed += 1,
            201 => {}
            409 => {
                let problem = problem(answer).await;
                assert!(
                    problem["detail"]
                        .as_str()
                        .is_some_and(|d| d.contains("still being processed")),
                    "{problem}"
                );
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(executed, 1);
    assert_eq!(client_count(&app).await, before + 1, "created once");

    // A key whose answer is not recorded (its request in flight, or the node stopped
    // between the handler's commit and the record) is never executed again: 409.
    app.execute_sql(
        "UPDATE idempotency_keys SET status = NULL, body_sealed = NULL, body_key = NULL",
    )
    .await;
    let retry = create_client(&app, &admin.access_token, Some("same-key"), "Shop C").await;
    assert_eq!(retry.status(), 409);
    assert_eq!(client_count(&app).await, before + 1);
}
both_backends!(concurrent_duplicates_execute_once);
