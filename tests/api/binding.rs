//! Shops bound to verified sellers; a business that leaves the register suspends its
//! sellers, and every bound platform hears of it by signed webhook.

use chrono::TimeDelta;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tracegate::clients::ClientKind;
use tracegate::config::RegisterKind;

use crate::both_backends;
use crate::fixtures::{
    AN, KHOA, client, client_token, token_for_client, verified_person, verified_seller,
};
use crate::helpers::{TestApp, TestBackend, TestEnv, problem};
use crate::stubs::HookServer;

async fn binding_code(app: &TestApp, seller: &str) -> String {
    let response = app.post_as("/v1/me/binding-codes", seller, json!({})).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.expect("json");
    body["code"].as_str().expect("code").to_string()
}

async fn bind(app: &TestApp, platform: &str, code: &str, shop: &str) -> reqwest::Response {
    app.post_as(
        "/v1/seller-bindings",
        platform,
        json!({ "binding_code": code, "shop_id": shop, "shop_name": "Sen Việt Official" }),
    )
    .await
}

async fn verified_seller_binds_a_shop_and_can_revoke_it(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, unverified) = verified_seller(&app).await;
    let refused = app
        .post_as(
            "/v1/me/binding-codes",
            unverified["access_token"].as_str().expect("token"),
            json!({}),
        )
        .await;
    assert_eq!(refused.status(), 409, "unverified sellers cannot bind");

    let (email, seller) = verified_person(&app, AN).await;
    app.post_as(
        "/v1/me/business",
        &seller,
        json!({ "kind": "enterprise", "code": "0799000033" }),
    )
    .await;
    let platform = client_token(&app, ClientKind::Platform).await;
    let code = binding_code(&app, &seller).await;
    assert_eq!(code.len(), 11);

    let response = bind(&app, &platform, &code.to_lowercase(), "shop-42").await;
    assert_eq!(response.status(), 201);
    let bound: Value = response.json().await.expect("json");
    assert_eq!(bound["status"], "verified");
    assert_eq!(bound["kind"], "enterprise");
    assert_eq!(bound["level"], 3);
    assert_eq!(
        bound["trader"]["legal_name"],
        "Công ty TNHH Mỹ phẩm Sen Việt"
    );
    assert_eq!(bound["trader"]["business_code"], "0799000033");
    assert_eq!(bound["trader"]["contact_email"], email.as_str());
    assert!(!bound.to_string().contains(AN.national_id));

    let reused = bind(&app, &platform, &code, "shop-43").await;
    assert_eq!(reused.status(), 422, "a code works once");
    assert_eq!(problem(reused).await["errors"][0]["field"], "binding_code");
    let second = binding_code(&app, &seller).await;
    assert_eq!(
        bind(&app, &platform, &second, "shop-42").await.status(),
        409,
        "the shop is bound already"
    );

    let by_shop = app.get_as("/v1/sellers/by-shop/shop-42", &platform).await;
    assert_eq!(by_shop.status(), 200);
    let other_platform = client_token(&app, ClientKind::Platform).await;
    assert_eq!(
        app.get_as("/v1/sellers/by-shop/shop-42", &other_platform)
            .await
            .status(),
        404,
        "only the binding platform sees it"
    );

    let list: Value = app
        .get_as("/v1/me/bindings", &seller)
        .await
        .json()
        .await
        .expect("json");
    let binding_id = list["bindings"][0]["id"].as_str().expect("id").to_string();
    assert_eq!(list["bindings"][0]["platform_name"], "Test client");
    let revoked = app
        .client
        .delete(app.url(&format!("/v1/me/bindings/{binding_id}")))
        .bearer_auth(&seller)
        .send()
        .await
        .expect("sent");
    assert_eq!(revoked.status(), 204);
    assert_eq!(
        app.get_as("/v1/sellers/by-shop/shop-42", &platform)
            .await
            .status(),
        404
    );
    let actions = app.audit_actions().await;
    assert!(
        actions.iter().any(|a| a == "binding.created")
            && actions.iter().any(|a| a == "binding.revoked")
    );

    let no_code = bind(&app, &platform, "", "shop-9").await;
    assert_eq!(no_code.status(), 422);
    let bad_shop = app
        .post_as(
            "/v1/seller-bindings",
            &platform,
            json!({ "binding_code": "AAAAA-AAAAA", "shop_id": "" }),
        )
        .await;
    assert_eq!(problem(bad_shop).await["errors"][0]["field"], "shop_id");
}
both_backends!(verified_seller_binds_a_shop_and_can_revoke_it);

pub(crate) fn verify_signature(secret: &str, header: &str, body: &str) -> bool {
    let Some((t, v1)) = header.split_once(',') else {
        return false;
    };
    let (Some(t), Some(v1)) = (t.strip_prefix("t="), v1.strip_prefix("v1=")) else {
        return false;
    };
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.{body}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == v1
}

async fn dissolved_business_suspends_its_seller_and_bound_platforms_hear_of_it(
    backend: TestBackend,
) {
    // A business register export the test can change.
    let mut env = TestEnv::new(&backend);
    let register = env.dir.path().join("business.json");
    let synthetic = include_str!("../../src/identity/synthetic/business.json");
    std::fs::write(&register, synthetic).expect("write register");
    env.config.identity.business_register = RegisterKind::Local;
    env.config.identity.business_file = Some(register.display().to_string());
    let app = TestApp::start(env.config.clone()).await;

    let (email, seller) = verified_person(&app, AN).await;
    let view: Value = app
        .post_as(
            "/v1/me/business",
            &seller,
            json!({ "kind": "enterprise", "code": "0799000033" }),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["status"], "verified");

    let hooks = HookServer::start();
    let (platform_id, platform_secret) = client(&app, ClientKind::Platform).await;
    let platform = token_for_client(&app, &platform_id, &platform_secret).await;
    let webhook: Value = app
        .client
        .put(app.url("/v1/platforms/me/webhook"))
        .bearer_auth(&platform)
        .json(&json!({ "url": hooks.url }))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let secret = webhook["secret"].as_str().expect("secret").to_string();
    let code = binding_code(&app, &seller).await;
    assert_eq!(bind(&app, &platform, &code, "shop-7").await.status(), 201);

    // The register now says the enterprise is dissolved; a day later the monitor looks.
    let changed = synthetic.replace(
        "\"name\": \"Công ty TNHH Mỹ phẩm Sen Việt\",\n      \"status\": \"active\"",
        "\"name\": \"Công ty TNHH Mỹ phẩm Sen Việt\",\n      \"status\": \"dissolved\"",
    );
    assert_ne!(changed, synthetic, "the record was changed");
    std::fs::write(&register, changed).expect("rewrite register");
    let file = std::fs::File::options()
        .write(true)
        .open(&register)
        .expect("open");
    file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(10))
        .expect("touch");
    app.clock.advance(TimeDelta::hours(25));

    let received = hooks.wait_for("seller.suspended").await;
    let event: Value = serde_json::from_str(&received.body).expect("event JSON");
    assert_eq!(event["type"], "seller.suspended");
    assert_eq!(event["data"]["shop_id"], "shop-7");
    assert_eq!(event["data"]["reason"], "business_dissolved");
    assert_eq!(received.header("tracegate-event"), Some("seller.suspended"));
    assert_eq!(received.header("tracegate-event-id"), event["id"].as_str());
    let signature = received.header("tracegate-signature").expect("signed");
    assert!(
        verify_signature(&secret, signature, &received.body),
        "the signature verifies with the platform's secret"
    );
    assert!(!verify_signature("whsec_other", signature, &received.body));

    let platform = token_for_client(&app, &platform_id, &platform_secret).await;
    let seller_now: Value = app
        .get_as("/v1/sellers/by-shop/shop-7", &platform)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(seller_now["status"], "suspended");
    let mails = app.mails_to(&email).await;
    assert!(
        mails.iter().any(|(s, _)| s.contains("tạm ngừng")),
        "the seller is told: {mails:?}"
    );
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "seller.suspended")
    );

    // A suspended person cannot verify a new seller account.
    let (_, other) = verified_seller(&app).await;
    let view: Value =
        crate::fixtures::submit_identity(&app, other["access_token"].as_str().expect("token"), AN)
            .await
            .json()
            .await
            .expect("json");
    // The seller learns only that it is not confirmed; officers see why.
    assert_eq!(view["identity"]["reason"], "identity_not_confirmed");
    assert_eq!(
        app.count_sql(
            "SELECT count(*) AS n FROM sellers WHERE identity_reason = 'person_suspended'"
        )
        .await,
        1
    );
}
both_backends!(dissolved_business_suspends_its_seller_and_bound_platforms_hear_of_it);

async fn webhooks_are_retried_until_the_platform_accepts(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let hooks = HookServer::start();
    hooks.answer_with(500);
    let platform = client_token(&app, ClientKind::Platform).await;
    let bad_url = app
        .client
        .put(app.url("/v1/platforms/me/webhook"))
        .bearer_auth(&platform)
        .json(&json!({ "url": "http://shop.example/hook" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(bad_url.status(), 422);
    app.client
        .put(app.url("/v1/platforms/me/webhook"))
        .bearer_auth(&platform)
        .json(&json!({ "url": hooks.url }))
        .send()
        .await
        .expect("sent");

    let (_, seller) = verified_person(&app, KHOA).await;
    let code = binding_code(&app, &seller).await;
    bind(&app, &platform, &code, "shop-1").await;
    let list: Value = app
        .get_as("/v1/me/bindings", &seller)
        .await
        .json()
        .await
        .expect("json");
    let binding_id = list["bindings"][0]["id"].as_str().expect("id").to_string();
    app.client
        .delete(app.url(&format!("/v1/me/bindings/{binding_id}")))
        .bearer_auth(&seller)
        .send()
        .await
        .expect("sent");

    let first = hooks.wait_for("binding.revoked").await;
    // The platform failed; after the back-off the same event (same id) comes again.
    let rotated: Value = app
        .post_as("/v1/platforms/me/webhook/secret", &platform, json!({}))
        .await
        .json()
        .await
        .expect("json");
    hooks.answer_with(200);
    app.clock.advance(TimeDelta::minutes(2));
    let mut deliveries = Vec::new();
    for _ in 0..100 {
        deliveries = hooks_received(&hooks, "binding.revoked");
        if deliveries.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(deliveries.len() >= 2, "retried");
    let retry = deliveries.last().expect("retry");
    assert_eq!(
        retry.header("tracegate-event-id"),
        first.header("tracegate-event-id")
    );
    let secret = rotated["secret"].as_str().expect("secret");
    assert!(
        verify_signature(
            secret,
            retry.header("tracegate-signature").expect("signed"),
            &retry.body
        ),
        "retries use the new secret"
    );
}
both_backends!(webhooks_are_retried_until_the_platform_accepts);

fn hooks_received(hooks: &HookServer, needle: &str) -> Vec<crate::stubs::Received> {
    hooks
        .all()
        .into_iter()
        .filter(|r| r.body.contains(needle))
        .collect()
}
