//! Dispute cases end to end: filing, the seller's answer, deadlines driven by a clock the
//! test moves, decisions with sanctions, appeals, evidence, and who may see what.

use chrono::TimeDelta;
use serde_json::{Value, json};
use tracegate::auth::OfficerRole;
use tracegate::policies::ProvinceScope;

use crate::both_backends;
use crate::fixtures::{
    Officer, bound_enterprise_seller, gtin, issuer, officer, post_batch, token_for_client,
};
use crate::helpers::{TestApp, TestBackend, problem, token_in};

const SHOP: &str = "shop-1";
const BUYER: &str = "mua.hang@example.vn";

/// A platform with a bound enterprise seller (province 79) and officers.
struct World {
    platform_id: String,
    platform_secret: String,
    platform: String,
    seller: String,
    officer: Officer,
    supervisor: Officer,
    other_supervisor: Officer,
    outsider: Officer,
}

async fn world(app: &TestApp) -> World {
    let (platform_id, platform_secret, platform, seller) = bound_enterprise_seller(app, SHOP).await;
    let hcm = || ProvinceScope::Only(vec!["79".into()]);
    World {
        platform_id,
        platform_secret,
        platform,
        seller,
        officer: officer(app, OfficerRole::Officer, hcm()).await,
        supervisor: officer(app, OfficerRole::Supervisor, hcm()).await,
        other_supervisor: officer(app, OfficerRole::Supervisor, hcm()).await,
        outsider: officer(
            app,
            OfficerRole::Supervisor,
            ProvinceScope::Only(vec!["01".into()]),
        )
        .await,
    }
}

async fn file(app: &TestApp, w: &World, listing: &str, buyer_ref: &str) -> reqwest::Response {
    app.post_as(
        "/v1/disputes",
        &w.platform,
        json!({
            "shop_id": SHOP,
            "listing_id": listing,
            "kind": "counterfeit",
            "claim": "refund",
            "description": "Hộp kem không có tem chống giả, mã QR dẫn tới trang lạ.",
            "buyer": { "reference": buyer_ref, "email": BUYER, "language": "vi" }
        }),
    )
    .await
}

async fn filed(app: &TestApp, w: &World, listing: &str) -> Value {
    let response = file(app, w, listing, "buyer-42").await;
    assert_eq!(response.status(), 201);
    response.json().await.expect("case")
}

async fn act(app: &TestApp, token: &str, id: &Value, body: Value) -> reqwest::Response {
    app.post_as(
        &format!("/v1/disputes/{}/actions", id.as_str().expect("id")),
        token,
        body,
    )
    .await
}

async fn act_ok(app: &TestApp, token: &str, id: &Value, body: Value) -> Value {
    let response = act(app, token, id, body.clone()).await;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{body} → {text}");
    serde_json::from_str(&text).expect("case")
}

/// The case as the buyer sees it with the link mailed to them (no expiry).
async fn as_buyer(app: &TestApp, id: &Value) -> Value {
    let token = app.link_token(BUYER).await;
    let response = app
        .client
        .get(app.url(&format!("/v1/disputes/{}", id.as_str().expect("id"))))
        .header("Tracegate-Case-Token", token)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    response.json().await.expect("case")
}

fn decide(sanctions: Value) -> Value {
    json!({
        "action": "decide",
        "outcome": "upheld",
        "statement": "Mã truy xuất trên hộp không do tổ chức nào cấp; người bán không chứng minh được nguồn gốc hàng.",
        "sanctions": sanctions
    })
}

async fn register_code(app: &TestApp, code: &str) {
    let issuer = issuer(app, "national", None).await;
    let body = json!({ "codes": [{ "code": code, "owner": "0799000033", "product_name": "Kem dưỡng Sen", "category": "cosmetics", "origin": "79", "expiry_date": "2030-12-31" }] }).to_string();
    let response = post_batch(app, &issuer, "application/json", &body).await;
    assert_eq!(response.status(), 201);
}

async fn check_listing(app: &TestApp, platform: &str, listing: &str, code: &str) -> Value {
    let response = app
        .post_as(
            "/v1/listing-checks",
            platform,
            json!({ "shop_id": SHOP, "listing_id": listing, "category": "cosmetics", "title": "Kem dưỡng", "codes": [code] }),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.expect("decision")
}

async fn seller_answers_and_buyer_accepts(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let case = filed(&app, &w, "listing-1").await;
    let id = case["id"].clone();
    assert!(
        case["reference"]
            .as_str()
            .is_some_and(|r| r.starts_with("DSP-") && r.ends_with("000001")),
        "{case}"
    );
    assert_eq!(case["status"], "awaiting_seller");
    assert_eq!(case["province"], "79");
    assert!(
        case["deadlines"]["seller_answer"]
            .as_str()
            .is_some_and(|d| d.ends_with("+07:00")),
        "{case}"
    );

    // The same buyer about the same listing: linked, not doubled.
    let again = file(&app, &w, "listing-1", "buyer-42").await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.expect("case");
    assert_eq!(again["id"], id);

    // Both parties were told; the seller sees the case among theirs, without the buyer's contact.
    assert!(
        app.mails_to(BUYER)
            .await
            .iter()
            .any(|(s, _)| s.contains("DSP-"))
    );
    let mine: Value = app
        .get_as("/v1/me/disputes", &w.seller)
        .await
        .json()
        .await
        .expect("list");
    assert_eq!(mine["disputes"][0]["id"], id);
    let seen: Value = app
        .get_as(
            &format!("/v1/disputes/{}", id.as_str().expect("id")),
            &w.seller,
        )
        .await
        .json()
        .await
        .expect("case");
    assert!(seen.get("buyer_email").is_none(), "{seen}");
    assert_eq!(seen["allowed_actions"], json!(["respond"]));

    let answered = act_ok(
        &app,
        &w.seller,
        &id,
        json!({ "action": "respond", "statement": "Chúng tôi xin lỗi và hoàn tiền toàn bộ cho khách.", "offer": "refund" }),
    )
    .await;
    assert_eq!(answered["status"], "seller_responded");
    let settled = act_ok(&app, &w.platform, &id, json!({ "action": "accept" })).await;
    assert_eq!(settled["status"], "settled");

    let timeline: Value = app
        .get_as(
            &format!("/v1/disputes/{}/timeline", id.as_str().expect("id")),
            &w.officer.access_token,
        )
        .await
        .json()
        .await
        .expect("timeline");
    let actions: Vec<&str> = timeline["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        actions,
        ["filed", "confirm", "filing_linked", "respond", "accept"]
    );
    let audit = app.audit_actions().await;
    for action in ["dispute.filed", "dispute.responded", "dispute.accepted"] {
        assert!(audit.iter().any(|a| a == action), "{action} in {audit:?}");
    }
    let hooks = app.webhooks_to(&w.platform_id).await;
    assert!(
        hooks
            .iter()
            .any(|(t, d)| t == "dispute.updated" && d["status"] == "settled"),
        "{hooks:?}"
    );
    assert!(
        app.mails_to(BUYER).await.len() >= 3,
        "buyer told at each step"
    );
}
both_backends!(seller_answers_and_buyer_accepts);

async fn a_silent_seller_is_reminded_then_escalated_then_overdue(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let case = filed(&app, &w, "listing-1").await;
    let id = case["id"].clone();
    let due = chrono::DateTime::parse_from_rfc3339(
        case["deadlines"]["seller_answer"].as_str().expect("due"),
    )
    .expect("time")
    .with_timezone(&chrono::Utc);
    let now = tracegate::clock::Clock::now(app.clock.as_ref());
    assert!(
        due - now >= TimeDelta::days(3),
        "three working days at least"
    );

    assert_eq!(app.dispute_round().await.reminded, 0, "not yet");
    app.clock.advance(due - now - TimeDelta::hours(12));
    let round = app.dispute_round().await;
    assert_eq!((round.reminded, round.escalated), (1, 0), "{round:?}");
    assert_eq!(app.dispute_round().await.reminded, 0, "reminded once");

    app.clock.advance(TimeDelta::hours(13));
    let round = app.dispute_round().await;
    assert_eq!(round.escalated, 1, "{round:?}");
    let case = as_buyer(&app, &id).await;
    assert_eq!(case["status"], "under_review");
    assert!(case["deadlines"].get("seller_answer").is_none());
    let supervisor_mail = app.mails_to(&w.supervisor.email).await;
    let outsider_mail = app.mails_to(&w.outsider.email).await;
    assert!(
        outsider_mail
            .iter()
            .all(|(subject, _)| !subject.contains("DSP-")),
        "not those of other provinces: {outsider_mail:?}"
    );
    assert!(
        supervisor_mail
            .iter()
            .any(|(subject, _)| subject.contains("DSP-"))
    );

    let resolution = chrono::DateTime::parse_from_rfc3339(
        case["deadlines"]["resolution"].as_str().expect("due"),
    )
    .expect("time")
    .with_timezone(&chrono::Utc);
    let now = tracegate::clock::Clock::now(app.clock.as_ref());
    app.clock.advance(resolution - now + TimeDelta::minutes(1));
    let round = app.dispute_round().await;
    assert_eq!(round.overdue, 1, "{round:?}");
    assert_eq!(app.dispute_round().await.overdue, 0, "flagged once");
    let case = as_buyer(&app, &id).await;
    assert_eq!(case["overdue"], true);
}
both_backends!(a_silent_seller_is_reminded_then_escalated_then_overdue);

async fn a_decision_with_sanctions_blocks_the_listing_and_strikes_suspend_the_seller(
    backend: TestBackend,
) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let code = format!("(01){}(10)K1", gtin("893850000020"));
    register_code(&app, &code).await;
    let allowed = check_listing(&app, &w.platform, "listing-1", &code).await;
    assert_eq!(allowed["decision"], "allow");

    let case = filed(&app, &w, "listing-1").await;
    let id = case["id"].clone();
    assert_eq!(
        case["listing_check_id"], allowed["id"],
        "linked to the listing check"
    );
    let officer = &w.officer.access_token;
    act_ok(
        &app,
        officer,
        &id,
        json!({ "action": "escalate", "reason": "Cán bộ thụ lý" }),
    )
    .await;

    // A sanction the policy does not allow for this kind is refused, naming it; so is a
    // suspension longer than the policy allows, and a code the listing never showed.
    let refused = act(
        &app,
        officer,
        &id,
        decide(json!([{ "kind": "flag_codes" }])),
    )
    .await;
    assert_eq!(refused.status(), 422);
    let body = problem(refused).await;
    assert_eq!(body["errors"][0]["field"], "sanctions[0].kind", "{body}");
    let refused = act(
        &app,
        officer,
        &id,
        decide(json!([{ "kind": "suspend_seller", "days": 900 }])),
    )
    .await;
    assert_eq!(refused.status(), 422);
    let body = problem(refused).await;
    assert_eq!(body["errors"][0]["field"], "sanctions[0].days", "{body}");
    let elsewhere = format!("(01){}(10)K9", gtin("893850000021"));
    register_code(&app, &elsewhere).await;
    let refused = act(
        &app,
        officer,
        &id,
        decide(json!([{ "kind": "revoke_codes", "codes": [elsewhere] }])),
    )
    .await;
    assert_eq!(refused.status(), 422, "only codes this listing showed");
    let body = problem(refused).await;
    assert_eq!(
        body["errors"][0]["field"], "sanctions[0].codes[0]",
        "{body}"
    );
    let missing = act(
        &app,
        officer,
        &id,
        json!({ "action": "decide", "outcome": "upheld", "statement": "" }),
    )
    .await;
    assert_eq!(missing.status(), 422, "a statement of reasons is required");

    let decided = act_ok(
        &app,
        officer,
        &id,
        decide(
            json!([{ "kind": "block_listing" }, { "kind": "revoke_codes" }, { "kind": "strike" }]),
        ),
    )
    .await;
    assert_eq!(decided["status"], "decided");
    assert_eq!(decided["outcome"], "upheld");
    assert_eq!(
        decided["sanctions"].as_array().map(Vec::len),
        Some(3),
        "{decided}"
    );

    // The listing is withdrawn and blocked; the code is revoked.
    let hooks = app.webhooks_to(&w.platform_id).await;
    assert!(
        hooks
            .iter()
            .any(|(t, d)| t == "listing.revoked" && d["listing_id"] == "listing-1"),
        "{hooks:?}"
    );
    let again = check_listing(&app, &w.platform, "listing-1", &code).await;
    assert_eq!(again["decision"], "deny");
    let reasons: Vec<&str> = again["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .filter_map(|r| r["code"].as_str())
        .collect();
    assert!(reasons.contains(&"listing_blocked"), "{reasons:?}");
    assert!(
        reasons.contains(&"code_revoked") || reasons.contains(&"code_recalled"),
        "{reasons:?}"
    );

    // Two more upheld cases with a strike: three strikes suspend the seller.
    for listing in ["listing-2", "listing-3"] {
        let case = filed(&app, &w, listing).await;
        act_ok(&app, officer, &case["id"], json!({ "action": "escalate" })).await;
        act_ok(
            &app,
            officer,
            &case["id"],
            decide(json!([{ "kind": "strike" }])),
        )
        .await;
    }
    let seller: Value = app
        .get_as(&format!("/v1/sellers/by-shop/{SHOP}"), &w.platform)
        .await
        .json()
        .await
        .expect("seller");
    assert_eq!(seller["status"], "suspended", "{seller}");
    let hooks = app.webhooks_to(&w.platform_id).await;
    assert!(
        hooks.iter().any(|(t, _)| t == "seller.suspended"),
        "{hooks:?}"
    );

    // The suspension ends by itself after the policy's days.
    app.clock.advance(TimeDelta::days(31));
    let round = app.dispute_round().await;
    assert_eq!(round.suspensions_ended, 1, "{round:?}");
    let platform = token_for_client(&app, &w.platform_id, &w.platform_secret).await;
    let seller: Value = app
        .get_as(&format!("/v1/sellers/by-shop/{SHOP}"), &platform)
        .await
        .json()
        .await
        .expect("seller");
    assert_eq!(seller["status"], "verified", "{seller}");
}
both_backends!(a_decision_with_sanctions_blocks_the_listing_and_strikes_suspend_the_seller);

async fn appeals_are_upheld_or_dismissed_by_another_supervisor(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let supervisor = &w.supervisor.access_token;

    // Upheld: the first decision's sanctions are lifted, and the listing is decided anew.
    let listing = |platform: String| {
        let request = app
            .client
            .post(app.url("/v1/listing-checks"))
            .bearer_auth(platform)
            .json(&json!({ "shop_id": SHOP, "listing_id": "listing-1", "category": "fashion", "title": "Áo dài lụa", "codes": [] }));
        async move {
            let decision: Value = request
                .send()
                .await
                .expect("sent")
                .json()
                .await
                .expect("decision");
            decision
        }
    };
    assert_eq!(listing(w.platform.clone()).await["decision"], "allow");
    let case = filed(&app, &w, "listing-1").await;
    let id = case["id"].clone();
    act_ok(&app, supervisor, &id, json!({ "action": "escalate" })).await;
    act_ok(
        &app,
        supervisor,
        &id,
        decide(json!([{ "kind": "suspend_seller", "days": 10 }, { "kind": "block_listing" }])),
    )
    .await;
    let blocked = listing(w.platform.clone()).await;
    assert_eq!(blocked["decision"], "deny", "{blocked}");
    let reasons = blocked["reasons"].to_string();
    assert!(
        reasons.contains("listing_blocked") && reasons.contains("seller_suspended"),
        "{reasons}"
    );
    let appealed = act_ok(
        &app,
        &w.seller,
        &id,
        json!({ "action": "appeal", "grounds": "Hàng có hóa đơn nhập khẩu hợp lệ, xin xem lại bằng chứng đính kèm." }),
    )
    .await;
    assert_eq!(appealed["status"], "appealed");
    let own = act(
        &app,
        supervisor,
        &id,
        json!({ "action": "decide_appeal", "result": "dismissed", "statement": "Giữ nguyên quyết định đã ban hành trước đó." }),
    )
    .await;
    assert_eq!(own.status(), 403, "not by the supervisor who decided");
    let by_officer = act(
        &app,
        &w.officer.access_token,
        &id,
        json!({ "action": "decide_appeal", "result": "dismissed", "statement": "Giữ nguyên quyết định đã ban hành trước đó." }),
    )
    .await;
    assert_eq!(by_officer.status(), 409, "appeals are for supervisors");
    let upheld = act_ok(
        &app,
        &w.other_supervisor.access_token,
        &id,
        json!({ "action": "decide_appeal", "result": "upheld", "outcome": "dismissed", "statement": "Hóa đơn nhập khẩu hợp lệ; khiếu nại không có cơ sở." }),
    )
    .await;
    assert_eq!(upheld["status"], "appeal_decided");
    assert_eq!(upheld["outcome"], "dismissed");
    assert!(
        upheld["sanctions"]
            .as_array()
            .expect("sanctions")
            .iter()
            .all(|s| s["lifted"] == true),
        "{upheld}"
    );
    let seller: Value = app
        .get_as(&format!("/v1/sellers/by-shop/{SHOP}"), &w.platform)
        .await
        .json()
        .await
        .expect("seller");
    assert_eq!(seller["status"], "verified", "suspension lifted: {seller}");
    let again = listing(w.platform.clone()).await;
    assert_eq!(
        again["decision"], "allow",
        "unblocked and decided anew: {again}"
    );

    // Dismissed: the decision stands; the buyer's appeal changes nothing.
    let second = filed(&app, &w, "listing-2").await;
    let second_id = second["id"].clone();
    act_ok(
        &app,
        supervisor,
        &second_id,
        json!({ "action": "escalate" }),
    )
    .await;
    act_ok(&app, supervisor, &second_id, json!({ "action": "decide", "outcome": "dismissed", "statement": "Không đủ bằng chứng cho thấy hàng giả." })).await;
    act_ok(
        &app,
        &w.platform,
        &second_id,
        json!({ "action": "appeal", "grounds": "Người mua cung cấp thêm ảnh chụp tem giả." }),
    )
    .await;
    let dismissed = act_ok(
        &app,
        &w.other_supervisor.access_token,
        &second_id,
        json!({ "action": "decide_appeal", "result": "dismissed", "statement": "Ảnh chụp không cho thấy khác biệt với tem thật." }),
    )
    .await;
    assert_eq!(dismissed["outcome"], "dismissed");
    assert_eq!(dismissed["decisions"].as_array().map(Vec::len), Some(2));

    // A third case is decided and never appealed: it closes when the window passes.
    let third = filed(&app, &w, "listing-3").await;
    act_ok(
        &app,
        supervisor,
        &third["id"],
        json!({ "action": "escalate" }),
    )
    .await;
    act_ok(
        &app,
        supervisor,
        &third["id"],
        decide(json!([{ "kind": "warning" }])),
    )
    .await;

    let round = app.dispute_round().await;
    assert_eq!(round.closed, 2, "appeal decisions are final: {round:?}");
    app.clock.advance(TimeDelta::days(16));
    let round = app.dispute_round().await;
    assert_eq!(round.closed, 1, "{round:?}");
    let closed = as_buyer(&app, &third["id"]).await;
    assert_eq!(closed["status"], "closed");
}
both_backends!(appeals_are_upheld_or_dismissed_by_another_supervisor);

async fn illegal_moves_name_the_allowed_ones_and_withdrawal_ends_the_case(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let case = filed(&app, &w, "listing-1").await;
    let id = case["id"].clone();
    let refused = act(&app, &w.seller, &id, json!({ "action": "accept" })).await;
    assert_eq!(refused.status(), 409);
    let body = problem(refused).await;
    assert_eq!(body["allowed_actions"], json!(["respond"]), "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("respond")),
        "{body}"
    );
    let refused = act(&app, &w.officer.access_token, &id, decide(json!([]))).await;
    assert_eq!(refused.status(), 409);
    assert_eq!(
        problem(refused).await["allowed_actions"],
        json!(["escalate"])
    );
    let unknown = act(&app, &w.seller, &id, json!({ "action": "explode" })).await;
    assert_eq!(unknown.status(), 422, "an unknown action is named");

    let withdrawn = act_ok(
        &app,
        &w.platform,
        &id,
        json!({ "action": "withdraw", "reason": "Đã nhận được hàng thay thế" }),
    )
    .await;
    assert_eq!(withdrawn["status"], "withdrawn");
    assert_eq!(withdrawn["allowed_actions"], json!([]));
    let late = act(
        &app,
        &w.seller,
        &id,
        json!({ "action": "respond", "statement": "Trả lời muộn sau khi đã rút." }),
    )
    .await;
    assert_eq!(late.status(), 409);
    assert_eq!(problem(late).await["allowed_actions"], json!([]));
}
both_backends!(illegal_moves_name_the_allowed_ones_and_withdrawal_ends_the_case);

async fn officers_see_only_their_provinces(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let case = filed(&app, &w, "listing-1").await;
    let path = format!("/v1/disputes/{}", case["id"].as_str().expect("id"));
    assert_eq!(
        app.get_as(&path, &w.outsider.access_token).await.status(),
        403
    );
    assert_eq!(
        act(
            &app,
            &w.outsider.access_token,
            &case["id"],
            json!({ "action": "escalate" })
        )
        .await
        .status(),
        403
    );
    let queue: Value = app
        .get_as("/v1/disputes", &w.outsider.access_token)
        .await
        .json()
        .await
        .expect("queue");
    assert_eq!(queue["disputes"], json!([]));
    assert_eq!(
        app.get_as("/v1/disputes?province=79", &w.outsider.access_token)
            .await
            .status(),
        403
    );

    let queue: Value = app
        .get_as(
            "/v1/disputes?province=79&status=awaiting_seller",
            &w.officer.access_token,
        )
        .await
        .json()
        .await
        .expect("queue");
    assert_eq!(queue["disputes"][0]["id"], case["id"]);
    let bad = app
        .get_as("/v1/disputes?status=lost", &w.officer.access_token)
        .await;
    assert_eq!(bad.status(), 422);

    // Another platform, another seller's buyer: not theirs.
    let other = crate::fixtures::client_token(&app, tracegate::clients::ClientKind::Platform).await;
    assert_eq!(app.get_as(&path, &other).await.status(), 404);
    let stranger = app
        .client
        .get(app.url(&path))
        .header("Tracegate-Case-Token", "0".repeat(64))
        .send()
        .await
        .expect("sent");
    assert_eq!(stranger.status(), 404);

    // Cursor pagination over several cases.
    for n in 2..=5 {
        filed(&app, &w, &format!("listing-{n}")).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("/v1/disputes?limit=2&cursor={c}"),
            None => "/v1/disputes?limit=2".to_string(),
        };
        let page: Value = app
            .get_as(&url, &w.officer.access_token)
            .await
            .json()
            .await
            .expect("page");
        seen.extend(
            page["disputes"]
                .as_array()
                .expect("list")
                .iter()
                .map(|d| d["id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let unassigned: Value = app
        .get_as("/v1/disputes?assignee=none", &w.officer.access_token)
        .await
        .json()
        .await
        .expect("page");
    assert_eq!(unassigned["disputes"].as_array().map(Vec::len), Some(5));
}
both_backends!(officers_see_only_their_provinces);

async fn two_concurrent_decisions_exactly_one_succeeds(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let case = filed(&app, &w, "listing-1").await;
    let id = case["id"].clone();
    let taken = act_ok(
        &app,
        &w.officer.access_token,
        &id,
        json!({ "action": "escalate" }),
    )
    .await;
    let version = taken["version"].as_i64().expect("version");
    let path = format!("/v1/disputes/{}/actions", id.as_str().expect("id"));
    let send = |token: String, outcome: &'static str| {
        let request = app
            .client
            .post(app.url(&path))
            .bearer_auth(token)
            .header("If-Match", format!("\"{version}\""))
            .json(&json!({ "action": "decide", "outcome": outcome, "statement": "Quyết định sau khi xem xét toàn bộ hồ sơ vụ việc." }));
        async move { request.send().await.expect("sent").status().as_u16() }
    };
    let (a, b) = tokio::join!(
        send(w.officer.access_token.clone(), "upheld"),
        send(w.supervisor.access_token.clone(), "dismissed")
    );
    let mut statuses = [a, b];
    statuses.sort();
    assert_eq!(statuses[0], 200, "{statuses:?}");
    assert!(statuses[1] == 409 || statuses[1] == 412, "{statuses:?}");
    let case = as_buyer(&app, &id).await;
    assert_eq!(case["decisions"].as_array().map(Vec::len), Some(1));

    // A stale If-Match is refused with 412.
    let stale = app
        .client
        .post(app.url(&path))
        .bearer_auth(&w.seller)
        .header("If-Match", "\"1\"")
        .json(&json!({ "action": "appeal", "grounds": "Quyết định chưa xem xét hóa đơn nhập khẩu của tôi." }))
        .send()
        .await
        .expect("sent");
    assert_eq!(stale.status(), 412);
}
both_backends!(two_concurrent_decisions_exactly_one_succeeds);

async fn information_requests_pause_the_clock_and_assignment_is_for_supervisors(
    backend: TestBackend,
) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let case = filed(&app, &w, "listing-1").await;
    let id = case["id"].clone();
    let taken = act_ok(
        &app,
        &w.officer.access_token,
        &id,
        json!({ "action": "escalate" }),
    )
    .await;
    let due_before = taken["deadlines"]["resolution"].clone();
    let asked = act_ok(
        &app,
        &w.officer.access_token,
        &id,
        json!({ "action": "request_information", "from": "seller", "question": "Xin cung cấp hóa đơn nhập hàng của lô này." }),
    )
    .await;
    assert_eq!(asked["deadlines"]["paused"], true);
    assert!(
        app.mails_to(BUYER)
            .await
            .iter()
            .all(|(_, t)| !t.contains("hóa đơn nhập hàng")),
        "only the seller is asked"
    );
    let wrong = act(
        &app,
        &w.platform,
        &id,
        json!({ "action": "supply_information", "answer": "Tôi có ảnh." }),
    )
    .await;
    assert_eq!(wrong.status(), 409, "the buyer was not asked");
    // Tokens live 15 minutes: a short pause is enough to see the deadline move.
    app.clock.advance(TimeDelta::minutes(5));
    let seller = act_ok(&app, &w.seller, &id, json!({ "action": "supply_information", "answer": "Hóa đơn số 0012345 ngày 02/11/2026, đính kèm." })).await;
    assert_eq!(seller["status"], "under_review");
    assert_ne!(
        seller["deadlines"]["resolution"], due_before,
        "moved by the pause"
    );

    // Notes stay internal.
    let note = app
        .post_as(
            &format!("/v1/disputes/{}/notes", id.as_str().expect("id")),
            &w.officer.access_token,
            json!({ "note": "Gọi điện cho người bán lúc 10:00." }),
        )
        .await;
    assert_eq!(note.status(), 201);
    let timeline: Value = app
        .get_as(
            &format!("/v1/disputes/{}/timeline", id.as_str().expect("id")),
            &w.seller,
        )
        .await
        .json()
        .await
        .expect("timeline");
    assert!(!timeline.to_string().contains("Gọi điện"), "{timeline}");
    let officer_me: Value = app
        .get_as("/v1/me", &w.officer.access_token)
        .await
        .json()
        .await
        .expect("me");
    let officer_id = officer_me["id"].as_str().expect("id").to_string();
    assert!(
        !timeline.to_string().contains(&officer_id),
        "parties see officers only as officer"
    );
    assert!(
        timeline.to_string().contains("\"actor\":\"officer\""),
        "{timeline}"
    );
    for token in [None, Some(app.link_token(BUYER).await)] {
        let request = app.client.get(app.url(&format!(
            "/v1/disputes/{}/timeline",
            id.as_str().expect("id")
        )));
        let request = match &token {
            Some(t) => request.header("Tracegate-Case-Token", t),
            None => request.bearer_auth(&w.platform),
        };
        let seen: Value = request
            .send()
            .await
            .expect("sent")
            .json()
            .await
            .expect("timeline");
        assert!(!seen.to_string().contains("Gọi điện"), "{seen}");
    }

    // Assignment: supervisors only, to officers of the province.
    let me: Value = app
        .get_as("/v1/me", &w.officer.access_token)
        .await
        .json()
        .await
        .expect("me");
    let assign = |token: String, assignee: Value| {
        let request = app
            .client
            .put(app.url(&format!(
                "/v1/disputes/{}/assignee",
                id.as_str().expect("id")
            )))
            .bearer_auth(token)
            .json(&json!({ "assignee": assignee }));
        async move { request.send().await.expect("sent").status().as_u16() }
    };
    assert_eq!(
        assign(w.officer.access_token.clone(), me["id"].clone()).await,
        403
    );
    let outsider: Value = app
        .get_as("/v1/me", &w.outsider.access_token)
        .await
        .json()
        .await
        .expect("me");
    assert_eq!(
        assign(w.supervisor.access_token.clone(), outsider["id"].clone()).await,
        422
    );
    assert_eq!(
        assign(w.supervisor.access_token.clone(), me["id"].clone()).await,
        200
    );
    let mine: Value = app
        .get_as("/v1/disputes?assignee=me", &w.officer.access_token)
        .await
        .json()
        .await
        .expect("queue");
    assert_eq!(mine["disputes"][0]["id"], id);
}
both_backends!(information_requests_pause_the_clock_and_assignment_is_for_supervisors);

fn multipart(name: &str, media_type: &str, content: &[u8]) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(content.to_vec())
            .file_name(name.to_string())
            .mime_str(media_type)
            .expect("mime"),
    )
}

async fn evidence_is_kept_with_its_hash_and_checked_on_download(backend: TestBackend) {
    let (env, _) = TestApp::spawn(&backend).await;
    let mut config = env.config.clone();
    config.disputes.evidence_max_bytes = 64 * 1024;
    let app = TestApp::start(config).await;
    let w = world(&app).await;
    let case = filed(&app, &w, "listing-1").await;
    let id = case["id"].as_str().expect("id").to_string();
    let url = app.url(&format!("/v1/disputes/{id}/evidence"));
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[7u8; 2048]);
    let uploaded = app
        .client
        .post(&url)
        .bearer_auth(&w.seller)
        .multipart(multipart("hoa-don.png", "image/png", &png))
        .send()
        .await
        .expect("sent");
    assert_eq!(uploaded.status(), 201);
    let evidence: Value = uploaded.json().await.expect("evidence");
    let expected = tracegate::disputes::evidence::sha256_hex(&png);
    assert_eq!(evidence["sha256"], expected);

    let download = app
        .get_as(
            &format!(
                "/v1/disputes/{id}/evidence/{}",
                evidence["id"].as_str().expect("id")
            ),
            &w.officer.access_token,
        )
        .await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "image/png");
    let digest = download.headers()["repr-digest"]
        .to_str()
        .expect("digest")
        .to_string();
    let body = download.bytes().await.expect("body");
    assert_eq!(
        tracegate::disputes::evidence::sha256_hex(&body),
        expected,
        "the hash verifies"
    );
    assert!(digest.starts_with("sha-256=:"));

    let too_big = app
        .client
        .post(&url)
        .bearer_auth(&w.seller)
        .multipart(multipart("big.png", "image/png", &[0x89; 70 * 1024]))
        .send()
        .await
        .expect("sent");
    assert_eq!(too_big.status(), 413);
    assert!(
        problem(too_big).await["detail"]
            .as_str()
            .is_some_and(|d| d.contains("65536"))
    );
    let exe = app
        .client
        .post(&url)
        .bearer_auth(&w.seller)
        .multipart(multipart(
            "x.exe",
            "application/x-msdownload",
            b"MZ\x90\x00",
        ))
        .send()
        .await
        .expect("sent");
    assert_eq!(exe.status(), 415);
    assert!(
        problem(exe).await["detail"]
            .as_str()
            .is_some_and(|d| d.contains("image/png"))
    );
    let disguised = app
        .client
        .post(&url)
        .bearer_auth(&w.seller)
        .multipart(multipart(
            "photo.jpg",
            "image/jpeg",
            b"MZ\x90\x00 not a picture",
        ))
        .send()
        .await
        .expect("sent");
    assert_eq!(disguised.status(), 415, "content must match the type");

    // Nobody outside the case reads it.
    let evidence_path = format!(
        "/v1/disputes/{id}/evidence/{}",
        evidence["id"].as_str().expect("id")
    );
    assert_eq!(
        app.get_as(&evidence_path, &w.outsider.access_token)
            .await
            .status(),
        403
    );
    let other_platform =
        crate::fixtures::client_token(&app, tracegate::clients::ClientKind::Platform).await;
    assert_eq!(
        app.get_as(&evidence_path, &other_platform).await.status(),
        404
    );
    let wrong_link = app
        .client
        .get(app.url(&evidence_path))
        .header("Tracegate-Case-Token", "f".repeat(64))
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong_link.status(), 404);
    let buyer_link = app
        .client
        .get(app.url(&evidence_path))
        .header("Tracegate-Case-Token", app.link_token(BUYER).await)
        .send()
        .await
        .expect("sent");
    assert_eq!(buyer_link.status(), 200, "the buyer is a party");
    let upload_as_stranger = app
        .client
        .post(&url)
        .bearer_auth(&other_platform)
        .multipart(multipart("x.png", "image/png", &png))
        .send()
        .await
        .expect("sent");
    assert_eq!(upload_as_stranger.status(), 404);

    // Hidden by an officer with a reason: parties no longer see it, officers do.
    let hidden = app
        .post_as(
            &format!(
                "/v1/disputes/{id}/evidence/{}/hide",
                evidence["id"].as_str().expect("id")
            ),
            &w.officer.access_token,
            json!({ "reason": "Ảnh chứa thông tin cá nhân của người khác." }),
        )
        .await;
    assert_eq!(hidden.status(), 200);
    let seen: Value = app
        .get_as(&format!("/v1/disputes/{id}"), &w.seller)
        .await
        .json()
        .await
        .expect("case");
    assert_eq!(seen["evidence"], json!([]));
    let download = app
        .get_as(
            &format!(
                "/v1/disputes/{id}/evidence/{}",
                evidence["id"].as_str().expect("id")
            ),
            &w.seller,
        )
        .await;
    assert_eq!(download.status(), 404);
    let officer_view: Value = app
        .get_as(&format!("/v1/disputes/{id}"), &w.officer.access_token)
        .await
        .json()
        .await
        .expect("case");
    assert_eq!(
        officer_view["evidence"][0]["hidden_reason"],
        "Ảnh chứa thông tin cá nhân của người khác."
    );

    // A file changed on disk is never served as the evidence.
    let stored = std::path::Path::new(&env.config.disputes.evidence_dir)
        .join(&id)
        .join(evidence["id"].as_str().expect("id"));
    std::fs::write(&stored, b"tampered").expect("tamper");
    let download = app
        .get_as(
            &format!(
                "/v1/disputes/{id}/evidence/{}",
                evidence["id"].as_str().expect("id")
            ),
            &w.officer.access_token,
        )
        .await;
    assert_eq!(download.status(), 500);
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "dispute.evidence_hidden")
    );
}
both_backends!(evidence_is_kept_with_its_hash_and_checked_on_download);

async fn buyers_file_directly_after_confirming_their_address(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let filing = json!({
        "platform_id": w.platform_id,
        "shop_id": SHOP,
        "listing_id": "listing-9",
        "kind": "origin_misrepresented",
        "claim": "report_only",
        "description": "Sản phẩm ghi xuất xứ Nhật Bản nhưng bao bì in chữ Trung Quốc.",
        "email": BUYER,
        "language": "en"
    });
    let response = app.post("/v1/public/disputes", filing.clone()).await;
    assert_eq!(response.status(), 202);
    let mails = app.mails_to(BUYER).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].0.contains("Confirm"), "{mails:?}");
    let mine: Value = app
        .get_as("/v1/me/disputes", &w.seller)
        .await
        .json()
        .await
        .expect("list");
    assert_eq!(
        mine["disputes"],
        json!([]),
        "nothing reaches the seller before confirmation"
    );

    let token = token_in(&mails[0].1);
    let confirmed = app
        .post("/v1/public/disputes/confirm", json!({ "token": token }))
        .await;
    assert_eq!(confirmed.status(), 200);
    let case: Value = confirmed.json().await.expect("case");
    assert_eq!(case["status"], "awaiting_seller");
    let again = app
        .post("/v1/public/disputes/confirm", json!({ "token": token }))
        .await;
    assert_eq!(again.status(), 200, "opening the link again is harmless");
    let bad = app
        .post("/v1/public/disputes/confirm", json!({ "token": "nope" }))
        .await;
    assert_eq!(bad.status(), 422);
    let mine: Value = app
        .get_as("/v1/me/disputes", &w.seller)
        .await
        .json()
        .await
        .expect("list");
    assert_eq!(mine["disputes"][0]["id"], case["id"]);

    // A filing never confirmed lapses.
    let mut other = filing.clone();
    other["listing_id"] = json!("listing-10");
    other["email"] = json!("other.buyer@example.vn");
    assert_eq!(app.post("/v1/public/disputes", other).await.status(), 202);
    let unknown_shop = app
        .post("/v1/public/disputes", json!({ "platform_id": w.platform_id, "shop_id": "nobody", "listing_id": "x", "kind": "counterfeit", "claim": "refund", "description": "Không rõ người bán là ai cả.", "email": BUYER }))
        .await;
    assert_eq!(unknown_shop.status(), 422);
    assert_eq!(problem(unknown_shop).await["errors"][0]["field"], "shop_id");
    app.clock.advance(TimeDelta::hours(73));
    assert_eq!(app.dispute_round().await.lapsed, 1);

    // Nobody can flood an address with confirmation mail.
    for n in 0..5 {
        let mut flood = filing.clone();
        flood["listing_id"] = json!(format!("flood-{n}"));
        flood["email"] = json!("victim@example.vn");
        assert_eq!(app.post("/v1/public/disputes", flood).await.status(), 202);
    }
    assert_eq!(app.mails_to("victim@example.vn").await.len(), 3);
}
both_backends!(buyers_file_directly_after_confirming_their_address);

async fn reports_count_cases_and_export_csv(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let first = filed(&app, &w, "listing-1").await;
    filed(&app, &w, "listing-2").await;
    act_ok(
        &app,
        &w.officer.access_token,
        &first["id"],
        json!({ "action": "escalate" }),
    )
    .await;
    app.clock.advance(TimeDelta::minutes(6));
    act_ok(
        &app,
        &w.officer.access_token,
        &first["id"],
        decide(json!([{ "kind": "warning" }])),
    )
    .await;
    let report: Value = app
        .get_as("/v1/dispute-reports", &w.officer.access_token)
        .await
        .json()
        .await
        .expect("report");
    assert_eq!(report["total"], 2, "{report}");
    assert_eq!(report["by_province"], json!([{ "key": "79", "count": 2 }]));
    assert_eq!(
        report["by_kind"],
        json!([{ "key": "counterfeit", "count": 2 }])
    );
    assert_eq!(
        report["median_hours_to_decision"], 0.1,
        "six minutes: {report}"
    );
    let outside: Value = app
        .get_as("/v1/dispute-reports", &w.outsider.access_token)
        .await
        .json()
        .await
        .expect("report");
    assert_eq!(
        outside["total"], 0,
        "other provinces' cases are not counted"
    );
    let bad = app
        .get_as(
            "/v1/dispute-reports?from=2026-13-01",
            &w.officer.access_token,
        )
        .await;
    assert_eq!(bad.status(), 422);
    let csv = app
        .get_as("/v1/dispute-reports/cases.csv", &w.officer.access_token)
        .await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/csv")
    );
    let text = csv.text().await.expect("csv");
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.starts_with("reference,status,kind"));
    assert!(text.contains(first["reference"].as_str().expect("reference")));
}
both_backends!(reports_count_cases_and_export_csv);

async fn overlapping_suspensions_keep_the_seller_suspended_until_the_last_ends(
    backend: TestBackend,
) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let w = world(&app).await;
    let officer = &w.officer.access_token;
    for (listing, days) in [("listing-1", 10), ("listing-2", 20)] {
        let case = filed(&app, &w, listing).await;
        act_ok(&app, officer, &case["id"], json!({ "action": "escalate" })).await;
        let decided = act_ok(
            &app,
            officer,
            &case["id"],
            decide(json!([{ "kind": "suspend_seller", "days": days }])),
        )
        .await;
        assert_eq!(decided["sanctions"][0]["days"], days, "{decided}");
    }
    let standing = |token: String| {
        let request = app
            .client
            .get(app.url(&format!("/v1/sellers/by-shop/{SHOP}")))
            .bearer_auth(token);
        async move {
            let seller: Value = request
                .send()
                .await
                .expect("sent")
                .json()
                .await
                .expect("seller");
            seller["status"].as_str().unwrap_or("").to_string()
        }
    };
    app.clock.advance(TimeDelta::days(11));
    assert_eq!(
        app.dispute_round().await.suspensions_ended,
        0,
        "the second runs on"
    );
    let platform = token_for_client(&app, &w.platform_id, &w.platform_secret).await;
    assert_eq!(standing(platform).await, "suspended");
    app.clock.advance(TimeDelta::days(10));
    assert_eq!(app.dispute_round().await.suspensions_ended, 1);
    let platform = token_for_client(&app, &w.platform_id, &w.platform_secret).await;
    assert_eq!(standing(platform).await, "verified");
}
both_backends!(overlapping_suspensions_keep_the_seller_suspended_until_the_last_ends);
