//! Decisions that stay true: the gate never stores or replays a decision made on facts that
//! have changed, withdraws what rested on a fact taken away (even a decision committing
//! while the fact changes), and a withdrawn decision reads as withdrawn everywhere.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::both_backends;
use crate::fixtures::{Issuer, bound_enterprise_seller, gtin, issuer, post_batch};
use crate::helpers::{TestApp, TestBackend, problem};

const SHOP: &str = "shop-1";

async fn register(app: &TestApp, issuer: &Issuer, code: &str) {
    let body = json!({ "codes": [{ "code": code, "owner": "0799000033", "product_name": "Kem dưỡng Sen", "category": "cosmetics", "origin": "79", "expiry_date": "2030-12-31" }] }).to_string();
    let response = post_batch(app, issuer, "application/json", &body).await;
    assert_eq!(
        response.status(),
        201,
        "{}",
        response.text().await.unwrap_or_default()
    );
}

fn listing(id: &str, category: &str, codes: &[&str], origin: Option<&str>) -> Value {
    let mut body = json!({ "shop_id": SHOP, "listing_id": id, "category": category, "title": "Kem dưỡng da Sen", "codes": codes });
    if let Some(origin) = origin {
        body["origin"] = json!(origin);
    }
    body
}

async fn ask(app: &TestApp, platform: &str, body: Value) -> Value {
    let response = app.post_as("/v1/listing-checks", platform, body).await;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).expect("decision")
}

fn reasons(decision: &Value) -> Vec<String> {
    decision["reasons"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|x| x["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Clients asking about new listings of the shop with `code`, until stopped.
struct Hammer {
    stop: Arc<AtomicBool>,
    asked: Arc<AtomicUsize>,
    tasks: Vec<tokio::task::JoinHandle<Vec<String>>>,
}

impl Hammer {
    fn start(app: &TestApp, platform: &str, code: &str, clients: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let asked = Arc::new(AtomicUsize::new(0));
        let tasks = (0..clients)
            .map(|n| {
                let (client, url) = (app.client.clone(), app.url("/v1/listing-checks"));
                let (platform, code) = (platform.to_string(), code.to_string());
                let (stop, asked) = (stop.clone(), asked.clone());
                tokio::spawn(async move {
                    let mut answers = Vec::new();
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        i += 1;
                        let response = client
                            .post(&url)
                            .bearer_auth(&platform)
                            .json(&listing(
                                &format!("race-{n}-{i}"),
                                "cosmetics",
                                &[&code],
                                None,
                            ))
                            .send()
                            .await
                            .expect("sent");
                        assert_eq!(response.status(), 200, "every check is answered");
                        let decision: Value = response.json().await.expect("decision");
                        answers.push(decision["decision"].as_str().unwrap_or("").to_string());
                        asked.fetch_add(1, Ordering::Relaxed);
                    }
                    answers
                })
            })
            .collect();
        Self { stop, asked, tasks }
    }

    async fn until_asked(&self, at_least: usize) {
        while self.asked.load(Ordering::Relaxed) < at_least {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stops; returns every answer.
    async fn finish(self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for task in self.tasks {
            all.extend(task.await.expect("client task"));
        }
        all
    }
}

/// Allowed decisions in force of a platform's shop.
async fn allowed_in_force(app: &TestApp, platform_id: &str) -> i64 {
    app.count_sql(&format!(
        "SELECT count(*) AS n FROM listing_checks WHERE platform_id = '{platform_id}' \
         AND shop_id = '{SHOP}' AND decision = 'allow' AND withdrawn_at IS NULL"
    ))
    .await
}

async fn withdrawn_allowed(app: &TestApp, platform_id: &str, reason: &str) -> i64 {
    app.count_sql(&format!(
        "SELECT count(*) AS n FROM listing_checks WHERE platform_id = '{platform_id}' \
         AND decision = 'allow' AND withdrawn_reason = '{reason}'"
    ))
    .await
}

async fn revoked_webhooks(app: &TestApp, platform_id: &str, reason: &str) -> usize {
    app.webhooks_to(platform_id)
        .await
        .iter()
        .filter(|(kind, data)| kind == "listing.revoked" && data["reason"] == reason)
        .count()
}

async fn checks_racing_a_recall_leave_no_allowed_decision(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (platform_id, _, platform, _) = bound_enterprise_seller(&app, SHOP).await;
    let issuer = issuer(&app, "national", None).await;
    let code = format!("(01){}(10)RACE", gtin("893850000030"));
    register(&app, &issuer, &code).await;

    let hammer = Hammer::start(&app, &platform, &code, 6);
    hammer.until_asked(30).await;
    let recalled = app
        .post_as(
            "/v1/issuers/me/code-status",
            &issuer.token,
            json!({ "code": code, "status": "recalled", "reason": "Lô hàng nhiễm khuẩn" }),
        )
        .await;
    assert_eq!(recalled.status(), 200);
    let asked = hammer.asked.load(Ordering::Relaxed);
    hammer.until_asked(asked + 30).await;
    let answers = hammer.finish().await;

    assert!(answers.iter().any(|a| a == "allow"), "allowed before");
    assert!(answers.iter().any(|a| a == "deny"), "denied after");
    assert_eq!(allowed_in_force(&app, &platform_id).await, 0);
    let withdrawn = withdrawn_allowed(&app, &platform_id, "code_recalled").await;
    assert!(withdrawn > 0);
    assert_eq!(
        revoked_webhooks(&app, &platform_id, "code_recalled").await as i64,
        withdrawn,
        "the platform is told of every allowed listing withdrawn"
    );
}
both_backends!(checks_racing_a_recall_leave_no_allowed_decision);

async fn seller_id_of(app: &TestApp, platform: &str) -> String {
    let decision = ask(app, platform, listing("who", "fashion", &[], None)).await;
    decision["seller_id"].as_str().expect("seller").to_string()
}

async fn checks_racing_an_unbinding_leave_no_allowed_decision(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (platform_id, _, platform, seller) = bound_enterprise_seller(&app, SHOP).await;
    let issuer = issuer(&app, "national", None).await;
    let code = format!("(01){}(10)UNB", gtin("893850000031"));
    register(&app, &issuer, &code).await;
    let bindings: Value = app
        .get_as("/v1/me/bindings", &seller)
        .await
        .json()
        .await
        .expect("bindings");
    let binding = bindings["bindings"]
        .as_array()
        .and_then(|b| b.first())
        .and_then(|b| b["id"].as_str())
        .expect("a binding")
        .to_string();

    let hammer = Hammer::start(&app, &platform, &code, 6);
    hammer.until_asked(30).await;
    let unbound = app
        .client
        .delete(app.url(&format!("/v1/me/bindings/{binding}")))
        .bearer_auth(&seller)
        .send()
        .await
        .expect("sent");
    assert!(unbound.status().is_success(), "{}", unbound.status());
    let asked = hammer.asked.load(Ordering::Relaxed);
    hammer.until_asked(asked + 30).await;
    hammer.finish().await;

    assert_eq!(allowed_in_force(&app, &platform_id).await, 0);
    let withdrawn = withdrawn_allowed(&app, &platform_id, "binding_revoked").await;
    assert!(withdrawn > 0);
    assert_eq!(
        revoked_webhooks(&app, &platform_id, "binding_revoked").await as i64,
        withdrawn
    );
    let after = ask(
        &app,
        &platform,
        listing("after", "cosmetics", &[&code], None),
    )
    .await;
    assert_eq!(after["decision"], "deny");
    assert!(reasons(&after).contains(&"seller_not_bound".to_string()));

    // The seller is still within reach of a complaint about a listing decided for them.
    let filed = app
        .post_as(
            "/v1/disputes",
            &platform,
            json!({
                "shop_id": SHOP,
                "listing_id": "race-0-1",
                "kind": "counterfeit",
                "claim": "refund",
                "description": "Hàng nhận được khác với hình ảnh trên sàn.",
                "buyer": { "reference": "buyer-1", "email": "buyer@example.vn", "language": "vi" }
            }),
        )
        .await;
    assert_eq!(
        filed.status(),
        201,
        "{}",
        filed.text().await.unwrap_or_default()
    );
}
both_backends!(checks_racing_an_unbinding_leave_no_allowed_decision);

async fn checks_racing_a_suspension_leave_no_allowed_decision(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (platform_id, _, platform, _) = bound_enterprise_seller(&app, SHOP).await;
    let issuer = issuer(&app, "national", None).await;
    let code = format!("(01){}(10)SUS", gtin("893850000032"));
    register(&app, &issuer, &code).await;
    let seller_id = seller_id_of(&app, &platform).await;

    let hammer = Hammer::start(&app, &platform, &code, 6);
    hammer.until_asked(30).await;
    let state = app.state.clone();
    state
        .clone()
        .db(move |conn| {
            let now = tracegate::clock::Clock::now(state.clock.as_ref());
            tracegate::db::write_transaction(conn, |conn| {
                let seller = tracegate::identity::find_seller(conn, &seller_id)?.expect("seller");
                assert!(tracegate::identity::monitor::suspend_in(
                    conn,
                    &state.facts,
                    now,
                    &seller,
                    "business_suspended",
                    "system",
                )?);
                Ok::<_, diesel::result::Error>(())
            })?;
            state.facts.committed();
            Ok(())
        })
        .await
        .expect("suspended");
    let asked = hammer.asked.load(Ordering::Relaxed);
    hammer.until_asked(asked + 30).await;
    hammer.finish().await;

    // The decision that told who the seller is was allowed too, and is withdrawn with the rest.
    assert_eq!(allowed_in_force(&app, &platform_id).await, 0);
    let withdrawn = withdrawn_allowed(&app, &platform_id, "seller_suspended").await;
    assert!(withdrawn > 1);
    assert_eq!(
        revoked_webhooks(&app, &platform_id, "seller_suspended").await as i64,
        withdrawn
    );
}
both_backends!(checks_racing_a_suspension_leave_no_allowed_decision);

async fn denials_are_decided_anew_once_their_facts_change(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, _, platform, seller) = bound_enterprise_seller(&app, SHOP).await;
    let issuer = issuer(&app, "national", None).await;
    let code = format!("(01){}(10)LATE", gtin("893850000033"));

    // Unregistered, then registered: the same content is decided anew.
    let body = listing("late-code", "cosmetics", &[&code], None);
    let before = ask(&app, &platform, body.clone()).await;
    assert!(
        reasons(&before).contains(&"code_unregistered".to_string()),
        "{before}"
    );
    assert_eq!(
        ask(&app, &platform, body.clone()).await["id"],
        before["id"],
        "replayed"
    );
    register(&app, &issuer, &code).await;
    let after = ask(&app, &platform, body.clone()).await;
    assert_eq!(after["decision"], "allow", "{after}");
    assert_ne!(after["id"], before["id"]);
    assert_eq!(
        ask(&app, &platform, body).await["id"],
        after["id"],
        "replayed"
    );

    // Not bound, then bound: the same content is decided anew.
    let code_response: Value = app
        .post_as("/v1/me/binding-codes", &seller, json!({}))
        .await
        .json()
        .await
        .expect("code");
    let mut unbound_listing = listing("new-shop-listing", "cosmetics", &[&code], None);
    unbound_listing["shop_id"] = json!("shop-2");
    let before = ask(&app, &platform, unbound_listing.clone()).await;
    assert!(reasons(&before).contains(&"seller_not_bound".to_string()));
    let bound = app
        .post_as(
            "/v1/seller-bindings",
            &platform,
            json!({ "binding_code": code_response["code"], "shop_id": "shop-2" }),
        )
        .await;
    assert_eq!(bound.status(), 201);
    let after = ask(&app, &platform, unbound_listing).await;
    assert_eq!(after["decision"], "allow", "{after}");
}
both_backends!(denials_are_decided_anew_once_their_facts_change);

async fn a_withdrawn_decision_reads_as_withdrawn_with_its_attestation(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, _, platform, _) = bound_enterprise_seller(&app, SHOP).await;
    let issuer = issuer(&app, "national", None).await;
    let code = format!("(01){}(10)WD", gtin("893850000034"));
    register(&app, &issuer, &code).await;
    let decision = ask(&app, &platform, listing("wd", "cosmetics", &[&code], None)).await;
    assert_eq!(decision["decision"], "allow");
    assert_eq!(decision["state"], "in_force");
    let id = decision["id"].as_str().expect("id").to_string();

    // The attestation carries an expiry, its id and the content hash.
    let token = decision["attestation"].as_str().expect("attestation");
    let claims = jwt_claims(&app, token).await;
    assert_eq!(claims["jti"], id);
    assert_eq!(claims["content_sha256"], decision["content_sha256"]);
    let iat = claims["iat"].as_i64().expect("iat");
    let exp = claims["exp"].as_i64().expect("exp");
    assert_eq!(exp - iat, 30 * 86_400, "the policy's 30 days");
    let status: Value = app
        .get(&format!("/v1/attestations/{id}"))
        .await
        .json()
        .await
        .expect("status");
    assert_eq!(status["state"], "in_force");

    app.post_as(
        "/v1/issuers/me/code-status",
        &issuer.token,
        json!({ "code": code, "status": "revoked", "reason": "Mã giả" }),
    )
    .await;
    let read: Value = app
        .get_as(&format!("/v1/listing-checks/{id}"), &platform)
        .await
        .json()
        .await
        .expect("decision");
    assert_eq!(read["decision"], "allow", "what was decided stays readable");
    assert_eq!(read["state"], "withdrawn");
    assert_eq!(read["withdrawn_reason"], "code_revoked");
    assert!(read["withdrawn_at"].is_string());
    let status: Value = app
        .get(&format!("/v1/attestations/{id}"))
        .await
        .json()
        .await
        .expect("status");
    assert_eq!(
        status["state"], "withdrawn",
        "anyone holding it can learn so"
    );
    assert_eq!(status["withdrawn_reason"], "code_revoked");
    assert_eq!(app.get("/v1/attestations/nope").await.status(), 404);

    // A newer decision on the same listing supersedes an older one in force.
    let first = ask(&app, &platform, listing("sup", "fashion", &[], None)).await;
    let mut changed = listing("sup", "fashion", &[], None);
    changed["title"] = json!("Áo dài lụa");
    let second = ask(&app, &platform, changed).await;
    let read: Value = app
        .get_as(
            &format!("/v1/listing-checks/{}", first["id"].as_str().expect("id")),
            &platform,
        )
        .await
        .json()
        .await
        .expect("decision");
    assert_eq!(read["state"], "superseded");
    assert_eq!(read["superseded_by"], second["id"]);
}
both_backends!(a_withdrawn_decision_reads_as_withdrawn_with_its_attestation);

/// The claims of an attestation, verified with an independent JWT library against the
/// published key set.
async fn jwt_claims(app: &TestApp, token: &str) -> Value {
    let jwks: jsonwebtoken::jwk::JwkSet = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .expect("jwks");
    let header = jsonwebtoken::decode_header(token).expect("header");
    let jwk = jwks
        .find(header.kid.as_deref().expect("kid"))
        .expect("published key");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    // The test clock runs apart from the wall clock; expiry is checked above by value.
    validation.validate_exp = false;
    validation.required_spec_claims = ["exp", "iat", "jti"]
        .iter()
        .map(|c| c.to_string())
        .collect();
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .expect("verifies")
        .claims
}

async fn categories_are_read_in_any_case_and_unknown_ones_go_to_review(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, _, platform, _) = bound_enterprise_seller(&app, SHOP).await;
    for (n, written) in ["Cosmetics", "cosmetics ", " COSMETICS"].iter().enumerate() {
        let decision = ask(
            &app,
            &platform,
            listing(&format!("c{n}"), written, &[], None),
        )
        .await;
        assert_eq!(decision["category"], "cosmetics", "{written:?}");
        assert_eq!(decision["decision"], "deny", "cosmetics needs a code");
        assert!(reasons(&decision).contains(&"code_missing".to_string()));
    }
    let unknown = ask(&app, &platform, listing("u", "cosmetic", &[], None)).await;
    assert_eq!(unknown["decision"], "review", "{unknown}");
    assert_eq!(reasons(&unknown), vec!["category_unknown".to_string()]);
    assert_eq!(unknown["reasons"][0]["field"], "category");
}
both_backends!(categories_are_read_in_any_case_and_unknown_ones_go_to_review);

async fn origins_are_countries_or_provinces_and_agree_by_place(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, _, platform, _) = bound_enterprise_seller(&app, SHOP).await;
    let issuer = issuer(&app, "national", None).await;
    let code = format!("(01){}(10)ORI", gtin("893850000035"));
    register(&app, &issuer, &code).await;
    // Registered in province 79 (Thành phố Hồ Chí Minh).
    for (n, origin) in ["VN", "vn", "79", "74"].iter().enumerate() {
        let decision = ask(
            &app,
            &platform,
            listing(&format!("o{n}"), "cosmetics", &[&code], Some(origin)),
        )
        .await;
        assert_eq!(decision["decision"], "allow", "{origin}: {decision}");
    }
    for (n, origin) in ["CN", "01"].iter().enumerate() {
        let decision = ask(
            &app,
            &platform,
            listing(&format!("x{n}"), "cosmetics", &[&code], Some(origin)),
        )
        .await;
        assert!(
            reasons(&decision).contains(&"origin_mismatch".to_string()),
            "{origin}: {decision}"
        );
    }
    for origin in ["Hồ Chí Minh", "XX", "03", ""] {
        let response = app
            .post_as(
                "/v1/listing-checks",
                &platform,
                listing("bad", "cosmetics", &[&code], Some(origin)),
            )
            .await;
        assert_eq!(response.status(), 422, "{origin:?}");
        assert_eq!(problem(response).await["errors"][0]["field"], "origin");
    }
}
both_backends!(origins_are_countries_or_provinces_and_agree_by_place);

async fn a_product_is_known_when_any_of_its_lots_is(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    bound_enterprise_seller(&app, SHOP).await;
    let issuer = issuer(&app, "national", None).await;
    let product = gtin("893850000036");
    register(&app, &issuer, &format!("(01){product}(10)LOT7")).await;
    let scan = app
        .client
        .get(app.url(&format!("/01/{product}")))
        .header("accept", "text/html")
        .send()
        .await
        .expect("sent");
    assert_eq!(scan.status(), 307, "the product is known: to its page");
    let location = scan.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let page_path = &location[location.find("/verify").expect("the verification page")..];
    let page = app.get(page_path).await;
    assert_eq!(page.status(), 200);
    let text = page.text().await.expect("page");
    assert!(text.contains("0799000033"), "the owner is shown");
    assert!(text.contains("Kem dưỡng Sen"), "the product is named");
}
both_backends!(a_product_is_known_when_any_of_its_lots_is);

async fn one_bad_request_never_fails_another(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, _, platform, _) = bound_enterprise_seller(&app, SHOP).await;
    let response = app
        .post_as(
            "/v1/listing-checks",
            &platform,
            listing("bad\u{0}id", "fashion", &[], None),
        )
        .await;
    assert_eq!(response.status(), 422);
    let body = problem(response).await;
    assert_eq!(body["errors"][0]["field"], "listing_id", "{body}");

    // A row the database itself refuses fails alone, even committed with others.
    let trigger = match &backend {
        TestBackend::Sqlite => vec![
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON listing_checks \
             WHEN NEW.listing_id = 'poison' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                .to_string(),
        ],
        TestBackend::Postgres(_) => vec![
            "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.listing_id = 'poison' THEN RAISE EXCEPTION 'refused'; END IF; \
             RETURN NEW; END $$"
                .to_string(),
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON listing_checks \
             FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
                .to_string(),
        ],
    };
    for sql in trigger {
        app.execute_sql(&sql).await;
    }
    let mut asks = Vec::new();
    for n in 0..40 {
        let id = if n % 10 == 0 {
            "poison".to_string()
        } else {
            format!("honest-{n}")
        };
        let request = app
            .client
            .post(app.url("/v1/listing-checks"))
            .bearer_auth(&platform)
            .json(&listing(&id, "fashion", &[], None))
            .send();
        // All at once, so that the refused rows are committed in groups with honest ones.
        asks.push((id, tokio::spawn(request)));
    }
    let mut honest = 0;
    for (id, request) in asks {
        let response = request.await.expect("task").expect("sent");
        if id == "poison" {
            assert_eq!(response.status(), 500);
        } else {
            assert_eq!(response.status(), 200, "{id}");
            honest += 1;
        }
    }
    assert_eq!(honest, 36);
    assert_eq!(
        app.count_sql("SELECT count(*) AS n FROM listing_checks WHERE listing_id LIKE 'honest-%'")
            .await,
        36,
        "every honest decision answered is stored"
    );
}
both_backends!(one_bad_request_never_fails_another);

/// The digest of a decision of a batch, computed as the README says, from the decision
/// as answered: base64url SHA-256 of its fields, one per line.
fn documented_digest(platform_id: &str, d: &Value) -> String {
    use data_encoding::BASE64URL_NOPAD;
    use sha2::{Digest, Sha256};
    let list = |key: &str, field: &str, separator: &str| -> String {
        d[key]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i[field].as_str())
                    .collect::<Vec<_>>()
                    .join(separator)
            })
            .unwrap_or_default()
    };
    let seconds = |key: &str| -> String {
        chrono::DateTime::parse_from_rfc3339(d[key].as_str().expect("time"))
            .expect("RFC 3339")
            .timestamp()
            .to_string()
    };
    let text = [
        "tracegate-decision-v1".to_string(),
        d["id"].as_str().unwrap_or("").to_string(),
        platform_id.to_string(),
        d["listing_id"].as_str().unwrap_or("").to_string(),
        d["shop_id"].as_str().unwrap_or("").to_string(),
        d["seller_id"].as_str().unwrap_or("").to_string(),
        d["decision"].as_str().unwrap_or("").to_string(),
        list("reasons", "code", ","),
        list("codes", "canonical", " "),
        d["policy_version"].as_str().unwrap_or("").to_string(),
        d["content_sha256"].as_str().unwrap_or("").to_string(),
        seconds("created_at"),
        seconds("expires_at"),
    ]
    .join("\n");
    BASE64URL_NOPAD.encode(&Sha256::digest(text.as_bytes()))
}

async fn each_decision_of_a_batch_verifies_on_its_own(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (platform_id, _, platform, _) = bound_enterprise_seller(&app, SHOP).await;
    let issuer = issuer(&app, "national", None).await;
    let code = format!("(01){}(10)BAT", gtin("893850000037"));
    register(&app, &issuer, &code).await;
    let listings: Vec<Value> = (0..5)
        .map(|i| listing(&format!("bat-{i}"), "cosmetics", &[&code], None))
        .collect();
    let response = app
        .post_as(
            "/v1/listing-checks/batch",
            &platform,
            json!({ "listings": listings }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("batch");
    let token = body["attestation"].as_str().expect("one attestation");
    let claims = jwt_claims(&app, token).await;
    assert_eq!(claims["jti"], body["batch_id"]);
    let listed: Vec<&str> = claims["decisions"]
        .as_array()
        .expect("digests")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let decisions = body["decisions"].as_array().expect("decisions");
    assert_eq!(listed.len(), 5);
    for (n, d) in decisions.iter().enumerate() {
        let digest = documented_digest(&platform_id, d);
        assert_eq!(d["digest"], digest, "the digest is the documented hash");
        assert_eq!(
            listed[n], digest,
            "listed by the batch attestation, in order"
        );
        assert!(d.get("attestation").is_none());
    }

    // Read alone, a decision of a batch carries the batch's attestation and its digest.
    let id = decisions[2]["id"].as_str().expect("id");
    let alone: Value = app
        .get_as(&format!("/v1/listing-checks/{id}"), &platform)
        .await
        .json()
        .await
        .expect("decision");
    assert_eq!(alone["attestation"], body["attestation"]);
    assert_eq!(alone["digest"], decisions[2]["digest"]);
    assert_eq!(documented_digest(&platform_id, &alone), listed[2]);

    // Asked again unchanged, the batch is replayed decision by decision.
    let again: Value = app
        .post_as(
            "/v1/listing-checks/batch",
            &platform,
            json!({ "listings": listings }),
        )
        .await
        .json()
        .await
        .expect("batch");
    assert_eq!(again["decisions"][4]["id"], decisions[4]["id"]);
    assert!(
        again.get("attestation").is_none(),
        "nothing new was decided"
    );
}
both_backends!(each_decision_of_a_batch_verifies_on_its_own);
