//! Pages without a browser: who is sent to sign in, CSRF protection, and the buyer's case
//! page reached from the mailed link.

use serde_json::json;

use crate::both_backends;
use crate::fixtures::{bound_enterprise_seller, verified_seller};
use crate::helpers::{TestApp, TestBackend, token_in};

/// The CSRF cookie and form value a page hands out.
async fn csrf(app: &TestApp, path: &str) -> (String, String) {
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
    assert!(html.contains("awaiting seller"), "{html}");
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
    assert!(html.contains("withdrawn"), "{html}");

    let stranger = app.get(&format!("/disputes/{id}?token=nope")).await;
    assert_eq!(stranger.status(), 404);
}
both_backends!(a_buyer_confirms_and_follows_the_case_from_the_mailed_link);
