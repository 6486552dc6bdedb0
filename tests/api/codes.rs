//! Codes over HTTP: any signed-in caller can check how tracegate reads a code; the
//! command line reads them the same way.

use serde_json::{Value, json};

use crate::both_backends;
use crate::fixtures::verified_seller;
use crate::helpers::{TestApp, TestBackend, problem};

async fn codes_are_parsed_to_their_canonical_key(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, pair) = verified_seller(&app).await;
    let token = pair["access_token"].as_str().expect("token");
    let parsed: Value = app
        .post_as(
            "/v1/codes/parse",
            token,
            json!({ "code": "https://brand.example.vn/01/9501101020917/21/A%2F1" }),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(parsed["form"], "digital_link");
    assert_eq!(parsed["canonical"], "/01/09501101020917/21/A%2F1");
    assert_eq!(parsed["serial"], "A/1");
    assert_eq!(
        parsed["digital_link"],
        format!("http://127.0.0.1:8080/01/09501101020917/21/A%2F1")
    );

    let bad = app
        .post_as(
            "/v1/codes/parse",
            token,
            json!({ "code": "(01)09501101020917(17)261399" }),
        )
        .await;
    assert_eq!(bad.status(), 422);
    let body = problem(bad).await;
    assert_eq!(body["errors"][0]["field"], "code");
    assert!(
        body["detail"].as_str().unwrap_or("").contains("(17)"),
        "{body}"
    );
}
both_backends!(codes_are_parsed_to_their_canonical_key);

/// The cases of the conformance issue: what reads, to which key, and what is refused
/// with which words.
const READ: &[(&str, &str)] = &[
    // Raw element strings without brackets or GS: any CSET 82 character in a serial.
    ("010950110102091721AB:12", "/01/09501101020917/21/AB%3A12"),
    (
        "01095011010209171726053110!\"%&'()*+,-./:;<=>?_",
        "/01/09501101020917/10/%21%22%25%26%27%28%29%2A%2B%2C-.%2F%3A%3B%3C%3D%3E%3F_",
    ),
    // The last variable-length value needs no separator; a lot takes the rest.
    (
        "010950110102091710ABC21XYZ",
        "/01/09501101020917/10/ABC21XYZ",
    ),
    // Company-internal AIs and other dictionary AIs: read, not part of the key.
    ("(01)09501101020917(91)X-1", "/01/09501101020917"),
    ("(01)09501101020917(99)ABC123", "/01/09501101020917"),
    (
        "0109501101020917\u{1d}91X-1\u{1d}99ABC123",
        "/01/09501101020917",
    ),
    // An AI repeated with the same value.
    ("(01)09501101020917(10)L1(10)L1", "/01/09501101020917/10/L1"),
    // EPC URN with an escaped serial; `URN:EPC:` in any case.
    (
        "URN:EPC:id:sgtin:0614141.812345.A%2FB",
        "/01/80614141123458/21/A%2FB",
    ),
];

const REFUSED: &[(&str, &str)] = &[
    (
        "(01)09501101020917(10)L1(10)L2",
        "appears twice with different values: \"L1\" and \"L2\"",
    ),
    ("\u{1d}", "only GS separators"),
    ("]d2", "no data"),
    ("010950110102091710ABCDEFGHIJKLMNOPQRS21XYZ", "GS separator"),
    (
        "urn:epc:id:sgtin:0614141.812345.A/B",
        "'/' in the serial must be percent-encoded (%2F)",
    ),
    (
        "urn:epc:id:sgtin:0614141.812345.A B",
        "' ' is not allowed in the serial",
    ),
    ("urn:epc:ID:sgtin:0614141.812345.6789", "lower case"),
    ("urn:epc:id:widget:1.2.3", "an EPC URN of unknown type"),
    (
        "ftp://example.com/01/09501101020917",
        "a URI with scheme ftp",
    ),
    ("urn:isbn:9780306406157", "a URN of namespace \"isbn\""),
    ("vnqr:abc/", "slashes"),
];

async fn conformance_cases_read_and_refuse_as_the_standards_say(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (_, pair) = verified_seller(&app).await;
    let token = pair["access_token"].as_str().expect("token");
    for (code, canonical) in READ {
        let response = app
            .post_as("/v1/codes/parse", token, json!({ "code": code }))
            .await;
        assert_eq!(response.status(), 200, "{code:?}");
        let parsed: Value = response.json().await.expect("json");
        assert_eq!(parsed["canonical"], *canonical, "{code:?}");
        let key = parsed["canonical"].as_str().unwrap_or_default();
        assert!(!key.is_empty() && !key.ends_with('/'), "{code:?}");
    }
    for (code, words) in REFUSED {
        let response = app
            .post_as("/v1/codes/parse", token, json!({ "code": code }))
            .await;
        assert_eq!(response.status(), 422, "{code:?}");
        let body = problem(response).await;
        assert_eq!(body["errors"][0]["field"], "code");
        assert!(
            body["detail"].as_str().unwrap_or("").contains(words),
            "{code:?}: {body}"
        );
    }
}
both_backends!(conformance_cases_read_and_refuse_as_the_standards_say);

#[test]
fn the_command_line_reads_and_refuses_the_same_cases() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |code: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tracegate"))
            .args(["codes", "parse", code])
            .current_dir(dir.path())
            .output()
            .expect("run tracegate")
    };
    for (code, canonical) in READ {
        let output = run(code);
        assert!(
            output.status.success(),
            "{code:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let parsed: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        assert_eq!(parsed["canonical"], *canonical, "{code:?}");
    }
    for (code, words) in REFUSED {
        let output = run(code);
        assert_eq!(output.status.code(), Some(1), "{code:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(words), "{code:?}: {stderr}");
    }
}
