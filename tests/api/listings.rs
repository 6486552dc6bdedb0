//! The listing gate end to end: issuers register signed batches, platforms ask, decisions
//! carry reasons and a verifiable attestation.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::both_backends;
use crate::fixtures::{
    BICH, bound_enterprise_seller, gtin, issuer, post_batch, token_for_client, verified_person,
};
use crate::helpers::{TestApp, TestBackend, problem};

fn batch(rows: Value) -> String {
    json!({ "codes": rows }).to_string()
}

fn row(code: &str, owner: &str, category: &str) -> Value {
    json!({ "code": code, "owner": owner, "product_name": "Sữa rửa mặt Sen", "category": category, "origin": "79", "expiry_date": "2030-12-31" })
}

async fn ask(
    app: &TestApp,
    platform: &str,
    listing: &str,
    shop: &str,
    category: &str,
    codes: &[&str],
) -> Value {
    let response = app
        .post_as(
            "/v1/listing-checks",
            platform,
            json!({ "shop_id": shop, "listing_id": listing, "category": category, "title": "Sữa rửa mặt", "codes": codes }),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("decision")
}

fn reason_codes(decision: &Value) -> Vec<String> {
    decision["reasons"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|x| x["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn registered_code_from_the_owner_is_allowed_with_a_verifiable_attestation(
    backend: TestBackend,
) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, _, platform, _) = bound_enterprise_seller(&app, "shop-1").await;
    let issuer = issuer(&app, "national", None).await;
    let lot_code = format!("(01){}(10)L2026", gtin("893850000001"));
    let response = post_batch(
        &app,
        &issuer,
        "application/json",
        &batch(json!([row(&lot_code, "0799000033", "cosmetics")])),
    )
    .await;
    assert_eq!(
        response.status(),
        201,
        "{}",
        response.text().await.unwrap_or_default()
    );

    let decision = ask(
        &app,
        &platform,
        "listing-1",
        "shop-1",
        "cosmetics",
        &[&lot_code],
    )
    .await;
    assert_eq!(decision["decision"], "allow", "{decision}");
    assert_eq!(decision["reasons"], json!([]));
    assert_eq!(decision["codes"][0]["status"], "active");
    assert_eq!(decision["category"], "cosmetics");
    assert!(
        decision["policy_version"]
            .as_str()
            .is_some_and(|v| v.len() == 16)
    );

    // Verified by an independent JWT library against the published key set.
    let jwks: jsonwebtoken::jwk::JwkSet = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .expect("jwks");
    let token = decision["attestation"].as_str().expect("attestation");
    let header = jsonwebtoken::decode_header(token).expect("header");
    let jwk = jwks
        .find(header.kid.as_deref().expect("kid"))
        .expect("published key");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let claims =
        jsonwebtoken::decode::<Value>(token, &key, &validation).expect("attestation verifies");
    assert_eq!(claims.claims["decision"], "allow");
    assert_eq!(claims.claims["sub"], decision["id"]);
    assert_eq!(claims.claims["listing_id"], "listing-1");
    let mut forged = token.to_string();
    forged.replace_range(forged.len() - 4.., "AAAA");
    assert!(
        jsonwebtoken::decode::<Value>(&forged, &key, &validation).is_err(),
        "a changed signature fails"
    );

    // The same content gets the same stored decision; different content a new one.
    let again = ask(
        &app,
        &platform,
        "listing-1",
        "shop-1",
        "cosmetics",
        &[&lot_code],
    )
    .await;
    assert_eq!(again["id"], decision["id"]);
    assert_eq!(again["attestation"], decision["attestation"]);
    let changed = ask(&app, &platform, "listing-1", "shop-1", "cosmetics", &[]).await;
    assert_ne!(changed["id"], decision["id"]);
    let fetched: Value = app
        .get_as(
            &format!(
                "/v1/listing-checks/{}",
                decision["id"].as_str().expect("id")
            ),
            &platform,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(fetched["attestation"], decision["attestation"]);
}
both_backends!(registered_code_from_the_owner_is_allowed_with_a_verifiable_attestation);

async fn each_reason_is_given_with_its_code(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, _, platform, _) = bound_enterprise_seller(&app, "shop-1").await;
    let issuer = issuer(&app, "national", None).await;
    // A second verified business, owner of other codes.
    let (_, bich) = verified_person(&app, BICH).await;
    app.post_as(
        "/v1/me/business",
        &bich,
        json!({ "kind": "enterprise", "code": "0109000015" }),
    )
    .await;

    let ours = format!("(01){}(10)A1", gtin("893850000002"));
    let expired = format!("(01){}(10)OLD", gtin("893850000003"));
    let theirs = format!("(01){}(10)T1", gtin("893850000004"));
    let product_only = gtin("893850000005");
    let mut expired_row = row(&expired, "0799000033", "cosmetics");
    expired_row["expiry_date"] = json!("2020-01-31");
    let rows = json!([
        row(&ours, "0799000033", "cosmetics"),
        expired_row,
        row(&theirs, "0109000015", "food"),
        row(&product_only, "0799000033", "cosmetics"),
    ]);
    assert_eq!(
        post_batch(&app, &issuer, "application/json", &batch(rows))
            .await
            .status(),
        201
    );

    let cases: Vec<(&str, &str, Vec<String>, &str, &str)> = vec![
        (
            "unbound",
            "no-such-shop",
            vec![ours.clone()],
            "deny",
            "seller_not_bound",
        ),
        (
            "malformed",
            "shop-1",
            vec!["(01)123".into()],
            "deny",
            "code_malformed",
        ),
        (
            "unregistered",
            "shop-1",
            vec![format!("(01){}(10)X", gtin("893850000099"))],
            "deny",
            "code_unregistered",
        ),
        (
            "expired",
            "shop-1",
            vec![expired.clone()],
            "deny",
            "product_expired",
        ),
        (
            "not authorised",
            "shop-1",
            vec![theirs.clone()],
            "deny",
            "seller_not_authorized",
        ),
        (
            "level",
            "shop-1",
            vec![product_only.clone()],
            "deny",
            "code_level_insufficient",
        ),
        ("no code", "shop-1", vec![], "deny", "code_missing"),
    ];
    for (name, shop, codes, decision, code) in cases {
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        let answer = ask(
            &app,
            &platform,
            &format!("l-{name}"),
            shop,
            "cosmetics",
            &codes,
        )
        .await;
        assert_eq!(answer["decision"], decision, "{name}: {answer}");
        assert!(
            reason_codes(&answer).contains(&code.to_string()),
            "{name}: {answer}"
        );
    }
    // An unregistered code in a lenient category goes to review instead.
    let lenient = ask(
        &app,
        &platform,
        "l-general",
        "shop-1",
        "general",
        &[&format!("(01){}", gtin("893850000098"))],
    )
    .await;
    assert_eq!(lenient["decision"], "review", "{lenient}");

    // Category rules: electronics needs business lines the seller does not have.
    let electronics = ask(
        &app,
        &platform,
        "l-electronics",
        "shop-1",
        "electronics",
        &[],
    )
    .await;
    assert!(
        reason_codes(&electronics).contains(&"business_line_missing".to_string()),
        "{electronics}"
    );

    // Origin claimed differs from the registered one.
    let response = app
        .post_as(
            "/v1/listing-checks",
            &platform,
            json!({ "shop_id": "shop-1", "listing_id": "l-origin", "category": "cosmetics", "title": "x", "codes": [ours], "origin": "01" }),
        )
        .await;
    let origin: Value = response.json().await.expect("json");
    assert!(
        reason_codes(&origin).contains(&"origin_mismatch".to_string()),
        "{origin}"
    );

    // The owner authorises the seller's business as distributor: now allowed.
    let authorised = app
        .post_as(
            "/v1/me/distributors",
            &bich,
            json!({ "code": theirs, "distributor": "0799000033", "valid_until": "2099-12-31" }),
        )
        .await;
    assert_eq!(authorised.status(), 201);
    let now_allowed = ask(
        &app,
        &platform,
        "l-distributor",
        "shop-1",
        "cosmetics",
        &[&theirs],
    )
    .await;
    assert_eq!(now_allowed["decision"], "allow", "{now_allowed}");
}
both_backends!(each_reason_is_given_with_its_code);

async fn recall_denies_new_listings_and_withdraws_allowed_ones_by_webhook(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (platform_id, _, platform, _) = bound_enterprise_seller(&app, "shop-1").await;
    let issuer = issuer(&app, "national", None).await;
    let code = format!("(01){}(10)R1", gtin("893850000010"));
    post_batch(
        &app,
        &issuer,
        "application/json",
        &batch(json!([row(&code, "0799000033", "cosmetics")])),
    )
    .await;
    let allowed = ask(
        &app,
        &platform,
        "listing-r",
        "shop-1",
        "cosmetics",
        &[&code],
    )
    .await;
    assert_eq!(allowed["decision"], "allow");

    let other_issuer = crate::fixtures::issuer(&app, "national", None).await;
    let forbidden = app
        .post_as(
            "/v1/issuers/me/code-status",
            &other_issuer.token,
            json!({ "code": code, "status": "recalled", "reason": "x" }),
        )
        .await;
    assert_eq!(forbidden.status(), 403, "only the code's issuer");
    let recalled = app
        .post_as(
            "/v1/issuers/me/code-status",
            &issuer.token,
            json!({ "code": code, "status": "recalled", "reason": "Lô hàng nhiễm khuẩn, thu hồi theo yêu cầu của Bộ Y tế" }),
        )
        .await;
    assert_eq!(recalled.status(), 200);
    let body: Value = recalled.json().await.expect("json");
    assert_eq!(body["listings_withdrawn"], 1);

    let denied = ask(
        &app,
        &platform,
        "listing-r2",
        "shop-1",
        "cosmetics",
        &[&code],
    )
    .await;
    assert_eq!(denied["decision"], "deny");
    assert!(reason_codes(&denied).contains(&"code_recalled".to_string()));

    use diesel::prelude::*;
    use tracegate::db::schema::outbox;
    let destination = format!("platform:{platform_id}");
    let events: Vec<String> = app
        .state
        .db(move |c| {
            Ok(outbox::table
                .filter(outbox::destination.eq(destination))
                .select(outbox::payload)
                .load(c)?)
        })
        .await
        .expect("outbox");
    let revoked: Vec<Value> = events
        .iter()
        .map(|e| serde_json::from_str(e).expect("json"))
        .filter(|e: &Value| e["type"] == "listing.revoked")
        .collect();
    assert_eq!(revoked.len(), 1, "{events:?}");
    assert_eq!(revoked[0]["data"]["listing_id"], "listing-r");
    assert_eq!(revoked[0]["data"]["reason"], "code_recalled");
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "code.recalled")
    );
}
both_backends!(recall_denies_new_listings_and_withdraws_allowed_ones_by_webhook);

async fn a_batch_with_bad_rows_stores_nothing_and_lists_every_bad_row(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    bound_enterprise_seller(&app, "shop-1").await;
    let issuer = issuer(&app, "national", Some("vnqr")).await;
    let good = format!("(01){}(10)G1", gtin("893850000020"));
    let rows = json!([
        row(&good, "0799000033", "cosmetics"),
        row("(01)08938500000210", "0799000033", "cosmetics"),
        row(&format!("(01){}(10)G2", gtin("893850000022")), "0100109106", "cosmetics"),
        { "code": format!("(01){}", gtin("893850000023")), "owner": "0799000033", "product_name": "x", "category": "cosmetics", "expiry_date": "31/12/2030" },
        row("othr:ABC-1", "0799000033", "cosmetics"),
        row(&good, "0799000033", "cosmetics"),
    ]);
    let response = post_batch(&app, &issuer, "application/json", &batch(rows)).await;
    assert_eq!(response.status(), 422);
    let body = problem(response).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    for expected in [
        "codes[1].code",
        "codes[2].owner",
        "codes[3].expiry_date",
        "codes[4].code",
        "codes[5].code",
    ] {
        assert!(fields.contains(&expected), "{expected} in {fields:?}");
    }
    // Nothing was stored: the good row is still unregistered.
    use diesel::prelude::*;
    use tracegate::db::schema::codes;
    let count: i64 = app
        .state
        .db(|c| Ok(codes::table.count().get_result(c)?))
        .await
        .expect("count");
    assert_eq!(count, 0);

    // CSV, with issuer codes of this issuer's prefix.
    let csv = format!(
        "code,owner,product_name,category,origin,production_date,expiry_date\n{good},0799000033,\"Sữa rửa mặt, 100 ml\",cosmetics,79,2026-01-01,2028-01-01\nvnqr:HCM-0001,0799000033,Nước mắm,food,79,,\n"
    );
    let response = post_batch(&app, &issuer, "text/csv", &csv).await;
    assert_eq!(
        response.status(),
        201,
        "{}",
        response.text().await.unwrap_or_default()
    );
}
both_backends!(a_batch_with_bad_rows_stores_nothing_and_lists_every_bad_row);

async fn unsigned_or_wrongly_signed_batches_are_refused(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    bound_enterprise_seller(&app, "shop-1").await;
    let issuer = issuer(&app, "national", None).await;
    let body = batch(json!([row(
        &format!("(01){}", gtin("893850000030")),
        "0799000033",
        "cosmetics"
    )]));
    let unsigned = app
        .client
        .post(app.url("/v1/issuers/me/code-batches"))
        .bearer_auth(&issuer.token)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(unsigned.status(), 422);
    assert_eq!(
        problem(unsigned).await["errors"][0]["field"],
        "Tracegate-Signature"
    );

    // Signed, then altered.
    use ed25519_dalek::Signer;
    let signature = data_encoding::BASE64.encode(&issuer.signing.sign(body.as_bytes()).to_bytes());
    let altered = body.replace("Sữa rửa mặt Sen", "Sữa rửa mặt Sen!");
    let tampered = app
        .client
        .post(app.url("/v1/issuers/me/code-batches"))
        .bearer_auth(&issuer.token)
        .header("content-type", "application/json")
        .header(
            "tracegate-signature",
            format!("keyid={},sig={signature}", issuer.key_id),
        )
        .body(altered)
        .send()
        .await
        .expect("sent");
    assert_eq!(tampered.status(), 422);
    assert!(
        problem(tampered).await["detail"]
            .as_str()
            .unwrap_or("")
            .contains("altered")
    );

    // A revoked key no longer signs.
    let revoked = app
        .client
        .delete(app.url(&format!("/v1/issuers/me/keys/{}", issuer.key_id)))
        .bearer_auth(&issuer.token)
        .send()
        .await
        .expect("sent");
    assert_eq!(revoked.status(), 204);
    let refused = post_batch(&app, &issuer, "application/json", &body).await;
    assert_eq!(refused.status(), 422);
    assert!(
        problem(refused).await["detail"]
            .as_str()
            .unwrap_or("")
            .contains("not an active key")
    );
}
both_backends!(unsigned_or_wrongly_signed_batches_are_refused);

async fn gtins_outside_a_licensed_prefix_are_refused(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    bound_enterprise_seller(&app, "shop-1").await;
    let gs1 = issuer(&app, "gs1", None).await;
    let national = issuer(&app, "national", None).await;
    let refused = app
        .post_as(
            "/v1/issuers/me/licences",
            &national.token,
            json!({ "prefix": "8938500", "enterprise_code": "0799000033" }),
        )
        .await;
    assert_eq!(refused.status(), 403, "only GS1 records licences");
    let recorded = app
        .post_as(
            "/v1/issuers/me/licences",
            &gs1.token,
            json!({ "prefix": "8938500", "enterprise_code": "0799000033" }),
        )
        .await;
    assert_eq!(recorded.status(), 204);
    let inside = batch(json!([row(
        &gtin("893850000040"),
        "0799000033",
        "cosmetics"
    )]));
    assert_eq!(
        post_batch(&app, &national, "application/json", &inside)
            .await
            .status(),
        201
    );
    let outside = batch(json!([row(
        &gtin("893999000041"),
        "0799000033",
        "cosmetics"
    )]));
    let response = post_batch(&app, &national, "application/json", &outside).await;
    assert_eq!(response.status(), 422);
    assert!(
        problem(response).await["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("outside the company prefixes")
    );
}
both_backends!(gtins_outside_a_licensed_prefix_are_refused);

async fn expired_verification_and_suspension_deny_listings(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (platform_id, secret, platform, _) = bound_enterprise_seller(&app, "shop-1").await;
    let answer = ask(&app, &platform, "l1", "shop-1", "fashion", &[]).await;
    assert_eq!(answer["decision"], "allow", "{answer}");
    // A write made outside this process (here: SQL) is seen as soon as it records its
    // change, as every writer of facts does: no decision is made on the old facts.
    let seller_changed = "INSERT INTO fact_changes (kind, scope, fact_key, changed_at) \
        SELECT 'seller', '', account_id, created_at FROM sellers";
    app.execute_sql("UPDATE sellers SET status = 'suspended'")
        .await;
    app.execute_sql(seller_changed).await;
    let answer = ask(&app, &platform, "l2", "shop-1", "fashion", &[]).await;
    assert!(
        reason_codes(&answer).contains(&"seller_suspended".to_string()),
        "{answer}"
    );
    app.execute_sql("UPDATE sellers SET status = 'active'")
        .await;
    app.execute_sql(seller_changed).await;
    app.clock.advance(TimeDelta::days(366));
    let platform = token_for_client(&app, &platform_id, &secret).await;
    let answer = ask(&app, &platform, "l3", "shop-1", "fashion", &[]).await;
    assert!(
        reason_codes(&answer).contains(&"verification_expired".to_string()),
        "{answer}"
    );
}
both_backends!(expired_verification_and_suspension_deny_listings);

async fn batch_checks_answer_in_order_and_name_bad_entries(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, _, platform, _) = bound_enterprise_seller(&app, "shop-1").await;
    let listings: Vec<Value> = (0..3)
        .map(|i| json!({ "shop_id": if i == 1 { "other" } else { "shop-1" }, "listing_id": format!("b-{i}"), "category": "fashion", "title": "Áo dài" }))
        .collect();
    let response = app
        .post_as(
            "/v1/listing-checks/batch",
            &platform,
            json!({ "listings": listings }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    let decisions: Vec<&str> = body["decisions"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|d| d["decision"].as_str())
        .collect();
    assert_eq!(decisions, vec!["allow", "deny", "allow"]);
    let bad = app
        .post_as("/v1/listing-checks/batch", &platform, json!({ "listings": [{ "shop_id": "s", "listing_id": "", "category": "x", "title": "t" }] }))
        .await;
    assert_eq!(bad.status(), 422);
    assert_eq!(
        problem(bad).await["errors"][0]["field"],
        "listings[0].listing_id"
    );
    let empty = app
        .post_as(
            "/v1/listing-checks/batch",
            &platform,
            json!({ "listings": [] }),
        )
        .await;
    assert_eq!(empty.status(), 422);
}
both_backends!(batch_checks_answer_in_order_and_name_bad_entries);
