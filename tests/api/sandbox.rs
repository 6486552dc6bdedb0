//! The sandbox: its documented credentials work, and every listing its table documents
//! yields the reason documented, for every reason code the gate has. The README's table is
//! the table in code.

use std::collections::HashSet;

use serde_json::{Value, json};
use tracegate::listings::ReasonCode;
use tracegate::sandbox::{
    CASES, ISSUER_CLIENT_ID, ISSUER_CLIENT_SECRET, PLATFORM_CLIENT_ID, PLATFORM_CLIENT_SECRET,
    readme_table, request,
};

use crate::both_backends;
use crate::fixtures::token_for_client;
use crate::helpers::{TestApp, TestBackend, TestEnv};

async fn every_documented_listing_yields_its_reason(backend: TestBackend) {
    let env = TestEnv::new(&backend);
    tracegate::sandbox::prepare(&env.config)
        .await
        .expect("sandbox seeds");
    // Seeding again is nothing: the data set is there.
    tracegate::sandbox::prepare(&env.config)
        .await
        .expect("sandbox is there");
    let app = TestApp::start(env.config.clone()).await;
    let platform = token_for_client(&app, PLATFORM_CLIENT_ID, PLATFORM_CLIENT_SECRET).await;

    let mut covered = HashSet::new();
    for case in CASES {
        let response = app
            .post_as("/v1/listing-checks", &platform, request(case))
            .await;
        let status = response.status();
        let decision: Value = response.json().await.expect("decision");
        assert_eq!(status, 200, "{decision}");
        let reasons: Vec<&str> = decision["reasons"]
            .as_array()
            .expect("reasons")
            .iter()
            .filter_map(|r| r["code"].as_str())
            .collect();
        assert!(
            reasons.contains(&case.reason.as_str()),
            "{} ({}): {decision}",
            case.reason.as_str(),
            case.listing_id
        );
        assert_ne!(decision["decision"], "allow", "{decision}");
        covered.insert(case.reason);
    }
    for code in ReasonCode::ALL {
        assert!(
            covered.contains(&code),
            "no sandbox listing yields {}",
            code.as_str()
        );
    }

    // The active lot on its own is allowed.
    let mut allowed = request(&CASES[0]);
    allowed["listing_id"] = json!("sb-allowed");
    allowed["category"] = json!("cosmetics");
    allowed["codes"] = json!([tracegate::sandbox::codes::CLEANSER_LOT]);
    let decision: Value = app
        .post_as("/v1/listing-checks", &platform, allowed)
        .await
        .json()
        .await
        .expect("decision");
    assert_eq!(decision["decision"], "allow", "{decision}");

    // The issuer's credentials work too.
    let issuer = token_for_client(&app, ISSUER_CLIENT_ID, ISSUER_CLIENT_SECRET).await;
    let keys = app.get_as("/v1/issuers/me/keys", &issuer).await;
    assert_eq!(keys.status(), 200);
}
both_backends!(every_documented_listing_yields_its_reason);

#[test]
fn the_readme_documents_the_sandbox_table() {
    let readme = include_str!("../../README.md");
    assert!(
        readme.contains(&readme_table()),
        "README.md's sandbox table differs from tracegate::sandbox::CASES; paste readme_table():\n{}",
        readme_table()
    );
    for credential in [
        PLATFORM_CLIENT_ID,
        PLATFORM_CLIENT_SECRET,
        ISSUER_CLIENT_ID,
        ISSUER_CLIENT_SECRET,
    ] {
        assert!(readme.contains(credential), "{credential} not in README.md");
    }
}

async fn the_sandbox_refuses_a_database_in_use(backend: TestBackend) {
    let (env, app) = TestApp::spawn(&backend).await;
    let response = app
        .post(
            "/v1/accounts",
            json!({ "email": "someone@example.com", "password": "a-long-enough-password-1" }),
        )
        .await;
    assert_eq!(response.status(), 202);
    let refused = tracegate::sandbox::prepare(&env.config)
        .await
        .expect_err("refused");
    assert!(refused.to_string().contains("empty database"), "{refused}");
}
both_backends!(the_sandbox_refuses_a_database_in_use);
