//! Limits on what one caller may do to others' things: officers act on the codes of their
//! own provinces, a party's evidence on a case is bounded, a slow body does not hold a
//! connection open.

use serde_json::{Value, json};
use tracegate::auth::OfficerRole;
use tracegate::policies::ProvinceScope;

use crate::both_backends;
use crate::fixtures::{
    Person, bound_enterprise_seller, gtin, issuer, officer, post_batch, verified_person,
};
use crate::helpers::{TestApp, TestBackend, TestEnv, problem, token_in};

/// Legal representative of 0319000029 (active, province 31: Hải Phòng).
const DUNG: Person = Person {
    national_id: "031195900004",
    full_name: "Phạm Thị Dung",
    birth_date: "1995-01-09",
};

/// A lot registered for the Hải Phòng business 0319000029; returns the lot's code.
async fn hai_phong_lot(app: &TestApp, lot: &str) -> String {
    let (_, seller) = verified_person(app, DUNG).await;
    let view: Value = app
        .post_as(
            "/v1/me/business",
            &seller,
            json!({ "kind": "enterprise", "code": "0319000029" }),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(view["status"], "verified", "{view}");
    let issuer = issuer(app, "national", None).await;
    let code = format!("(01){}(10){lot}", gtin("893850000031"));
    let body = json!({ "codes": [{ "code": code, "owner": "0319000029", "product_name": "Chả cá Hải Phòng", "category": "general", "origin": "31", "expiry_date": "2030-12-31" }] });
    let response = post_batch(app, &issuer, "application/json", &body.to_string()).await;
    assert_eq!(
        response.status(),
        201,
        "{}",
        response.text().await.unwrap_or_default()
    );
    code
}

async fn refused_count(app: &TestApp, reason: &str) -> u64 {
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    let prefix = format!("tracegate_attempts_refused_total{{reason=\"{reason}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

async fn officers_change_only_the_codes_of_their_provinces(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let code = hai_phong_lot(&app, "HP1").await;
    let hcm = officer(
        &app,
        OfficerRole::Supervisor,
        ProvinceScope::Only(vec!["79".into()]),
    )
    .await;
    let hai_phong = officer(
        &app,
        OfficerRole::Officer,
        ProvinceScope::Only(vec!["31".into()]),
    )
    .await;
    let national = officer(&app, OfficerRole::Officer, ProvinceScope::All).await;
    let change = |status: &str| json!({ "code": code, "status": status, "reason": "Lô hàng bị phát hiện nhiễm khuẩn" });

    let refused = app
        .post_as("/v1/codes/status", &hcm.access_token, change("recalled"))
        .await;
    assert_eq!(refused.status(), 403);
    let body = problem(refused).await;
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("not in your provinces")),
        "{body}"
    );
    assert_eq!(
        app.count_sql("SELECT count(*) AS n FROM codes WHERE status <> 'active'")
            .await,
        0,
        "nothing changed"
    );
    assert_eq!(refused_count(&app, "code_out_of_scope").await, 1);

    // The console says so, in the officer's language, and changes nothing either.
    let cookies = crate::pages::console_cookies(&app, OfficerRole::Supervisor).await;
    let page = app
        .client
        .get(app.url(&format!(
            "/console/codes?{}",
            serde_urlencoded::to_string([("code", code.as_str())]).expect("query")
        )))
        .header("cookie", &cookies)
        .send()
        .await
        .expect("sent");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    let start = html.find("name=\"csrf\" value=\"").expect("csrf") + 19;
    let csrf_value = html[start..].split('"').next().expect("value").to_string();
    let answered = app
        .client
        .post(app.url("/console/codes/status"))
        .header("cookie", &cookies)
        .form(&[
            ("csrf", csrf_value.as_str()),
            ("code", code.as_str()),
            ("status", "recalled"),
            ("reason", "Lô hàng bị phát hiện nhiễm khuẩn"),
            ("confirmed", "yes"),
        ])
        .send()
        .await
        .expect("sent");
    let html = answered.text().await.expect("html");
    assert!(
        html.contains("Chủ sở hữu mã không thuộc địa bàn của bạn"),
        "{html}"
    );
    assert_eq!(
        app.count_sql("SELECT count(*) AS n FROM codes WHERE status <> 'active'")
            .await,
        0
    );

    // An officer of Hải Phòng may; a national officer may too.
    let recalled = app
        .post_as(
            "/v1/codes/status",
            &hai_phong.access_token,
            change("recalled"),
        )
        .await;
    assert_eq!(recalled.status(), 200);
    let revoked = app
        .post_as(
            "/v1/codes/status",
            &national.access_token,
            change("revoked"),
        )
        .await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        app.count_sql("SELECT count(*) AS n FROM codes WHERE status = 'revoked'")
            .await,
        1
    );
}
both_backends!(officers_change_only_the_codes_of_their_provinces);

fn multipart(name: &str, content: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(content)
            .file_name(name.to_string())
            .mime_str("text/plain")
            .expect("mime"),
    )
}

/// A copy of the built-in policies with smaller evidence limits.
fn small_evidence_limits(env: &TestEnv) -> String {
    let dir = env.dir.path().join("policies");
    std::fs::create_dir_all(&dir).expect("policies dir");
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    for entry in std::fs::read_dir(&source).expect("policies") {
        let entry = entry.expect("entry");
        let text = std::fs::read_to_string(entry.path()).expect("policy");
        let text = text
            .replace("max_files_per_party = 20", "max_files_per_party = 3")
            .replace(
                "max_bytes_per_party = 52428800",
                "max_bytes_per_party = 10000",
            );
        std::fs::write(dir.join(entry.file_name()), text).expect("write policy");
    }
    dir.display().to_string()
}

async fn a_party_attaches_evidence_up_to_the_policy_and_the_other_still_can(backend: TestBackend) {
    let env = TestEnv::new(&backend);
    let mut config = env.config.clone();
    config.policies.dir = Some(small_evidence_limits(&env));
    let app = TestApp::start(config).await;
    assert_eq!(app.state.policies.disputes.evidence.max_files_per_party, 3);
    let (platform_id, _, _, seller) = bound_enterprise_seller(&app, "shop-1").await;
    let filed = app
        .post(
            "/v1/public/disputes",
            json!({ "platform_id": platform_id, "shop_id": "shop-1", "listing_id": "l-1", "kind": "counterfeit", "claim": "refund", "description": "Hàng nhận được không có tem chống giả.", "email": "buyer.limits@example.vn" }),
        )
        .await;
    assert_eq!(filed.status(), 202);
    let mails = app.mails_to("buyer.limits@example.vn").await;
    let text = &mails.last().expect("confirmation mail").1;
    let link_start = text.find("/disputes/").expect("case link");
    let id: String = text[link_start + 10..]
        .chars()
        .take_while(|c| *c != '?')
        .collect();
    let token = token_in(text);
    let page_path = format!("/disputes/{id}?token={token}");
    let (cookie, csrf_value) = crate::pages::csrf(&app, &page_path).await;
    let confirmed = app
        .client
        .post(app.url(&format!("/disputes/{id}/confirm")))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf_value.as_str()), ("token", token.as_str())])
        .send()
        .await
        .expect("sent");
    assert_eq!(confirmed.status(), 303);

    // The seller, through the API: three files, then a problem naming the limit.
    let upload = |n: usize| {
        app.client
            .post(app.url(&format!("/v1/disputes/{id}/evidence")))
            .bearer_auth(&seller)
            .multipart(multipart(&format!("hoa-don-{n}.txt"), b"Hoa don".to_vec()))
            .send()
    };
    for n in 0..3 {
        assert_eq!(upload(n).await.expect("sent").status(), 201);
    }
    let refused = upload(3).await.expect("sent");
    assert_eq!(refused.status(), 422);
    let body = problem(refused).await;
    assert_eq!(body["errors"][0]["field"], "file", "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("evidence.max_files_per_party")),
        "{body}"
    );
    assert_eq!(refused_count(&app, "evidence_files").await, 1);

    // The buyer, through the page, is not held back by the seller's files; their own total
    // size is limited, and the page says so in Vietnamese.
    let buyer_upload = |n: usize, size: usize| {
        let form =
            multipart(&format!("anh-{n}.txt"), vec![b'a'; size]).text("csrf", csrf_value.clone());
        app.client
            .post(app.url(&format!("/disputes/{id}/evidence?token={token}")))
            .header("cookie", &cookie)
            .multipart(form)
            .send()
    };
    assert_eq!(buyer_upload(0, 6000).await.expect("sent").status(), 303);
    let too_much = buyer_upload(1, 6000).await.expect("sent");
    assert_eq!(too_much.status(), 422);
    let html = too_much.text().await.expect("html");
    assert!(html.contains("vượt tổng dung lượng"), "{html}");
    assert_eq!(refused_count(&app, "evidence_bytes").await, 1);
    assert_eq!(
        app.count_sql(&format!(
            "SELECT count(*) AS n FROM dispute_evidence WHERE dispute_id = '{id}'"
        ))
        .await,
        4
    );
}
both_backends!(a_party_attaches_evidence_up_to_the_policy_and_the_other_still_can);

async fn a_trickled_body_is_answered_408_and_others_are_served_meanwhile(backend: TestBackend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let env = TestEnv::new(&backend);
    let mut config = env.config.clone();
    config.server.body_timeout_secs = 1;
    let app = TestApp::start(config).await;
    let address = app.address.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let started = std::time::Instant::now();
    writer
        .write_all(
            b"POST /v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{",
        )
        .await
        .expect("headers sent");
    // One byte every 200 ms: 200 bytes would take 40 s.
    let trickle = tokio::spawn(async move {
        for _ in 0..200 {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            if writer.write_all(b" ").await.is_err() {
                break;
            }
        }
    });
    let answer = tokio::spawn(async move {
        let mut received = Vec::new();
        let mut buffer = [0u8; 4096];
        // Until the service closes the connection.
        while let Ok(n) = reader.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            received.extend_from_slice(&buffer[..n]);
        }
        (received, started.elapsed())
    });
    // Meanwhile the service answers others.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let (received, elapsed) = tokio::time::timeout(std::time::Duration::from_secs(10), answer)
        .await
        .expect("answered and closed within 10 s")
        .expect("reader");
    trickle.abort();
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(
        elapsed < std::time::Duration::from_secs(4),
        "answered after {elapsed:?}"
    );
    assert_eq!(refused_count(&app, "body_timeout").await, 1);
    // A body that comes at once is unaffected.
    assert_eq!(
        app.post(
            "/v1/auth/login",
            json!({ "email": "a@example.vn", "password": "x" })
        )
        .await
        .status(),
        401
    );
}
both_backends!(a_trickled_body_is_answered_408_and_others_are_served_meanwhile);
