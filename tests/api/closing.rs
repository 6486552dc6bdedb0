//! Closing an account and what follows: the person confirms with their password, every
//! session ends, the account answers sign-in like an unknown one, a seller with an open
//! case or a bound shop is refused, and the retention run pseudonymises the account once
//! the policy's period after closing has passed, with the audit chain still intact.

use std::path::PathBuf;

use chrono::TimeDelta;
use serde_json::{Value, json};
use tracegate::clients::ClientKind;
use tracegate::retention::{self, RetentionPolicy, RetentionReport};

use crate::both_backends;
use crate::fixtures::{
    AN, KHOA, PASSWORD, bound_enterprise_seller, client_token, verified_person, verified_seller,
};
use crate::helpers::{TestApp, TestBackend, problem};

async fn close(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post_as("/v1/me/close", token, json!({ "password": password }))
        .await
}

async fn retention_run(app: &TestApp) -> RetentionReport {
    let policy = RetentionPolicy::load(None).expect("policy");
    let export_dir = PathBuf::from(&app.state.config.retention.export_dir);
    let evidence_dir = PathBuf::from(&app.state.config.disputes.evidence_dir);
    let retention_signer = tracegate::audit::CheckpointSigner::new(&app.state.keys);
    let now = tracegate::clock::Clock::now(app.clock.as_ref());
    app.state
        .db(move |conn| {
            retention::run(
                conn,
                &policy,
                &retention_signer,
                &export_dir,
                &evidence_dir,
                now,
            )
            .map_err(tracegate::error::AppError::internal)
        })
        .await
        .expect("retention run")
}

/// The problem a sign-in with these credentials gets, without its per-request fields.
async fn login_problem(app: &TestApp, email: &str, password: &str) -> (u16, Value) {
    let response = app
        .post(
            "/v1/auth/login",
            json!({ "email": email, "password": password }),
        )
        .await;
    let status = response.status().as_u16();
    let body = problem(response).await;
    (
        status,
        json!({ "type": body["type"], "title": body["title"], "detail": body["detail"] }),
    )
}

async fn a_person_closes_their_own_account_and_can_no_longer_sign_in(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, pair) = verified_seller(&app).await;
    let token = pair["access_token"].as_str().expect("access token");
    let refresh = pair["refresh_token"].as_str().expect("refresh token");

    // Nobody else can close it: no token, or a machine client's token.
    let anonymous = app
        .post("/v1/me/close", json!({ "password": PASSWORD }))
        .await;
    assert_eq!(anonymous.status(), 401);
    let platform = client_token(&app, ClientKind::Platform).await;
    assert_eq!(close(&app, &platform, PASSWORD).await.status(), 403);
    // Another person's token closes that person's account, never this one.
    let (_, other) = verified_seller(&app).await;
    let other = other["access_token"].as_str().expect("access token");
    assert_eq!(close(&app, other, PASSWORD).await.status(), 204);
    assert_eq!(app.get_as("/v1/me", token).await.status(), 200);

    let wrong = close(&app, token, "not-the-password-at-all").await;
    assert_eq!(wrong.status(), 422);
    let body = problem(wrong).await;
    assert!(body.to_string().contains("password"), "{body}");
    let unknown_field = app
        .post_as(
            "/v1/me/close",
            token,
            json!({ "password": PASSWORD, "why": "x" }),
        )
        .await;
    assert!(
        unknown_field.status().is_client_error(),
        "{}",
        unknown_field.status()
    );
    assert_eq!(
        app.get_as("/v1/me", token).await.status(),
        200,
        "still open"
    );

    assert_eq!(close(&app, token, PASSWORD).await.status(), 204);
    assert_eq!(
        app.get_as("/v1/me", token).await.status(),
        401,
        "the session ended"
    );
    let refreshed = app
        .post("/v1/auth/refresh", json!({ "refresh_token": refresh }))
        .await;
    assert_eq!(refreshed.status(), 401);

    // Signing in answers exactly as for an address that never had an account.
    let closed = login_problem(&app, &email, PASSWORD).await;
    let unknown = login_problem(&app, "nobody.here@example.vn", PASSWORD).await;
    assert_eq!(closed.0, 401);
    assert_eq!(closed, unknown);
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "account.closed")
    );
}
both_backends!(a_person_closes_their_own_account_and_can_no_longer_sign_in);

async fn a_seller_with_a_bound_shop_or_an_open_case_cannot_close(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, _, platform, seller) = bound_enterprise_seller(&app, "shop-1").await;
    let refused = close(&app, &seller, PASSWORD).await;
    assert_eq!(refused.status(), 409);
    let body = problem(refused).await;
    let detail = body["detail"].as_str().expect("detail");
    assert!(detail.contains("1 shop binding(s)"), "{detail}");

    let filed = app
        .post_as(
            "/v1/disputes",
            &platform,
            json!({
                "shop_id": "shop-1",
                "listing_id": "l-1",
                "kind": "counterfeit",
                "claim": "refund",
                "description": "Hộp kem không có tem chống giả.",
                "buyer": { "reference": "buyer-1", "email": "mua.hang@example.vn", "language": "vi" }
            }),
        )
        .await;
    assert_eq!(filed.status(), 201);
    let list: Value = app
        .get_as("/v1/me/bindings", &seller)
        .await
        .json()
        .await
        .expect("bindings");
    let binding = list["bindings"][0]["id"].as_str().expect("binding id");
    let unbound = app
        .client
        .delete(app.url(&format!("/v1/me/bindings/{binding}")))
        .bearer_auth(&seller)
        .send()
        .await
        .expect("sent");
    assert_eq!(unbound.status(), 204);

    let refused = close(&app, &seller, PASSWORD).await;
    assert_eq!(refused.status(), 409);
    let body = problem(refused).await;
    let detail = body["detail"].as_str().expect("detail");
    assert!(detail.contains("1 dispute case(s)"), "{detail}");
    assert!(!detail.contains("binding"), "{detail}");
    assert_eq!(app.get_as("/v1/me", &seller).await.status(), 200);
}
both_backends!(a_seller_with_a_bound_shop_or_an_open_case_cannot_close);

async fn closed_accounts_are_pseudonymised_on_schedule_and_the_chain_verifies(
    backend: TestBackend,
) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, token) = verified_person(&app, AN).await;
    let business = app
        .post_as(
            "/v1/me/business",
            &token,
            json!({ "kind": "enterprise", "code": "0799000033" }),
        )
        .await;
    assert_eq!(business.status(), 200);
    // A second seller, still open, keeps everything.
    let (kept_email, _) = verified_person(&app, KHOA).await;
    assert_eq!(close(&app, &token, PASSWORD).await.status(), 204);

    let days = RetentionPolicy::load(None)
        .expect("policy")
        .closed_accounts
        .days;
    assert_eq!(
        retention_run(&app).await.accounts_pseudonymised,
        0,
        "kept for the policy's period"
    );
    assert_eq!(
        app.count_sql(&format!(
            "SELECT count(*) AS n FROM accounts WHERE email = '{email}'"
        ))
        .await,
        1
    );

    app.clock.advance(TimeDelta::days(i64::from(days) + 1));
    let report = retention_run(&app).await;
    assert_eq!(report.accounts_pseudonymised, 1, "{report:?}");
    for (sql, expected, what) in [
        (format!("SELECT count(*) AS n FROM accounts WHERE email = '{email}'"), 0, "email gone"),
        (format!("SELECT count(*) AS n FROM accounts WHERE email = '{kept_email}'"), 1, "the open account keeps its email"),
        ("SELECT count(*) AS n FROM accounts WHERE pseudonymised_at IS NOT NULL AND password_hash IS NULL AND email LIKE 'closed-%@closed.invalid'".into(), 1, "pseudonymised"),
        ("SELECT count(*) AS n FROM sellers WHERE national_id_sealed IS NOT NULL OR national_id_index IS NOT NULL OR national_id_masked IS NOT NULL OR full_name IS NOT NULL OR birth_date IS NOT NULL".into(), 1, "only the open seller keeps identity data"),
        ("SELECT count(*) AS n FROM sellers WHERE business_code = '0799000033' AND full_name IS NULL".into(), 1, "the public business code stays"),
        ("SELECT count(*) AS n FROM identity_holders".into(), 1, "the place under the national ID is freed"),
        (format!("SELECT count(*) AS n FROM outbox WHERE destination = '{email}'"), 0, "no mail held for the address"),
        ("SELECT count(*) AS n FROM audit_log WHERE action = 'retention.pseudonymised' AND details LIKE '%\"accounts\":1%'".into(), 1, "counts audited"),
    ] {
        assert_eq!(app.count_sql(&sql).await, expected, "{what}: {sql}");
    }
    let leaked = app
        .count_sql(&format!(
            "SELECT count(*) AS n FROM audit_log WHERE details LIKE '%{email}%' OR details LIKE '%{}%' OR details LIKE '%{}%'",
            AN.national_id, AN.full_name
        ))
        .await;
    assert_eq!(leaked, 0, "no personal data in the audit log");
    let intact = app
        .state
        .db(|conn| Ok(tracegate::audit::verify(conn)?))
        .await
        .expect("verify");
    assert!(intact.broken.is_none(), "the audit chain still verifies");
    assert_eq!(
        retention_run(&app).await.accounts_pseudonymised,
        0,
        "once only"
    );

    // The address is free again: signing in with it still fails, and it can register anew.
    let (status, _) = login_problem(&app, &email, PASSWORD).await;
    assert_eq!(status, 401);
    let again = app
        .post(
            "/v1/accounts",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(again.status(), 202);
}
both_backends!(closed_accounts_are_pseudonymised_on_schedule_and_the_chain_verifies);

async fn registering_with_a_closed_accounts_address_answers_as_always_and_tells_the_mailbox_when_it_frees(
    backend: TestBackend,
) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, pair) = verified_seller(&app).await;
    let token = pair["access_token"].as_str().expect("access token");
    assert_eq!(close(&app, token, PASSWORD).await.status(), 204);
    let before = app.mails_to(&email).await.len();

    let register = |address: String| {
        let app = &app;
        async move {
            let response = app
                .post(
                    "/v1/accounts",
                    json!({ "email": address, "password": PASSWORD }),
                )
                .await;
            let status = response.status().as_u16();
            (status, response.text().await.expect("body"))
        }
    };
    // The person registering learns nothing: the answer is the one a new address gets.
    let closed = register(email.clone()).await;
    let fresh = register("someone.new@example.vn".into()).await;
    assert_eq!(closed, fresh);
    assert_eq!(closed.0, 202);

    // The mailbox is told the truth: closed, when, and from when the address is free.
    let mails = app.mails_to(&email).await;
    assert_eq!(mails.len(), before + 1);
    let (subject, text) = mails.last().expect("a mail").clone();
    let now = tracegate::clock::Clock::now(app.clock.as_ref());
    // The policy the service started with, as the retention run applies it.
    let days = app.state.retention.closed_accounts.days;
    let day = |at: chrono::DateTime<chrono::Utc>| {
        tracegate::disputes::calendar::local(at)
            .format("%d/%m/%Y")
            .to_string()
    };
    assert!(
        subject.to_lowercase().contains("closed") || subject.contains("đã đóng"),
        "{subject}"
    );
    assert!(text.contains(&day(now)), "{text}");
    assert!(
        text.contains(&day(now + TimeDelta::days(i64::from(days)))),
        "{text}"
    );
    assert!(!text.contains("reset-password"), "no reset offered: {text}");
    assert_eq!(
        app.count_sql("SELECT count(*) AS n FROM accounts WHERE email LIKE '%someone.new%'")
            .await,
        1
    );
    assert_eq!(
        app.count_sql(&format!(
            "SELECT count(*) AS n FROM accounts WHERE email = '{email}'"
        ))
        .await,
        1,
        "no second account under the address"
    );
    assert_eq!(
        app.count_sql("SELECT count(*) AS n FROM audit_log WHERE action = 'account.registration_repeated' AND details LIKE '%\"closed\":true%'")
            .await,
        1
    );
}
both_backends!(
    registering_with_a_closed_accounts_address_answers_as_always_and_tells_the_mailbox_when_it_frees
);
