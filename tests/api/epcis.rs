//! Chain of custody: EPCIS 2.0 capture (validation, whole-document refusal, idempotency by
//! event hash), the event query, custody of a lot through aggregation, who may capture, and
//! the listing gate's chain-of-custody reasons.

use serde_json::{Value, json};
use tracegate::clients::ClientKind;

use crate::both_backends;
use tracegate::auth::OfficerRole;
use tracegate::policies::ProvinceScope;

use crate::fixtures::{
    BICH, bound_enterprise_seller, client, gtin, invited_officer, issuer, officer, post_batch,
    request_client_token, verified_person, verified_seller,
};
use crate::helpers::{TestApp, TestBackend, problem};

const MAKER: &str = "0109000015";
const RESELLER: &str = "0799000033";

fn document(events: Vec<Value>) -> Value {
    json!({
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-01T08:00:00Z",
        "epcisBody": { "eventList": events },
    })
}

fn lgtin(gtin14: &str, lot: &str) -> String {
    // A GTIN-14 with company prefix 893850 (6 digits): indicator, prefix, item reference.
    format!(
        "urn:epc:class:lgtin:{}.{}{}.{lot}",
        &gtin14[1..7],
        &gtin14[..1],
        &gtin14[7..13]
    )
}

fn party(code: &str) -> String {
    format!("urn:vn:mst:{code}")
}

/// A shipping ObjectEvent of `quantity` units of a lot from one business to another.
fn shipping(class: &str, quantity: u32, from: &str, to: &str, time: &str) -> Value {
    json!({
        "type": "ObjectEvent",
        "eventTime": time,
        "eventTimeZoneOffset": "+07:00",
        "epcList": [],
        "quantityList": [{ "epcClass": class, "quantity": quantity }],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "readPoint": { "id": "urn:epc:id:sgln:893850.00001.0" },
        "sourceList": [{ "type": "owning_party", "source": party(from) }],
        "destinationList": [{ "type": "owning_party", "destination": party(to) }],
    })
}

async fn capture(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/v1/epcis/capture"))
        .bearer_auth(token)
        .header("content-type", "application/ld+json")
        .body(body.to_string())
        .send()
        .await
        .expect("sent")
}

async fn captured(app: &TestApp, token: &str, body: &Value) -> Value {
    let response = capture(app, token, body).await;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, 201, "{text}");
    serde_json::from_str(&text).expect("summary")
}

async fn events(app: &TestApp, token: &str, query: &str) -> (Vec<Value>, Option<String>) {
    let response = app
        .get_as(&format!("/v1/epcis/events?{query}"), token)
        .await;
    let status = response.status();
    let link = response
        .headers()
        .get("link")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{query}: {text}");
    let body: Value = serde_json::from_str(&text).expect("query document");
    assert_eq!(body["type"], "EPCISQueryDocument");
    let list = body["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (list, link)
}

/// A second verified business (the maker, 0109000015) and its seller token.
async fn maker(app: &TestApp) -> String {
    let (_, bich) = verified_person(app, BICH).await;
    let view: Value = app
        .post_as(
            "/v1/me/business",
            &bich,
            json!({ "kind": "enterprise", "code": MAKER }),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["status"], "verified", "{view}");
    bich
}

async fn standard_example_is_captured_unchanged_and_queried_back(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let issuer = issuer(&app, "national", None).await;
    let text = include_str!("../fixtures/epcis/Example_9.6.1-ObjectEvent.jsonld");
    let original: Value = serde_json::from_str(text).expect("example");
    let response = app
        .client
        .post(app.url("/v1/epcis/capture"))
        .bearer_auth(&issuer.token)
        .header("content-type", "application/ld+json")
        .body(text)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 201);
    let summary: Value = response.json().await.expect("summary");
    assert_eq!(
        (summary["captured"].as_u64(), summary["duplicates"].as_u64()),
        (Some(2), Some(0))
    );
    // The example's own eventIDs are kept; the event hashes are CBV 2.0's.
    assert_eq!(
        summary["event_ids"][0],
        original["epcisBody"]["eventList"][0]["eventID"]
    );
    assert!(
        summary["event_hashes"][0]
            .as_str()
            .is_some_and(|h| h.starts_with("ni:///sha-256;") && h.ends_with("?ver=CBV2.0"))
    );

    let (found, _) = events(&app, &issuer.token, "").await;
    assert_eq!(found.len(), 2);
    for (mut back, sent) in found.into_iter().zip(
        original["epcisBody"]["eventList"]
            .as_array()
            .expect("events"),
    ) {
        assert!(back["recordTime"].is_string(), "{back}");
        back.as_object_mut().expect("event").remove("recordTime");
        assert_eq!(&back, sent, "queried back as captured");
    }

    // The same document again: nothing new, every event a duplicate.
    let again = captured(&app, &issuer.token, &original).await;
    assert_eq!(
        (again["captured"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(again["event_hashes"], summary["event_hashes"]);
    assert_eq!(
        app.count_sql("SELECT COUNT(*) AS n FROM epcis_events")
            .await,
        2
    );
    // The same event written another way (URN vs Digital Link, another offset) is the same
    // event: captured once.
    let mut rewritten = original["epcisBody"]["eventList"][0].clone();
    rewritten["epcList"] = json!([
        "https://example.com/01/10614141073464/21/2018",
        "urn:epc:id:sgtin:0614141.107346.2017"
    ]);
    rewritten["eventTime"] = json!("2005-04-04T02:33:31.116Z");
    rewritten.as_object_mut().expect("event").remove("eventID");
    let same = captured(&app, &issuer.token, &document(vec![rewritten])).await;
    assert_eq!(same["duplicates"].as_u64(), Some(1), "{same}");
    assert_eq!(same["event_hashes"][0], summary["event_hashes"][0]);

    // The standard's aggregation example too.
    let aggregation: Value = serde_json::from_str(include_str!(
        "../fixtures/epcis/Example_9.6.3-AggregationEvent.jsonld"
    ))
    .expect("example");
    assert_eq!(
        captured(&app, &issuer.token, &aggregation).await["captured"],
        1
    );
}
both_backends!(standard_example_is_captured_unchanged_and_queried_back);

async fn a_bad_event_refuses_the_whole_document_naming_each(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let issuer = issuer(&app, "national", None).await;
    let class = lgtin(&gtin("893850000021"), "L1");
    let good = shipping(&class, 5, MAKER, RESELLER, "2026-11-01T09:00:00+07:00");
    let mut bad_action = good.clone();
    bad_action["action"] = json!("SHOUT");
    let mut bad_party = good.clone();
    bad_party["sourceList"] =
        json!([{ "type": "owning_party", "source": "https://example.com/someone" }]);
    let mut bad_time = good.clone();
    bad_time["eventTime"] = json!("yesterday");
    let mut control = good.clone();
    control["bizStep"] = json!("ship\u{0}ping");
    let body = document(vec![bad_action, good.clone(), bad_party, bad_time, control]);
    let response = capture(&app, &issuer.token, &body).await;
    assert_eq!(response.status(), 422);
    let problem = problem(response).await;
    let fields: Vec<String> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str().map(str::to_string))
        .collect();
    for event in [0, 2, 3, 4] {
        assert!(
            fields
                .iter()
                .any(|f| f.starts_with(&format!("epcisBody.eventList[{event}]"))),
            "event {event} named: {fields:?}"
        );
    }
    assert!(
        !fields
            .iter()
            .any(|f| f.starts_with("epcisBody.eventList[1]")),
        "{fields:?}"
    );
    assert!(fields.contains(&"epcisBody.eventList[2].sourceList[0].source".to_string()));
    assert_eq!(
        app.count_sql("SELECT COUNT(*) AS n FROM epcis_events")
            .await,
        0
    );

    // Not an EPCIS document at all, and not JSON.
    let response = capture(&app, &issuer.token, &json!({ "type": "Nope" })).await;
    assert_eq!(response.status(), 422);
    let response = app
        .client
        .post(app.url("/v1/epcis/capture"))
        .bearer_auth(&issuer.token)
        .header("content-type", "application/json")
        .body("{ not json")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 400);
    let response = app
        .client
        .post(app.url("/v1/epcis/capture"))
        .bearer_auth(&issuer.token)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 415);
    // The good event alone is captured.
    assert_eq!(
        captured(&app, &issuer.token, &document(vec![good])).await["captured"],
        1
    );
}
both_backends!(a_bad_event_refuses_the_whole_document_naming_each);

async fn only_issuers_with_the_scope_and_verified_businesses_capture(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let class = lgtin(&gtin("893850000022"), "L1");
    let body = document(vec![shipping(
        &class,
        1,
        MAKER,
        RESELLER,
        "2026-11-01T09:00:00+07:00",
    )]);

    let response = app
        .client
        .post(app.url("/v1/epcis/capture"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 401);

    let (id, secret) = client(&app, ClientKind::Platform).await;
    let platform = crate::fixtures::token_for_client(&app, &id, &secret).await;
    assert_eq!(capture(&app, &platform, &body).await.status(), 403);

    let (id, secret) = client(&app, ClientKind::Issuer).await;
    let narrow = request_client_token(
        &app,
        &id,
        &secret,
        "grant_type=client_credentials&scope=codes%3Awrite",
    )
    .await;
    assert_eq!(narrow.status(), 200);
    let narrow: Value = narrow.json().await.expect("token");
    let narrow = narrow["access_token"].as_str().expect("token");
    let refused = capture(&app, narrow, &body).await;
    assert_eq!(refused.status(), 403);
    assert!(
        problem(refused).await["detail"]
            .as_str()
            .is_some_and(|d| d.contains("epcis:capture"))
    );

    // A seller whose business is not verified yet, then one whose business is.
    let (_, unverified) = verified_seller(&app).await;
    let unverified = unverified["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    assert_eq!(capture(&app, &unverified, &body).await.status(), 403);
    let bich = maker(&app).await;
    assert_eq!(capture(&app, &bich, &body).await.status(), 201);
    // Querying needs a token.
    assert_eq!(app.get("/v1/epcis/events").await.status(), 401);
}
both_backends!(only_issuers_with_the_scope_and_verified_businesses_capture);

async fn queries_filter_and_page(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let issuer = issuer(&app, "national", None).await;
    let g = gtin("893850000023");
    let (a, b) = (lgtin(&g, "A"), lgtin(&g, "B"));
    let serial = format!("https://id.example.com/01/{g}/21/S1");
    let mut observe = shipping(&b, 3, RESELLER, MAKER, "2026-11-03T09:00:00+07:00");
    observe["bizStep"] = json!("receiving");
    observe["epcList"] = json!([serial]);
    let body = document(vec![
        shipping(&a, 10, MAKER, RESELLER, "2026-11-01T09:00:00+07:00"),
        shipping(&b, 20, MAKER, RESELLER, "2026-11-02T09:00:00+07:00"),
        observe,
    ]);
    assert_eq!(captured(&app, &issuer.token, &body).await["captured"], 3);
    let token = &issuer.token;
    assert_eq!(events(&app, token, "").await.0.len(), 3);
    assert_eq!(events(&app, token, "EQ_bizStep=shipping").await.0.len(), 2);
    assert_eq!(
        events(
            &app,
            token,
            "EQ_bizStep=urn%3Aepcglobal%3Acbv%3Abizstep%3Areceiving"
        )
        .await
        .0
        .len(),
        1
    );
    let by_class = format!("MATCH_anyEPCClass={}", urlencode(&a));
    assert_eq!(events(&app, token, &by_class).await.0.len(), 1);
    // An EPC matches in any of its forms.
    let by_urn = format!(
        "MATCH_epc={}",
        urlencode(&format!(
            "urn:epc:id:sgtin:{}.{}{}.S1",
            &g[1..7],
            &g[..1],
            &g[7..13]
        ))
    );
    assert_eq!(events(&app, token, &by_urn).await.0.len(), 1);
    let window = "GE_eventTime=2026-11-02T02%3A00%3A00Z&LT_eventTime=2026-11-03T00%3A00%3A00Z";
    assert_eq!(events(&app, token, window).await.0.len(), 1);
    let to_reseller = format!("EQ_destination={}", urlencode(&party(RESELLER)));
    assert_eq!(events(&app, token, &to_reseller).await.0.len(), 2);
    let from_reseller = format!("EQ_source={}", urlencode(&party(RESELLER)));
    assert_eq!(events(&app, token, &from_reseller).await.0.len(), 1);

    // Pages of one, in time order, followed by the Link header.
    let mut seen = Vec::new();
    let mut query = "perPage=1".to_string();
    loop {
        let (page, link) = events(&app, token, &query).await;
        assert!(page.len() <= 1);
        seen.extend(page.into_iter().map(|e| e["eventTime"].clone()));
        let Some(link) = link else { break };
        let next = link
            .split_once("?")
            .and_then(|(_, rest)| rest.split_once('>'))
            .map(|(q, _)| q.to_string())
            .expect("next link");
        query = next;
    }
    assert_eq!(seen.len(), 3);

    // Parameters that cannot be read are named.
    for (query, field) in [
        ("perPage=0", "perPage"),
        ("GE_eventTime=soon", "GE_eventTime"),
        ("nextPageToken=zzz", "nextPageToken"),
    ] {
        let response = app
            .get_as(&format!("/v1/epcis/events?{query}"), token)
            .await;
        assert_eq!(response.status(), 400, "{query}");
        let problem = problem(response).await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let response = app.get_as("/v1/epcis/events?EQ_colour=red", token).await;
    assert_eq!(response.status(), 400);
}
both_backends!(queries_filter_and_page);

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)])
        .expect("encoded")
        .trim_start_matches("v=")
        .to_string()
}

/// A pallet: extension digit 0, company prefix 893850, serial reference 0000000001.
const SSCC: &str = "urn:epc:id:sscc:893850.00000000001";

/// The pallet's SSCC as a Digital Link path.
fn sscc_path() -> String {
    let digits = "08938500000000001";
    format!(
        "/00/{digits}{}",
        tracegate::codes::check_digit(digits.as_bytes())
    )
}

/// Commissioning of 100 units of a lot, 60 packed on a pallet, the pallet shipped to the
/// reseller: the reseller received 60 units of the lot through the pallet.
fn pallet_chain(g: &str, lot: &str) -> Vec<Value> {
    let class = lgtin(g, lot);
    let sscc = SSCC;
    vec![
        json!({
            "type": "ObjectEvent", "eventTime": "2026-11-01T08:00:00+07:00", "eventTimeZoneOffset": "+07:00",
            "epcList": [], "quantityList": [{ "epcClass": class, "quantity": 100 }],
            "action": "ADD", "bizStep": "commissioning", "disposition": "active",
            "readPoint": { "id": "urn:epc:id:sgln:893850.00001.0" },
        }),
        json!({
            "type": "AggregationEvent", "eventTime": "2026-11-01T09:00:00+07:00", "eventTimeZoneOffset": "+07:00",
            "parentID": sscc, "childEPCs": [], "childQuantityList": [{ "epcClass": class, "quantity": 60 }],
            "action": "ADD", "bizStep": "packing", "disposition": "in_progress",
        }),
        json!({
            "type": "ObjectEvent", "eventTime": "2026-11-02T09:00:00+07:00", "eventTimeZoneOffset": "+07:00",
            "epcList": [sscc], "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
            "sourceList": [{ "type": "owning_party", "source": party(MAKER) }],
            "destinationList": [{ "type": "owning_party", "destination": party(RESELLER) }],
        }),
        json!({
            "type": "ObjectEvent", "eventTime": "2026-11-03T09:00:00+07:00", "eventTimeZoneOffset": "+07:00",
            "epcList": [sscc], "action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress",
            "bizLocation": { "id": "urn:epc:id:sgln:893850.00002.0" },
            "sourceList": [{ "type": "owning_party", "source": party(MAKER) }],
            "destinationList": [{ "type": "owning_party", "destination": party(RESELLER) }, { "type": "possessing_party", "destination": "urn:epc:id:pgln:893851.000000" }],
        }),
    ]
}

async fn custody_of_a_lot_follows_it_through_aggregation(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let issuer = issuer(&app, "national", None).await;
    maker(&app).await;
    bound_enterprise_seller(&app, "shop-1").await;
    let g = gtin("893850000024");
    assert_eq!(
        captured(&app, &issuer.token, &document(pallet_chain(&g, "LOT7"))).await["captured"],
        4
    );
    // Officers read the chain in full.
    let officer = officer(&app, OfficerRole::Officer, ProvinceScope::All).await;
    let response = app
        .get_as(&format!("/v1/lots/{g}/LOT7/custody"), &officer.access_token)
        .await;
    assert_eq!(response.status(), 200);
    let custody: Value = response.json().await.expect("custody");
    assert_eq!(custody["view"], "full", "{custody}");
    assert_eq!(custody["lot_key"], format!("/01/{g}/10/LOT7"));
    let steps = custody["steps"].as_array().expect("steps");
    let biz_steps: Vec<&str> = steps
        .iter()
        .filter_map(|s| s["biz_step"].as_str())
        .collect();
    assert_eq!(
        biz_steps,
        ["commissioning", "packing", "shipping", "receiving"]
    );
    assert_eq!(steps[0]["quantity"], 100.0);
    assert_eq!(steps[2]["via"], sscc_path());
    assert_eq!(steps[2]["quantity"], 60.0, "{custody}");
    let to = &steps[2]["destinations"][0];
    assert_eq!(to["business_code"], RESELLER);
    assert_eq!(to["name"], "Công ty TNHH Mỹ phẩm Sen Việt");
    assert_eq!(to["province"], "79");
    // A GLN no business is known by is recorded, as unknown.
    let unknown = steps[3]["destinations"]
        .as_array()
        .expect("destinations")
        .iter()
        .find(|d| d["type"] == "possessing_party")
        .expect("possessing party");
    assert_eq!(unknown["known"], false);
    // One step before and one step after each party.
    let parties = custody["parties"].as_array().expect("parties");
    let of = |code: &str| {
        parties
            .iter()
            .find(|p| p["party"]["business_code"] == code)
            .unwrap_or_else(|| panic!("{code} in {custody}"))
    };
    assert_eq!(of(RESELLER)["received_from"][0]["business_code"], MAKER);
    assert_eq!(of(MAKER)["shipped_to"][0]["business_code"], RESELLER);
    // A lot no event names has an empty chain; a bad GTIN is named.
    let empty: Value = app
        .get_as(
            &format!("/v1/lots/{g}/OTHER/custody"),
            &officer.access_token,
        )
        .await
        .json()
        .await
        .expect("custody");
    assert_eq!(empty["steps"], json!([]));
    assert_eq!(app.get("/v1/lots/123/L/custody").await.status(), 422);
    // Receipts: the reseller received the lot through the pallet, shipped and received.
    assert_eq!(
        app.count_sql(&format!(
            "SELECT COUNT(*) AS n FROM epcis_receipts WHERE business_code = '{RESELLER}'"
        ))
        .await,
        2
    );
}
both_backends!(custody_of_a_lot_follows_it_through_aggregation);

async fn a_container_filled_after_it_moved_still_carries_its_lot(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let issuer = issuer(&app, "national", None).await;
    maker(&app).await;
    bound_enterprise_seller(&app, "shop-1").await;
    let g = gtin("893850000026");
    let mut chain = pallet_chain(&g, "LOT8");
    let packing = chain.remove(1);
    // The moves first, the packing that says what was on the pallet afterwards.
    assert_eq!(
        captured(&app, &issuer.token, &document(chain)).await["captured"],
        3
    );
    let received = format!(
        "SELECT COUNT(*) AS n FROM epcis_receipts WHERE business_code = '{RESELLER}' AND lot_key = '/01/{g}/10/LOT8'"
    );
    assert_eq!(app.count_sql(&received).await, 0);
    assert_eq!(
        captured(&app, &issuer.token, &document(vec![packing])).await["captured"],
        1
    );
    assert_eq!(app.count_sql(&received).await, 2);
    let officer = officer(&app, OfficerRole::Officer, ProvinceScope::All).await;
    let custody: Value = app
        .get_as(&format!("/v1/lots/{g}/LOT8/custody"), &officer.access_token)
        .await
        .json()
        .await
        .expect("custody");
    assert_eq!(
        custody["steps"].as_array().map(Vec::len),
        Some(4),
        "{custody}"
    );
}
both_backends!(a_container_filled_after_it_moved_still_carries_its_lot);

/// Keys of a JSON object and of every object inside it.
fn keys_within(value: &Value) -> std::collections::BTreeSet<String> {
    let mut keys = std::collections::BTreeSet::new();
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                keys.insert(key.clone());
                keys.extend(keys_within(inner));
            }
        }
        Value::Array(list) => list.iter().for_each(|v| keys.extend(keys_within(v))),
        _ => {}
    }
    keys
}

async fn custody_shows_others_names_and_provinces_only(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let issuer = issuer(&app, "national", None).await;
    let bich = maker(&app).await;
    let (_, _, platform, reseller) = bound_enterprise_seller(&app, "shop-1").await;
    let g = gtin("893850000027");
    register_food_lot(&app, &format!("(01){g}(10)LOT9")).await;
    captured(&app, &issuer.token, &document(pallet_chain(&g, "LOT9"))).await;
    let path = format!("/v1/lots/{g}/LOT9/custody");

    // Anyone, a platform, the reseller in the chain, an issuer: the public view.
    for token in [None, Some(&platform), Some(&reseller), Some(&issuer.token)] {
        let response = match token {
            Some(token) => app.get_as(&path, token).await,
            None => app.get(&path).await,
        };
        assert_eq!(response.status(), 200);
        let public: Value = response.json().await.expect("custody");
        assert_eq!(public["view"], "public", "{public}");
        let keys = keys_within(&public);
        for hidden in [
            "quantity",
            "uom",
            "location",
            "via",
            "event_id",
            "id",
            "business_code",
            "lot_key",
        ] {
            assert!(!keys.contains(hidden), "{hidden} shown in {public}");
        }
        let text = public.to_string();
        for identifier in [MAKER, RESELLER, "893851", "sscc"] {
            assert!(!text.contains(identifier), "{identifier} shown in {public}");
        }
        let shipped = &public["steps"][2];
        assert_eq!(shipped["biz_step"], "shipping");
        assert_eq!(shipped["to"][0]["name"], "Công ty TNHH Mỹ phẩm Sen Việt");
        assert_eq!(shipped["to"][0]["province"], "79");
        assert!(shipped["date"].as_str().is_some_and(|d| d.len() == 10));
        let unknown = &public["steps"][3]["to"];
        assert!(
            unknown
                .as_array()
                .is_some_and(|to| to.iter().any(|p| p == &json!({ "known": false }))),
            "{public}"
        );
    }
    // The business that owns the product reads it in full.
    let full: Value = app
        .get_as(&path, &bich)
        .await
        .json()
        .await
        .expect("custody");
    assert_eq!(full["view"], "full", "{full}");
    assert_eq!(full["steps"][2]["quantity"], 60.0);
    // A token that does not verify is refused, not read as anonymous; an officer without
    // the second factor reads what anyone may.
    assert_eq!(app.get_as(&path, "not-a-token").await.status(), 401);
    let without_totp = invited_officer(&app, OfficerRole::Officer, ProvinceScope::All).await;
    let public: Value = app
        .get_as(&path, &without_totp.access_token)
        .await
        .json()
        .await
        .expect("custody");
    assert_eq!(public["view"], "public");
}
both_backends!(custody_shows_others_names_and_provinces_only);

async fn events_are_read_by_the_parties_named_in_them(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let first = issuer(&app, "national", None).await;
    let other = issuer(&app, "national", None).await;
    let bich = maker(&app).await;
    let (_, _, platform, reseller) = bound_enterprise_seller(&app, "shop-1").await;
    let (_, stranger) = verified_seller(&app).await;
    let stranger = stranger["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    let g = gtin("893850000028");
    let outsider = "0319000029";
    // Maker → reseller, and maker → a business tracegate does not know.
    captured(
        &app,
        &first.token,
        &document(vec![
            shipping(
                &lgtin(&g, "A"),
                5,
                MAKER,
                RESELLER,
                "2026-11-01T09:00:00+07:00",
            ),
            shipping(
                &lgtin(&g, "B"),
                5,
                MAKER,
                outsider,
                "2026-11-02T09:00:00+07:00",
            ),
        ]),
    )
    .await;
    // Maker's own receiving record of another product, captured by the maker.
    let mut own = shipping(
        &lgtin(&gtin("893850000029"), "C"),
        1,
        outsider,
        MAKER,
        "2026-11-03T09:00:00+07:00",
    );
    own["bizStep"] = json!("receiving");
    captured(&app, &bich, &document(vec![own])).await;

    let count = |token: String| {
        let app = &app;
        async move { events(app, &token, "").await.0.len() }
    };
    // The maker is named in all three; the reseller in the one shipped to it.
    assert_eq!(count(bich.clone()).await, 3);
    assert_eq!(count(reseller.clone()).await, 1);
    let (to_reseller, _) = events(&app, &reseller, "").await;
    assert_eq!(to_reseller[0]["eventTime"], "2026-11-01T09:00:00+07:00");
    // A filter narrows what the caller may read, never widens it.
    let from_maker = format!("EQ_source={}", urlencode(&party(MAKER)));
    assert_eq!(events(&app, &reseller, &from_maker).await.0.len(), 1);
    // A seller without a verified business is party to nothing.
    assert_eq!(count(stranger).await, 0);
    // An issuer reads what it captured; another issuer reads none of it.
    assert_eq!(count(first.token.clone()).await, 2);
    assert_eq!(count(other.token.clone()).await, 0);
    // The owner of a product reads events naming it, whoever captured them: once the
    // maker's GTIN is registered to it, the reseller's own record of that product too.
    let mut resold = shipping(
        &lgtin(&g, "A"),
        2,
        RESELLER,
        outsider,
        "2026-11-04T09:00:00+07:00",
    );
    resold["readPoint"] = json!({ "id": "urn:epc:id:sgln:893850.00002.0" });
    captured(&app, &reseller, &document(vec![resold.clone()])).await;
    assert_eq!(count(bich.clone()).await, 3);
    register_food_lot(&app, &format!("(01){g}(10)A")).await;
    assert_eq!(count(bich.clone()).await, 4);
    // Officers read every event; platforms none; nobody without a token.
    let officer = officer(&app, OfficerRole::Officer, ProvinceScope::All).await;
    assert_eq!(count(officer.access_token.clone()).await, 4);
    let response = app.get_as("/v1/epcis/events", &platform).await;
    assert_eq!(response.status(), 403);
    assert_eq!(app.get("/v1/epcis/events").await.status(), 401);
    let without_totp = invited_officer(&app, OfficerRole::Officer, ProvinceScope::All).await;
    assert_eq!(
        app.get_as("/v1/epcis/events", &without_totp.access_token)
            .await
            .status(),
        403
    );
}
both_backends!(events_are_read_by_the_parties_named_in_them);

async fn register_food_lot(app: &TestApp, code: &str) {
    let issuer = issuer(app, "national", None).await;
    let body = json!({ "codes": [{ "code": code, "owner": MAKER, "product_name": "Trà xanh", "category": "food", "origin": "01", "expiry_date": "2099-12-31" }] }).to_string();
    let response = post_batch(app, &issuer, "application/json", &body).await;
    assert_eq!(response.status(), 201);
}

async fn ask(
    app: &TestApp,
    platform: &str,
    listing: &str,
    code: &str,
    quantity: Option<u64>,
) -> Value {
    let mut body = json!({ "shop_id": "shop-1", "listing_id": listing, "category": "food", "title": "Trà xanh Mộc Châu", "codes": [code] });
    if let Some(q) = quantity {
        body["quantity"] = json!(q);
    }
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

async fn a_reseller_outside_the_chain_is_sent_to_review(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, _, platform, reseller) = bound_enterprise_seller(&app, "shop-1").await;
    let bich = maker(&app).await;
    let g = gtin("893850000025");
    let code = format!("(01){g}(10)T1");
    register_food_lot(&app, &code).await;

    let outside = ask(&app, &platform, "tea-1", &code, None).await;
    assert_eq!(outside["decision"], "review", "{outside}");
    assert_eq!(reasons(&outside), ["not_in_chain_of_custody"]);

    // The reseller cannot vouch for itself: its own receiving event does not count.
    let mut own = shipping(
        &lgtin(&g, "T1"),
        10,
        MAKER,
        RESELLER,
        "2026-11-01T09:00:00+07:00",
    );
    own["bizStep"] = json!("receiving");
    assert_eq!(
        captured(&app, &reseller, &document(vec![own])).await["captured"],
        1
    );
    let still = ask(&app, &platform, "tea-1", &code, None).await;
    assert_eq!(reasons(&still), ["not_in_chain_of_custody"], "{still}");

    // The maker records shipping 10 units to the reseller: in the chain now.
    let shipped = shipping(
        &lgtin(&g, "T1"),
        10,
        MAKER,
        RESELLER,
        "2026-11-02T09:00:00+07:00",
    );
    assert_eq!(
        captured(&app, &bich, &document(vec![shipped])).await["captured"],
        1
    );
    let inside = ask(&app, &platform, "tea-1", &code, None).await;
    assert_eq!(inside["decision"], "allow", "{inside}");
    assert_ne!(inside["id"], outside["id"], "decided anew on the new fact");
    // Asked again unchanged: the same decision, replayed.
    let replayed = ask(&app, &platform, "tea-1", &code, None).await;
    assert_eq!(replayed["id"], inside["id"]);

    // Offering more than was received is sent to review; up to it is fine.
    let too_many = ask(&app, &platform, "tea-2", &code, Some(50)).await;
    assert_eq!(too_many["decision"], "review", "{too_many}");
    assert_eq!(reasons(&too_many), ["quantity_exceeds_received"]);
    assert_eq!(
        ask(&app, &platform, "tea-3", &code, Some(10)).await["decision"],
        "allow"
    );

    // Through a container: another lot reaches the reseller on a pallet.
    let pallet_code = format!("(01){g}(10)LOT7");
    register_food_lot(&app, &pallet_code).await;
    assert_eq!(
        ask(&app, &platform, "tea-4", &pallet_code, None).await["decision"],
        "review"
    );
    let issuer = issuer(&app, "national", None).await;
    captured(&app, &issuer.token, &document(pallet_chain(&g, "LOT7"))).await;
    let via_pallet = ask(&app, &platform, "tea-4", &pallet_code, Some(60)).await;
    assert_eq!(via_pallet["decision"], "allow", "{via_pallet}");
    // Shipped and received are the same 60 units, not 120.
    let beyond = ask(&app, &platform, "tea-4", &pallet_code, Some(61)).await;
    assert_eq!(reasons(&beyond), ["quantity_exceeds_received"], "{beyond}");

    // A code without a lot cannot show a chain step.
    let product = g.clone();
    register_food_lot(&app, &product).await;
    let no_lot = ask(&app, &platform, "tea-5", &product, None).await;
    assert!(
        reasons(&no_lot).contains(&"not_in_chain_of_custody".to_string()),
        "{no_lot}"
    );
}
both_backends!(a_reseller_outside_the_chain_is_sent_to_review);

async fn the_demo_chain_sends_a_shop_outside_it_to_review(backend: TestBackend) {
    // The demo reads the mails it queues; the delivery worker must not take them first.
    let mut env = crate::helpers::TestEnv::new(&backend);
    env.config.mail.poll_interval_ms = 3_600_000;
    let app = TestApp::start(env.config.clone()).await;
    let state = app.state.clone();
    let demo = state
        .clone()
        .blocking(move || {
            tracegate::demo::Demo {
                pool: &state.pool,
                config: &state.config,
                clock: state.clock.as_ref(),
                keys: &state.keys,
                policies: &state.policies,
                registers: &state.registers,
            }
            .seed()
            .map_err(tracegate::error::AppError::internal)
        })
        .await
        .expect("demo seeds");
    let platform = crate::fixtures::token_for_client(
        &app,
        &demo.platform_client_id,
        &demo.platform_client_secret,
    )
    .await;
    let response = app
        .post_as(
            "/v1/listing-checks",
            &platform,
            json!({ "shop_id": demo.shop_id, "listing_id": "demo-3", "category": "food", "title": "Trà xanh Mộc Châu", "codes": [demo.chain_code] }),
        )
        .await;
    assert_eq!(response.status(), 200);
    let decision: Value = response.json().await.expect("decision");
    assert_eq!(decision["decision"], "review", "{decision}");
    assert_eq!(reasons(&decision), ["not_in_chain_of_custody"]);

    let parsed = tracegate::codes::parse(&demo.chain_code, 2026).expect("code");
    let (g, lot) = (parsed.gtin().expect("gtin"), parsed.lot().expect("lot"));
    let officer = officer(&app, OfficerRole::Officer, ProvinceScope::All).await;
    let custody: Value = app
        .get_as(
            &format!("/v1/lots/{g}/{lot}/custody"),
            &officer.access_token,
        )
        .await
        .json()
        .await
        .expect("custody");
    let steps = custody["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 4, "{custody}");
    assert_eq!(steps[0]["biz_step"], "commissioning");
    assert_eq!(
        steps[2]["via"].as_str().map(|v| v.starts_with("/00/")),
        Some(true)
    );
    assert_eq!(steps[2]["sources"][0]["business_code"], "0109000015");
    assert_eq!(steps[3]["destinations"][0]["known"], false);
    // The public page of the lot shows its chain, and its linkset links to it.
    let page = app
        .get(&format!("/verify?code={}", urlencode(&demo.chain_code)))
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("Hành trình của lô hàng"), "{page}");
    assert!(page.contains(&format!("/v1/lots/{g}/{lot}/custody")));
    let linkset: Value = app
        .client
        .get(app.url(&format!("/01/{g}/10/{lot}")))
        .header("accept", "application/linkset+json")
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("linkset");
    let traceability = linkset["linkset"][0]["https://gs1.org/voc/traceability"]
        .as_array()
        .expect("traceability links");
    assert!(
        traceability.iter().any(|l| l["href"]
            .as_str()
            .is_some_and(|h| h.ends_with(&format!("/v1/lots/{g}/{lot}/custody")))),
        "{linkset}"
    );
}
both_backends!(the_demo_chain_sends_a_shop_outside_it_to_review);
