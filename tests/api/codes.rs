//! Codes over HTTP: any signed-in caller can check how tracegate reads a code.

use serde_json::{Value, json};

use crate::both_backends;
use crate::fixtures::verified_seller;
use crate::helpers::{TestApp, TestBackend, problem};

async fn codes_are_parsed_to_their_canonical_key(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, pair) = verified_seller(&app).await;
    let token = pair["access_token"].as_str().expect("token");
    let parsed: Value = app
        .post_as(
            "/v1/codes/parse",
            token,
            json!({ "code": "https://brand.example.vn/01/9501101020917/21/A%2F1" }),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(parsed["form"], "digital_link");
    assert_eq!(parsed["canonical"], "/01/09501101020917/21/A%2F1");
    assert_eq!(parsed["serial"], "A/1");
    assert_eq!(
        parsed["digital_link"],
        format!("http://127.0.0.1:8080/01/09501101020917/21/A%2F1")
    );

    let bad = app
        .post_as(
            "/v1/codes/parse",
            token,
            json!({ "code": "(01)09501101020917(17)261399" }),
        )
        .await;
    assert_eq!(bad.status(), 422);
    let body = problem(bad).await;
    assert_eq!(body["errors"][0]["field"], "code");
    assert!(
        body["detail"].as_str().unwrap_or("").contains("(17)"),
        "{body}"
    );
}
both_backends!(codes_are_parsed_to_their_canonical_key);
