//! Access tokens end with what they were issued under: log-out, a reused refresh token, a
//! password change, a disabled client; on the node that revoked at once, on others within
//! a second.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tracegate::auth::OfficerRole;
use tracegate::clients::ClientKind;
use tracegate::policies::ProvinceScope;

use crate::both_backends;
use crate::fixtures::{PASSWORD, client, officer, token_for_client, verified_seller};
use crate::helpers::{TestApp, TestBackend, TestEnv};

fn access(pair: &Value) -> String {
    pair["access_token"]
        .as_str()
        .expect("access token")
        .to_string()
}

fn refresh(pair: &Value) -> String {
    pair["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string()
}

async fn me(app: &TestApp, token: &str) -> u16 {
    app.get_as("/v1/me", token).await.status().as_u16()
}

async fn logout_ends_the_access_token_at_once(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, pair) = verified_seller(&app).await;
    assert_eq!(me(&app, &access(&pair)).await, 200);
    let response = app
        .post(
            "/v1/auth/logout",
            json!({ "refresh_token": refresh(&pair) }),
        )
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(me(&app, &access(&pair)).await, 401);
}
both_backends!(logout_ends_the_access_token_at_once);

async fn a_reused_refresh_token_ends_the_access_token(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, pair) = verified_seller(&app).await;
    let renewed: Value = app
        .post(
            "/v1/auth/refresh",
            json!({ "refresh_token": refresh(&pair) }),
        )
        .await
        .json()
        .await
        .expect("new pair");
    assert_eq!(me(&app, &access(&renewed)).await, 200);
    let replay = app
        .post(
            "/v1/auth/refresh",
            json!({ "refresh_token": refresh(&pair) }),
        )
        .await;
    assert_eq!(replay.status(), 401);
    assert_eq!(me(&app, &access(&renewed)).await, 401);
    assert_eq!(me(&app, &access(&pair)).await, 401);
}
both_backends!(a_reused_refresh_token_ends_the_access_token);

async fn a_password_change_ends_the_other_sessions_tokens(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, first) = verified_seller(&app).await;
    let second: Value = app
        .post(
            "/v1/auth/login",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await
        .json()
        .await
        .expect("second session");
    let response = app
        .post_as(
            "/v1/me/password",
            &access(&first),
            json!({ "current_password": PASSWORD, "new_password": "maple-lantern-quarry-58" }),
        )
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(me(&app, &access(&first)).await, 200, "this session goes on");
    assert_eq!(me(&app, &access(&second)).await, 401, "the other one ended");
}
both_backends!(a_password_change_ends_the_other_sessions_tokens);

async fn a_disabled_clients_token_stops_working(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (id, secret) = client(&app, ClientKind::Platform).await;
    let token = token_for_client(&app, &id, &secret).await;
    assert_eq!(app.get_as("/v1/clients/me", &token).await.status(), 200);
    let admin = officer(&app, OfficerRole::Admin, ProvinceScope::All).await;
    let response = app
        .client
        .delete(app.url(&format!("/v1/admin/clients/{id}")))
        .bearer_auth(&admin.access_token)
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status(), 204);
    assert_eq!(app.get_as("/v1/clients/me", &token).await.status(), 401);
}
both_backends!(a_disabled_clients_token_stops_working);

async fn another_node_refuses_an_ended_session_within_a_second(backend: TestBackend) {
    let env = TestEnv::new(&backend);
    let first = TestApp::start(env.config.clone()).await;
    let second = TestApp::start(env.config.clone()).await;
    let (_, pair) = verified_seller(&first).await;
    assert_eq!(me(&second, &access(&pair)).await, 200);
    let response = first
        .post(
            "/v1/auth/logout",
            json!({ "refresh_token": refresh(&pair) }),
        )
        .await;
    assert_eq!(response.status(), 204);
    let started = Instant::now();
    while me(&second, &access(&pair)).await != 401 {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the other node still accepts the token after a second"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
both_backends!(another_node_refuses_an_ended_session_within_a_second);
