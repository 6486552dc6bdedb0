//! Platforms and issuers: client credentials, tokens, and the admin API.

use serde_json::{Value, json};
use tracegate::auth::OfficerRole;
use tracegate::clients::ClientKind;
use tracegate::policies::ProvinceScope;

use crate::both_backends;
use crate::fixtures::{client, officer, request_client_token};
use crate::helpers::{TestApp, TestBackend, problem};

async fn client_credentials_give_a_token_for_protected_routes(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let admin = officer(&app, OfficerRole::Admin, ProvinceScope::All).await;
    let response = app
        .post_as(
            "/v1/admin/clients",
            &admin.access_token,
            json!({ "kind": "platform", "name": "Chợ Tốt" }),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.expect("client");
    let id = created["id"].as_str().expect("id").to_string();
    let secret = created["client_secret"]
        .as_str()
        .expect("secret")
        .to_string();
    assert!(
        created["scopes"]
            .as_array()
            .is_some_and(|s| s.iter().any(|x| x == "listings:check"))
    );

    let response = request_client_token(
        &app,
        &id,
        &secret,
        "grant_type=client_credentials&scope=listings:check",
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let token: Value = response.json().await.expect("token");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["scope"], "listings:check");
    let access = token["access_token"].as_str().expect("at");
    let me = app.get_as("/v1/clients/me", access).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.expect("me");
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["kind"], "platform");
    assert_eq!(me["token_scopes"], json!(["listings:check"]));

    // Credentials in the form work too.
    let form = app
        .client
        .post(app.url("/v1/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={id}&client_secret={secret}"
        ))
        .send()
        .await
        .expect("sent");
    assert_eq!(form.status(), 200);

    let listed: Value = app
        .get_as("/v1/admin/clients", &admin.access_token)
        .await
        .json()
        .await
        .expect("list");
    assert!(
        listed["clients"]
            .as_array()
            .is_some_and(|c| c.iter().any(|x| x["id"] == id.as_str()))
    );
    assert!(
        !listed.to_string().contains(&secret),
        "secrets are never listed"
    );

    let disabled = app
        .client
        .delete(app.url(&format!("/v1/admin/clients/{id}")))
        .bearer_auth(&admin.access_token)
        .send()
        .await
        .expect("sent");
    assert_eq!(disabled.status(), 204);
    let refused = request_client_token(&app, &id, &secret, "grant_type=client_credentials").await;
    assert_eq!(refused.status(), 401);

    let actions = app.audit_actions().await;
    for action in [
        "client.created",
        "client.token_issued",
        "client.disabled",
        "client.authentication_failed",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}
both_backends!(client_credentials_give_a_token_for_protected_routes);

async fn token_endpoint_errors_follow_oauth(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (id, secret) = client(&app, ClientKind::Issuer).await;

    let wrong = request_client_token(&app, &id, "tgs_wrong", "grant_type=client_credentials").await;
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong.headers()["www-authenticate"]
            .to_str()
            .unwrap_or("")
            .starts_with("Basic")
    );
    assert_eq!(problem(wrong).await["error"], "invalid_client");

    let unknown = request_client_token(
        &app,
        "tgc_nosuchclient",
        "tgs_x",
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(unknown.status(), 401);
    assert_eq!(problem(unknown).await["error"], "invalid_client");

    let grant = request_client_token(&app, &id, &secret, "grant_type=password").await;
    assert_eq!(grant.status(), 400);
    assert_eq!(problem(grant).await["error"], "unsupported_grant_type");

    let scope = request_client_token(
        &app,
        &id,
        &secret,
        "grant_type=client_credentials&scope=listings:check",
    )
    .await;
    assert_eq!(scope.status(), 400);
    assert_eq!(problem(scope).await["error"], "invalid_scope");

    let json_body = app
        .post(
            "/v1/oauth/token",
            json!({ "grant_type": "client_credentials" }),
        )
        .await;
    assert_eq!(json_body.status(), 400);
    assert_eq!(problem(json_body).await["error"], "invalid_request");

    let none = app
        .client
        .post(app.url("/v1/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("sent");
    assert_eq!(none.status(), 401);
}
both_backends!(token_endpoint_errors_follow_oauth);

async fn bad_client_input_names_the_field(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let admin = officer(&app, OfficerRole::Admin, ProvinceScope::All).await;
    for (body, field) in [
        (
            json!({ "kind": "issuer", "name": "GS1 Vietnam", "scopes": ["listings:check"] }),
            "scopes",
        ),
        (json!({ "kind": "platform", "name": "  " }), "name"),
        (json!({ "kind": "robot", "name": "x" }), "kind"),
    ] {
        let response = app
            .post_as("/v1/admin/clients", &admin.access_token, body.clone())
            .await;
        assert_eq!(response.status(), 422, "{body}");
        assert_eq!(
            problem(response).await["errors"][0]["field"],
            field,
            "{body}"
        );
    }
}
both_backends!(bad_client_input_names_the_field);
