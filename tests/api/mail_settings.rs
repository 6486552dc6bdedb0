//! A person's mail settings: reading and changing them over the API, legal and security
//! notices that cannot be turned off, an optional mail really not queued once silenced
//! while a mandatory one still is, and the language chosen applied to the next mail.

use serde_json::{Value, json};
use tracegate::auth::OfficerRole;
use tracegate::clients::ClientKind;
use tracegate::policies::ProvinceScope;

use crate::both_backends;
use crate::fixtures::{
    AN, client, client_token, officer, token_for_client, verified_person, verified_seller,
};
use crate::helpers::{TestApp, TestBackend, problem};

const PATH: &str = "/v1/me/notifications";

async fn put(app: &TestApp, token: &str, body: Value, if_match: Option<&str>) -> reqwest::Response {
    let mut request = app.client.put(app.url(PATH)).bearer_auth(token).json(&body);
    if let Some(etag) = if_match {
        request = request.header("If-Match", etag);
    }
    request.send().await.expect("sent")
}

async fn settings_are_read_and_changed_and_legal_notices_stay_on(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, pair) = verified_seller(&app).await;
    let token = pair["access_token"].as_str().expect("access token");

    // Only the person: no token is 401, a machine client's token 403.
    assert_eq!(app.get(PATH).await.status(), 401);
    let platform = client_token(&app, ClientKind::Platform).await;
    assert_eq!(app.get_as(PATH, &platform).await.status(), 403);
    assert_eq!(
        put(
            &app,
            &platform,
            json!({ "language": "en", "silenced": [] }),
            None
        )
        .await
        .status(),
        403
    );
    let anonymous = app
        .client
        .put(app.url(PATH))
        .json(&json!({ "language": "en", "silenced": [] }))
        .send()
        .await
        .expect("sent");
    assert_eq!(anonymous.status(), 401);

    // A new seller receives everything, in Vietnamese, at version 0.
    let read = app.get_as(PATH, token).await;
    assert_eq!(read.status(), 200);
    assert_eq!(read.headers()["etag"], "\"0\"");
    let settings: Value = read.json().await.expect("json");
    assert_eq!(settings["language"], "vi");
    assert_eq!(settings["silenced"], json!([]));
    let categories = settings["categories"].as_array().expect("categories");
    let optional: Vec<&str> = categories
        .iter()
        .filter(|c| c["silenceable"] == true)
        .map(|c| c["category"].as_str().expect("code"))
        .collect();
    assert_eq!(optional, ["case_progress"]);
    for mandatory in [
        "account_security",
        "case_deadline",
        "case_proceedings",
        "seller_standing",
    ] {
        let found = categories
            .iter()
            .find(|c| c["category"] == mandatory)
            .unwrap_or_else(|| panic!("{mandatory} listed: {settings}"));
        assert_eq!(found["silenceable"], false);
        assert_eq!(found["receives"], true);
    }

    // A legal notice cannot be silenced, and an unknown category is named.
    for (body, field, words) in [
        (
            json!({ "language": "vi", "silenced": ["case_deadline"] }),
            "silenced",
            "always sent",
        ),
        (
            json!({ "language": "vi", "silenced": ["newsletter"] }),
            "silenced",
            "not a category",
        ),
        (
            json!({ "language": "vi", "silenced": ["case_queue"] }),
            "silenced",
            "not a category",
        ),
        (
            json!({ "language": "fr", "silenced": [] }),
            "language",
            "vi or en",
        ),
    ] {
        let refused = put(&app, token, body.clone(), None).await;
        assert_eq!(refused.status(), 422, "{body}");
        assert_eq!(
            refused.headers()["content-type"],
            "application/problem+json",
            "{body}"
        );
        let problem = problem(refused).await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        assert!(problem.to_string().contains(words), "{problem}");
    }
    let unknown_member = put(
        &app,
        token,
        json!({ "language": "vi", "silenced": [], "digest": true }),
        None,
    )
    .await;
    assert!(unknown_member.status().is_client_error());

    // The optional category turned off, the language changed: version 1.
    let saved = put(
        &app,
        token,
        json!({ "language": "en", "silenced": ["case_progress"] }),
        Some("\"0\""),
    )
    .await;
    assert_eq!(saved.status(), 200);
    assert_eq!(saved.headers()["etag"], "\"1\"");
    let settings: Value = app.get_as(PATH, token).await.json().await.expect("json");
    assert_eq!(settings["language"], "en");
    assert_eq!(settings["silenced"], json!(["case_progress"]));
    assert_eq!(settings["version"], 1);
    let me: Value = app
        .get_as("/v1/me", token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["language"], "en");

    // A change made on an old version is refused and changes nothing.
    let stale = put(
        &app,
        token,
        json!({ "language": "vi", "silenced": [] }),
        Some("\"0\""),
    )
    .await;
    assert_eq!(stale.status(), 412);
    let settings: Value = app.get_as(PATH, token).await.json().await.expect("json");
    assert_eq!(settings["silenced"], json!(["case_progress"]));
    assert!(
        app.audit_actions()
            .await
            .contains(&"account.mail_settings_changed".to_string())
    );

    // The document names every category and both operations.
    let doc: Value = app.get("/openapi.json").await.json().await.expect("json");
    let operations = &doc["paths"][PATH];
    assert!(operations["get"].is_object() && operations["put"].is_object());
    assert!(operations["put"]["responses"]["422"].is_object());
    let listed = doc["components"]["schemas"]["MailCategory"].to_string();
    for code in [
        "account_security",
        "case_deadline",
        "case_proceedings",
        "seller_standing",
        "case_progress",
        "case_queue",
    ] {
        assert!(listed.contains(code), "{code}: {listed}");
    }

    // An officer is offered the queue notices, not a seller's categories.
    let officer = officer(
        &app,
        OfficerRole::Supervisor,
        ProvinceScope::Only(vec!["79".into()]),
    )
    .await;
    let settings: Value = app
        .get_as(PATH, &officer.access_token)
        .await
        .json()
        .await
        .expect("json");
    let offered: Vec<&str> = settings["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .map(|c| c["category"].as_str().expect("code"))
        .collect();
    assert_eq!(offered, ["case_queue", "account_security", "case_deadline"]);
}
both_backends!(settings_are_read_and_changed_and_legal_notices_stay_on);

const SHOP: &str = "shop-mail";

async fn act(app: &TestApp, token: &str, id: &str, body: Value) {
    let response = app
        .post_as(&format!("/v1/disputes/{id}/actions"), token, body.clone())
        .await;
    let status = response.status();
    assert_eq!(
        status,
        200,
        "{body} → {}",
        response.text().await.unwrap_or_default()
    );
}

async fn a_silenced_optional_mail_is_not_queued_and_a_mandatory_one_is(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (seller_email, seller) = verified_person(&app, AN).await;
    let business = app
        .post_as(
            "/v1/me/business",
            &seller,
            json!({ "kind": "enterprise", "code": "0799000033" }),
        )
        .await;
    assert_eq!(business.status(), 200);
    let (platform_id, secret) = client(&app, ClientKind::Platform).await;
    let platform = token_for_client(&app, &platform_id, &secret).await;
    let code: Value = app
        .post_as("/v1/me/binding-codes", &seller, json!({}))
        .await
        .json()
        .await
        .expect("code");
    let bound = app
        .post_as(
            "/v1/seller-bindings",
            &platform,
            json!({ "binding_code": code["code"], "shop_id": SHOP }),
        )
        .await;
    assert_eq!(bound.status(), 201);
    let case_officer = officer(
        &app,
        OfficerRole::Officer,
        ProvinceScope::Only(vec!["79".into()]),
    )
    .await;

    // The seller turns routine case activity off and reads mail in English.
    let saved = put(
        &app,
        &seller,
        json!({ "language": "en", "silenced": ["case_progress"] }),
        None,
    )
    .await;
    assert_eq!(saved.status(), 200);

    let buyer = "mua.hang@example.vn";
    let filed = app
        .post_as(
            "/v1/disputes",
            &platform,
            json!({
                "shop_id": SHOP, "listing_id": "tin-9", "kind": "counterfeit", "claim": "refund",
                "description": "Hộp kem không có tem chống giả, mã QR dẫn tới trang lạ.",
                "buyer": { "reference": "khach-9", "email": buyer, "language": "vi" }
            }),
        )
        .await;
    assert_eq!(filed.status(), 201);
    let case: Value = filed.json().await.expect("case");
    let id = case["id"].as_str().expect("id").to_string();

    // The complaint to answer is a deadline: sent, in the language chosen.
    let mails = app.mails_to(&seller_email).await;
    let filed_mail = mails.last().expect("the seller is told of the complaint");
    assert!(
        filed_mail.0.starts_with("Complaint"),
        "English: {filed_mail:?}"
    );

    act(
        &app,
        &seller,
        &id,
        json!({ "action": "respond", "statement": "Hàng chính hãng, có hóa đơn nhập khẩu.", "offer": "refund" }),
    )
    .await;
    act(
        &app,
        &case_officer.access_token,
        &id,
        json!({ "action": "escalate", "reason": "Cán bộ thụ lý" }),
    )
    .await;
    act(
        &app,
        &case_officer.access_token,
        &id,
        json!({ "action": "request_information", "from": "seller", "question": "Xin gửi hóa đơn nhập khẩu lô hàng." }),
    )
    .await;
    let seller_before = app.mails_to(&seller_email).await.len();
    let buyer_before = app.mails_to(buyer).await.len();
    let suppressed_before = suppressed(&app).await;

    // The information supplied is routine news: the buyer is told, the seller is not.
    act(
        &app,
        &seller,
        &id,
        json!({ "action": "supply_information", "answer": "Hóa đơn số 0012 ngày 01/10." }),
    )
    .await;
    assert_eq!(app.mails_to(&seller_email).await.len(), seller_before);
    assert_eq!(app.mails_to(buyer).await.len(), buyer_before + 1);
    // Process-wide: other tests running meanwhile may add to it.
    assert!(suppressed(&app).await > suppressed_before);

    // Back to Vietnamese; the decision is a legal notice and is sent all the same.
    let saved = put(
        &app,
        &seller,
        json!({ "language": "vi", "silenced": ["case_progress"] }),
        None,
    )
    .await;
    assert_eq!(saved.status(), 200);
    act(
        &app,
        &case_officer.access_token,
        &id,
        json!({
            "action": "decide", "outcome": "dismissed",
            "statement": "Hóa đơn khớp lô hàng; người bán chứng minh được nguồn gốc hàng hóa.",
            "sanctions": []
        }),
    )
    .await;
    let mails = app.mails_to(&seller_email).await;
    assert_eq!(mails.len(), seller_before + 1, "the decision is mailed");
    let decision = mails.last().expect("decision mail");
    assert!(
        decision.0.starts_with("Khiếu nại"),
        "Vietnamese: {decision:?}"
    );
}
both_backends!(a_silenced_optional_mail_is_not_queued_and_a_mandatory_one_is);

/// Optional mails not queued so far, as `/metrics` counts them (all categories).
async fn suppressed(app: &TestApp) -> u64 {
    let text = app.get("/metrics").await.text().await.expect("metrics");
    text.lines()
        .filter(|l| l.starts_with("tracegate_mails_suppressed_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}
