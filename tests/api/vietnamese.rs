//! Every page and mail a Vietnamese reader gets, read through for English: a case walked
//! from filing to an appeal's decision, each party's page at each step, the console's pages,
//! the public pages, error pages and field errors, and every mail queued for the parties.
//! A page fails on a code shown raw (`block_listing`, `login.failed`), an actor shown as an
//! id, a known English sentence (the English side of the message catalogue), or a
//! catalogue key asked for and missing.

use serde_json::{Value, json};
use tracegate::auth::OfficerRole;
use tracegate::i18n::catalogue;
use tracegate::policies::ProvinceScope;

use crate::both_backends;
use crate::fixtures::{
    AN, BICH, PASSWORD, client, enrol_totp, invited_officer, officer, token_for_client, totp_code,
    verified_person, verified_seller,
};
use crate::helpers::{TestApp, TestBackend};

const SHOP: &str = "shop-vn";
const BUYER: &str = "nguoi.mua.vn@example.vn";

/// English the pages once showed, besides the catalogue's own English.
const KNOWN_ENGLISH: &[&str] = &[
    "the form is out of date",
    "Still missing",
    "choose a file",
    "must be",
    "is not",
    "not a valid",
    "characters",
    "an unexpected error",
    "listing ",
    "seller suspended",
    "strikes",
    "Internal",
];

/// Single words that are codes when they stand alone on a Vietnamese page.
const RAW_CODES: &[&str] = &[
    "recalled",
    "revoked",
    "upheld",
    "dismissed",
    "warning",
    "strike",
    "identity",
    "verified",
    "pending",
    "active",
    "refund",
    "replacement",
    "escalate",
    "respond",
    "decided",
    "Verified",
    "officer",
    "supervisor",
    "dissolved",
];

/// The text a person reads: tags, scripts and styles removed, entities decoded enough.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        // The contents of a style or script element are not read.
        let closing = ["<style", "<script"]
            .iter()
            .find(|t| rest.starts_with(**t))
            .map(|t| format!("</{}", &t[1..]));
        let end = match closing {
            Some(close) => rest.find(&close).unwrap_or(rest.len()),
            None => 0,
        };
        rest = &rest[end..];
        rest = rest.find('>').map_or("", |e| &rest[e + 1..]);
        out.push(' ');
    }
    out.push_str(rest);
    out.replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == ':'))
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Fails when `text` (a page's or mail's) shows English or a raw code to a Vietnamese reader.
fn assert_vietnamese(place: &str, text: &str) {
    let shown = visible_text(text);
    let mut english: Vec<String> = KNOWN_ENGLISH.iter().map(|s| s.to_string()).collect();
    for (key, _, en) in catalogue::ENTRIES {
        // Longer English phrases only: short ones ("Email", "Seller") are shared words.
        for fragment in en.split(['{', '}', ';', '(', ')']) {
            let fragment = fragment.trim().trim_end_matches(['.', ':', ',']);
            if fragment.split_whitespace().count() >= 2 && !fragment.chars().any(char::is_numeric) {
                english.push(fragment.to_string());
            }
        }
        let code = key.split_once('.').map_or(*key, |(_, c)| c);
        if code.contains('_') || code.contains('.') {
            english.push(code.to_string());
        }
    }
    for sentence in &english {
        assert!(
            !shown.contains(sentence.as_str()),
            "{place}: English {sentence:?} on a Vietnamese page:\n{shown}"
        );
    }
    for word in words(&shown) {
        assert!(
            !RAW_CODES.contains(&word),
            "{place}: the code {word:?} shown raw:\n{shown}"
        );
        assert!(
            !word.starts_with("account:"),
            "{place}: an actor shown as an id ({word}):\n{shown}"
        );
    }
}

/// A browser's cookies, kept across requests as a header value.
#[derive(Clone, Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, response: &reqwest::Response) {
        for set in response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
        {
            let Some((name, value)) = set.split(';').next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            self.0.retain(|(k, _)| k != name);
            if !value.is_empty() {
                self.0.push((name.to_string(), value.to_string()));
            }
        }
    }

    async fn get(&mut self, app: &TestApp, path: &str) -> (u16, String) {
        let response = app
            .client
            .get(app.url(path))
            .header("accept", "text/html")
            .header("cookie", self.header())
            .send()
            .await
            .expect("sent");
        self.keep(&response);
        let status = response.status().as_u16();
        (status, response.text().await.expect("html"))
    }

    async fn post(&mut self, app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let response = app
            .client
            .post(app.url(path))
            .header("accept", "text/html")
            .header("cookie", self.header())
            .form(form)
            .send()
            .await
            .expect("sent");
        self.keep(&response);
        let status = response.status().as_u16();
        (status, response.text().await.expect("html"))
    }

    /// The CSRF value of the form on `path` (opening it sets the cookie).
    async fn csrf(&mut self, app: &TestApp, path: &str) -> String {
        let (_, html) = self.get(app, path).await;
        let start = html.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
        html[start..].split('"').next().expect("value").to_string()
    }
}

/// Opens `path` and checks it reads in Vietnamese; returns the page.
async fn read(app: &TestApp, jar: &mut Jar, path: &str, expected: u16) -> String {
    let (status, html) = jar.get(app, path).await;
    assert_eq!(status, expected, "{path}: {html}");
    assert!(
        html.contains("<html lang=\"vi\">"),
        "{path} is not Vietnamese"
    );
    assert_vietnamese(path, &html);
    html
}

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

async fn every_page_and_mail_reads_in_vietnamese(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;

    // A verified enterprise seller with a bound shop, and its portal session.
    let (seller_email, seller) = verified_person(&app, AN).await;
    let business = app
        .post_as(
            "/v1/me/business",
            &seller,
            json!({ "kind": "enterprise", "code": "0799000033" }),
        )
        .await;
    assert_eq!(business.status(), 200);
    let (platform_id, secret) = client(&app, tracegate::clients::ClientKind::Platform).await;
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
    let mut seller_jar = Jar::default();
    let csrf = seller_jar.csrf(&app, "/portal/login").await;
    let (status, _) = seller_jar
        .post(
            &app,
            "/portal/login",
            &[
                ("csrf", &csrf),
                ("email", &seller_email),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, 303);

    // A supervisor in the console, and officers working through the API.
    let hcm = || ProvinceScope::Only(vec!["79".into()]);
    let case_officer = officer(&app, OfficerRole::Officer, hcm()).await;
    let supervisor = officer(&app, OfficerRole::Supervisor, hcm()).await;
    let console_supervisor = invited_officer(&app, OfficerRole::Supervisor, hcm()).await;
    let totp = enrol_totp(&app, &console_supervisor.access_token).await;
    let mut console = Jar::default();
    let csrf = console.csrf(&app, "/console/login").await;
    let code_now = totp_code(&app, &totp);
    let (status, _) = console
        .post(
            &app,
            "/console/login",
            &[
                ("csrf", &csrf),
                ("email", &console_supervisor.email),
                ("password", PASSWORD),
                ("totp_code", &code_now),
            ],
        )
        .await;
    assert_eq!(status, 303);

    // The platform files for a Vietnamese buyer.
    let filed = app
        .post_as(
            "/v1/disputes",
            &platform,
            json!({
                "shop_id": SHOP, "listing_id": "tin-1", "kind": "counterfeit", "claim": "refund",
                "description": "Hộp kem không có tem chống giả, mã QR dẫn tới trang lạ.",
                "buyer": { "reference": "khach-1", "email": BUYER, "language": "vi" }
            }),
        )
        .await;
    assert_eq!(filed.status(), 201);
    let case: Value = filed.json().await.expect("case");
    let id = case["id"].as_str().expect("id").to_string();
    let buyer_token = app.link_token(BUYER).await;
    let buyer_page = format!("/disputes/{id}?token={buyer_token}");
    let seller_page = format!("/portal/disputes/{id}");
    let console_page = format!("/console/disputes/{id}");
    let mut buyer_jar = Jar::default();
    // Each party's page at each step of the case.
    macro_rules! read_case {
        () => {
            read(&app, &mut buyer_jar, &buyer_page, 200).await;
            read(&app, &mut seller_jar, &seller_page, 200).await;
            read(&app, &mut console, &console_page, 200).await;
        };
    }
    read_case!();

    act(
        &app,
        &seller,
        &id,
        json!({ "action": "respond", "statement": "Hàng chính hãng, có hóa đơn nhập khẩu.", "offer": "refund" }),
    )
    .await;
    read_case!();
    act(
        &app,
        &case_officer.access_token,
        &id,
        json!({ "action": "escalate", "reason": "Cán bộ thụ lý" }),
    )
    .await;
    read_case!();
    // A decision asked for in the console is first shown back to be confirmed.
    let csrf = console.csrf(&app, &console_page).await;
    let (status, html) = console
        .post(
            &app,
            &format!("{console_page}/actions"),
            &[
                ("csrf", &csrf),
                ("action", "decide"),
                ("outcome", "partly_upheld"),
                (
                    "statement",
                    "Người bán chưa chứng minh được nguồn gốc lô hàng.",
                ),
                ("sanction_warning", "on"),
                ("sanction_block_listing", "on"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("name=\"confirmed\" value=\"yes\""), "{html}");
    assert_vietnamese("the decision's confirmation", &html);
    act(
        &app,
        &case_officer.access_token,
        &id,
        json!({ "action": "request_information", "from": "seller", "question": "Xin gửi hóa đơn nhập khẩu lô hàng." }),
    )
    .await;
    read_case!();
    act(
        &app,
        &seller,
        &id,
        json!({ "action": "supply_information", "answer": "Hóa đơn số 0012 ngày 01/10." }),
    )
    .await;
    act(
        &app,
        &case_officer.access_token,
        &id,
        json!({
            "action": "decide", "outcome": "partly_upheld",
            "statement": "Hóa đơn không khớp lô hàng; người bán không chứng minh được nguồn gốc.",
            "sanctions": [{ "kind": "warning" }, { "kind": "block_listing" }, { "kind": "strike" }, { "kind": "suspend_seller", "days": 5 }]
        }),
    )
    .await;
    read_case!();
    act(
        &app,
        &seller,
        &id,
        json!({ "action": "appeal", "grounds": "Hóa đơn đúng lô hàng; xin xem lại chứng từ kèm theo." }),
    )
    .await;
    read_case!();
    act(
        &app,
        &supervisor.access_token,
        &id,
        json!({ "action": "decide_appeal", "result": "dismissed", "statement": "Chứng từ không đổi kết luận; giữ nguyên quyết định." }),
    )
    .await;
    read_case!();

    // The whole case reads as a thread on each side, with names, not ids.
    let seller_sees = read(&app, &mut seller_jar, &seller_page, 200).await;
    let buyer_sees = read(&app, &mut buyer_jar, &buyer_page, 200).await;
    let officer_sees = read(&app, &mut console, &console_page, 200).await;
    for (who, html) in [
        ("seller", &seller_sees),
        ("buyer", &buyer_sees),
        ("officer", &officer_sees),
    ] {
        for said in [
            "Hộp kem không có tem chống giả",
            "Hàng chính hãng, có hóa đơn nhập khẩu.",
            "Xin gửi hóa đơn nhập khẩu lô hàng.",
            "Hóa đơn số 0012 ngày 01/10.",
            "Hóa đơn không khớp lô hàng",
            "gỡ tin đăng",
            "Hóa đơn đúng lô hàng; xin xem lại chứng từ kèm theo.",
            "Chứng từ không đổi kết luận",
            "Người bán",
            "Cán bộ",
        ] {
            assert!(
                html.contains(said),
                "the {who} does not see {said:?}: {html}"
            );
        }
        assert!(html.contains("id=\"progress\""), "{who}: progress steps");
    }
    assert!(
        officer_sees.contains(&format!("Cán bộ {}", case_officer.email)),
        "the console names the officer: {officer_sees}"
    );

    // The decision as a document, on each side.
    let buyer_decision = buyer_page.replacen('?', "/decision?", 1);
    for html in [
        read(
            &app,
            &mut seller_jar,
            &format!("{seller_page}/decision"),
            200,
        )
        .await,
        read(&app, &mut buyer_jar, &buyer_decision, 200).await,
        read(&app, &mut console, &format!("{console_page}/decision"), 200).await,
    ] {
        for part in [
            "QUYẾT ĐỊNH",
            "Sở Công Thương",
            "Điều 1",
            "Chứng từ không đổi kết luận",
            "Nơi nhận",
        ] {
            assert!(html.contains(part), "the decision lacks {part:?}: {html}");
        }
    }

    // The console's other pages.
    let seller_id = {
        let found: Value = app
            .get_as(&format!("/v1/sellers/by-shop/{SHOP}"), &platform)
            .await
            .json()
            .await
            .expect("seller");
        found["seller_id"].as_str().expect("seller id").to_string()
    };
    for path in [
        "/console".to_string(),
        "/console?seller=Sen&shop=vn&sort=due&dir=asc".to_string(),
        "/console?from=hom-qua&overdue=nhieu".to_string(),
        "/console/audit".to_string(),
        format!("/console/sellers?id={seller_id}"),
        "/console/sellers?id=khong-co".to_string(),
        "/console/reports".to_string(),
        "/console/reports?from=hom-qua".to_string(),
        "/console/codes".to_string(),
        "/console/codes?code=khong-doc-duoc".to_string(),
        "/console/clients".to_string(),
        "/console/complaints".to_string(),
        "/console/account".to_string(),
    ] {
        let (status, html) = console.get(&app, &path).await;
        assert!(status < 500, "{path}: {status}");
        assert!(
            html.contains("<html lang=\"vi\">"),
            "{path} is not Vietnamese"
        );
        assert_vietnamese(&path, &html);
    }

    // The seller's portal, their account page with its mail settings and the confirmation
    // of closing, and a new seller's identity form refused field by field.
    read(&app, &mut seller_jar, "/portal", 200).await;
    read(&app, &mut seller_jar, "/portal/account", 200).await;
    read(&app, &mut seller_jar, "/portal/account/close", 200).await;
    let csrf = seller_jar.csrf(&app, "/portal/account").await;
    let (status, html) = seller_jar
        .post(
            &app,
            "/portal/account/notifications",
            &[("csrf", &csrf), ("version", "7"), ("language", "vi")],
        )
        .await;
    assert_eq!(status, 409, "{html}");
    assert_vietnamese("mail settings changed meanwhile", &html);
    let (status, html) = seller_jar
        .post(
            &app,
            "/portal/account/close",
            &[("csrf", &csrf), ("password", "sai")],
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert_vietnamese("closing refused", &html);
    let (status, html) = seller_jar
        .post(
            &app,
            "/portal/account/close",
            &[("csrf", &csrf), ("password", PASSWORD), ("confirm", "on")],
        )
        .await;
    assert_eq!(status, 409, "a shop is still bound: {html}");
    assert_vietnamese("closing blocked", &html);
    let (newcomer, _) = verified_seller(&app).await;
    let mut newcomer_jar = Jar::default();
    let csrf = newcomer_jar.csrf(&app, "/portal/login").await;
    newcomer_jar
        .post(
            &app,
            "/portal/login",
            &[
                ("csrf", &csrf),
                ("email", &newcomer),
                ("password", PASSWORD),
            ],
        )
        .await;
    let portal = read(&app, &mut newcomer_jar, "/portal", 200).await;
    assert!(portal.contains("national_id"), "{portal}");
    let csrf = newcomer_jar.csrf(&app, "/portal").await;
    let (status, html) = newcomer_jar
        .post(
            &app,
            "/portal/identity",
            &[
                ("csrf", &csrf),
                ("national_id", "12"),
                ("full_name", ""),
                ("birth_date", "14/03"),
            ],
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert_vietnamese("identity form refused", &html);
    let (status, html) = newcomer_jar
        .post(
            &app,
            "/portal/identity",
            &[
                ("csrf", &csrf),
                ("national_id", BICH.national_id),
                ("full_name", "Nguyen Van Sai"),
                ("birth_date", BICH.birth_date),
            ],
        )
        .await;
    assert!(status < 500, "{html}");
    assert_vietnamese("identity mismatch", &html);

    // Public pages, and error pages.
    let mut stranger = Jar::default();
    for (path, status) in [
        ("/", 200),
        ("/verify", 200),
        ("/report", 200),
        ("/portal/login", 200),
        ("/portal/register", 200),
        ("/console/login", 200),
        ("/reset-password", 200),
        ("/khong-co-trang-nay", 404),
        ("/disputes/khong-co?token=sai", 404),
    ] {
        read(&app, &mut stranger, path, status).await;
    }
    let (status, html) = stranger
        .post(&app, "/portal/login", &[("email", "a@example.vn")])
        .await;
    assert_eq!(status, 403);
    assert_vietnamese("a form without its CSRF token", &html);

    // A product's page, genuine and then recalled; an unknown code.
    let issuer = crate::fixtures::issuer(&app, "national", None).await;
    let g = crate::fixtures::gtin("893850000301");
    let code = format!("(01){g}(10)KEM26");
    let batch = json!({ "codes": [{ "code": code, "owner": "0799000033", "product_name": "Kem chống nắng Sen Việt", "category": "cosmetics", "origin": "79", "production_date": "2026-02-01", "expiry_date": "2028-02-01" }] });
    let posted =
        crate::fixtures::post_batch(&app, &issuer, "application/json", &batch.to_string()).await;
    assert_eq!(posted.status(), 201);
    let code_page = format!("/verify?code=/01/{g}/10/KEM26");
    read(&app, &mut stranger, &code_page, 200).await;
    let recalled = app
        .post_as(
            "/v1/issuers/me/code-status",
            &issuer.token,
            json!({ "code": code, "status": "recalled", "reason": "Chỉ số SPF thấp hơn công bố" }),
        )
        .await;
    assert_eq!(recalled.status(), 200);
    read(&app, &mut stranger, &code_page, 200).await;
    for path in [
        "/verify?code=8930000999993",
        "/verify-email?token=sai",
        "/verify-email?done=confirmed",
        "/portal/register?done=sent",
        "/reset-password?done=sent",
        "/accept-invitation?token=sai",
    ] {
        let (status, html) = stranger.get(&app, path).await;
        assert!(status < 500, "{path}: {status}");
        assert!(
            html.contains("<html lang=\"vi\">"),
            "{path} is not Vietnamese"
        );
        assert_vietnamese(path, &html);
    }

    // A consumer's complaint, its reference page and its receipt.
    let csrf = stranger.csrf(&app, "/report?code=8930000999993").await;
    let (status, _) = stranger
        .post(
            &app,
            "/report",
            &[
                ("csrf", &csrf),
                ("code", "8930000999993"),
                ("shop_name", "Gian hàng Không Rõ"),
                ("kind", "counterfeit"),
                ("claim", "report_only"),
                (
                    "description",
                    "Mã trên hộp không tra cứu được, nghi hàng giả.",
                ),
                ("email", "nguoi.bao.vn@example.vn"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let reference = app
        .mails_to("nguoi.bao.vn@example.vn")
        .await
        .first()
        .and_then(|(subject, _)| subject.split_whitespace().last().map(str::to_string))
        .expect("a receipt");
    read(
        &app,
        &mut stranger,
        &format!("/report/received/{reference}"),
        200,
    )
    .await;

    // An officer's first sign-in asks for an authenticator.
    let newcomer = invited_officer(&app, OfficerRole::Officer, hcm()).await;
    let mut first_sign_in = Jar::default();
    let csrf = first_sign_in.csrf(&app, "/console/login").await;
    let (status, _) = first_sign_in
        .post(
            &app,
            "/console/login",
            &[
                ("csrf", &csrf),
                ("email", &newcomer.email),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let totp_page = read(&app, &mut first_sign_in, "/console/totp", 200).await;
    assert!(totp_page.contains("totp-secret"), "{totp_page}");

    // Every mail to the buyer, the seller and the consumer (all read Vietnamese).
    for to in [BUYER, seller_email.as_str(), "nguoi.bao.vn@example.vn"] {
        let mails = app.mails_to(to).await;
        assert!(!mails.is_empty(), "mail to {to}");
        for (subject, text) in mails {
            assert_vietnamese(&format!("mail {subject:?} to {to}"), &text);
        }
    }
    let decision_mail = app
        .mails_to(BUYER)
        .await
        .into_iter()
        .find(|(_, text)| text.contains("Biện pháp xử lý"))
        .expect("the decision's mail names the sanctions");
    assert!(
        decision_mail.1.contains("gỡ tin đăng")
            && decision_mail.1.contains("tạm ngừng người bán 5 ngày"),
        "{}",
        decision_mail.1
    );

    let missing = catalogue::missing_keys();
    assert!(missing.is_empty(), "not in the catalogue: {missing:?}");
}
both_backends!(every_page_and_mail_reads_in_vietnamese);

/// Every mail template, rendered in Vietnamese with every variant it has (each step of a
/// case, to each party; a complaint with and without a case), reads without English. The
/// list is checked against `templates/email/`, so a template added without a case here
/// fails.
#[test]
fn every_mail_template_reads_in_vietnamese() {
    use tracegate::i18n::Language::Vi;
    use tracegate::i18n::catalogue::Phrase;
    use tracegate::notify::*;

    let link = "https://tracegate.example.vn/x?token=abc";
    let mut rendered: Vec<(&str, Box<dyn Mail>)> = vec![
        (
            "verify_email",
            Box::new(VerifyEmail {
                lang: Vi,
                link: link.into(),
                valid_hours: 48,
            }),
        ),
        (
            "account_exists",
            Box::new(AccountExists {
                lang: Vi,
                reset_link: link.into(),
            }),
        ),
        (
            "password_reset",
            Box::new(PasswordReset {
                lang: Vi,
                link: link.into(),
                valid_minutes: 30,
            }),
        ),
        (
            "password_changed",
            Box::new(PasswordChanged {
                lang: Vi,
                when: "28/11/2026 09:00".into(),
                reset_link: link.into(),
            }),
        ),
        (
            "verification_expiring",
            Box::new(VerificationExpiring {
                lang: Vi,
                expires_on: "31/12/2026".into(),
                link: link.into(),
            }),
        ),
        (
            "dispute_confirm",
            Box::new(DisputeConfirm {
                lang: Vi,
                reference: "DSP-2026-000001".into(),
                link: link.into(),
                valid_hours: 72,
            }),
        ),
    ];
    rendered.push((
        "account_closed_exists",
        Box::new(AccountClosedExists {
            lang: Vi,
            closed_on: "01/11/2026".into(),
            erased_on: "01/12/2026".into(),
        }),
    ));
    for role in ["officer", "supervisor", "admin"] {
        rendered.push((
            "officer_invitation",
            Box::new(OfficerInvitation {
                lang: Vi,
                link: link.into(),
                role: role.into(),
                provinces: "79, 01".into(),
                valid_hours: 72,
            }),
        ));
    }
    for reason in [
        "business_not_in_register",
        "business_suspended",
        "business_dissolving",
        "business_dissolved",
    ] {
        rendered.push((
            "seller_suspended",
            Box::new(SellerSuspended {
                lang: Vi,
                business: "Công ty TNHH Mỹ phẩm Sen Việt".into(),
                reason: reason.into(),
            }),
        ));
    }
    for case in [
        None,
        Some(ComplaintCase {
            reference: "DSP-2026-000002".into(),
            link: link.into(),
            valid_hours: 72,
        }),
    ] {
        for code in [None, Some("8930000999993".to_string())] {
            rendered.push((
                "complaint_received",
                Box::new(ComplaintReceived {
                    lang: Vi,
                    reference: "PA-2026-7K2M9QXD".into(),
                    code,
                    kind: "Hàng giả, hàng nhái".into(),
                    received: "28/11/2026 09:00".into(),
                    follow_link: "https://tracegate.example.vn/report/received/PA-2026-7K2M9QXD"
                        .into(),
                    case: case.clone(),
                }),
            ));
        }
    }
    let notes = || {
        vec![
            None,
            Some(MailNote::Words("Xin gửi hóa đơn nhập khẩu lô hàng.".into())),
            Some(MailNote::Answer {
                statement: "Hàng chính hãng.".into(),
                offer: Some("refund".into()),
            }),
            Some(MailNote::Decision {
                outcome: "partly_upheld".into(),
                statement: "Hóa đơn không khớp lô hàng.".into(),
                sanctions: vec![
                    Phrase::new("applied", "warning", vec![]),
                    Phrase::new("applied", "suspend_seller", vec!["5".into()]),
                ],
            }),
        ]
    };
    for step in [
        "filed",
        "responded",
        "escalated",
        "information_requested",
        "information_supplied",
        "decided",
        "appealed",
        "appeal_decided",
        "closed",
        "withdrawn",
        "settled",
        "reminder",
        "overdue",
    ] {
        for to in ["buyer", "seller", "officer"] {
            for note in notes() {
                rendered.push((
                    "dispute_update",
                    Box::new(DisputeUpdate {
                        lang: Vi,
                        reference: "DSP-2026-000001".into(),
                        step,
                        to,
                        note,
                        deadline: Some("05/12/2026 17:00".into()),
                        link: link.into(),
                    }),
                ));
            }
        }
    }

    for (name, mail) in &rendered {
        let (text, html) = mail.render_parts().expect("renders");
        assert_vietnamese(&format!("mail {name} (text)"), &text);
        assert_vietnamese(&format!("mail {name} (HTML)"), &html);
        assert!(html.contains("<html lang=\"vi\">"), "{name}: {html}");
    }
    let covered: std::collections::BTreeSet<&str> = rendered.iter().map(|(n, _)| *n).collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/email");
    let mut templates = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("templates/email") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        let stem = name.split('.').next().unwrap_or_default().to_string();
        if stem != "base" {
            templates.insert(stem);
        }
    }
    let templates: std::collections::BTreeSet<&str> =
        templates.iter().map(String::as_str).collect();
    assert_eq!(covered, templates, "every mail template is read above");
    let missing = catalogue::missing_keys();
    assert!(missing.is_empty(), "not in the catalogue: {missing:?}");
}

/// The page templates and where the test above reads each one (partials are read within
/// the pages that include them).
const PAGES_READ: &[(&str, &str)] = &[
    ("home", "/"),
    ("lookup", "/verify, and an unknown code"),
    ("code", "a product's page, genuine and recalled"),
    ("report", "/report"),
    ("report_received", "/report/received/{reference}"),
    ("login", "/portal/login, /console/login"),
    ("register", "/portal/register"),
    ("password", "/reset-password, /accept-invitation"),
    ("message", "/verify-email"),
    ("totp", "/console/totp at an officer's first sign-in"),
    ("portal", "/portal, a newcomer's and a verified seller's"),
    (
        "party_case",
        "the buyer's and the seller's case at each step",
    ),
    ("decision", "the decision on each side"),
    ("console", "/console with filters"),
    ("console_case", "the console's case at each step"),
    ("console_confirm", "a decision shown back to be confirmed"),
    ("console_audit", "/console/audit"),
    ("console_seller", "/console/sellers"),
    ("console_reports", "/console/reports"),
    ("console_codes", "/console/codes"),
    ("console_clients", "/console/clients"),
    ("console_complaints", "/console/complaints"),
    ("account", "/console/account, /portal/account"),
    ("close_account", "/portal/account/close, and its refusals"),
    ("error", "a missing page and a missing case"),
];

/// Partials, read inside the pages that include them.
const PARTIALS: &[&str] = &["base", "console_nav", "case_thread"];

#[test]
fn every_page_template_is_read_in_vietnamese() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/pages");
    let mut templates: Vec<String> = std::fs::read_dir(dir)
        .expect("templates/pages")
        .map(|e| {
            let name = e.expect("entry").file_name().to_string_lossy().to_string();
            name.trim_end_matches(".html").to_string()
        })
        .filter(|n| !PARTIALS.contains(&n.as_str()))
        .collect();
    templates.sort();
    let mut read: Vec<String> = PAGES_READ.iter().map(|(t, _)| t.to_string()).collect();
    read.sort();
    assert_eq!(
        read, templates,
        "a page template is not read by every_page_and_mail_reads_in_vietnamese"
    );
}
