//! Abuse limits: guesses counted before they are checked, throttles that never deny the
//! holder of the right secret, bounded password hashing.

use serde_json::json;
use tracegate::clients::ClientKind;

use crate::both_backends;
use crate::fixtures::{PASSWORD, client, request_client_token, token_for_client, verified_seller};
use crate::helpers::{TestApp, TestBackend, TestEnv};

async fn parallel_guesses_cannot_outrun_the_account_lock(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, _) = verified_seller(&app).await;
    let guesses = (0..40).map(|i| {
        let request = app
            .client
            .post(app.url("/v1/auth/login"))
            .json(&json!({ "email": email, "password": format!("wrong-guess-{i}") }));
        async move {
            request
                .send()
                .await
                .expect("request sent")
                .status()
                .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + refused, 40, "{statuses:?}");
    assert!(
        checked <= app.state.config.auth.max_failures_per_account as usize,
        "{checked} of 40 parallel guesses were checked"
    );
}
both_backends!(parallel_guesses_cannot_outrun_the_account_lock);

async fn a_right_password_gives_its_attempt_back(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, _) = verified_seller(&app).await;
    // Many right logins from one source never add up to a lock of that source.
    for _ in 0..(app.state.config.auth.max_failures_per_account + 3) {
        let response = app
            .post(
                "/v1/auth/login",
                json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(response.status(), 200);
    }
    let left: i64 = app
        .count_sql("SELECT COALESCE(SUM(failures), 0) AS n FROM login_attempts")
        .await;
    assert_eq!(left, 0, "successful attempts left counts behind");
}
both_backends!(a_right_password_gives_its_attempt_back);

/// An HTTP client that connects from another loopback address: another source.
fn stranger_client() -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("http client")
}

async fn wrong_secrets_from_a_stranger_never_lock_out_the_platform(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (id, secret) = client(&app, ClientKind::Platform).await;
    let stranger = stranger_client();
    for _ in 0..(app.state.config.auth.max_failures_per_account + 2) {
        let response = stranger
            .post(app.url("/v1/oauth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id.as_str()),
                ("client_secret", "tgs_guess"),
            ])
            .send()
            .await
            .expect("request sent");
        assert!(
            [401, 429].contains(&response.status().as_u16()),
            "{}",
            response.status()
        );
    }
    let last = stranger
        .post(app.url("/v1/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", "tgs_guess"),
        ])
        .send()
        .await
        .expect("request sent");
    assert_eq!(last.status(), 429, "the guessing source is throttled");
    // The platform, from its own address, still gets its token.
    let token = token_for_client(&app, &id, &secret).await;
    assert!(!token.is_empty());
}
both_backends!(wrong_secrets_from_a_stranger_never_lock_out_the_platform);

async fn wrong_passwords_from_a_stranger_never_lock_out_the_seller(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, _) = verified_seller(&app).await;
    let stranger = stranger_client();
    for _ in 0..(app.state.config.auth.max_failures_per_account + 2) {
        stranger
            .post(app.url("/v1/auth/login"))
            .json(&json!({ "email": email, "password": "not-the-password" }))
            .send()
            .await
            .expect("request sent");
    }
    let stranger_right = stranger
        .post(app.url("/v1/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .expect("request sent");
    assert_eq!(
        stranger_right.status(),
        429,
        "the guessing source stays locked"
    );
    let own = app
        .post(
            "/v1/auth/login",
            json!({ "email": email, "password": PASSWORD }),
        )
        .await;
    assert_eq!(
        own.status(),
        200,
        "the seller signs in from their own source"
    );
}
both_backends!(wrong_passwords_from_a_stranger_never_lock_out_the_seller);

async fn client_secrets_are_stored_keyed_and_old_hashes_move_over(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (id, secret) = client(&app, ClientKind::Platform).await;
    let keyed = app
        .count_sql(&format!(
            "SELECT COUNT(*) AS n FROM clients WHERE id = '{id}' AND secret_hash LIKE 'hmac-sha256:%'"
        ))
        .await;
    assert_eq!(keyed, 1, "a new secret is stored as a keyed digest");
    // A secret stored by an earlier version (argon2id) still works, and moves over.
    let old = tracegate::auth::password::hash(&app.state.hashing, &secret).expect("hash");
    app.execute_sql(&format!(
        "UPDATE clients SET secret_hash = '{old}' WHERE id = '{id}'"
    ))
    .await;
    token_for_client(&app, &id, &secret).await;
    let keyed = app
        .count_sql(&format!(
            "SELECT COUNT(*) AS n FROM clients WHERE id = '{id}' AND secret_hash LIKE 'hmac-sha256:%'"
        ))
        .await;
    assert_eq!(
        keyed, 1,
        "the argon2 hash was replaced after a right secret"
    );
    let wrong = request_client_token(&app, &id, "tgs_wrong", "grant_type=client_credentials").await;
    assert_eq!(wrong.status(), 401);
}
both_backends!(client_secrets_are_stored_keyed_and_old_hashes_move_over);

async fn a_sign_in_flood_waits_for_a_hashing_turn_then_gets_503(backend: TestBackend) {
    let mut env = TestEnv::new(&backend);
    env.config.auth.hashing_threads = 1;
    env.config.auth.hashing_wait_ms = 20;
    let app = TestApp::start(env.config.clone()).await;
    let flood = (0..24).map(|i| {
        let request = app.client.post(app.url("/v1/auth/login")).json(
            &json!({ "email": format!("nobody-{i}@example.vn"), "password": "whatever-it-is" }),
        );
        async move {
            let response = request.send().await.expect("request sent");
            let retry_after = response.headers().get("retry-after").cloned();
            (response.status().as_u16(), retry_after)
        }
    });
    let answers = futures_util::future::join_all(flood).await;
    let checked = answers.iter().filter(|(s, _)| *s == 401).count();
    let busy: Vec<_> = answers.iter().filter(|(s, _)| *s == 503).collect();
    assert_eq!(checked + busy.len(), 24, "{answers:?}");
    assert!(
        !busy.is_empty(),
        "one hashing thread cannot take 24 at once"
    );
    assert!(
        busy.iter().all(|(_, r)| r.is_some()),
        "503 carries Retry-After"
    );
    // Refused before their check, the busy ones count as no guess.
    let counted = app
        .count_sql("SELECT COALESCE(SUM(failures), 0) AS n FROM login_attempts WHERE throttle_key LIKE 'login-source:%'")
        .await;
    assert_eq!(counted, checked as i64);
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains(&format!(
            "tracegate_attempts_refused_total{{reason=\"hashing_busy\"}} {}",
            busy.len()
        )),
        "{metrics}"
    );
}
both_backends!(a_sign_in_flood_waits_for_a_hashing_turn_then_gets_503);
