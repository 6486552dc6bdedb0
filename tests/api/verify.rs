//! The public page of a code, where a scan lands: a Digital Link redirects a browser to it,
//! `/verify` reads any form of a code; unknown (404), withdrawn (410), QR codes, and scans
//! of serialised items counted to spot copies. The resolver's own rules are in
//! `resolver.rs`.

use serde_json::{Value, json};
use tracegate::auth::OfficerRole;
use tracegate::policies::ProvinceScope;

use crate::both_backends;
use crate::fixtures::{bound_enterprise_seller, gtin, issuer, officer, post_batch};
use crate::helpers::{TestApp, TestBackend, problem};

/// Registers codes for the verified enterprise 0799000033 (AN, province 79).
async fn register(app: &TestApp, codes: &[(&str, &str)]) -> crate::fixtures::Issuer {
    bound_enterprise_seller(app, "shop-1").await;
    let issuer = issuer(app, "national", Some("vnqr")).await;
    let rows: Vec<Value> = codes
        .iter()
        .map(|(code, name)| json!({ "code": code, "owner": "0799000033", "product_name": name, "category": "cosmetics", "origin": "79", "production_date": "2026-01-15", "expiry_date": "2030-12-31" }))
        .collect();
    let response = post_batch(
        app,
        &issuer,
        "application/json",
        &json!({ "codes": rows }).to_string(),
    )
    .await;
    assert_eq!(
        response.status(),
        201,
        "{}",
        response.text().await.unwrap_or_default()
    );
    issuer
}

async fn get(app: &TestApp, path: &str, accept: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    request.send().await.expect("sent")
}

async fn pages_for_browsers_and_linksets_for_machines(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let g = gtin("893850000201");
    let lot = format!("(01){g}(10)SEN26");
    register(&app, &[(&lot, "Sữa rửa mặt Sen 100 ml")]).await;
    let path = format!("/01/{g}/10/SEN26");

    let scan = get(&app, &path, Some("text/html")).await;
    assert_eq!(scan.status(), 307, "a scan goes to the verification page");
    let page_path = location_path(&app, &scan);
    let page = get(&app, &page_path, Some("text/html")).await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let link = page.headers()["link"].to_str().expect("link").to_string();
    assert!(
        link.contains("rel=\"linkset\"") && link.contains("linkType=linkset"),
        "{link}"
    );
    let html = page.text().await.expect("html");
    assert!(html.contains("Sữa rửa mặt Sen 100 ml"), "{html}");
    assert!(html.contains("lang=\"vi\""), "Vietnamese by default");
    assert!(
        html.contains("0799000033") && html.contains("Thành phố Hồ Chí Minh"),
        "owner and province: {html}"
    );
    assert!(!html.contains("<script"), "no scripts");

    let english = get(&app, &format!("{page_path}&lang=en"), None).await;
    assert!(
        english.headers()["set-cookie"]
            .to_str()
            .expect("cookie")
            .contains("lang=en")
    );
    let html = english.text().await.expect("html");
    assert!(
        html.contains("lang=\"en\"") && html.contains("Genuine code"),
        "{html}"
    );

    for response in [
        get(&app, &path, Some("application/linkset+json")).await,
        get(&app, &format!("{path}?linkType=linkset"), None).await,
    ] {
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "application/linkset+json"
        );
        let linkset: Value = response.json().await.expect("linkset");
        let links = &linkset["linkset"][0];
        assert!(
            links["anchor"].as_str().is_some_and(|a| a.ends_with(&path)),
            "{linkset}"
        );
        assert_eq!(
            links["https://gs1.org/voc/traceability"][0]["type"], "text/html",
            "{linkset}"
        );
        assert!(links["https://gs1.org/voc/defaultLink"][0]["href"].is_string());
    }

    // Any accepted form shows the page; the QR code points at the Digital Link.
    let response = get(&app, &format!("/verify?code={}", urlencode(&lot)), None).await;
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .expect("html")
            .contains("Sữa rửa mặt Sen 100 ml")
    );
    let qr = get(&app, &format!("/qr.svg?code={}", urlencode(&path)), None).await;
    assert_eq!(qr.status(), 200);
    assert_eq!(qr.headers()["content-type"], "image/svg+xml");
    assert!(qr.text().await.expect("svg").contains("<svg"));
    let form = get(&app, "/verify", None).await;
    assert_eq!(form.status(), 200);
    assert!(
        form.text()
            .await
            .expect("html")
            .contains("<label for=\"code\">")
    );
    let css = get(&app, "/static/style.css", None).await;
    assert_eq!(css.status(), 200);
}
both_backends!(pages_for_browsers_and_linksets_for_machines);

/// The path of a redirect's absolute `Location` on this service.
fn location_path(app: &TestApp, response: &reqwest::Response) -> String {
    let location = response.headers()["location"].to_str().expect("location");
    let base = app.state.config.server.public_url.trim_end_matches('/');
    assert!(location.starts_with(base), "absolute Location: {location}");
    location[base.len()..].to_string()
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("x", text)])
        .expect("encode")
        .trim_start_matches("x=")
        .to_string()
}

async fn walk_up_unknown_and_withdrawn_codes(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let g = gtin("893850000202");
    let lot = format!("(01){g}(10)L7");
    let revoked = format!("(01){}(10)BAD", gtin("893850000203"));
    let recalled = format!("(01){}(10)R1", gtin("893850000204"));
    let issuer = register(
        &app,
        &[
            (&lot, "Kem Sen"),
            (&revoked, "Kem giả"),
            (&recalled, "Kem lỗi"),
        ],
    )
    .await;

    // A serial of a registered lot: the lot answers for it, without a redirect.
    let serial = get(
        &app,
        &format!("/01/{g}/10/L7/21/S0001?linkType=linkset"),
        None,
    )
    .await;
    assert_eq!(serial.status(), 200);
    let linkset: Value = serial.json().await.expect("linkset");
    assert!(
        linkset["linkset"][0]["anchor"]
            .as_str()
            .is_some_and(|a| a.ends_with(&format!("/01/{g}/10/L7"))),
        "{linkset}"
    );

    // Unknown: 404, a page for browsers and a problem for machines.
    let unknown = format!("/01/{}", gtin("893850000299"));
    let page = get(&app, &unknown, Some("text/html")).await;
    assert_eq!(page.status(), 404);
    let html = page.text().await.expect("html");
    assert!(html.contains("chưa được"), "{html}");
    let machine = get(&app, &unknown, Some("application/linkset+json")).await;
    assert_eq!(machine.status(), 404);
    problem(machine).await;
    let unreadable = get(&app, "/01/123", None).await;
    assert_eq!(unreadable.status(), 400);

    // Revoked: 410 Gone.
    for (code, status) in [(&revoked, "revoked"), (&recalled, "recalled")] {
        let response = app
            .post_as(
                "/v1/issuers/me/code-status",
                &issuer.token,
                json!({ "code": code, "status": status, "reason": "Kết quả kiểm nghiệm không đạt" }),
            )
            .await;
        assert_eq!(response.status(), 200);
    }
    let gone = get(&app, &format!("/01/{}/10/BAD", gtin("893850000203")), None).await;
    assert_eq!(gone.status(), 410);
    let gone = get(
        &app,
        &format!("/01/{}/10/BAD", gtin("893850000203")),
        Some("application/linkset+json"),
    )
    .await;
    assert_eq!(gone.status(), 410);
    problem(gone).await;

    // Recalled: still answered, with a loud warning and the reason.
    let scan = get(
        &app,
        &format!("/01/{}/10/R1?lang=en", gtin("893850000204")),
        None,
    )
    .await;
    assert_eq!(scan.status(), 307);
    let page = get(&app, &location_path(&app, &scan), None).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("THIS PRODUCT HAS BEEN RECALLED")
            && html.contains("Kết quả kiểm nghiệm không đạt"),
        "{html}"
    );
    let linkset: Value = get(
        &app,
        &format!("/01/{}/10/R1", gtin("893850000204")),
        Some("application/linkset+json"),
    )
    .await
    .json()
    .await
    .expect("linkset");
    assert!(
        linkset["linkset"][0]["https://gs1.org/voc/recallStatus"].is_array(),
        "{linkset}"
    );
}
both_backends!(walk_up_unknown_and_withdrawn_codes);

async fn issuer_codes_are_verified_too(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    register(&app, &[("vnqr:MC-TEA-0001", "Trà Mộc Châu")]).await;
    let page = get(&app, "/verify?code=vnqr:MC-TEA-0001", None).await;
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("html").contains("Trà Mộc Châu"));
    let qr = get(&app, "/qr.svg?code=vnqr:MC-TEA-0001", None).await;
    assert_eq!(qr.status(), 200);
    let unknown = get(&app, "/verify?code=vnqr:NOPE", None).await;
    assert_eq!(unknown.status(), 404);
}
both_backends!(issuer_codes_are_verified_too);

async fn a_serial_scanned_too_often_is_flagged_as_a_possible_copy(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let g = gtin("893850000205");
    let serial = format!("(01){g}(21)SN-0001");
    register(&app, &[(&serial, "Nước hoa Sen")]).await;
    let scan = get(&app, &format!("/01/{g}/21/SN-0001?lang=en"), None).await;
    assert_eq!(scan.status(), 307);
    let path = location_path(&app, &scan);
    let first = get(&app, &path, None).await.text().await.expect("html");
    assert!(!first.contains("may have been copied"), "{first}");
    // The policy allows 50 scans in 30 days.
    for _ in 0..50 {
        assert_eq!(get(&app, &path, None).await.status(), 200);
    }
    let flagged = get(&app, &path, None).await.text().await.expect("html");
    assert!(flagged.contains("may have been copied"), "{flagged}");

    let officer = officer(
        &app,
        OfficerRole::Officer,
        ProvinceScope::Only(vec!["79".into()]),
    )
    .await;
    let list: Value = app
        .get_as("/v1/codes/possible-clones", &officer.access_token)
        .await
        .json()
        .await
        .expect("list");
    assert_eq!(
        list["flags"][0]["code_key"],
        format!("/01/{g}/21/SN-0001"),
        "{list}"
    );
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a == "code.possible_clone")
    );
}
both_backends!(a_serial_scanned_too_often_is_flagged_as_a_possible_copy);
