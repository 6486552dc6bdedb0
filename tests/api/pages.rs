//! Pages without a browser: who is sent to sign in, CSRF protection, and the buyer's case
//! page reached from the mailed link.

use serde_json::json;

use crate::both_backends;
use crate::fixtures::{bound_enterprise_seller, verified_seller};
use crate::helpers::{TestApp, TestBackend, token_in};

/// The CSRF cookie and form value a page hands out.
pub(crate) async fn csrf(app: &TestApp, path: &str) -> (String, String) {
    let page = app.get(path).await;
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("tg_csrf="))
        .expect("a CSRF cookie")
        .split(';')
        .next()
        .expect("cookie pair")
        .to_string();
    let html = page.text().await.expect("html");
    let start = html.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    let value = html[start..].split('"').next().expect("value").to_string();
    (cookie, value)
}

async fn pages_send_strangers_to_sign_in_and_refuse_forged_forms(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    for (path, login) in [("/portal", "/portal/login"), ("/console", "/console/login")] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], login);
    }
    // A form without the browser's CSRF token is refused.
    let forged = app
        .client
        .post(app.url("/portal/login"))
        .form(&[("email", "a@example.vn"), ("password", "x")])
        .send()
        .await
        .expect("sent");
    assert_eq!(forged.status(), 403);

    // A seller cannot sign in to the console.
    let (email, _) = verified_seller(&app).await;
    let (cookie, token) = csrf(&app, "/console/login").await;
    let refused = app
        .client
        .post(app.url("/console/login"))
        .header("cookie", cookie)
        .form(&[
            ("csrf", token.as_str()),
            ("email", email.as_str()),
            ("password", crate::fixtures::PASSWORD),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 403);
    let page = refused.text().await.expect("html");
    assert!(page.contains("không phải tài khoản cán bộ"), "{page}");
}
both_backends!(pages_send_strangers_to_sign_in_and_refuse_forged_forms);

async fn a_buyer_confirms_and_follows_the_case_from_the_mailed_link(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (platform_id, _, _, _) = bound_enterprise_seller(&app, "shop-1").await;
    let filed = app
        .post(
            "/v1/public/disputes",
            json!({ "platform_id": platform_id, "shop_id": "shop-1", "listing_id": "l-1", "kind": "counterfeit", "claim": "refund", "description": "Hàng nhận được không có tem chống giả.", "email": "buyer.page@example.vn" }),
        )
        .await;
    assert_eq!(filed.status(), 202);
    let mails = app.mails_to("buyer.page@example.vn").await;
    let text = &mails.last().expect("confirmation mail").1;
    let link_start = text.find("/disputes/").expect("case link");
    let id: String = text[link_start + 10..]
        .chars()
        .take_while(|c| *c != '?')
        .collect();
    let token = token_in(text);
    let page_path = format!("/disputes/{id}?token={token}");

    let page = app.get(&page_path).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("id=\"confirm\""),
        "a button to confirm: {html}"
    );
    let (cookie, csrf_value) = csrf(&app, &page_path).await;
    let confirmed = app
        .client
        .post(app.url(&format!("/disputes/{id}/confirm")))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf_value.as_str()), ("token", token.as_str())])
        .send()
        .await
        .expect("sent");
    assert_eq!(confirmed.status(), 303);
    let html = app.get(&page_path).await.text().await.expect("html");
    assert!(html.contains("chờ người bán trả lời"), "{html}");
    assert!(
        html.contains("id=\"withdraw\""),
        "the buyer may withdraw: {html}"
    );

    let withdrawn = app
        .client
        .post(app.url(&format!("/disputes/{id}/actions")))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf_value.as_str()),
            ("token", token.as_str()),
            ("action", "withdraw"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(withdrawn.status(), 303);
    let html = app.get(&page_path).await.text().await.expect("html");
    assert!(html.contains("đã rút"), "{html}");

    let stranger = app.get(&format!("/disputes/{id}?token=nope")).await;
    assert_eq!(stranger.status(), 404);
}
both_backends!(a_buyer_confirms_and_follows_the_case_from_the_mailed_link);

/// Signs an officer in through the console's form; returns the cookies to send.
pub(crate) async fn console_cookies(app: &TestApp, role: tracegate::auth::OfficerRole) -> String {
    let officer = crate::fixtures::invited_officer(
        app,
        role,
        tracegate::policies::ProvinceScope::Only(vec!["79".into()]),
    )
    .await;
    let secret = crate::fixtures::enrol_totp(app, &officer.access_token).await;
    let (csrf_cookie, csrf_value) = csrf(app, "/console/login").await;
    let code = crate::fixtures::totp_code(app, &secret);
    let signed_in = app
        .client
        .post(app.url("/console/login"))
        .header("cookie", &csrf_cookie)
        .form(&[
            ("csrf", csrf_value.as_str()),
            ("email", officer.email.as_str()),
            ("password", crate::fixtures::PASSWORD),
            ("totp_code", code.as_str()),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(signed_in.status(), 303);
    let mut cookies = vec![csrf_cookie];
    cookies.extend(
        signed_in
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|c| c.split(';').next())
            .map(str::to_string),
    );
    cookies.join("; ")
}

async fn console_tools_show_the_audit_chain_and_reveal_only_with_a_reason(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, _, platform, _) = bound_enterprise_seller(&app, "shop-1").await;
    let seller: serde_json::Value = app
        .get_as("/v1/sellers/by-shop/shop-1", &platform)
        .await
        .json()
        .await
        .expect("seller");
    let seller_id = seller["seller_id"].as_str().expect("seller id").to_string();
    let cookies = console_cookies(&app, tracegate::auth::OfficerRole::Supervisor).await;
    let get = |path: String| {
        let request = app
            .client
            .get(app.url(&path))
            .header("cookie", cookies.clone());
        async move { request.send().await.expect("sent") }
    };

    let audit = get("/console/audit".into()).await;
    assert_eq!(audit.status(), 200);
    let html = audit.text().await.expect("html");
    assert!(
        html.contains("id=\"chain\"") && !html.contains("broken"),
        "{html}"
    );

    let page = get(format!("/console/sellers?id={seller_id}")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("079*******01"), "masked: {html}");
    assert!(
        !html.contains(crate::fixtures::AN.national_id),
        "never in full unasked"
    );
    let start = html.find("name=\"csrf\" value=\"").expect("csrf") + 19;
    let csrf_value = html[start..].split('"').next().expect("value").to_string();
    let revealed = app
        .client
        .post(app.url(&format!("/console/sellers/{seller_id}/reveal")))
        .header("cookie", cookies.clone())
        .form(&[
            ("csrf", csrf_value.as_str()),
            ("reason", "Xác minh hồ sơ khiếu nại DSP-2026-000001"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(revealed.status(), 200);
    assert!(
        revealed
            .text()
            .await
            .expect("html")
            .contains(crate::fixtures::AN.national_id)
    );
    assert!(
        app.audit_actions()
            .await
            .iter()
            .any(|a| a.contains("reveal"))
    );

    // Clients are for administrators.
    assert_eq!(get("/console/clients".into()).await.status(), 403);
    crate::fixtures::assert_no_national_id_logged();
}
both_backends!(console_tools_show_the_audit_chain_and_reveal_only_with_a_reason);

/// The cookies a response sets, as `name=value` pairs.
fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .map(str::to_string)
        .collect()
}

async fn a_renewed_session_survives_an_error_page_and_long_forms_are_read(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (platform_id, _, _, _) = bound_enterprise_seller(&app, "shop-1").await;
    let (email, _) = verified_seller(&app).await;
    let (csrf_cookie, csrf_value) = csrf(&app, "/portal/login").await;
    let signed_in = app
        .client
        .post(app.url("/portal/login"))
        .header("cookie", &csrf_cookie)
        .form(&[
            ("csrf", csrf_value.as_str()),
            ("email", email.as_str()),
            ("password", crate::fixtures::PASSWORD),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(signed_in.status(), 303);
    let mut cookies = set_cookies(&signed_in);
    cookies.push(csrf_cookie.clone());

    // The access token expires; the next request renews it, even one that ends in an error.
    app.clock.advance(chrono::TimeDelta::minutes(16));
    let missing = app
        .client
        .get(app.url("/portal/disputes/does-not-exist"))
        .header("cookie", cookies.join("; "))
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status(), 404);
    let renewed = set_cookies(&missing);
    assert!(
        renewed.iter().any(|c| c.starts_with("tg_refresh=")),
        "{renewed:?}"
    );
    let mut next = renewed.clone();
    next.push(csrf_cookie.clone());
    let portal = app
        .client
        .get(app.url("/portal"))
        .header("cookie", next.join("; "))
        .send()
        .await
        .expect("sent");
    assert_eq!(portal.status(), 200, "the renewed session goes on");

    // A long Vietnamese description is read, not refused for its size; the shop named as
    // the consumer knows it is traced to its seller.
    let (cookie, value) = csrf(&app, "/report").await;
    let description = "Sản phẩm không đúng mô tả, màu sắc và chất liệu khác hẳn. ".repeat(45);
    let filed = app
        .client
        .post(app.url("/report"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", value.as_str()),
            ("platform_id", platform_id.as_str()),
            ("shop_name", "shop-1"),
            ("listing_link", "https://san.example.vn/sp/listing-long"),
            ("kind", "not_as_described"),
            ("claim", "refund"),
            ("description", description.as_str()),
            ("email", "long.text@example.vn"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(
        filed.status(),
        303,
        "a complaint redirects to its reference"
    );
    let received = filed.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    assert!(received.starts_with("/report/received/PA-"), "{received}");
    let html = app.get(&received).await.text().await.expect("html");
    assert!(html.contains("Đã nhận khiếu nại"), "{html}");
    assert!(
        html.contains(&received["/report/received/".len()..]),
        "{html}"
    );
    assert!(
        html.contains("đã được liên kết với một người bán"),
        "traced to the seller: {html}"
    );
    let mails = app.mails_to("long.text@example.vn").await;
    assert!(!mails.is_empty(), "the case's confirmation mail is sent");
}
both_backends!(a_renewed_session_survives_an_error_page_and_long_forms_are_read);

async fn people_get_error_pages_and_machines_get_problems(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let page = app
        .client
        .get(app.url("/disputes/nope?token=x"))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status(), 404);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/html")
    );
    let html = page.text().await.expect("html");
    assert!(
        html.contains("Không tìm thấy trang") && html.contains("<h1>"),
        "{html}"
    );

    let forged = app
        .client
        .post(app.url("/portal/login"))
        .header("accept", "text/html")
        .form(&[("email", "a@example.vn")])
        .send()
        .await
        .expect("sent");
    assert_eq!(forged.status(), 403);
    assert!(forged.text().await.expect("html").contains("<h1>"));

    // API paths answer with problems whatever the client accepts.
    let api = app
        .client
        .get(app.url("/v1/disputes/nope"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("sent");
    assert_eq!(api.status(), 401);
    assert_eq!(api.headers()["content-type"], "application/problem+json");
}
both_backends!(people_get_error_pages_and_machines_get_problems);

/// The value of `name`'s cookie set by `response`, if any.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_string())
}

/// Signs a seller in through the portal's form (returning to `next`); returns the cookies.
async fn portal_sign_in(app: &TestApp, email: &str, next: &str) -> (String, reqwest::Response) {
    let (csrf_cookie, csrf_value) = csrf(app, "/portal/login").await;
    let query = serde_urlencoded::to_string([("next", next)]).expect("query");
    let signed_in = app
        .client
        .post(app.url(&format!("/portal/login?{query}")))
        .header("cookie", &csrf_cookie)
        .form(&[
            ("csrf", csrf_value.as_str()),
            ("email", email),
            ("password", crate::fixtures::PASSWORD),
        ])
        .send()
        .await
        .expect("sent");
    let mut cookies = vec![csrf_cookie];
    for name in ["tg_access", "tg_refresh"] {
        if let Some(v) = set_cookie(&signed_in, name) {
            cookies.push(format!("{name}={v}"));
        }
    }
    (cookies.join("; "), signed_in)
}

async fn sign_in_returns_to_the_case_only_on_this_site_and_keeps_the_typed_answer(
    backend: TestBackend,
) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, seller) = crate::fixtures::verified_person(&app, crate::fixtures::AN).await;
    let business = app
        .post_as(
            "/v1/me/business",
            &seller,
            json!({ "kind": "enterprise", "code": "0799000033" }),
        )
        .await;
    assert_eq!(business.status(), 200);
    let (platform_id, secret) =
        crate::fixtures::client(&app, tracegate::clients::ClientKind::Platform).await;
    let platform = crate::fixtures::token_for_client(&app, &platform_id, &secret).await;
    let code: serde_json::Value = app
        .post_as("/v1/me/binding-codes", &seller, json!({}))
        .await
        .json()
        .await
        .expect("code");
    let bound = app
        .post_as(
            "/v1/seller-bindings",
            &platform,
            json!({ "binding_code": code["code"], "shop_id": "shop-n" }),
        )
        .await;
    assert_eq!(bound.status(), 201);
    let filed = app
        .post_as(
            "/v1/disputes",
            &platform,
            json!({ "shop_id": "shop-n", "listing_id": "l-n", "kind": "counterfeit", "claim": "refund",
                    "description": "Hàng nhận được không có tem chống giả.",
                    "buyer": { "reference": "b-n", "email": "mua.n@example.vn" } }),
        )
        .await;
    assert_eq!(filed.status(), 201);
    let case: serde_json::Value = filed.json().await.expect("case");
    let page = format!("/portal/disputes/{}", case["id"].as_str().expect("id"));

    // The mailed link, opened signed out, goes to sign-in and says why.
    let opened = app.get(&page).await;
    assert_eq!(opened.status(), 303);
    let login = opened.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let expected = format!(
        "/portal/login?{}",
        serde_urlencoded::to_string([("next", page.as_str())]).expect("query")
    );
    assert_eq!(login, expected);
    let form = app.get(&login).await.text().await.expect("html");
    assert!(form.contains("Hãy đăng nhập để tiếp tục"), "{form}");
    assert!(form.contains("next=%2Fportal%2Fdisputes%2F"), "{form}");

    // Signing in there lands on the case; another site's address lands on the portal.
    let (_, signed_in) = portal_sign_in(&app, &email, &page).await;
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], page.as_str());
    for elsewhere in [
        "//evil.example/portal",
        "https://evil.example/portal",
        "/\\evil.example",
        "/console",
        "/portal/../console",
    ] {
        let (_, signed_in) = portal_sign_in(&app, &email, elsewhere).await;
        let went = signed_in.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        assert_eq!(went, "/portal", "{elsewhere}");
    }

    // An answer sent after the session ended is kept and offered again after sign-in.
    let (csrf_cookie, csrf_value) = csrf(&app, "/portal/login").await;
    let answer = "Hàng chính hãng; hóa đơn nhập khẩu số 0012 kèm theo.";
    let sent = app
        .client
        .post(app.url(&format!("{page}/actions")))
        .header("cookie", &csrf_cookie)
        .form(&[
            ("csrf", csrf_value.as_str()),
            ("action", "respond"),
            ("statement", answer),
            ("version", "2"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(sent.status(), 303);
    assert_eq!(sent.headers()["location"], expected.as_str());
    let draft = set_cookie(&sent, "tg_draft").expect("the answer is kept");
    let (cookies, _) = portal_sign_in(&app, &email, &page).await;
    let html = app
        .client
        .get(app.url(&page))
        .header("cookie", format!("{cookies}; tg_draft={draft}"))
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("html");
    assert!(html.contains(answer), "the typed answer is back: {html}");
}
both_backends!(sign_in_returns_to_the_case_only_on_this_site_and_keeps_the_typed_answer);

async fn portal_forms_redirect_after_post_and_reload_shows_the_same_binding_code(
    backend: TestBackend,
) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, _) = crate::fixtures::verified_person(&app, crate::fixtures::AN).await;
    let (cookies, _) = portal_sign_in(&app, &email, "/portal").await;
    let dashboard = app
        .client
        .get(app.url("/portal"))
        .header("cookie", cookies.clone())
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("html");
    let start = dashboard
        .find("name=\"csrf\" value=\"")
        .expect("csrf field")
        + 19;
    let csrf_value = dashboard[start..]
        .split('"')
        .next()
        .expect("value")
        .to_string();
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let request = app
            .client
            .post(app.url(path))
            .header("cookie", cookies.clone())
            .form(&form);
        async move { request.send().await.expect("sent") }
    };

    // The business check answers with a redirect to the dashboard and its notice.
    let checked = post(
        "/portal/business",
        vec![
            ("csrf", csrf_value.clone()),
            ("kind", "enterprise".into()),
            ("code", "0799000033".into()),
        ],
    )
    .await;
    assert_eq!(checked.status(), 303);
    assert_eq!(checked.headers()["location"], "/portal?done=business");

    // A binding code: issued once, shown again on reload, never re-issued by a reload.
    let issued = post("/portal/binding-code", vec![("csrf", csrf_value.clone())]).await;
    assert_eq!(issued.status(), 303);
    assert_eq!(issued.headers()["location"], "/portal?done=binding_code");
    let code = set_cookie(&issued, "tg_binding_code").expect("the code is carried");
    let before = app
        .count_sql("SELECT COUNT(*) AS n FROM binding_codes")
        .await;
    for _ in 0..2 {
        let html = app
            .client
            .get(app.url("/portal?done=binding_code"))
            .header("cookie", format!("{cookies}; tg_binding_code={code}"))
            .send()
            .await
            .expect("sent")
            .text()
            .await
            .expect("html");
        assert!(html.contains(&code), "{html}");
        assert!(html.contains("Đã cấp mã liên kết mới."), "{html}");
    }
    assert_eq!(
        app.count_sql("SELECT COUNT(*) AS n FROM binding_codes")
            .await,
        before
    );
}
both_backends!(portal_forms_redirect_after_post_and_reload_shows_the_same_binding_code);

async fn the_home_page_looks_codes_up_and_leads_to_each_door(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let home = app.get("/").await;
    assert_eq!(home.status(), 200);
    let csp = home.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = home.text().await.expect("html");
    assert!(html.contains("action=\"/verify\""), "{html}");
    for door in ["href=\"/report\"", "href=\"/portal\"", "href=\"/console\""] {
        assert!(html.contains(door), "{door}: {html}");
    }

    // Both sign-in pages lead to resetting a forgotten password.
    for login in ["/portal/login", "/console/login"] {
        let html = app.get(login).await.text().await.expect("html");
        assert!(html.contains("href=\"/reset-password\""), "{login}: {html}");
    }

    // A code nobody issued (the likeliest fake) offers a way to report it.
    let unknown = app
        .client
        .get(app.url("/verify?code=09506000134352"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("sent");
    assert_eq!(unknown.status(), 404);
    let html = unknown.text().await.expect("html");
    assert!(
        html.contains("id=\"report-suspect\"") && html.contains("/report?code=09506000134352"),
        "{html}"
    );
}
both_backends!(the_home_page_looks_codes_up_and_leads_to_each_door);

async fn a_decision_in_the_console_is_confirmed_before_it_is_made(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, _, platform, _) = bound_enterprise_seller(&app, "shop-1").await;
    let filed = app
        .post_as(
            "/v1/disputes",
            &platform,
            json!({ "shop_id": "shop-1", "listing_id": "l-c", "kind": "counterfeit", "claim": "refund",
                    "description": "Hàng nhận được không có tem chống giả.",
                    "buyer": { "reference": "b-c", "email": "mua.c@example.vn" } }),
        )
        .await;
    assert_eq!(filed.status(), 201);
    let case: serde_json::Value = filed.json().await.expect("case");
    let id = case["id"].as_str().expect("id").to_string();
    let cookies = console_cookies(&app, tracegate::auth::OfficerRole::Supervisor).await;
    let page = format!("/console/disputes/{id}");
    let html = app
        .client
        .get(app.url(&page))
        .header("cookie", cookies.clone())
        .send()
        .await
        .expect("sent")
        .text()
        .await
        .expect("html");
    let start = html.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    let csrf_value = html[start..].split('"').next().expect("value").to_string();
    let post = |form: Vec<(&'static str, String)>| {
        let request = app
            .client
            .post(app.url(&format!("{page}/actions")))
            .header("cookie", cookies.clone())
            .form(&form);
        async move { request.send().await.expect("sent") }
    };
    let escalated = post(vec![
        ("csrf", csrf_value.clone()),
        ("action", "escalate".into()),
        ("version", case["version"].to_string()),
    ])
    .await;
    assert_eq!(escalated.status(), 303);
    let decision = vec![
        ("csrf", csrf_value.clone()),
        ("action", "decide".into()),
        ("outcome", "upheld".into()),
        (
            "statement",
            "Mã trên hộp không do tổ chức nào cấp; người bán không chứng minh được nguồn gốc."
                .into(),
        ),
        ("sanction_warning", "on".into()),
    ];
    // First the confirmation, with nothing decided yet.
    let asked = post(decision.clone()).await;
    assert_eq!(asked.status(), 200);
    let html = asked.text().await.expect("html");
    assert!(
        html.contains("không thể hoàn tác") && html.contains("cảnh cáo"),
        "{html}"
    );
    assert!(html.contains("name=\"confirmed\" value=\"yes\""), "{html}");
    let state: serde_json::Value = app
        .get_as(&format!("/v1/disputes/{id}"), &platform)
        .await
        .json()
        .await
        .expect("case");
    assert_eq!(state["status"], "under_review", "nothing decided yet");
    // Then, confirmed, the decision.
    let mut confirmed = decision;
    confirmed.push(("confirmed", "yes".into()));
    confirmed.push(("version", state["version"].to_string()));
    let decided = post(confirmed).await;
    assert_eq!(decided.status(), 303);
    assert_eq!(
        decided.headers()["location"],
        format!("{page}?done=decide").as_str()
    );
}
both_backends!(a_decision_in_the_console_is_confirmed_before_it_is_made);

async fn a_consumer_reports_an_unknown_code_and_gets_a_reference(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    // The form asks for what a consumer sees, with the scanned code filled in.
    let form = app.get("/report?code=8930000999999").await;
    assert_eq!(form.status(), 200);
    let html = form.text().await.expect("html");
    for field in [
        "id=\"listing_link\"",
        "id=\"shop_name\"",
        "value=\"8930000999999\"",
    ] {
        assert!(html.contains(field), "{field}: {html}");
    }
    assert!(
        !html.contains("id=\"shop_id\""),
        "no internal ids asked: {html}"
    );

    // Every field in error is named at once, each tied to its message.
    let (cookie, value) = csrf(&app, "/report?code=8930000999999").await;
    let refused = app
        .client
        .post(app.url("/report"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", value.as_str()),
            ("code", "8930000999999"),
            ("kind", "counterfeit"),
            ("claim", "report_only"),
            ("description", "ngắn"),
            ("email", "không-phải-email"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.expect("html");
    for field in ["listing_link", "description", "email"] {
        assert!(
            html.contains(&format!("aria-describedby=\"{field}-error\""))
                || html.contains(&format!("{field}-error\"")),
            "{field}: {html}"
        );
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{field}: {html}"
        );
    }
    assert!(html.contains("Hãy sửa 3 mục"), "{html}");
    assert!(html.contains("value=\"8930000999999\""), "kept: {html}");

    let filed = app
        .client
        .post(app.url("/report"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", value.as_str()),
            ("code", "8930000999999"),
            ("shop_name", "Cửa hàng Không Rõ"),
            ("kind", "counterfeit"),
            ("claim", "report_only"),
            (
                "description",
                "Mã trên hộp không tra cứu được, nghi hàng giả.",
            ),
            ("email", "nguoi.bao@example.vn"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(filed.status(), 303);
    let received = filed.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let html = app.get(&received).await.text().await.expect("html");
    assert!(html.contains("id=\"reference\""), "{html}");
    assert!(html.contains("Cán bộ Bộ Công Thương sẽ truy tìm"), "{html}");
    assert!(
        !html.contains("nguoi.bao@example.vn"),
        "nothing personal shown"
    );
    assert_eq!(
        app.get("/report/received/PA-2026-NOTHING0").await.status(),
        404
    );

    // The Ministry's officers read it to trace the seller; a province's officers do not
    // see complaints not traced to their province; strangers are sent to sign in.
    let reference = received["/report/received/".len()..].to_string();
    assert_eq!(app.get("/console/complaints").await.status(), 303);
    for (scope, sees) in [
        (tracegate::policies::ProvinceScope::All, true),
        (
            tracegate::policies::ProvinceScope::Only(vec!["79".into()]),
            false,
        ),
    ] {
        let officer =
            crate::fixtures::invited_officer(&app, tracegate::auth::OfficerRole::Officer, scope)
                .await;
        let secret = crate::fixtures::enrol_totp(&app, &officer.access_token).await;
        let cookies = signed_in_officer(&app, &officer.email, &secret).await;
        let (status, html) = get_with(&app, "/console/complaints", &cookies).await;
        assert_eq!(status, 200, "{html}");
        assert_eq!(html.contains(&reference), sees, "{html}");
        if sees {
            assert!(
                html.contains("Cửa hàng Không Rõ") && html.contains("8930000999999"),
                "{html}"
            );
        }
    }
}
both_backends!(a_consumer_reports_an_unknown_code_and_gets_a_reference);

/// Signs this officer in to the console; the cookies a browser then sends.
async fn signed_in_officer(app: &TestApp, email: &str, secret: &str) -> String {
    let (csrf_cookie, token) = csrf(app, "/console/login").await;
    let code = crate::fixtures::totp_code(app, secret);
    let signed_in = app
        .client
        .post(app.url("/console/login"))
        .header("cookie", &csrf_cookie)
        .form(&[
            ("csrf", token.as_str()),
            ("email", email),
            ("password", crate::fixtures::PASSWORD),
            ("totp_code", code.as_str()),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(signed_in.status(), 303);
    let mut cookies = set_cookies(&signed_in);
    cookies.push(csrf_cookie);
    cookies.join("; ")
}

async fn get_with(app: &TestApp, path: &str, cookies: &str) -> (u16, String) {
    let response = app
        .client
        .get(app.url(path))
        .header("cookie", cookies)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    (status, response.text().await.expect("html"))
}

async fn the_console_queue_is_searched_sorted_and_assigned_by_name(backend: TestBackend) {
    use tracegate::auth::OfficerRole;
    use tracegate::policies::ProvinceScope;
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, _, platform, _) = bound_enterprise_seller(&app, "shop-q").await;
    let mut references = Vec::new();
    for listing in ["l-1", "l-2", "l-3"] {
        let filed = app
            .post_as(
                "/v1/disputes",
                &platform,
                json!({ "shop_id": "shop-q", "listing_id": listing, "kind": "counterfeit", "claim": "refund", "description": "Hàng giả, không có tem chống giả.", "buyer": { "reference": listing, "email": "mua.q@example.vn" } }),
            )
            .await;
        assert_eq!(filed.status(), 201);
        let case: serde_json::Value = filed.json().await.expect("case");
        references.push((
            case["id"].as_str().expect("id").to_string(),
            case["reference"].as_str().expect("reference").to_string(),
        ));
    }
    let hcm = || ProvinceScope::Only(vec!["79".into()]);
    let colleague = crate::fixtures::invited_officer(&app, OfficerRole::Officer, hcm()).await;
    let supervisor = crate::fixtures::invited_officer(&app, OfficerRole::Supervisor, hcm()).await;
    let secret = crate::fixtures::enrol_totp(&app, &supervisor.access_token).await;
    let cookies = signed_in_officer(&app, &supervisor.email, &secret).await;

    // A seller is turned away from the console's pages, a stranger sent to sign in.
    assert_eq!(app.get("/console/account").await.status(), 303);
    let (status, _) = get_with(&app, "/console?seller=Sen", "").await;
    assert_eq!(status, 303);

    // The colleague names themself; the supervisor then picks them by name.
    let colleague_secret = crate::fixtures::enrol_totp(&app, &colleague.access_token).await;
    let colleague_cookies = signed_in_officer(&app, &colleague.email, &colleague_secret).await;
    let (status, html) = get_with(&app, "/console/account", &colleague_cookies).await;
    assert_eq!(status, 200, "{html}");
    let start = html.find("name=\"csrf\" value=\"").expect("csrf") + 19;
    let token = html[start..].split('"').next().expect("token").to_string();
    let named = app
        .client
        .post(app.url("/console/account/name"))
        .header("cookie", &colleague_cookies)
        .form(&[("csrf", token.as_str()), ("display_name", "Nguyễn Thị Hoa")])
        .send()
        .await
        .expect("sent");
    assert_eq!(named.status(), 303);
    let (_, case_html) = get_with(
        &app,
        &format!("/console/disputes/{}", references[0].0),
        &cookies,
    )
    .await;
    assert!(
        case_html.contains("Cán bộ Nguyễn Thị Hoa"),
        "the picker names officers: {case_html}"
    );
    assert!(
        !case_html.contains("mã tài khoản"),
        "no account ids asked for"
    );

    // Search by seller name, enterprise code, shop and reference; sort; page.
    for search in [
        "seller=Sen+Vi%E1%BB%87t",
        "seller=0799000033",
        "shop=shop-q",
        "province=79",
    ] {
        let (status, html) = get_with(&app, &format!("/console?{search}"), &cookies).await;
        assert_eq!(status, 200, "{search}: {html}");
        assert!(html.contains("3 hồ sơ"), "{search}: {html}");
        assert!(
            html.contains("0799000033"),
            "the enterprise code is shown: {html}"
        );
    }
    let (_, html) = get_with(
        &app,
        &format!("/console?reference={}", &references[1].1[9..]),
        &cookies,
    )
    .await;
    assert!(
        html.contains("1 hồ sơ") && html.contains(&references[1].1),
        "{html}"
    );
    let (_, html) = get_with(&app, "/console?seller=Kh%C3%B4ng+c%C3%B3", &cookies).await;
    assert!(html.contains("0 hồ sơ"), "{html}");
    let (_, html) = get_with(&app, "/console?sort=reference&dir=asc", &cookies).await;
    let positions: Vec<usize> = references
        .iter()
        .map(|(_, r)| html.find(r.as_str()).expect("listed"))
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "sorted by reference"
    );
    assert!(html.contains("aria-sort=\"ascending\""), "{html}");
    let (status, html) = get_with(&app, "/console?from=hom-qua&overdue=nhieu", &cookies).await;
    assert_eq!(status, 422);
    for field in ["from", "overdue"] {
        assert!(
            html.contains(&format!("aria-describedby=\"{field}-error\""))
                && html.contains(&format!("id=\"{field}-error\"")),
            "{field}: {html}"
        );
    }
    let (_, html) = get_with(&app, "/console?page=2", &cookies).await;
    assert!(
        html.contains("trang 1/1"),
        "a page past the end shows the last: {html}"
    );

    // The audit log, filtered by action and by who.
    let (status, html) = get_with(&app, "/console/audit?action=login.succeeded", &cookies).await;
    assert_eq!(status, 200);
    let body = &html[html.find("<tbody>").expect("entries")..];
    assert!(
        body.contains("đăng nhập") && !body.contains("tạo tài khoản"),
        "{body}"
    );
    let (_, html) = get_with(&app, "/console/audit?who=khong-ai-ca", &cookies).await;
    let body = &html[html.find("<tbody>").expect("entries")..];
    assert!(!body.contains("<td>"), "{body}");
}
both_backends!(the_console_queue_is_searched_sorted_and_assigned_by_name);

async fn a_seller_changes_the_password_and_other_sessions_end(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, other_session) = verified_seller(&app).await;
    let (cookie, token) = csrf(&app, "/portal/login").await;
    let signed_in = app
        .client
        .post(app.url("/portal/login"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", token.as_str()),
            ("email", email.as_str()),
            ("password", crate::fixtures::PASSWORD),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(signed_in.status(), 303);
    let mut cookies = set_cookies(&signed_in);
    cookies.push(cookie);
    let cookies = cookies.join("; ");
    let (status, html) = get_with(&app, "/portal/account", &cookies).await;
    assert_eq!(status, 200, "{html}");
    let start = html.find("name=\"csrf\" value=\"").expect("csrf") + 19;
    let token = html[start..].split('"').next().expect("token").to_string();

    // Both fields empty: both named at once.
    let refused = app
        .client
        .post(app.url("/portal/account/password"))
        .header("cookie", &cookies)
        .form(&[
            ("csrf", token.as_str()),
            ("current_password", ""),
            ("new_password", ""),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.expect("html");
    assert!(
        html.contains("id=\"current_password-error\"")
            && html.contains("id=\"new_password-error\""),
        "{html}"
    );
    let wrong = app
        .client
        .post(app.url("/portal/account/password"))
        .header("cookie", &cookies)
        .form(&[
            ("csrf", token.as_str()),
            ("current_password", "sai-mat-khau"),
            ("new_password", "Mật khẩu mới rất dài 2026"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong.status(), 422);
    assert!(
        wrong
            .text()
            .await
            .expect("html")
            .contains("mật khẩu hiện tại")
    );

    let changed = app
        .client
        .post(app.url("/portal/account/password"))
        .header("cookie", &cookies)
        .form(&[
            ("csrf", token.as_str()),
            ("current_password", crate::fixtures::PASSWORD),
            ("new_password", "Mật khẩu mới rất dài 2026"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(changed.status(), 303);
    assert_eq!(
        changed.headers()["location"],
        "/portal/account?done=password_changed"
    );
    // The session that changed it goes on; the other one has ended.
    let (status, html) = get_with(&app, "/portal/account?done=password_changed", &cookies).await;
    assert_eq!(status, 200);
    assert!(html.contains("Đã đổi mật khẩu"), "{html}");
    let refreshed = app
        .post(
            "/v1/auth/refresh",
            json!({ "refresh_token": other_session["refresh_token"] }),
        )
        .await;
    assert_eq!(refreshed.status(), 401);
}
both_backends!(a_seller_changes_the_password_and_other_sessions_end);

async fn an_authorisation_letter_is_uploaded_and_read_by_officers(backend: TestBackend) {
    use tracegate::auth::OfficerRole;
    use tracegate::policies::ProvinceScope;
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, _) = crate::fixtures::verified_person(&app, crate::fixtures::BICH).await;
    let (cookie, token) = csrf(&app, "/portal/login").await;
    let signed_in = app
        .client
        .post(app.url("/portal/login"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", token.as_str()),
            ("email", email.as_str()),
            ("password", crate::fixtures::PASSWORD),
        ])
        .send()
        .await
        .expect("sent");
    let mut cookies = set_cookies(&signed_in);
    cookies.push(cookie);
    let cookies = cookies.join("; ");
    let (_, portal) = get_with(&app, "/portal", &cookies).await;
    assert!(portal.contains("id=\"letter-form\""), "{portal}");
    let upload = |name: &'static str, media: &'static str, content: &'static [u8]| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", token.clone())
            .part(
                "file",
                reqwest::multipart::Part::bytes(content)
                    .file_name(name)
                    .mime_str(media)
                    .expect("media type"),
            );
        app.client
            .post(app.url("/portal/business/letter"))
            .header("cookie", cookies.clone())
            .multipart(form)
            .send()
    };
    // A program dressed as a PDF is refused; the letter is kept.
    let refused = upload("uy-quyen.pdf", "application/pdf", b"MZ\x90\x00")
        .await
        .expect("sent");
    assert_eq!(refused.status(), 303);
    assert_eq!(refused.headers()["location"], "/portal?done=letter_refused");
    let kept = upload("giấy ủy quyền.pdf", "application/pdf", b"%PDF-1.4 uy quyen")
        .await
        .expect("sent");
    assert_eq!(kept.headers()["location"], "/portal?done=letter");
    let (_, portal) = get_with(&app, "/portal?done=letter", &cookies).await;
    assert!(portal.contains("giấy ủy quyền.pdf"), "{portal}");

    // Officers read it from the seller's page; the seller and strangers cannot.
    let officer =
        crate::fixtures::invited_officer(&app, OfficerRole::Officer, ProvinceScope::All).await;
    let secret = crate::fixtures::enrol_totp(&app, &officer.access_token).await;
    let console = signed_in_officer(&app, &officer.email, &secret).await;
    let (status, html) = get_with(&app, "/console/sellers?q=giấy", &console).await;
    assert_eq!(status, 200);
    let (_, html_by_name) = get_with(&app, "/console/sellers?q=Tr%E1%BA%A7n", &console).await;
    let seller_id = {
        let start = html_by_name
            .find("/console/sellers?id=")
            .map(|i| i + 20)
            .unwrap_or_else(|| panic!("found by name: {html_by_name} {html}"));
        html_by_name[start..]
            .split('"')
            .next()
            .expect("id")
            .to_string()
    };
    let (_, page) = get_with(&app, &format!("/console/sellers?id={seller_id}"), &console).await;
    let start = page.find("/letters/").expect("a letter link") + 9;
    let letter_id = page[start..]
        .split('"')
        .next()
        .expect("letter id")
        .to_string();
    let path = format!("/console/sellers/{seller_id}/letters/{letter_id}");
    let file = app
        .client
        .get(app.url(&path))
        .header("cookie", &console)
        .send()
        .await
        .expect("sent");
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "application/pdf");
    assert_eq!(
        file.bytes().await.expect("body").as_ref(),
        b"%PDF-1.4 uy quyen"
    );
    assert_eq!(get_with(&app, &path, "").await.0, 303);
    assert_eq!(
        get_with(&app, &path, &cookies).await.0,
        303,
        "a seller is sent to the officers' sign-in"
    );
}
both_backends!(an_authorisation_letter_is_uploaded_and_read_by_officers);

async fn only_the_home_page_and_the_portal_may_load_our_one_script(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let policy = |r: &reqwest::Response| {
        r.headers()["content-security-policy"]
            .to_str()
            .expect("policy")
            .to_string()
    };
    let home = app.get("/").await;
    assert!(
        policy(&home).contains("script-src 'self'"),
        "{}",
        policy(&home)
    );
    let html = home.text().await.expect("html");
    assert!(html.contains("<script src=\"/static/enhance.js\" defer></script>"));
    assert!(html.contains("data-scan=\"Quét mã bằng camera\""), "{html}");
    // The lookup works without it: a plain GET form.
    assert!(html.contains("method=\"get\" action=\"/verify\""));
    for path in ["/verify", "/report", "/portal/login", "/console/login"] {
        let page = app.get(path).await;
        assert!(
            !policy(&page).contains("script-src"),
            "{path}: {}",
            policy(&page)
        );
    }
    let script = app.get("/static/enhance.js").await;
    assert_eq!(script.status(), 200);
    assert!(
        script.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/javascript")
    );
    assert!(script.text().await.expect("js").contains("BarcodeDetector"));
}
both_backends!(only_the_home_page_and_the_portal_may_load_our_one_script);

async fn the_console_audit_page_verifies_a_shortened_chain_from_its_checkpoint(
    backend: TestBackend,
) {
    use tracegate::clock::Clock;
    let (_env, app) = TestApp::spawn(&backend).await;
    let officer = crate::fixtures::invited_officer(
        &app,
        tracegate::auth::OfficerRole::Supervisor,
        tracegate::policies::ProvinceScope::All,
    )
    .await;
    let secret = crate::fixtures::enrol_totp(&app, &officer.access_token).await;
    let signer = tracegate::audit::CheckpointSigner::new(&app.state.keys);
    let now = app.clock.now();
    app.state
        .db(move |c| Ok(tracegate::audit::checkpoint_if_due(c, &signer, now, None)?))
        .await
        .expect("checkpoint");
    app.clock.advance(chrono::TimeDelta::days(70));
    let mut policy = tracegate::retention::RetentionPolicy::load(None).expect("policy");
    policy.audit_entries.months = 1;
    let export_dir = std::path::PathBuf::from(&app.state.config.retention.export_dir);
    let evidence_dir = std::path::PathBuf::from(&app.state.config.disputes.evidence_dir);
    let retention_signer = tracegate::audit::CheckpointSigner::new(&app.state.keys);
    let now = app.clock.now();
    let report = app
        .state
        .db(move |conn| {
            tracegate::retention::run(
                conn,
                &policy,
                &retention_signer,
                &export_dir,
                &evidence_dir,
                now,
            )
            .map_err(tracegate::error::AppError::internal)
        })
        .await
        .expect("retention run");
    let anchor = report.audit_anchor.expect("entries dropped");

    let cookies = signed_in_officer(&app, &officer.email, &secret).await;
    let (status, html) = get_with(&app, "/console/audit", &cookies).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("class=\"banner ok\""), "{html}");
    assert!(html.contains("id=\"chain-anchor\""), "{html}");
    assert!(
        html.contains(&format!("điểm kiểm tra đã ký tại mục {anchor}")),
        "{html}"
    );
}
both_backends!(the_console_audit_page_verifies_a_shortened_chain_from_its_checkpoint);

/// A seller signed in through the portal: (cookies, CSRF value of the account page).
async fn seller_on_account_page(app: &TestApp, email: &str) -> (String, String) {
    let (cookie, token) = csrf(app, "/portal/login").await;
    let signed_in = app
        .client
        .post(app.url("/portal/login"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", token.as_str()),
            ("email", email),
            ("password", crate::fixtures::PASSWORD),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(signed_in.status(), 303);
    let mut cookies = set_cookies(&signed_in);
    cookies.push(cookie);
    let cookies = cookies.join("; ");
    let (status, html) = get_with(app, "/portal/account", &cookies).await;
    assert_eq!(status, 200, "{html}");
    let start = html.find("name=\"csrf\" value=\"").expect("csrf") + 19;
    let token = html[start..].split('"').next().expect("token").to_string();
    (cookies, token)
}

async fn a_seller_turns_routine_mail_off_and_a_stale_form_is_refused(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, pair) = verified_seller(&app).await;
    let (cookies, token) = seller_on_account_page(&app, &email).await;
    let (_, html) = get_with(&app, "/portal/account", &cookies).await;
    assert!(html.contains("Thông báo qua email"), "{html}");
    assert!(
        html.contains("name=\"receive_case_progress\" value=\"on\" checked"),
        "{html}"
    );
    let always = html
        .split("id=\"always-sent\"")
        .nth(1)
        .expect("the mail always sent is listed");
    for name in [
        "Bảo mật tài khoản",
        "Thời hạn trong khiếu nại",
        "Quyền bán hàng",
    ] {
        assert!(always.contains(name), "{name}: {always}");
    }
    assert!(html.contains("name=\"version\" value=\"0\""), "{html}");

    // Without the CSRF value nothing changes.
    let forged = app
        .client
        .post(app.url("/portal/account/notifications"))
        .header("cookie", &cookies)
        .form(&[("language", "en"), ("version", "0")])
        .send()
        .await
        .expect("sent");
    assert_eq!(forged.status(), 403);

    // The box unticked (not sent), English chosen: saved, then said so.
    let saved = app
        .client
        .post(app.url("/portal/account/notifications"))
        .header("cookie", &cookies)
        .form(&[
            ("csrf", token.as_str()),
            ("version", "0"),
            ("language", "en"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(saved.status(), 303);
    assert_eq!(
        saved.headers()["location"],
        "/portal/account?done=mail_settings"
    );
    let (_, html) = get_with(&app, "/portal/account?done=mail_settings", &cookies).await;
    assert!(html.contains("Đã lưu cài đặt thư thông báo"), "{html}");
    assert!(
        html.contains("name=\"receive_case_progress\" value=\"on\" aria-describedby"),
        "unticked now: {html}"
    );
    assert!(html.contains("value=\"en\" lang=\"en\" selected"), "{html}");
    let token_api = pair["access_token"].as_str().expect("token");
    let settings: serde_json::Value = app
        .get_as("/v1/me/notifications", token_api)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(settings["silenced"], json!(["case_progress"]));
    assert_eq!(settings["language"], "en");

    // A form drawn before that change is refused, with what to do, and nothing changes.
    let stale = app
        .client
        .post(app.url("/portal/account/notifications"))
        .header("cookie", &cookies)
        .form(&[
            ("csrf", token.as_str()),
            ("version", "0"),
            ("language", "vi"),
            ("receive_case_progress", "on"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(stale.status(), 409);
    let html = stale.text().await.expect("html");
    assert!(
        html.contains("Cài đặt đã được thay đổi ở nơi khác"),
        "{html}"
    );
    assert!(html.contains("name=\"version\" value=\"1\""), "{html}");
    let settings: serde_json::Value = app
        .get_as("/v1/me/notifications", token_api)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(settings["language"], "en");
}
both_backends!(a_seller_turns_routine_mail_off_and_a_stale_form_is_refused);

async fn a_seller_closes_the_account_after_confirming_and_is_signed_out(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (email, _) = verified_seller(&app).await;
    let (cookies, token) = seller_on_account_page(&app, &email).await;
    let (_, html) = get_with(&app, "/portal/account", &cookies).await;
    assert!(html.contains("href=\"/portal/account/close\""), "{html}");

    // Strangers are sent to sign in.
    let stranger = app.get("/portal/account/close").await;
    assert_eq!(stranger.status(), 303);

    // The confirmation page says what is kept, and for how long.
    let (status, html) = get_with(&app, "/portal/account/close", &cookies).await;
    assert_eq!(status, 200, "{html}");
    for words in [
        "không thể hoàn tác",
        "Trong 30 ngày",
        "36 tháng",
        "60 tháng",
        "120 tháng",
        "name=\"confirm\"",
    ] {
        assert!(html.contains(words), "{words}: {html}");
    }

    // Not confirmed, or the wrong password: refused, nothing closed.
    let post = |form: Vec<(&'static str, String)>| {
        app.client
            .post(app.url("/portal/account/close"))
            .header("cookie", &cookies)
            .form(&form)
            .send()
    };
    let unconfirmed = post(vec![
        ("csrf", token.clone()),
        ("password", crate::fixtures::PASSWORD.into()),
    ])
    .await
    .expect("sent");
    assert_eq!(unconfirmed.status(), 422);
    assert!(
        unconfirmed
            .text()
            .await
            .expect("html")
            .contains("id=\"confirm-error\"")
    );
    let wrong = post(vec![
        ("csrf", token.clone()),
        ("password", "khong-dung-mat-khau".into()),
        ("confirm", "on".into()),
    ])
    .await
    .expect("sent");
    assert_eq!(wrong.status(), 422);
    assert!(
        wrong
            .text()
            .await
            .expect("html")
            .contains("id=\"password-error\"")
    );
    let forged = post(vec![
        ("password", crate::fixtures::PASSWORD.into()),
        ("confirm", "on".into()),
    ])
    .await
    .expect("sent");
    assert_eq!(forged.status(), 403);

    let closed = post(vec![
        ("csrf", token.clone()),
        ("password", crate::fixtures::PASSWORD.into()),
        ("confirm", "on".into()),
    ])
    .await
    .expect("sent");
    assert_eq!(closed.status(), 303);
    assert_eq!(
        closed.headers()["location"],
        "/portal/login?done=account_closed"
    );
    let cleared = set_cookies(&closed);
    assert!(
        cleared.iter().any(|c| c.starts_with("tg_access=")),
        "the session cookies are cleared: {cleared:?}"
    );
    let landing = app.get("/portal/login?done=account_closed").await;
    let html = landing.text().await.expect("html");
    assert!(html.contains("Tài khoản đã được đóng"), "{html}");
    // The old session no longer opens the account.
    let (status, _) = get_with(&app, "/portal/account", &cookies).await;
    assert_eq!(status, 303);
}
both_backends!(a_seller_closes_the_account_after_confirming_and_is_signed_out);

async fn a_seller_with_a_bound_shop_is_told_why_the_account_stays_open(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    bound_enterprise_seller(&app, "shop-close").await;
    let email = app
        .state
        .db(|conn| {
            use diesel::prelude::*;
            use tracegate::db::schema::accounts;
            Ok(accounts::table
                .filter(accounts::kind.eq("seller"))
                .select(accounts::email)
                .first::<String>(conn)?)
        })
        .await
        .expect("seller email");
    let (cookies, token) = seller_on_account_page(&app, &email).await;
    let refused = app
        .client
        .post(app.url("/portal/account/close"))
        .header("cookie", &cookies)
        .form(&[
            ("csrf", token.as_str()),
            ("password", crate::fixtures::PASSWORD),
            ("confirm", "on"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(refused.status(), 409);
    let html = refused.text().await.expect("html");
    assert!(html.contains("gian hàng còn liên kết"), "{html}");
}
both_backends!(a_seller_with_a_bound_shop_is_told_why_the_account_stays_open);

async fn a_supervisor_silences_queue_notices_from_the_console(backend: TestBackend) {
    use tracegate::auth::OfficerRole;
    use tracegate::policies::ProvinceScope;
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, _, platform, seller) = bound_enterprise_seller(&app, "shop-s").await;
    let hcm = || ProvinceScope::Only(vec!["79".into()]);
    let supervisor = crate::fixtures::invited_officer(&app, OfficerRole::Supervisor, hcm()).await;
    let secret = crate::fixtures::enrol_totp(&app, &supervisor.access_token).await;
    let cookies = signed_in_officer(&app, &supervisor.email, &secret).await;
    assert_eq!(get_with(&app, "/console/account", "").await.0, 303);
    let (status, html) = get_with(&app, "/console/account", &cookies).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("name=\"receive_case_queue\""), "{html}");
    assert!(!html.contains("receive_case_progress"), "{html}");
    assert!(!html.contains("/portal/account/close"), "{html}");
    let start = html.find("name=\"csrf\" value=\"").expect("csrf") + 19;
    let token = html[start..].split('"').next().expect("token").to_string();
    let saved = app
        .client
        .post(app.url("/console/account/notifications"))
        .header("cookie", &cookies)
        .form(&[
            ("csrf", token.as_str()),
            ("version", "0"),
            ("language", "vi"),
        ])
        .send()
        .await
        .expect("sent");
    assert_eq!(saved.status(), 303);
    assert_eq!(
        saved.headers()["location"],
        "/console/account?done=mail_settings"
    );

    // A case reaching the province's queue is not mailed to them any more.
    let filed = app
        .post_as(
            "/v1/disputes",
            &platform,
            json!({ "shop_id": "shop-s", "listing_id": "l-s", "kind": "counterfeit", "claim": "refund", "description": "Hàng giả, không có tem chống giả.", "buyer": { "reference": "b-s", "email": "mua.s@example.vn" } }),
        )
        .await;
    assert_eq!(filed.status(), 201);
    let case: serde_json::Value = filed.json().await.expect("case");
    let id = case["id"].as_str().expect("id");
    // A colleague who kept the default is the control: they are told.
    let colleague = crate::fixtures::officer(&app, OfficerRole::Supervisor, hcm()).await;
    let before = app.mails_to(&supervisor.email).await.len();
    let colleague_before = app.mails_to(&colleague.email).await.len();
    let answered = app
        .post_as(
            &format!("/v1/disputes/{id}/actions"),
            &seller,
            json!({ "action": "respond", "statement": "Hàng chính hãng, có hóa đơn nhập khẩu.", "offer": "refund" }),
        )
        .await;
    assert_eq!(answered.status(), 200);
    let token_buyer = app.link_token("mua.s@example.vn").await;
    let escalated = app
        .client
        .post(app.url(&format!("/v1/disputes/{id}/actions")))
        .header("Tracegate-Case-Token", token_buyer)
        .json(&json!({ "action": "escalate" }))
        .send()
        .await
        .expect("sent");
    assert!(escalated.status().is_success(), "{}", escalated.status());
    assert_eq!(app.mails_to(&supervisor.email).await.len(), before);
    assert_eq!(
        app.mails_to(&colleague.email).await.len(),
        colleague_before + 1
    );
}
both_backends!(a_supervisor_silences_queue_notices_from_the_console);

/// Files the public complaint form in `lang`; the reference it lands on.
async fn file_complaint(app: &TestApp, lang: &str, fields: &[(&str, &str)]) -> String {
    let (cookie, value) = csrf(app, &format!("/report?lang={lang}")).await;
    let mut form = vec![("csrf", value.as_str())];
    form.extend_from_slice(fields);
    let filed = app
        .client
        .post(app.url(&format!("/report?lang={lang}")))
        .header("cookie", &cookie)
        .form(&form)
        .send()
        .await
        .expect("sent");
    assert_eq!(filed.status(), 303);
    let location = filed.headers()["location"].to_str().expect("location");
    location["/report/received/".len()..].to_string()
}

async fn every_complaint_sends_its_consumer_one_receipt(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (platform_id, _, _, _) = bound_enterprise_seller(&app, "shop-bien-nhan").await;

    // A shop nobody is bound to: no case, and still a receipt in the page's language that
    // says what was received and how to follow it.
    let unknown = "khong.ro@example.vn";
    let reference = file_complaint(
        &app,
        "en",
        &[
            ("code", "8930000999999"),
            ("shop_name", "Cửa hàng Không Rõ"),
            ("kind", "counterfeit"),
            ("claim", "report_only"),
            (
                "description",
                "Mã trên hộp không tra cứu được, nghi hàng giả.",
            ),
            ("email", unknown),
        ],
    )
    .await;
    let mails = app.mails_to(unknown).await;
    assert_eq!(mails.len(), 1, "one receipt: {mails:?}");
    let (subject, text) = &mails[0];
    assert!(subject.contains(&reference), "{subject}");
    for part in [
        reference.as_str(),
        "8930000999999",
        "Counterfeit",
        &format!("/report/received/{reference}"),
        "read complaints whose shop is unknown",
    ] {
        assert!(text.contains(part), "{part:?} missing: {text}");
    }
    assert!(
        !text.contains("nghi hàng giả") && !text.contains("Cửa hàng Không Rõ"),
        "the receipt repeats no free text: {text}"
    );

    // A shop bound to a seller opens a case: the same one mail carries its confirmation
    // link, and no second confirmation mail is sent.
    let traced = "co.ca@example.vn";
    let reference = file_complaint(
        &app,
        "vi",
        &[
            ("platform_id", platform_id.as_str()),
            ("shop_name", "shop-bien-nhan"),
            ("listing_link", "https://san.example.vn/sp/42"),
            ("kind", "counterfeit"),
            ("claim", "refund"),
            ("description", "Hàng nhận được không có tem chống giả."),
            ("email", traced),
        ],
    )
    .await;
    let mails = app.mails_to(traced).await;
    assert_eq!(mails.len(), 1, "one mail, not two: {mails:?}");
    let (subject, text) = &mails[0];
    assert!(subject.contains(&reference), "{subject}");
    assert!(
        text.contains(&reference) && text.contains("DSP-") && text.contains("/disputes/"),
        "the receipt names the case and its link: {text}"
    );
    // The link in it confirms the case, as the separate confirmation mail's did.
    let token = token_in(text);
    assert!(!token.is_empty());

    // Nobody floods an address through the public form: past a few receipts a day, the
    // complaints are kept and the receipts stop, however the address's letters are cased.
    let flooded = "nan.nhan@example.vn";
    for (i, email) in [
        "nan.nhan@example.vn",
        "Nan.Nhan@example.vn",
        "NAN.NHAN@EXAMPLE.VN",
        "nAn.nhAn@Example.vn",
        "nan.nhan@example.vn",
        "Nan.nhan@example.vn",
        "nan.NHAN@example.vn",
    ]
    .into_iter()
    .enumerate()
    {
        if i == 2 {
            // Rows stored before addresses were lower-cased still count.
            app.execute_sql(
                "UPDATE consumer_complaints SET email = 'Nan.Nhan@Example.vn' WHERE email = 'nan.nhan@example.vn'",
            )
            .await;
        }
        file_complaint(
            &app,
            "vi",
            &[
                ("shop_name", "Không ai"),
                ("kind", "counterfeit"),
                ("claim", "report_only"),
                ("description", "Gửi lặp lại nhiều lần trong ngày."),
                ("email", email),
            ],
        )
        .await;
    }
    assert_eq!(app.mails_to(flooded).await.len(), 5);
    assert_eq!(
        app.count_sql(
            "SELECT count(*) AS n FROM consumer_complaints WHERE email = 'nan.nhan@example.vn'"
        )
        .await,
        5,
        "stored in lower case"
    );
}
both_backends!(every_complaint_sends_its_consumer_one_receipt);

/// The shop id a complaint naming `shop_name` traces to, filed through the service with no
/// case opened.
async fn complaint_traced_to(app: &TestApp, shop_name: &str) -> Option<String> {
    let state = app.state.clone();
    let shop_name = shop_name.to_string();
    state
        .clone()
        .blocking(move || {
            tracegate::complaints::Complaints {
                pool: &state.pool,
                clock: state.clock.as_ref(),
                policies: &state.policies,
                public_url: &state.config.server.public_url,
            }
            .file(
                &tracegate::complaints::ComplaintInput {
                    shop_name,
                    kind: "counterfeit".into(),
                    claim: "report_only".into(),
                    description: "Hàng nhận được không có tem chống giả.".into(),
                    email: "truy.vet@example.vn".into(),
                    ..Default::default()
                },
                tracegate::i18n::Language::Vi,
                |_, _, _, _| None,
            )
            .map(|filed| filed.shop.map(|s| s.shop_id))
            .map_err(tracegate::error::AppError::internal)
        })
        .await
        .expect("filed")
}

async fn a_complaint_traces_a_shop_by_its_name_with_its_diacritics(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    bound_enterprise_seller(&app, "shop-ba-ba").await;
    app.execute_sql(
        "UPDATE seller_bindings SET shop_name = 'Bà Ba', search_shop_name = 'ba ba' WHERE shop_id = 'shop-ba-ba'",
    )
    .await;
    let shop = Some("shop-ba-ba".to_string());
    // Names that only fold alike are other shops: tracing them would open a case against
    // the wrong seller.
    for name in ["Bá Bá", "Ba Ba", "ba bà"] {
        assert_eq!(complaint_traced_to(&app, name).await, None, "{name}");
    }
    for name in ["BÀ BA", "bà  ba", "Ba\u{300} Ba", "shop-ba-ba"] {
        assert_eq!(complaint_traced_to(&app, name).await, shop, "{name}");
    }
    // A binding whose folded name is not written yet is traced by its exact name too.
    app.execute_sql("UPDATE seller_bindings SET search_shop_name = NULL")
        .await;
    assert_eq!(complaint_traced_to(&app, "BÀ BA").await, shop);
    assert_eq!(complaint_traced_to(&app, "Bá Bá").await, None);
}
both_backends!(a_complaint_traces_a_shop_by_its_name_with_its_diacritics);

async fn officers_find_vietnamese_names_with_or_without_diacritics(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    // Nguyễn Văn An, of Công ty TNHH Mỹ phẩm Sen Việt, with a shop named "Đồ gia dụng Hòa
    // Bình".
    let (_, _, platform, seller) = bound_enterprise_seller(&app, "shop-1").await;
    let code: serde_json::Value = app
        .post_as("/v1/me/binding-codes", &seller, json!({}))
        .await
        .json()
        .await
        .expect("code");
    let bound = app
        .post_as(
            "/v1/seller-bindings",
            &platform,
            json!({ "binding_code": code["code"], "shop_id": "shop-2", "shop_name": "Đồ gia dụng Hòa Bình" }),
        )
        .await;
    assert_eq!(bound.status(), 201);

    let officer = crate::fixtures::invited_officer(
        &app,
        tracegate::auth::OfficerRole::Officer,
        tracegate::policies::ProvinceScope::All,
    )
    .await;
    let totp = crate::fixtures::enrol_totp(&app, &officer.access_token).await;
    let console = signed_in_officer(&app, &officer.email, &totp).await;
    let finds = |query: &'static str| {
        let (app, console) = (&app, console.clone());
        async move {
            let (status, html) =
                get_with(app, &format!("/console/sellers?q={query}"), &console).await;
            assert_eq!(status, 200, "{query}: {html}");
            html.contains("/console/sellers?id=")
        }
    };
    for query in [
        "nguyen+van",
        "NGUY%E1%BB%84N",
        "%C4%91%E1%BB%93",
        "my+pham+sen+viet",
        "HOA+BINH",
    ] {
        assert!(finds(query).await, "{query} finds the seller");
    }
    // A lone combining accent folds to nothing and finds nobody, not everybody.
    for query in ["tran+thi", "100%25", "nguyen_van", "%CC%81"] {
        assert!(!finds(query).await, "{query} finds nobody");
    }
    // The queue finds the seller's cases the same way.
    let (status, html) = get_with(&app, "/console?seller=nguyen+van", &console).await;
    assert_eq!(status, 200, "{html}");

    // Rows written before the folded columns existed are filled at start-up.
    app.execute_sql("UPDATE sellers SET search_name = NULL")
        .await;
    app.execute_sql("UPDATE seller_bindings SET search_shop_name = NULL")
        .await;
    assert!(!finds("nguyen+van").await);
    let filled = app
        .state
        .db(|conn| Ok(tracegate::identity::fill_search_names(conn)?))
        .await
        .expect("filled");
    assert_eq!(filled, 2, "one seller and its one named shop");
    assert!(finds("nguyen+van").await);
    assert!(finds("%C4%91%E1%BB%93").await);
}
both_backends!(officers_find_vietnamese_names_with_or_without_diacritics);

async fn account_forms_redirect_after_post(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let email = crate::fixtures::unique_email("prg");
    // Each form answers with a redirect to a page of its own, so Back and reload send
    // nothing twice.
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let app = &app;
        async move {
            let (cookie, value) = csrf(app, path).await;
            let mut form = form;
            form.push(("csrf", value));
            let response = app
                .client
                .post(app.url(path))
                .header("cookie", &cookie)
                .form(&form)
                .send()
                .await
                .expect("sent");
            assert_eq!(response.status(), 303, "{path}");
            let location = response.headers()["location"]
                .to_str()
                .expect("location")
                .to_string();
            let html = app.get(&location).await.text().await.expect("html");
            (location, html)
        }
    };
    let (location, html) = post(
        "/portal/register",
        vec![
            ("email", email.clone()),
            ("password", crate::fixtures::PASSWORD.into()),
        ],
    )
    .await;
    assert_eq!(location, "/portal/register?done=sent");
    assert!(html.contains("Hãy kiểm tra hộp thư"), "{html}");
    let token = app.link_token(&email).await;
    let (cookie, value) = csrf(&app, &format!("/verify-email?token={token}")).await;
    let confirmed = app
        .client
        .post(app.url("/verify-email"))
        .header("cookie", &cookie)
        .form(&[("csrf", value.as_str()), ("token", token.as_str())])
        .send()
        .await
        .expect("sent");
    assert_eq!(confirmed.status(), 303);
    let location = confirmed.headers()["location"].to_str().expect("location");
    assert_eq!(location, "/verify-email?done=confirmed");
    let html = app.get(location).await.text().await.expect("html");
    assert!(html.contains("Đã xác nhận địa chỉ email"), "{html}");
    let (location, html) = post("/reset-password", vec![("email", email.clone())]).await;
    assert_eq!(location, "/reset-password?done=sent");
    assert!(html.contains("chúng tôi đã gửi đường dẫn"), "{html}");
    // Reloading the page it landed on sends no second mail.
    let before = app.mails_to(&email).await.len();
    app.get(&location).await;
    assert_eq!(app.mails_to(&email).await.len(), before);
}
both_backends!(account_forms_redirect_after_post);
