//! Sellers and officers: registration, verification, sessions, passwords, second factor.

use chrono::TimeDelta;
use serde_json::{Value, json};
use tracegate::auth::OfficerRole;
use tracegate::policies::ProvinceScope;

use crate::both_backends;
use crate::fixtures::{
    PASSWORD, enrol_totp, invited_officer, totp_code, unique_email, verified_seller,
};
use crate::helpers::{TestApp, TestBackend, problem};

const NEW_PASSWORD: &str = "maple-lantern-quarry-58";

async fn seller_registers_verifies_refreshes_and_resets(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let email = unique_email("an");

    let response = app
        .post(
            "/v1/accounts",
            json!({ "email": email, "password": PASSWORD, "language": "en" }),
        )
        .await;
    assert_eq!(response.status(), 202);
    let mails = app.mails_to(&email).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].0.contains("Confirm your email"), "{}", mails[0].0);

    // Not verified yet: the right password still cannot sign in.
    let response = app
        .post(
            "/v1/auth/login",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(response.status(), 403);

    let token = app.link_token(&email).await;
    assert_eq!(
        app.post("/v1/accounts/email-verification", json!({ "token": token }))
            .await
            .status(),
        204
    );
    let again = app
        .post("/v1/accounts/email-verification", json!({ "token": token }))
        .await;
    assert_eq!(again.status(), 422, "a link works once");
    assert_eq!(problem(again).await["errors"][0]["field"], "token");

    let response = app
        .post(
            "/v1/auth/login",
            json!({ "email": email.to_uppercase(), "password": PASSWORD }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let first: Value = response.json().await.expect("tokens");
    assert_eq!(first["token_type"], "Bearer");
    let me: Value = app
        .get_as("/v1/me", first["access_token"].as_str().expect("at"))
        .await
        .json()
        .await
        .expect("me");
    assert_eq!(me["email"], email.as_str());
    assert_eq!(me["kind"], "seller");
    assert_eq!(me["email_verified"], true);

    // Refresh rotates; the used refresh token then ends the whole session.
    let response = app
        .post(
            "/v1/auth/refresh",
            json!({ "refresh_token": first["refresh_token"] }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await.expect("tokens");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let reuse = app
        .post(
            "/v1/auth/refresh",
            json!({ "refresh_token": first["refresh_token"] }),
        )
        .await;
    assert_eq!(reuse.status(), 401);
    let after_reuse = app
        .post(
            "/v1/auth/refresh",
            json!({ "refresh_token": second["refresh_token"] }),
        )
        .await;
    assert_eq!(after_reuse.status(), 401, "reuse revokes the whole family");

    // A new session, then a password reset by email ends it.
    let response = app
        .post(
            "/v1/auth/login",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    let third: Value = response.json().await.expect("tokens");
    assert_eq!(
        app.post("/v1/auth/password-reset", json!({ "email": email }))
            .await
            .status(),
        202
    );
    let reset_token = app.link_token(&email).await;
    let weak = app
        .post(
            "/v1/auth/password-reset/confirm",
            json!({ "token": reset_token, "new_password": "password1234" }),
        )
        .await;
    assert_eq!(weak.status(), 422);
    assert_eq!(problem(weak).await["errors"][0]["field"], "new_password");
    let response = app
        .post(
            "/v1/auth/password-reset/confirm",
            json!({ "token": reset_token, "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(response.status(), 204);
    let dead = app
        .post(
            "/v1/auth/refresh",
            json!({ "refresh_token": third["refresh_token"] }),
        )
        .await;
    assert_eq!(
        dead.status(),
        401,
        "sessions from before the reset are dead"
    );
    let old = app
        .post(
            "/v1/auth/login",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(old.status(), 401);
    let new = app
        .post(
            "/v1/auth/login",
            json!({ "email": email, "password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(new.status(), 200);
    let subjects: Vec<String> = app
        .mails_to(&email)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("Reset your tracegate password")),
        "{subjects:?}"
    );
    assert!(
        subjects.iter().any(|s| s.contains("password was changed")),
        "{subjects:?}"
    );

    let actions = app.audit_actions().await;
    for action in [
        "account.created",
        "account.email_verified",
        "login.succeeded",
        "session.reuse_detected",
        "password.reset",
        "login.failed",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
    let report = app
        .state
        .db(|c| Ok(tracegate::audit::verify(c)?))
        .await
        .expect("verify");
    assert!(report.broken.is_none());
}
both_backends!(seller_registers_verifies_refreshes_and_resets);

async fn registration_and_reset_do_not_reveal_who_has_an_account(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, _) = verified_seller(&app).await;
    let stranger = unique_email("nobody");

    let known = app
        .post(
            "/v1/accounts",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    let unknown = app
        .post(
            "/v1/accounts",
            json!({ "email": unique_email("new"), "password": PASSWORD }),
        )
        .await;
    assert_eq!(known.status(), unknown.status());
    let (known, unknown): (Value, Value) = (
        known.json().await.expect("json"),
        unknown.json().await.expect("json"),
    );
    assert_eq!(known, unknown);
    let subjects: Vec<String> = app
        .mails_to(&email)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert!(
        subjects.last().is_some_and(|s| s.contains("đăng ký lại")),
        "the owner is told instead: {subjects:?}"
    );

    let known = app
        .post("/v1/auth/password-reset", json!({ "email": email }))
        .await;
    let unknown = app
        .post("/v1/auth/password-reset", json!({ "email": stranger }))
        .await;
    assert_eq!(known.status(), 202);
    assert_eq!(unknown.status(), 202);
    assert_eq!(
        known.text().await.expect("body"),
        unknown.text().await.expect("body")
    );
    assert!(app.mails_to(&stranger).await.is_empty());

    let wrong = app
        .post(
            "/v1/auth/login",
            json!({ "email": email, "password": "wrong-password-here" }),
        )
        .await;
    let nobody = app
        .post(
            "/v1/auth/login",
            json!({ "email": stranger, "password": "wrong-password-here" }),
        )
        .await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(nobody.status(), 401);
    let (wrong, nobody) = (problem(wrong).await, problem(nobody).await);
    assert_eq!(wrong["detail"], nobody["detail"]);
}
both_backends!(registration_and_reset_do_not_reveal_who_has_an_account);

async fn bad_registration_input_names_the_field(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let cases = [
        (
            json!({ "email": "not-an-email", "password": PASSWORD }),
            "email",
        ),
        (
            json!({ "email": unique_email("x"), "password": "short" }),
            "password",
        ),
        (
            json!({ "email": unique_email("x"), "password": "password123456" }),
            "password",
        ),
        (json!({ "email": unique_email("x") }), "password"),
        (
            json!({ "email": unique_email("x"), "password": PASSWORD, "language": "fr" }),
            "language",
        ),
    ];
    for (body, field) in cases {
        let response = app.post("/v1/accounts", body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
        let problem = problem(response).await;
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
}
both_backends!(bad_registration_input_names_the_field);

async fn repeated_failures_lock_the_account_with_retry_after(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, _) = verified_seller(&app).await;
    let stranger = unique_email("ghost");
    for target in [&email, &stranger] {
        for _ in 0..5 {
            let r = app
                .post(
                    "/v1/auth/login",
                    json!({ "email": target, "password": "not-the-password" }),
                )
                .await;
            assert_eq!(r.status(), 401);
        }
        let locked = app
            .post(
                "/v1/auth/login",
                json!({ "email": target, "password": PASSWORD }),
            )
            .await;
        assert_eq!(locked.status(), 429, "locked even with the right password");
        let retry_after: u64 = locked.headers()["retry-after"]
            .to_str()
            .expect("ascii")
            .parse()
            .expect("seconds");
        assert!((1..=30).contains(&retry_after), "{retry_after}");
    }
    app.clock.advance(TimeDelta::seconds(31));
    let response = app
        .post(
            "/v1/auth/login",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(response.status(), 200, "the lock lapses");
}
both_backends!(repeated_failures_lock_the_account_with_retry_after);

async fn password_change_keeps_this_session_and_ends_the_others(backend: TestBackend) {
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
        .expect("tokens");
    let token = first["access_token"].as_str().expect("at");
    let wrong = app
        .post_as(
            "/v1/me/password",
            token,
            json!({ "current_password": "nope-nope-nope", "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(wrong.status(), 422);
    assert_eq!(
        problem(wrong).await["errors"][0]["field"],
        "current_password"
    );
    let response = app
        .post_as(
            "/v1/me/password",
            token,
            json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        app.post(
            "/v1/auth/refresh",
            json!({ "refresh_token": first["refresh_token"] })
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        app.post(
            "/v1/auth/refresh",
            json!({ "refresh_token": second["refresh_token"] })
        )
        .await
        .status(),
        401
    );
}
both_backends!(password_change_keeps_this_session_and_ends_the_others);

async fn officer_invitation_then_totp_is_required_at_login(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let officer = invited_officer(&app, OfficerRole::Admin, ProvinceScope::All).await;
    let subjects: Vec<String> = app
        .mails_to(&officer.email)
        .await
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert!(subjects[0].contains("invitation"), "{subjects:?}");

    // Password alone: own-account routes work, officer routes ask for a second factor.
    let me = app.get_as("/v1/me", &officer.access_token).await;
    assert_eq!(me.status(), 200);
    let body: Value = me.json().await.expect("me");
    assert_eq!(body["role"], "admin");
    assert_eq!(body["provinces"], json!(["*"]));
    let denied = app.get_as("/v1/admin/clients", &officer.access_token).await;
    assert_eq!(denied.status(), 403);
    assert!(
        problem(denied).await["detail"]
            .as_str()
            .unwrap_or("")
            .contains("second factor")
    );

    let secret = enrol_totp(&app, &officer.access_token).await;
    let again = app
        .post_as("/v1/me/totp", &officer.access_token, json!({}))
        .await;
    assert_eq!(again.status(), 409, "one confirmed factor at a time");

    let no_code = app
        .post(
            "/v1/auth/login",
            json!({ "email": officer.email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(no_code.status(), 401);
    assert_eq!(problem(no_code).await["type"], "/problems/totp-required");
    let bad_code = app
        .post(
            "/v1/auth/login",
            json!({ "email": officer.email, "password": PASSWORD, "totp_code": "000000" }),
        )
        .await;
    assert_eq!(bad_code.status(), 401);

    let code = totp_code(&app, &secret);
    let response = app
        .post(
            "/v1/auth/login",
            json!({ "email": officer.email, "password": PASSWORD, "totp_code": code }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let pair: Value = response.json().await.expect("tokens");
    let replay = app
        .post(
            "/v1/auth/login",
            json!({ "email": officer.email, "password": PASSWORD, "totp_code": code }),
        )
        .await;
    assert_eq!(replay.status(), 401, "a code works once");

    let admin_token = pair["access_token"].as_str().expect("at");
    assert_eq!(
        app.get_as("/v1/admin/clients", admin_token).await.status(),
        200
    );
    // A refreshed token keeps the second factor.
    let refreshed: Value = app
        .post(
            "/v1/auth/refresh",
            json!({ "refresh_token": pair["refresh_token"] }),
        )
        .await
        .json()
        .await
        .expect("tokens");
    assert_eq!(
        app.get_as(
            "/v1/admin/clients",
            refreshed["access_token"].as_str().expect("at")
        )
        .await
        .status(),
        200
    );
}
both_backends!(officer_invitation_then_totp_is_required_at_login);

async fn admin_creates_officers_with_valid_provinces_only(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let admin = crate::fixtures::officer(&app, OfficerRole::Admin, ProvinceScope::All).await;
    let email = unique_email("officer");
    let bad = app
        .post_as(
            "/v1/admin/officers",
            &admin.access_token,
            json!({ "email": email, "role": "officer", "provinces": ["79", "02"] }),
        )
        .await;
    assert_eq!(bad.status(), 422);
    let body = problem(bad).await;
    assert_eq!(body["errors"][0]["field"], "provinces");
    assert!(
        body["detail"].as_str().unwrap_or("").contains("\"02\""),
        "{body}"
    );

    let created = app
        .post_as(
            "/v1/admin/officers",
            &admin.access_token,
            json!({ "email": email, "role": "supervisor", "provinces": ["79", "01"] }),
        )
        .await;
    assert_eq!(created.status(), 201);
    let duplicate = app
        .post_as(
            "/v1/admin/officers",
            &admin.access_token,
            json!({ "email": email, "role": "officer", "provinces": ["79"] }),
        )
        .await;
    assert_eq!(duplicate.status(), 409);
    let mails = app.mails_to(&email).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].1.contains("01, 79"), "{}", mails[0].1);
}
both_backends!(admin_creates_officers_with_valid_provinces_only);
