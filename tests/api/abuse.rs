//! Abuse limits: guesses counted before they are checked, throttles that never deny the
//! holder of the right secret, bounded password hashing.

use serde_json::json;

use crate::both_backends;
use crate::fixtures::{PASSWORD, verified_seller};
use crate::helpers::{TestApp, TestBackend};

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
