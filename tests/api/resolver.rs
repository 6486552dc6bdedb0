//! tracegate as a GS1-Conformant Resolver (release 1.2.0): one test per requirement of
//! the standard's checklist, each on both backends, and every answer that is a linkset or
//! a description file validated against the schema GS1 publishes (tests/fixtures/gs1).

use serde_json::{Value, json};

use crate::both_backends;
use crate::fixtures::{
    bound_enterprise_seller, client_token, gtin, issuer, post_batch, verified_seller,
};
use crate::helpers::{TestApp, TestBackend, problem};

const LINKSET: &str = "application/linkset+json";

fn schema(file: &str) -> jsonschema::Validator {
    let path = format!("{}/tests/fixtures/gs1/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("schema fixture");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::draft7::new(&schema).expect("schema compiles")
}

/// Fails with every violation when `value` does not validate against GS1's linkset schema.
pub fn assert_valid_linkset(value: &Value) {
    let validator = schema("linkset-schema.json");
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{value:#}");
}

/// The public URL the service writes into absolute addresses.
fn base(app: &TestApp) -> String {
    app.state
        .config
        .server
        .public_url
        .trim_end_matches('/')
        .to_string()
}

/// Registers codes for the verified enterprise 0799000033 (AN); returns the issuer and the
/// owner seller's token.
async fn register(app: &TestApp, codes: &[(&str, &str)]) -> (crate::fixtures::Issuer, String) {
    let (_, _, _, seller) = bound_enterprise_seller(app, "shop-1").await;
    let issuer = issuer(app, "gs1", None).await;
    let rows: Vec<Value> = codes
        .iter()
        .map(|(code, name)| json!({ "code": code, "owner": "0799000033", "product_name": name, "category": "cosmetics", "origin": "79" }))
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
    (issuer, seller)
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("sent")
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn linkset(app: &TestApp, path: &str) -> Value {
    let response = get(app, path, &[("Accept", LINKSET)]).await;
    assert_eq!(response.status(), 200, "{path}");
    assert!(header(&response, "content-type").starts_with(LINKSET));
    let value: Value = response.json().await.expect("linkset");
    assert_valid_linkset(&value);
    value
}

async fn add_link(app: &TestApp, token: &str, link: Value) -> reqwest::Response {
    app.post_as("/v1/codes/links", token, link).await
}

async fn description_file_is_valid_and_public(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let response = get(&app, "/.well-known/gs1resolver", &[]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "access-control-allow-origin"), "*");
    let description: Value = response.json().await.expect("json");
    let errors: Vec<String> = schema("description-file-schema.json")
        .iter_errors(&description)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(description["resolverRoot"], base(&app));
    assert_eq!(description["supportedPrimaryKeys"], json!(["01"]));
    let namespaces: Vec<&str> = description["supportedLinkType"]
        .as_array()
        .expect("link types")
        .iter()
        .filter_map(|t| t["namespace"].as_str())
        .collect();
    assert!(
        namespaces.contains(&"https://gs1.org/voc/"),
        "{description}"
    );

    let head = app
        .client
        .head(app.url("/.well-known/gs1resolver"))
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "access-control-allow-origin"), "*");
    assert!(
        head.bytes().await.expect("body").is_empty(),
        "HEAD has no body"
    );
    let options = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            app.url("/.well-known/gs1resolver"),
        )
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .expect("options");
    assert_eq!(options.status(), 204);
    let methods = header(&options, "access-control-allow-methods");
    assert!(
        ["GET", "HEAD", "OPTIONS"]
            .iter()
            .all(|m| methods.contains(m)),
        "{methods}"
    );
    assert_eq!(header(&options, "access-control-allow-origin"), "*");
}
both_backends!(description_file_is_valid_and_public);

async fn digital_links_answer_get_head_and_options_with_cors(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let g = gtin("893850000301");
    register(&app, &[(&format!("(01){g}"), "Trà Sen")]).await;
    let path = format!("/01/{g}");

    let get = get(&app, &path, &[("Origin", "https://app.example")]).await;
    assert_eq!(get.status(), 307);
    assert_eq!(header(&get, "access-control-allow-origin"), "*");
    assert!(header(&get, "access-control-expose-headers").contains("Location"));
    let location = header(&get, "location");

    let head = app.client.head(app.url(&path)).send().await.expect("head");
    assert_eq!(head.status(), 307);
    assert_eq!(header(&head, "location"), location);
    assert_eq!(header(&head, "access-control-allow-origin"), "*");

    let options = app
        .client
        .request(reqwest::Method::OPTIONS, app.url(&path))
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .expect("options");
    assert_eq!(options.status(), 204);
    assert!(header(&options, "allow").contains("HEAD"));
    assert!(header(&options, "access-control-allow-methods").contains("OPTIONS"));
    assert!(header(&options, "link").contains("rel=\"linkset\""));

    // The linkset too: GET, HEAD, OPTIONS, CORS.
    let linkset_path = format!("{path}?linkType=linkset");
    let head = app
        .client
        .head(app.url(&linkset_path))
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), 200);
    assert!(header(&head, "content-type").starts_with(LINKSET));
    assert_eq!(header(&head, "access-control-allow-origin"), "*");
    assert!(head.bytes().await.expect("body").is_empty());
    let options = app
        .client
        .request(reqwest::Method::OPTIONS, app.url(&linkset_path))
        .send()
        .await
        .expect("options");
    assert_eq!(options.status(), 204);
    assert_eq!(header(&options, "access-control-allow-origin"), "*");

    let post = app.client.post(app.url(&path)).send().await.expect("post");
    assert_eq!(post.status(), 405);
}
both_backends!(digital_links_answer_get_head_and_options_with_cors);

async fn linksets_validate_with_titles_descriptions_and_languages(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let g = gtin("893850000302");
    let (issuer, _) = register(
        &app,
        &[
            (&format!("(01){g}"), "Trà Sen"),
            (&format!("(01){g}(10)L1"), "Trà Sen"),
        ],
    )
    .await;
    let added = add_link(
        &app,
        &issuer.token,
        json!({ "code": format!("(01){g}"), "link_type": "gs1:pip", "href": "https://sen.example/vi/tra", "title": "Trà Sen", "language": "vi", "media_type": "text/html" }),
    )
    .await;
    assert_eq!(added.status(), 201);
    for path in [
        format!("/01/{g}/10/L1"),
        format!("/01/{g}/10/L1?linkType=linkset"),
    ] {
        let value = if path.contains("linkType") {
            let response = get(&app, &path, &[]).await;
            assert_eq!(response.status(), 200);
            let value: Value = response.json().await.expect("json");
            assert_valid_linkset(&value);
            value
        } else {
            linkset(&app, &path).await
        };
        for level in value["linkset"].as_array().expect("levels") {
            assert!(
                level["itemDescription"]
                    .as_str()
                    .is_some_and(|d| d.contains("Trà Sen"))
            );
            for (key, links) in level.as_object().expect("object") {
                if key == "anchor" || key == "itemDescription" {
                    continue;
                }
                for link in links.as_array().expect("links") {
                    assert!(
                        link["title"].as_str().is_some_and(|t| !t.is_empty()),
                        "{key}: {link}"
                    );
                }
            }
        }
        let pip = &value["linkset"][1]["https://gs1.org/voc/pip"][0];
        assert_eq!(pip["hreflang"], json!(["vi"]));
        let page = &value["linkset"][0]["https://gs1.org/voc/traceability"][0];
        assert_eq!(page["hreflang"], json!(["vi", "en"]));
    }
}
both_backends!(linksets_validate_with_titles_descriptions_and_languages);

async fn exactly_one_default_link_to_the_verification_page_that_shows_a_recall(
    backend: TestBackend,
) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let g = gtin("893850000303");
    let lot = format!("(01){g}(10)R1");
    let (issuer, _) = register(&app, &[(&format!("(01){g}"), "Kem Sen"), (&lot, "Kem Sen")]).await;
    let recalled = app
        .post_as(
            "/v1/issuers/me/code-status",
            &issuer.token,
            json!({ "code": lot, "status": "recalled", "reason": "Kết quả kiểm nghiệm không đạt" }),
        )
        .await;
    assert_eq!(recalled.status(), 200);
    let path = format!("/01/{g}/10/R1");
    let value = linkset(&app, &path).await;
    let level = &value["linkset"][0];
    let defaults = level["https://gs1.org/voc/defaultLink"]
        .as_array()
        .expect("default link");
    assert_eq!(defaults.len(), 1);
    let default = defaults[0].as_object().expect("object");
    assert_eq!(
        default.keys().collect::<Vec<_>>(),
        vec!["href", "title"],
        "only href and title"
    );
    let href = default["href"].as_str().expect("href").to_string();
    assert!(
        href.starts_with(&format!("{}/verify?code=", base(&app))),
        "{href}"
    );
    assert!(
        tracegate::codes::parse(&href, 2026).is_err(),
        "the page's address is not itself a Digital Link"
    );
    let descriptive = level["https://gs1.org/voc/traceability"]
        .as_array()
        .expect("traceability");
    assert!(descriptive.iter().any(|l| l["href"] == href.as_str()));
    // A real resource, which shows the recall.
    let page = get(
        &app,
        &href.replacen(&base(&app), "", 1),
        &[("Accept-Language", "en")],
    )
    .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("THIS PRODUCT HAS BEEN RECALLED")
            && html.contains("Kết quả kiểm nghiệm không đạt"),
        "{html}"
    );
    let recall = &level["https://gs1.org/voc/recallStatus"][0];
    assert!(
        recall["title"]
            .as_str()
            .is_some_and(|t| t.contains("Kết quả")),
        "{recall}"
    );
    // A serial under the lot (not registered) shows the lot's recall too.
    let serial = get(&app, &format!("{path}/21/X9"), &[]).await;
    assert_eq!(serial.status(), 307);
    let page = get(
        &app,
        &header(&serial, "location").replacen(&base(&app), "", 1),
        &[("Accept-Language", "en")],
    )
    .await;
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("THIS PRODUCT HAS BEEN RECALLED")
    );
}
both_backends!(exactly_one_default_link_to_the_verification_page_that_shows_a_recall);

async fn plain_get_redirects_and_link_type_chooses_the_link(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let g = gtin("893850000304");
    let (issuer, _) = register(&app, &[(&format!("(01){g}"), "Trà Sen")]).await;
    for (href, language) in [
        ("https://sen.example/vi/tra", "vi"),
        ("https://sen.example/en/tea", "en"),
    ] {
        let added = add_link(
            &app,
            &issuer.token,
            json!({ "code": format!("(01){g}"), "link_type": "https://gs1.org/voc/pip", "href": href, "title": "Trà Sen", "language": language, "media_type": "text/html" }),
        )
        .await;
        assert_eq!(added.status(), 201);
    }
    let path = format!("/01/{g}");
    let value = linkset(&app, &path).await;
    let default = value["linkset"][0]["https://gs1.org/voc/defaultLink"][0]["href"]
        .as_str()
        .expect("default")
        .to_string();

    let plain = get(&app, &path, &[]).await;
    assert_eq!(plain.status(), 307);
    assert_eq!(header(&plain, "location"), default);

    for link_type in [
        "gs1:pip",
        "https://gs1.org/voc/pip",
        "https://ref.gs1.org/voc/pip",
    ] {
        let response = get(
            &app,
            &format!("{path}?linkType={link_type}"),
            &[("Accept-Language", "en-GB,en;q=0.9")],
        )
        .await;
        assert_eq!(response.status(), 307, "{link_type}");
        assert!(
            header(&response, "location").starts_with("https://sen.example/en/tea?linkType="),
            "{}",
            header(&response, "location")
        );
    }
    let ambiguous = get(&app, &format!("{path}?linkType=gs1:pip"), &[]).await;
    assert_eq!(ambiguous.status(), 300, "two pages, no language preference");
    let choices: Value = ambiguous.json().await.expect("choices");
    assert_valid_linkset(&choices);
    assert_eq!(
        choices["linkset"][0]["https://gs1.org/voc/pip"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let missing = get(&app, &format!("{path}?linkType=gs1:nosuchlt"), &[]).await;
    assert_eq!(missing.status(), 404);
    problem(missing).await;
    let absent = get(&app, &format!("{path}?linkType=gs1:epcis"), &[]).await;
    assert_eq!(absent.status(), 404, "a GS1 link type this item lacks");
    let statement = get(&app, &format!("{path}?linkType=gs1:jws"), &[]).await;
    assert_eq!(statement.status(), 307);
    assert!(header(&statement, "location").contains("/verify/statement?code="));
}
both_backends!(plain_get_redirects_and_link_type_chooses_the_link);

async fn query_strings_go_on_unchanged_to_absolute_locations(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let g = gtin("893850000305");
    register(&app, &[(&format!("(01){g}(10)L7"), "Kem Sen")]).await;
    // Walking up from an unregistered serial to its lot, the query goes along unchanged.
    let response = get(&app, &format!("/01/{g}/10/L7/21/NOPE?foo=bar&x=%2F1"), &[]).await;
    assert_eq!(response.status(), 307);
    let location = header(&response, "location");
    assert!(
        location.starts_with(&format!("{}/verify?code=", base(&app))),
        "{location}"
    );
    assert!(location.ends_with("&foo=bar&x=%2F1"), "{location}");
    let link = header(&response, "link");
    assert!(
        link.contains(&format!(
            "<{}/01/{g}/10/L7/21/NOPE?linkType=linkset>; rel=\"linkset\"",
            base(&app)
        )),
        "{link}"
    );
    let with_attribute = get(&app, &format!("/01/{g}/10/L7?17=301231"), &[]).await;
    assert_eq!(with_attribute.status(), 307);
    assert!(header(&with_attribute, "location").ends_with("&17=301231"));
    // A trailing slash is tolerated.
    let slash = get(&app, &format!("/01/{g}/10/L7/"), &[]).await;
    assert_eq!(slash.status(), 307);
    let no_slash = get(&app, &format!("/01/{g}/10/L7"), &[]).await;
    assert_eq!(header(&slash, "location"), header(&no_slash, "location"));
}
both_backends!(query_strings_go_on_unchanged_to_absolute_locations);

async fn linksets_hold_every_level_anchored_at_the_uncompressed_request(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let g = gtin("893850000306");
    register(
        &app,
        &[
            (&format!("(01){g}"), "Trà Sen"),
            (&format!("(01){g}(10)L1"), "Trà Sen"),
            (&format!("(01){g}(10)L1(21)S1"), "Trà Sen"),
        ],
    )
    .await;
    let b = base(&app);
    let value = linkset(&app, &format!("/01/{g}/22/V2/10/L1/21/S1")).await;
    let anchors: Vec<&str> = value["linkset"]
        .as_array()
        .expect("levels")
        .iter()
        .filter_map(|l| l["anchor"].as_str())
        .collect();
    assert_eq!(
        anchors,
        vec![
            format!("{b}/01/{g}/22/V2/10/L1/21/S1"),
            format!("{b}/01/{g}/22/V2/10/L1"),
            format!("{b}/01/{g}"),
        ]
    );
    // A lot's linkset includes its product.
    let value = linkset(&app, &format!("/01/{g}/10/L1")).await;
    assert_eq!(value["linkset"].as_array().map(Vec::len), Some(2));
    assert_eq!(value["linkset"][1]["anchor"], format!("{b}/01/{g}"));
}
both_backends!(linksets_hold_every_level_anchored_at_the_uncompressed_request);

async fn syntax_errors_are_400_for_every_client(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let g = gtin("893850000307");
    register(&app, &[(&format!("(01){g}"), "Trà Sen")]).await;
    for path in [
        "/01/123".to_string(),
        format!("/01/{g}/foo"),
        format!("/01/{g}/21/X/10/Y"),
        format!("/01/{g}?17=991399"),
        "/eh30164596f40c0e5cbe991a83ff00".to_string(),
    ] {
        let browser = get(&app, &path, &[("Accept", "text/html")]).await;
        assert_eq!(browser.status(), 400, "{path} (browser)");
        let machine = get(&app, &path, &[("Accept", LINKSET)]).await;
        assert_eq!(machine.status(), 400, "{path} (machine)");
        problem(machine).await;
        let anything = get(&app, &path, &[]).await;
        assert_eq!(anything.status(), 400, "{path}");
    }
    let unknown = get(&app, &format!("/01/{}", gtin("893850000399")), &[]).await;
    assert_eq!(unknown.status(), 404);
}
both_backends!(syntax_errors_are_400_for_every_client);

async fn compressed_links_are_decompressed_and_say_what_they_are(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    // The compression standard's worked example: SGTIN-96 of GTIN 09528765123457.
    register(
        &app,
        &[("(01)09528765123457(21)123456789123", "Nước hoa Sen")],
    )
    .await;
    let uncompressed = format!("{}/01/09528765123457/21/123456789123", base(&app));
    for path in ["/eh30164596f40c0e5cbe991a83", "/exMBZFlvQMDly-mRqD"] {
        let response = get(&app, path, &[]).await;
        assert_eq!(response.status(), 307, "{path}");
        let link = header(&response, "link");
        assert!(
            link.contains(&format!("<{uncompressed}>; rel=\"owl:sameAs\"")),
            "{link}"
        );
        let value = linkset(&app, path).await;
        assert_eq!(value["linkset"][0]["anchor"], uncompressed.as_str());
    }
}
both_backends!(compressed_links_are_decompressed_and_say_what_they_are);

async fn accept_language_chooses_the_page_and_link_variants(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let g = gtin("893850000308");
    let (issuer, _) = register(&app, &[(&format!("(01){g}"), "Trà Sen")]).await;
    for (href, language) in [
        ("https://sen.example/vi/tra", "vi"),
        ("https://sen.example/en/tea", "en"),
    ] {
        add_link(
            &app,
            &issuer.token,
            json!({ "code": format!("(01){g}"), "link_type": "gs1:pip", "href": href, "title": "Trà Sen", "language": language }),
        )
        .await;
    }
    let path = format!("/01/{g}");
    let vi = get(
        &app,
        &format!("{path}?linkType=gs1:pip"),
        &[("Accept-Language", "vi-VN")],
    )
    .await;
    assert_eq!(
        header(&vi, "location"),
        "https://sen.example/vi/tra?linkType=gs1:pip"
    );
    let en = get(
        &app,
        &format!("{path}?linkType=gs1:pip"),
        &[("Accept-Language", "fr;q=0.9, en;q=0.8")],
    )
    .await;
    assert_eq!(
        header(&en, "location"),
        "https://sen.example/en/tea?linkType=gs1:pip"
    );
    // The verification page and the linkset's titles follow Accept-Language.
    let page_address = header(&get(&app, &path, &[]).await, "location");
    let english = get(
        &app,
        &page_address.replacen(&base(&app), "", 1),
        &[("Accept-Language", "en-US,en;q=0.9")],
    )
    .await
    .text()
    .await
    .expect("html");
    assert!(english.contains("lang=\"en\""), "{english}");
    let vietnamese = get(&app, &page_address.replacen(&base(&app), "", 1), &[])
        .await
        .text()
        .await
        .expect("html");
    assert!(vietnamese.contains("lang=\"vi\""));
    let titles = get(
        &app,
        &path,
        &[("Accept", LINKSET), ("Accept-Language", "en")],
    )
    .await
    .json::<Value>()
    .await
    .expect("linkset");
    assert!(
        titles["linkset"][0]["https://gs1.org/voc/recallStatus"][0]["title"]
            .as_str()
            .is_some_and(|t| t == "Not recalled"),
        "{titles}"
    );
    assert!(header(&get(&app, &path, &[]).await, "vary").contains("Accept-Language"));
}
both_backends!(accept_language_chooses_the_page_and_link_variants);

async fn only_ratified_gs1_link_types_and_the_qr_code_is_tracegates_own(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let g = gtin("893850000309");
    register(&app, &[(&format!("(01){g}(10)Q1"), "Trà Sen")]).await;
    let value = linkset(&app, &format!("/01/{g}/10/Q1")).await;
    let level = value["linkset"][0].as_object().expect("level");
    for key in level
        .keys()
        .filter(|k| k.starts_with("https://gs1.org/voc/"))
    {
        assert!(
            tracegate::links::vocabulary::LinkType::parse(key).is_some(),
            "{key} is not a ratified GS1 link type"
        );
    }
    assert!(!level.contains_key("https://gs1.org/voc/qrCode"));
    let qr = &level["https://w3id.org/tracegate/voc/qrCode"][0];
    let href = qr["href"].as_str().expect("qr href");
    assert!(
        tracegate::codes::parse(href, 2026).is_err(),
        "{href} must not parse as a Digital Link"
    );
    let image = get(&app, &href.replacen(&base(&app), "", 1), &[]).await;
    assert_eq!(image.status(), 200);
    assert_eq!(header(&image, "content-type"), "image/svg+xml");
    // tracegate's vocabulary is described where it runs, and refused to owners.
    let vocabulary: Value = get(&app, "/voc", &[])
        .await
        .json()
        .await
        .expect("vocabulary");
    assert!(vocabulary.to_string().contains("qrCode"));
}
both_backends!(only_ratified_gs1_link_types_and_the_qr_code_is_tracegates_own);

async fn links_are_managed_by_the_codes_issuer_or_owner_only(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let g = gtin("893850000310");
    let code = format!("(01){g}");
    let (issuer, owner) = register(&app, &[(&code, "Trà Sen")]).await;
    let link = json!({ "code": code, "link_type": "gs1:pip", "href": "https://sen.example/tra", "title": "Trà Sen", "language": "vi", "context": "VN" });

    let by_issuer = add_link(&app, &issuer.token, link.clone()).await;
    assert_eq!(by_issuer.status(), 201);
    let created: Value = by_issuer.json().await.expect("link");
    assert_eq!(created["link_type"], "gs1:pip");
    assert_eq!(
        add_link(&app, &issuer.token, link.clone()).await.status(),
        409
    );

    let mut by_owner = link.clone();
    by_owner["href"] = json!("https://sen.example/tra-en");
    by_owner["language"] = json!("en");
    assert_eq!(add_link(&app, &owner, by_owner).await.status(), 201);

    let other_issuer = crate::fixtures::issuer(&app, "gs1", None).await;
    assert_eq!(
        add_link(&app, &other_issuer.token, link.clone())
            .await
            .status(),
        403
    );
    let (_, stranger) = verified_seller(&app).await;
    let stranger = stranger["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    assert_eq!(add_link(&app, &stranger, link.clone()).await.status(), 403);
    let platform = client_token(&app, tracegate::clients::ClientKind::Platform).await;
    assert_eq!(add_link(&app, &platform, link.clone()).await.status(), 403);
    assert_eq!(
        app.client
            .post(app.url("/v1/codes/links"))
            .json(&link)
            .send()
            .await
            .expect("sent")
            .status(),
        401
    );

    for (field, value) in [
        ("href", json!("http://sen.example/tra")),
        ("link_type", json!("gs1:defaultLink")),
        ("link_type", json!("gs1:recallStatus")),
        ("link_type", json!("gs1:qrCode")),
        ("language", json!("vietnamese")),
    ] {
        let mut bad = link.clone();
        bad[field] = value;
        let response = add_link(&app, &issuer.token, bad).await;
        assert_eq!(response.status(), 422, "{field}");
        let body = problem(response).await;
        assert_eq!(body["errors"][0]["field"], field);
    }
    let unregistered = json!({ "code": format!("(01){g}(10)NONE"), "link_type": "gs1:pip", "href": "https://sen.example/", "title": "x" });
    assert_eq!(
        add_link(&app, &issuer.token, unregistered).await.status(),
        404
    );

    // A link not yet active is not answered.
    let later = json!({ "code": code, "link_type": "gs1:promotion", "href": "https://sen.example/tet", "title": "Tết", "active_from": (chrono::Utc::now() + chrono::TimeDelta::days(30)).to_rfc3339() });
    assert_eq!(add_link(&app, &issuer.token, later).await.status(), 201);
    let value = linkset(&app, &format!("/01/{g}")).await;
    assert!(
        value["linkset"][0]
            .get("https://gs1.org/voc/promotion")
            .is_none()
    );
    assert!(value["linkset"][0]["https://gs1.org/voc/pip"][0]["context"] == json!(["VN"]));

    let list: Value = app
        .get_as(&format!("/v1/codes/links?code={g}"), &owner)
        .await
        .json()
        .await
        .expect("list");
    assert_eq!(list["links"].as_array().map(Vec::len), Some(3));
    let id = created["id"].as_str().expect("id");
    let delete = |token: String| {
        let app = &app;
        async move {
            app.client
                .delete(app.url(&format!("/v1/codes/links/{id}")))
                .bearer_auth(token)
                .send()
                .await
                .expect("sent")
                .status()
        }
    };
    assert_eq!(delete(other_issuer.token.clone()).await, 403);
    assert_eq!(delete(owner.clone()).await, 204);
    assert_eq!(delete(owner.clone()).await, 404);
    let actions = app.audit_actions().await;
    assert_eq!(
        actions.iter().filter(|a| *a == "code.link_added").count(),
        3
    );
    assert!(actions.iter().any(|a| a == "code.link_removed"));
}
both_backends!(links_are_managed_by_the_codes_issuer_or_owner_only);

async fn tracegate_says_who_stands_behind_the_code_and_signs_its_status(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let g = gtin("893850000311");
    let lot = format!("(01){g}(10)R2");
    let (issuer, _) = register(&app, &[(&format!("(01){g}"), "Kem Sen"), (&lot, "Kem Sen")]).await;
    app.post_as(
        "/v1/issuers/me/code-status",
        &issuer.token,
        json!({ "code": lot, "status": "recalled", "reason": "Sai thành phần" }),
    )
    .await;
    let value = linkset(&app, &format!("/01/{g}/10/R2")).await;
    let level = &value["linkset"][0];
    let entity = &level["https://w3id.org/tracegate/voc/legalEntity"][0];
    assert!(
        entity["title"]
            .as_str()
            .is_some_and(|t| t.contains("0799000033")),
        "{entity}"
    );
    let entity: Value = get(
        &app,
        &entity["href"]
            .as_str()
            .expect("href")
            .replacen(&base(&app), "", 1),
        &[],
    )
    .await
    .json()
    .await
    .expect("entity");
    assert_eq!(entity["business_code"], "0799000033");
    assert_eq!(entity["verified"], true);

    let status_href = level["https://gs1.org/voc/recallStatus"][0]["href"]
        .as_str()
        .expect("status")
        .replacen(&base(&app), "", 1);
    let status: Value = get(&app, &status_href, &[])
        .await
        .json()
        .await
        .expect("status");
    assert_eq!(status["status"], "recalled");
    assert_eq!(status["recall"]["reason"], "Sai thành phần");

    let statement_href = level["https://gs1.org/voc/jws"][0]["href"]
        .as_str()
        .expect("jws")
        .replacen(&base(&app), "", 1);
    let response = get(&app, &statement_href, &[]).await;
    assert_eq!(header(&response, "content-type"), "application/jose");
    let jws = response.text().await.expect("jws");
    let jwks: Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .expect("jwks");
    let claims = verify_jws(&jws, &jwks);
    assert_eq!(claims["status"], "recalled");
    assert_eq!(claims["sub"], format!("/01/{g}/10/R2"));
    assert_eq!(claims["recall_reason"], "Sai thành phần");
    assert!(claims["iat"].as_i64().is_some() && claims["exp"].as_i64() > claims["iat"].as_i64());
}
both_backends!(tracegate_says_who_stands_behind_the_code_and_signs_its_status);

/// Checks a compact EdDSA JWS against the published key set; returns its claims.
fn verify_jws(jws: &str, jwks: &Value) -> Value {
    use data_encoding::BASE64URL_NOPAD;
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    let parts: Vec<&str> = jws.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value =
        serde_json::from_slice(&BASE64URL_NOPAD.decode(parts[0].as_bytes()).expect("b64"))
            .expect("header");
    let key = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the statement's key is published");
    let x = BASE64URL_NOPAD
        .decode(key["x"].as_str().expect("x").as_bytes())
        .expect("b64");
    let key = VerifyingKey::from_bytes(&x.try_into().expect("32 bytes")).expect("key");
    let signature = BASE64URL_NOPAD.decode(parts[2].as_bytes()).expect("b64");
    let signature = Signature::from_slice(&signature).expect("signature");
    key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("the signature verifies");
    serde_json::from_slice(&BASE64URL_NOPAD.decode(parts[1].as_bytes()).expect("b64"))
        .expect("claims")
}

/// Every GS1 code the demo registers, at its own level and with a lot and a serial that
/// are not registered under it, answers a linkset valid against GS1's schema.
async fn every_linkset_of_the_demo_validates_against_gs1s_schema(backend: TestBackend) {
    // The demo reads the mails it queues; the delivery worker must not take them first.
    let mut env = crate::helpers::TestEnv::new(&backend);
    env.config.mail.poll_interval_ms = 3_600_000;
    let app = TestApp::start(env.config.clone()).await;
    let state = app.state.clone();
    state
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
    let keys: Vec<String> = app
        .state
        .db(|conn| {
            use diesel::prelude::*;
            use tracegate::db::schema::codes;
            Ok(codes::table.select(codes::code_key).load::<String>(conn)?)
        })
        .await
        .expect("codes");
    let gs1: Vec<&String> = keys.iter().filter(|k| k.starts_with("/01/")).collect();
    assert!(gs1.len() >= 4, "{keys:?}");
    let mut checked = 0;
    for key in gs1 {
        let gtin_path: String = key.split('/').take(3).collect::<Vec<_>>().join("/");
        for path in [
            key.clone(),
            format!("{gtin_path}/10/NOT-REGISTERED"),
            format!("{gtin_path}/10/NOT-REGISTERED/21/NONE"),
        ] {
            let value = linkset(&app, &path).await;
            assert!(
                value["linkset"][0]["https://gs1.org/voc/defaultLink"].is_array(),
                "{path}: a default link at or above the level: {value}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 12);
}
both_backends!(every_linkset_of_the_demo_validates_against_gs1s_schema);

/// With `server.tls_cert_file` and `server.tls_key_file`, the resolver speaks HTTPS itself.
async fn the_resolver_speaks_https_natively(backend: TestBackend) {
    let mut env = crate::helpers::TestEnv::new(&backend);
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("certificate");
    let cert_file = env.dir.path().join("cert.pem");
    let key_file = env.dir.path().join("key.pem");
    std::fs::write(&cert_file, certified.cert.pem()).expect("write cert");
    std::fs::write(&key_file, certified.signing_key.serialize_pem()).expect("write key");
    env.config.server.tls_cert_file = Some(cert_file.display().to_string());
    env.config.server.tls_key_file = Some(key_file.display().to_string());
    env.config.server.public_url = "https://resolver.example.vn".into();
    let app = TestApp::start(env.config.clone()).await;
    let https = app.address.replacen("http://", "https://", 1);
    let root = ureq::tls::Certificate::from_der(certified.cert.der().as_ref()).to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&[root]))
                .build(),
        )
        .build()
        .into();
    let url = format!("{https}/.well-known/gs1resolver");
    let (status, body) = tokio::task::spawn_blocking(move || {
        let mut response = agent.get(&url).call().expect("https answers");
        let body = response.body_mut().read_to_string().expect("body");
        (response.status().as_u16(), body)
    })
    .await
    .expect("task");
    assert_eq!(status, 200);
    let description: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(description["resolverRoot"], "https://resolver.example.vn");
    let plain = app
        .client
        .get(app.url("/.well-known/gs1resolver"))
        .send()
        .await;
    assert!(
        plain.is_err() || plain.is_ok_and(|r| !r.status().is_success()),
        "plain HTTP is not answered on a TLS listener"
    );
}
both_backends!(the_resolver_speaks_https_natively);
