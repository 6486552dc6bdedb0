//! Pages in a real browser: headless Chromium driven over the W3C WebDriver protocol
//! (Debian's `chromium` and `chromium-driver`, which `.ci/run` installs). The protocol is
//! a handful of JSON calls, spoken here with the suite's HTTP client. Each test saves
//! screenshots of the pages it visits under `target/screenshots/`. Without chromedriver on
//! the machine the tests say so and pass.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use data_encoding::BASE64;
use serde_json::{Value, json};

use tracegate::auth::OfficerRole;
use tracegate::policies::ProvinceScope;

use crate::fixtures::{
    AN, PASSWORD, bound_enterprise_seller, enrol_totp, gtin, invited_officer, issuer, post_batch,
    totp_code, unique_email,
};
use crate::helpers::{TestApp, TestBackend};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A browser session; the driver process ends with it.
struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    driver: Child,
    /// Page states already scanned by axe-core (address and size of the page), so a
    /// state waited on several times is scanned once.
    scanned: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Browser {
    /// A phone-sized headless Chromium, or `None` when the machine has no chromedriver.
    async fn start() -> Option<Browser> {
        Self::start_sized(390, 844).await
    }

    /// A headless Chromium with a window of this size (the console is used on desktops).
    async fn start_sized(width: u32, height: u32) -> Option<Browser> {
        if !std::path::Path::new(CHROMEDRIVER).exists() {
            crate::helpers::skip("install chromium and chromium-driver to run the browser tests");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", format!("--window-size={width},{height}"), "--lang=vi"],
                // Pages follow the browser's languages (Accept-Language): a Vietnamese one.
                "prefs": { "intl.accept_languages": "vi-VN,vi" }
            }
        }}});
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session JSON");
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_string();
        Some(Browser {
            http,
            base,
            session,
            driver,
            scanned: Default::default(),
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .expect("webdriver call")
            .json()
            .await
            .expect("webdriver JSON");
        assert!(
            answer["value"].get("error").is_none(),
            "webdriver {path}: {answer}"
        );
        answer["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
        self.scan().await;
    }

    /// Scans the page with axe-core unless this state was scanned already: every state a
    /// test opens or waits for is checked, not only those pictured.
    async fn scan(&self) {
        let key = format!("{} {}", self.url().await, self.source().await.len());
        let fresh = self
            .scanned
            .lock()
            .map(|mut seen| seen.insert(key.clone()))
            .unwrap_or(true);
        if fresh {
            self.axe(&key).await;
        }
    }

    /// The element a CSS selector finds first, waiting up to five seconds for it (a form
    /// submission may still be loading the next page).
    async fn find(&self, css: &str) -> String {
        let url = format!("{}/session/{}/element", self.base, self.session);
        for _ in 0..50 {
            let answer: Value = self
                .http
                .post(&url)
                .json(&json!({ "using": "css selector", "value": css }))
                .send()
                .await
                .expect("webdriver call")
                .json()
                .await
                .expect("webdriver JSON");
            if let Some(id) = answer["value"]
                .as_object()
                .filter(|o| o.get("error").is_none())
                .and_then(|o| o.values().next())
                .and_then(Value::as_str)
            {
                return id.to_string();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no element {css} on {}", self.source().await)
    }

    /// Waits up to five seconds for `css` to show `needle`; returns the text it showed.
    async fn wait_text(&self, css: &str, needle: &str) -> String {
        let mut text = String::new();
        for _ in 0..50 {
            text = self.text(css).await;
            if text.contains(needle) {
                self.scan().await;
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} shows {text:?}, not {needle:?}")
    }

    /// The text of the element (empty if the page changed under it meanwhile).
    async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        let answer: Value = self
            .http
            .get(format!(
                "{}/session/{}/element/{element}/text",
                self.base, self.session
            ))
            .send()
            .await
            .expect("webdriver call")
            .json()
            .await
            .expect("webdriver JSON");
        answer["value"].as_str().unwrap_or_default().to_string()
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Sets a field's value as a picker would (a date input's typing order depends on the
    /// browser's locale), and tells the page it changed.
    async fn set_value(&self, css: &str, value: &str) {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({
                "script": "const e = document.querySelector(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('change', { bubbles: true }));",
                "args": [css, value]
            })),
        )
        .await;
    }

    /// The page's HTML, for messages when an expectation fails.
    async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Chooses a local file in a file input (the browser runs on this machine).
    async fn type_into_file(&self, css: &str, path: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({ "text": path })),
        )
        .await;
    }

    async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs axe-core (from npm, installed by `.ci/run` into `target/axe`) on the page as it
    /// is now; any violation fails the test, named with its rule and the elements.
    async fn axe(&self, state: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/axe/node_modules/axe-core/axe.min.js");
        let Ok(source) = std::fs::read_to_string(&path) else {
            crate::helpers::skip("install axe-core (npm, see .ci/run) to scan pages");
            return;
        };
        // The library is part of the script the driver runs, so the page's CSP (no
        // scripts at all) does not apply to it.
        let script = format!(
            "{source}\nconst done = arguments[arguments.length - 1];\n\
             axe.run(document, {{ resultTypes: ['violations'] }}).then(\n\
               r => done(r.violations.map(v => v.id + ': ' + v.help + ' — ' + v.nodes.map(n => n.target.join(' ')).join(', '))),\n\
               e => done(['axe failed: ' + e]));"
        );
        let url = format!("{}/session/{}/execute/async", self.base, self.session);
        let answer: Value = self
            .http
            .post(url)
            .json(&json!({ "script": script, "args": [] }))
            .send()
            .await
            .expect("webdriver call")
            .json()
            .await
            .expect("webdriver JSON");
        let violations = answer["value"].as_array().cloned().unwrap_or_default();
        assert!(
            answer["value"].is_array() && violations.is_empty(),
            "axe-core on {state}: {}",
            answer["value"]
        );
    }

    /// How much wider than the window the page is, in CSS pixels (0: nothing overflows).
    async fn overflow(&self) -> i64 {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": "return document.documentElement.scrollWidth - document.documentElement.clientWidth;", "args": [] })),
        )
        .await
        .as_i64()
        .unwrap_or_default()
    }

    /// Prints the page (the print stylesheet applies) to `target/screenshots/{name}.pdf`.
    async fn print_pdf(&self, name: &str) -> Vec<u8> {
        let data = self
            .call(
                reqwest::Method::POST,
                "/print",
                Some(json!({ "page": { "width": 21.0, "height": 29.7 }, "background": true })),
            )
            .await;
        let pdf = BASE64
            .decode(data.as_str().expect("base64 PDF").as_bytes())
            .expect("PDF");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        std::fs::write(dir.join(format!("{name}.pdf")), &pdf).expect("PDF written");
        pdf
    }

    /// Saves a screenshot as `target/screenshots/{name}.png`, after scanning the page with
    /// axe-core: every state worth a picture is a state checked for accessibility.
    async fn screenshot(&self, name: &str) {
        self.axe(name).await;
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = BASE64
            .decode(data.as_str().expect("base64 PNG").as_bytes())
            .expect("PNG");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
    }

    async fn close(self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}

impl Drop for Browser {
    /// The driver goes with the browser, also when a test fails half-way.
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_sees_the_warning_on_a_recalled_product() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (_env, app) = TestApp::spawn(&TestBackend::Sqlite).await;
    bound_enterprise_seller(&app, "shop-1").await;
    let issuer = issuer(&app, "national", None).await;
    let g = gtin("893850000301");
    let code = format!("(01){g}(10)KEM26");
    let batch = json!({ "codes": [{ "code": code, "owner": "0799000033", "product_name": "Kem chống nắng Sen Việt SPF50", "category": "cosmetics", "origin": "79", "production_date": "2026-02-01", "expiry_date": "2028-02-01" }] });
    let response = post_batch(&app, &issuer, "application/json", &batch.to_string()).await;
    assert_eq!(response.status(), 201);

    // Before the recall: the code checks out, looked up from the home page.
    browser.open(&app.url("/")).await;
    browser.screenshot("public-home").await;
    browser.open(&app.url("/verify")).await;
    browser.screenshot("public-lookup").await;
    browser.type_into("#code", &code).await;
    browser.click("button[type=submit]").await;
    browser.wait_text(".banner", "Mã hợp lệ").await;
    let url = browser.url().await;
    assert!(
        url.contains("/verify?code=") && url.ends_with("&lang=vi"),
        "the form leads to the code's page: {url}"
    );

    browser.screenshot("public-genuine").await;

    let recalled = app
        .post_as(
            "/v1/issuers/me/code-status",
            &issuer.token,
            json!({ "code": code, "status": "recalled", "reason": "Chỉ số SPF thực tế thấp hơn công bố" }),
        )
        .await;
    assert_eq!(recalled.status(), 200);

    // A scan of /01/{g}/10/KEM26 redirects to this page (at the configured public URL).
    browser
        .open(&app.url(&format!("/verify?code=/01/{g}/10/KEM26")))
        .await;
    let warning = browser.text(".banner.alert").await;
    assert!(
        warning.contains("ĐÃ BỊ THU HỒI") && warning.contains("Chỉ số SPF"),
        "{warning}"
    );
    browser.screenshot("public-recalled").await;
    browser.click("header nav a").await;
    browser.wait_text(".banner.alert", "RECALLED").await;
    browser.screenshot("public-recalled-en").await;

    // The consumer files a complaint from the page.
    browser.click("a.button").await;
    browser.wait_text("h1", "Complain").await;
    browser
        .type_into("#listing_link", "https://san.example.vn/sp/kem-sen-viet")
        .await;
    browser.type_into("#shop_name", "shop-1").await;
    browser
        .type_into(
            "#description",
            "The sunscreen I bought is the recalled lot.",
        )
        .await;
    browser.type_into("#email", "nguoi.mua@example.vn").await;
    browser.click("form[action='/report'] button").await;
    browser.wait_text("#reference", "PA-").await;
    browser.screenshot("public-complaint").await;
    // One mail: the complaint's receipt, with the case it opened and its link.
    let mails = app.mails_to("nguoi.mua@example.vn").await;
    assert!(
        mails.len() == 1 && mails[0].0.contains("PA-") && mails[0].1.contains("DSP-"),
        "{mails:?}"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_registers_and_verifies_in_the_portal() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (_env, app) = TestApp::spawn(&TestBackend::Sqlite).await;
    let email = unique_email("portal");

    browser.open(&app.url("/portal/register?lang=en")).await;
    browser.screenshot("portal-register").await;
    browser.type_into("#email", &email).await;
    browser.type_into("#password", "short").await;
    browser.click("button[type=submit]").await;
    let error = browser.text("#password-error").await;
    assert!(
        !error.is_empty(),
        "a weak password is refused beside the field"
    );
    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.wait_text("h1", "Check your mail").await;
    assert!(
        browser.url().await.ends_with("/portal/register?done=sent"),
        "after the form, a GET address: {}",
        browser.url().await
    );

    let token = app.link_token(&email).await;
    browser
        .open(&app.url(&format!("/verify-email?token={token}")))
        .await;
    browser.click("button[type=submit]").await;
    browser.wait_text("h1", "Address confirmed").await;
    assert!(
        browser
            .url()
            .await
            .ends_with("/verify-email?done=confirmed"),
        "{}",
        browser.url().await
    );

    browser.open(&app.url("/portal/login")).await;
    browser.type_into("#email", &email).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.wait_text("#standing", "Not verified").await;
    assert!(
        browser.url().await.ends_with("/portal"),
        "{}",
        browser.url().await
    );

    // Every field in error is shown beside it at once, tied to it for screen readers;
    // the name typed is kept.
    browser.type_into("#national_id", "0790851").await;
    browser.type_into("#full_name", AN.full_name).await;
    browser
        .click("form[action='/portal/identity'] button")
        .await;
    for field in ["national_id", "birth_date"] {
        let error = browser.text(&format!("#{field}-error")).await;
        assert!(!error.is_empty(), "inline error for {field}");
        browser
            .find(&format!(
                "#{field}[aria-invalid=true][aria-describedby='{field}-error']"
            ))
            .await;
    }
    assert!(
        browser
            .source()
            .await
            .contains(&format!("value=\"{}\"", AN.full_name)),
        "the name is kept"
    );
    browser.screenshot("portal-identity-error").await;

    browser.type_into("#national_id", AN.national_id).await;
    browser.set_value("#birth_date", AN.birth_date).await;
    browser
        .click("form[action='/portal/identity'] button")
        .await;
    browser.type_into("#code", "0799000033").await;
    browser
        .click("form[action='/portal/business'] button")
        .await;
    browser.wait_text("#standing", "Verified").await;
    browser
        .click("form[action='/portal/binding-code'] button")
        .await;
    // Our one script adds a copy button beside the code.
    browser.find("#copy-binding-code").await;
    assert_eq!(
        browser.text("#binding-code").await.len(),
        11,
        "a binding code to give a platform"
    );
    browser.screenshot("portal-verified").await;

    // A platform binds the shop with the code and files a buyer's complaint.
    let binding = browser.text("#binding-code").await;
    let (platform_id, secret) =
        crate::fixtures::client(&app, tracegate::clients::ClientKind::Platform).await;
    let platform = crate::fixtures::token_for_client(&app, &platform_id, &secret).await;
    let bound = app
        .post_as(
            "/v1/seller-bindings",
            &platform,
            json!({ "binding_code": binding, "shop_id": "shop-web" }),
        )
        .await;
    assert_eq!(bound.status(), 201);
    let filed = app
        .post_as(
            "/v1/disputes",
            &platform,
            json!({
                "shop_id": "shop-web", "listing_id": "listing-web", "kind": "not_as_described", "claim": "replacement",
                "description": "Áo nhận được khác màu so với ảnh trên trang.",
                "buyer": { "reference": "buyer-web", "email": "buyer.web@example.vn" }
            }),
        )
        .await;
    assert_eq!(filed.status(), 201);

    // The seller answers it in the portal, with a photo as evidence.
    browser.open(&app.url("/portal")).await;
    browser.click("#disputes a").await;
    browser.wait_text("#case-status", "awaiting seller").await;
    let photo =
        std::env::temp_dir().join(format!("evidence-{}.png", uuid::Uuid::new_v4().simple()));
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[0u8; 64]);
    std::fs::write(&photo, &png).expect("photo");
    browser
        .type_into_file("#file", photo.to_str().expect("path"))
        .await;
    browser.click("#evidence button").await;
    browser.wait_text("main", "SHA-256").await;
    browser
        .type_into("#statement", "Chúng tôi sẽ đổi áo đúng màu trong ba ngày.")
        .await;
    browser.click("#respond button").await;
    browser.wait_text("#case-status", "seller responded").await;
    browser.screenshot("portal-case-answered").await;
    let _ = std::fs::remove_file(photo);
    crate::fixtures::assert_no_national_id_logged();
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_decides_a_case_in_the_console() {
    let Some(browser) = Browser::start_sized(1366, 900).await else {
        return;
    };
    let (_env, app) = TestApp::spawn(&TestBackend::Sqlite).await;
    let (_, _, platform, _) = bound_enterprise_seller(&app, "shop-1").await;
    let filed = app
        .post_as(
            "/v1/disputes",
            &platform,
            json!({
                "shop_id": "shop-1", "listing_id": "listing-9", "kind": "counterfeit", "claim": "refund",
                "description": "Hộp kem không có tem chống giả, mã QR dẫn tới trang lạ.",
                "buyer": { "reference": "buyer-7", "email": "mua@example.vn" }
            }),
        )
        .await;
    assert_eq!(filed.status(), 201);
    let case: Value = filed.json().await.expect("case");
    let reference = case["reference"].as_str().expect("reference").to_string();

    let officer = invited_officer(
        &app,
        OfficerRole::Officer,
        ProvinceScope::Only(vec!["79".into()]),
    )
    .await;
    let secret = enrol_totp(&app, &officer.access_token).await;
    browser.open(&app.url("/console/login?lang=en")).await;
    browser.type_into("#email", &officer.email).await;
    browser.type_into("#password", PASSWORD).await;
    browser
        .type_into("#totp_code", &totp_code(&app, &secret))
        .await;
    browser.click("button[type=submit]").await;
    browser.wait_text("h1", "Dispute queue").await;
    browser.wait_text("#queue", &reference).await;
    browser.screenshot("console-queue").await;

    browser.click("#queue tbody a").await;
    browser.wait_text("h1", &reference).await;
    browser.wait_text("#case-status", "awaiting seller").await;
    browser.click("#escalate button").await;
    browser.wait_text("#case-status", "under review").await;
    browser
        .type_into(
            "#statement",
            "Mã QR trên hộp không do tổ chức nào cấp; người bán không chứng minh được nguồn gốc.",
        )
        .await;
    browser.click("input[name=sanction_warning]").await;
    browser.click("input[name=sanction_strike]").await;
    browser.click("#decide button").await;
    // A decision cannot be undone: it is shown back once, to be confirmed.
    browser.wait_text("#confirm-summary", "warning").await;
    browser.screenshot("console-confirm-decision").await;
    browser.click("#confirm-form button").await;
    browser.wait_text("#case-status", "decided").await;
    browser.wait_text("#case-outcome", "upheld").await;
    browser.wait_text("#thread", "decided").await;
    browser.screenshot("console-case-decided").await;

    // The decision as a document to print: number, authority, officer, reasons, sanctions
    // and the appeal deadline, on A4 with the print stylesheet.
    browser.click("#decision-link").await;
    browser.wait_text("#decision-number", &reference).await;
    let authority = browser.text("#decision .authority").await;
    assert!(
        authority.to_uppercase().contains("HO CHI MINH"),
        "{authority}"
    );
    browser.wait_text("#decision-sanctions", "strike").await;
    browser.wait_text("#appeal-until", "/").await;
    browser.wait_text("#decision-officer", "Officer").await;
    browser.screenshot("console-decision").await;
    let pdf = browser.print_pdf("console-decision").await;
    assert!(pdf.starts_with(b"%PDF-"), "the decision prints");
    browser
        .open(&app.url(&format!(
            "/console/disputes/{}",
            case["id"].as_str().expect("id")
        )))
        .await;

    browser
        .click("nav.console a[href='/console/reports']")
        .await;
    browser.wait_text("#report", "1").await;
    browser.screenshot("console-reports").await;
    browser.click("nav.console a[href='/console/codes']").await;
    browser
        .type_into("#code", "(01)08938500003011(10)NONE")
        .await;
    browser.click("form[action='/console/codes'] button").await;
    browser.wait_text("main", "not registered").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_officer_sets_a_password_and_an_authenticator() {
    an_invited_officer_sets_up_the_console(1366, 900, "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invited_officer_sets_a_password_and_an_authenticator_on_a_phone() {
    an_invited_officer_sets_up_the_console(390, 844, "phone-").await;
}

async fn an_invited_officer_sets_up_the_console(width: u32, height: u32, device: &str) {
    let Some(browser) = Browser::start_sized(width, height).await else {
        return;
    };
    let (_env, app) = TestApp::spawn(&TestBackend::Sqlite).await;
    let email = unique_email("invited");
    let state = app.state.clone();
    let for_task = email.clone();
    state
        .clone()
        .blocking(move || {
            tracegate::accounts::Accounts {
                pool: &state.pool,
                config: &state.config,
                clock: state.clock.as_ref(),
                tokens: &state.tokens,
                vault: &state.vault,
                hashing: &state.hashing,
                retention: &state.retention,
            }
            .create_officer(&tracegate::accounts::NewOfficer {
                email: &for_task,
                role: OfficerRole::Supervisor,
                provinces: &ProvinceScope::Only(vec!["79".into()]),
                language: tracegate::i18n::Language::En,
                created_by: "test",
            })
            .expect("officer created");
            Ok(())
        })
        .await
        .expect("task");
    let token = app.link_token(&email).await;

    browser
        .open(&app.url(&format!("/accept-invitation?token={token}&lang=en")))
        .await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.wait_text("h1", "Officer sign-in").await;
    browser.type_into("#email", &email).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    // No authenticator yet: the console asks to set one up first.
    browser.wait_text("h1", "authenticator").await;
    assert_eq!(browser.overflow().await, 0, "the set-up fits the screen");
    browser
        .screenshot(&format!("{device}console-authenticator"))
        .await;
    let secret = browser.text("#totp-secret").await;
    // A mistyped code, or a reload, keeps the secret already scanned.
    browser.type_into("#code", "000000").await;
    browser.click("form[action='/console/totp'] button").await;
    browser.wait_text(".banner.alert", "code").await;
    assert_eq!(browser.text("#totp-secret").await, secret);
    browser.open(&app.url("/console/totp?lang=en")).await;
    assert_eq!(browser.text("#totp-secret").await, secret);
    browser.type_into("#code", &totp_code(&app, &secret)).await;
    browser.click("form[action='/console/totp'] button").await;
    // Set up: it says so and goes on to the console, no second sign-in.
    browser.wait_text("h1", "Dispute queue").await;
    browser
        .wait_text("#notice", "authenticator is set up")
        .await;
    browser
        .screenshot(&format!("{device}console-authenticator-done"))
        .await;
    browser.click("nav.console a[href='/console/audit']").await;
    browser.wait_text("#chain", "intact").await;
    browser.screenshot(&format!("{device}console-audit")).await;
    browser.close().await;
}

/// A case read and answered from each side, on a phone and on a desktop: the seller follows the mailed link
/// while signed out and comes back to the case after signing in; the buyer reads the
/// seller's answer in the thread and sends the case to an officer; the officer's question
/// and the decision with its sanctions reach both sides. Every form leaves a GET address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_is_read_and_answered_from_each_side_on_a_phone() {
    a_case_is_read_and_answered_from_each_side(390, 844, "phone").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_is_read_and_answered_from_each_side_on_a_desktop() {
    a_case_is_read_and_answered_from_each_side(1366, 900, "desktop").await;
}

async fn a_case_is_read_and_answered_from_each_side(width: u32, height: u32, device: &str) {
    let Some(browser) = Browser::start_sized(width, height).await else {
        return;
    };
    let (_env, app) = TestApp::spawn(&TestBackend::Sqlite).await;
    let (email, seller) = crate::fixtures::verified_person(&app, AN).await;
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
            json!({ "binding_code": code["code"], "shop_id": "shop-sen", "shop_name": "Sen Việt Official" }),
        )
        .await;
    assert_eq!(bound.status(), 201);
    let buyer_email = "mua.dien.thoai@example.vn";
    let filed = app
        .post_as(
            "/v1/disputes",
            &platform,
            json!({
                "shop_id": "shop-sen", "listing_id": "kem-chong-nang-50ml", "kind": "counterfeit", "claim": "refund",
                "description": "Hộp kem không có tem chống giả, mã QR dẫn tới một trang lạ không phải của hãng.",
                "buyer": { "reference": "khach-88", "email": buyer_email, "language": "vi" }
            }),
        )
        .await;
    assert_eq!(filed.status(), 201);
    let case: Value = filed.json().await.expect("case");
    let id = case["id"].as_str().expect("id").to_string();
    let case_page = format!("/portal/disputes/{id}");

    // The seller opens the case from the mail while signed out: sign in, then the case.
    browser.open(&app.url(&case_page)).await;
    browser
        .wait_text(".banner", "Hãy đăng nhập để tiếp tục")
        .await;
    browser
        .screenshot(&format!("{device}-sign-in-to-the-case"))
        .await;
    browser.type_into("#email", &email).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser
        .wait_text("h1", case["reference"].as_str().expect("reference"))
        .await;
    assert!(
        browser.url().await.ends_with(&case_page),
        "{}",
        browser.url().await
    );
    browser
        .wait_text("#thread", "Hộp kem không có tem chống giả")
        .await;
    browser
        .type_into(
            "#statement",
            "Hàng chính hãng nhập từ nhà phân phối; xin gửi kèm hóa đơn số 0012.",
        )
        .await;
    browser.click("#respond button").await;
    browser.wait_text(".banner", "Đã gửi câu trả lời").await;
    assert!(
        browser.url().await.contains("done=respond"),
        "after the form, a GET address: {}",
        browser.url().await
    );
    browser.wait_text("#thread", "hóa đơn số 0012").await;
    assert_eq!(browser.overflow().await, 0, "the case fits the phone");
    browser
        .screenshot(&format!("{device}-seller-answered"))
        .await;

    // The buyer reads the answer in the thread and sends the case to an officer.
    let token = app.link_token(buyer_email).await;
    browser
        .open(&app.url(&format!("/disputes/{id}?token={token}")))
        .await;
    browser.wait_text("#thread", "hóa đơn số 0012").await;
    browser
        .wait_text("#thread", "Người bán Công ty TNHH Mỹ phẩm Sen Việt")
        .await;
    browser.click("#escalate button").await;
    browser.wait_text(".banner", "chuyển cán bộ").await;
    assert_eq!(browser.overflow().await, 0, "the case fits the phone");
    browser
        .screenshot(&format!("{device}-buyer-escalated"))
        .await;

    // The officer asks, the seller answers on the page, the officer decides.
    let officer = crate::fixtures::officer(
        &app,
        OfficerRole::Officer,
        ProvinceScope::Only(vec!["79".into()]),
    )
    .await;
    let act = |body: Value| {
        let request = app
            .client
            .post(app.url(&format!("/v1/disputes/{id}/actions")))
            .bearer_auth(officer.access_token.clone())
            .json(&body);
        async move {
            let response = request.send().await.expect("sent");
            assert_eq!(response.status(), 200);
        }
    };
    act(json!({ "action": "request_information", "from": "seller", "question": "Xin gửi ảnh hóa đơn nhập khẩu của lô hàng." })).await;
    browser.open(&app.url(&case_page)).await;
    browser.wait_text("#thread", "Xin gửi ảnh hóa đơn").await;
    browser
        .type_into(
            "#answer",
            "Hóa đơn 0012 ngày 01/10, nhà phân phối Sen Việt.",
        )
        .await;
    browser.click("#supply_information button").await;
    browser.wait_text(".banner", "Đã gửi thông tin").await;
    act(json!({
        "action": "decide", "outcome": "upheld",
        "statement": "Hóa đơn không khớp lô hàng trên hộp; người bán không chứng minh được nguồn gốc.",
        "sanctions": [{ "kind": "warning" }, { "kind": "block_listing" }]
    }))
    .await;
    browser
        .open(&app.url(&format!("/disputes/{id}?token={token}")))
        .await;
    browser.wait_text("#thread", "gỡ tin đăng").await;
    browser.wait_text("#deadlines", "Kháng nghị").await;
    assert_eq!(browser.overflow().await, 0, "the case fits the phone");
    browser
        .screenshot(&format!("{device}-buyer-reads-the-decision"))
        .await;
    browser.open(&app.url(&case_page)).await;
    browser
        .wait_text("#thread", "Hóa đơn không khớp lô hàng")
        .await;
    browser
        .screenshot(&format!("{device}-seller-reads-the-decision"))
        .await;
    browser.close().await;
}

/// A seller who is not the enterprise's legal representative is told so beside the field
/// that asks for the letter of authorisation, and what was typed stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_who_is_not_the_representative_is_asked_for_the_letter() {
    a_seller_who_is_not_the_representative_is_asked(1366, 900, "desktop").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_who_is_not_the_representative_is_asked_for_the_letter_on_a_phone() {
    a_seller_who_is_not_the_representative_is_asked(390, 844, "phone").await;
}

async fn a_seller_who_is_not_the_representative_is_asked(width: u32, height: u32, device: &str) {
    let Some(browser) = Browser::start_sized(width, height).await else {
        return;
    };
    let (_env, app) = TestApp::spawn(&TestBackend::Sqlite).await;
    let (email, _) = crate::fixtures::verified_person(&app, crate::fixtures::BICH).await;
    browser.open(&app.url("/portal/login")).await;
    browser.type_into("#email", &email).await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("button[type=submit]").await;
    browser.type_into("#code", "0799000033").await;
    browser
        .click("form[action='/portal/business'] button")
        .await;
    browser
        .wait_text("#authorisation_note-error", "giấy ủy quyền")
        .await;
    browser.wait_text(".banner", "chưa đúng").await;
    browser
        .screenshot(&format!("{device}-business-not-representative"))
        .await;
    browser
        .type_into(
            "#authorisation_note",
            "Giấy ủy quyền số 15/2026/UQ ngày 02/01/2026, Giám đốc Trần Văn An ký",
        )
        .await;
    browser
        .click("form[action='/portal/business'] button")
        .await;
    browser.wait_text("#standing", "Chờ cán bộ xem xét").await;
    assert!(
        browser.url().await.ends_with("/portal?done=business"),
        "{}",
        browser.url().await
    );
    browser
        .screenshot(&format!("{device}-business-awaiting-review"))
        .await;

    // The letter itself, for the officers who review it.
    // One file per run of the flow: the phone and desktop runs go at once in one process.
    let letter =
        std::env::temp_dir().join(format!("giay-uy-quyen-{}-{device}.pdf", std::process::id()));
    std::fs::write(&letter, b"%PDF-1.4\n% Giay uy quyen so 15/2026/UQ\n").expect("letter written");
    browser
        .type_into_file("#letter", letter.to_str().expect("path"))
        .await;
    browser.click("#letter-form button").await;
    browser
        .wait_text(".banner", "Đã tải lên giấy ủy quyền")
        .await;
    browser.wait_text("#letters", "giay-uy-quyen").await;
    browser
        .screenshot(&format!("{device}-business-letter-uploaded"))
        .await;
    let _ = std::fs::remove_file(letter);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_from_an_unknown_code_shows_its_reference() {
    a_complaint_from_an_unknown_code(390, 844, "").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_from_an_unknown_code_shows_its_reference_on_a_desktop() {
    a_complaint_from_an_unknown_code(1366, 900, "desktop-").await;
}

async fn a_complaint_from_an_unknown_code(width: u32, height: u32, device: &str) {
    let Some(browser) = Browser::start_sized(width, height).await else {
        return;
    };
    let (_env, app) = TestApp::spawn(&TestBackend::Sqlite).await;
    // A code nobody registered: the lookup offers to report it.
    browser.open(&app.url("/verify?code=8930000999993")).await;
    browser.click("#report-suspect a").await;
    browser.wait_text("h1", "Khiếu nại").await;
    assert!(
        browser.source().await.contains("value=\"8930000999993\""),
        "the scanned code is filled in"
    );
    // Sent without where it was bought: every field in error is named at once.
    browser.type_into("#email", "khong-hop-le").await;
    browser.click("form[action='/report'] button").await;
    browser.wait_text("#errors", "Hãy sửa").await;
    browser.find("#listing_link[aria-invalid=true]").await;
    browser.find("#email[aria-invalid=true]").await;
    browser
        .screenshot(&format!("{device}public-complaint-errors"))
        .await;
    browser
        .type_into("#shop_name", "Gian hàng Mỹ Phẩm Giá Rẻ")
        .await;
    browser
        .type_into(
            "#description",
            "Mã trên hộp không tra cứu được, nghi là hàng giả.",
        )
        .await;
    browser.type_into("#email", "nguoi.mua.le@example.vn").await;
    browser.click("form[action='/report'] button").await;
    let reference = browser.wait_text("#reference", "PA-").await;
    let mails = app.mails_to("nguoi.mua.le@example.vn").await;
    assert!(
        mails.len() == 1 && mails[0].1.contains(reference.trim()),
        "one receipt with the reference: {mails:?}"
    );
    assert!(
        browser.url().await.ends_with(reference.trim()),
        "the reference page is its own address: {}",
        browser.url().await
    );
    assert_eq!(browser.overflow().await, 0, "fits a phone");
    browser
        .screenshot(&format!("{device}public-complaint-reference"))
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_chooses_mail_settings_and_closes_the_account() {
    for (width, height, size) in [(390, 844, "phone"), (1366, 900, "desktop")] {
        let Some(browser) = Browser::start_sized(width, height).await else {
            return;
        };
        let (_env, app) = TestApp::spawn(&TestBackend::Sqlite).await;
        let (email, _) = crate::fixtures::verified_seller(&app).await;
        browser.open(&app.url("/portal/login")).await;
        browser.type_into("#email", &email).await;
        browser.type_into("#password", PASSWORD).await;
        browser.click("button[type=submit]").await;
        browser.find("#standing").await;

        // Opened at the section, so that its screenshot shows it.
        browser
            .open(&app.url("/portal/account#notifications"))
            .await;
        browser
            .wait_text("#notifications", "Thông báo qua email")
            .await;
        assert_eq!(browser.overflow().await, 0, "{size}: nothing overflows");
        browser
            .screenshot(&format!("account-mail-settings-{size}"))
            .await;
        let always = browser.text("#always-sent").await;
        assert!(always.contains("Thời hạn trong khiếu nại"), "{always}");
        browser.click("input[name=receive_case_progress]").await;
        browser.set_value("#language", "en").await;
        browser.click("#mail-settings button[type=submit]").await;
        browser.wait_text("#notice", "Đã lưu cài đặt thư").await;
        browser
            .screenshot(&format!("account-mail-settings-saved-{size}"))
            .await;
        let source = browser.source().await;
        assert!(
            !source.contains("name=\"receive_case_progress\" value=\"on\" checked"),
            "the box stays unticked"
        );

        browser.click("a[href='/portal/account/close']").await;
        browser.wait_text("h1", "Đóng tài khoản").await;
        assert_eq!(browser.overflow().await, 0, "{size}: nothing overflows");
        browser.screenshot(&format!("close-account-{size}")).await;
        browser.type_into("#password", "khong-dung-mat-khau").await;
        browser.click("#confirm").await;
        browser.click("#close-account button[type=submit]").await;
        browser.find("#password-error").await;
        browser
            .screenshot(&format!("close-account-refused-{size}"))
            .await;
        browser.type_into("#password", PASSWORD).await;
        browser.click("#confirm").await;
        browser.click("#close-account button[type=submit]").await;
        browser.wait_text("main", "Tài khoản đã được đóng").await;
        assert!(
            browser.url().await.contains("/portal/login"),
            "{}",
            browser.url().await
        );
        browser
            .screenshot(&format!("close-account-done-{size}"))
            .await;
        browser.open(&app.url("/portal/account")).await;
        browser.find("#email").await;
        assert!(browser.url().await.contains("/portal/login"), "signed out");
        browser.close().await;
    }
}
