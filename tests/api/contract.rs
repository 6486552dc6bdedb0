//! The API description as a contract: `/openapi.json` is a valid OpenAPI 3.1 document
//! (checked against the published meta-schema in `tests/fixtures/openapi`), and it
//! describes exactly the API routes the service registers.

use std::collections::BTreeSet;
use std::path::Path;

use jsonschema::Registry;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{TestApp, TestBackend};

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/openapi")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("fixture");
    serde_json::from_str(&text).expect("fixture is JSON")
}

async fn document(app: &TestApp) -> Value {
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.expect("JSON")
}

/// Every (method, path) the document describes.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|ops| ops.keys())
                .filter(|key| ["get", "put", "post", "delete", "patch"].contains(&key.as_str()))
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect()
}

async fn openapi_document_validates_against_the_openapi_3_1_meta_schema(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let doc = document(&app).await;
    // The strict variant: besides the document's structure, every Schema Object must be
    // valid in the OpenAPI 3.1 dialect of JSON Schema 2020-12.
    let registry = Registry::new()
        .add(
            "https://spec.openapis.org/oas/3.1/schema/2022-10-07",
            fixture("schema.json"),
        )
        .expect("schema")
        .add(
            "https://spec.openapis.org/oas/3.1/dialect/base",
            fixture("dialect-base.schema.json"),
        )
        .expect("dialect")
        .add(
            "https://spec.openapis.org/oas/3.1/meta/base",
            fixture("meta-base.schema.json"),
        )
        .expect("vocabulary")
        .prepare()
        .expect("registry");
    let validator = jsonschema::options()
        .with_registry(&registry)
        .build(&fixture("schema-base.json"))
        .expect("meta-schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "/openapi.json is not valid OpenAPI 3.1:\n{}",
        errors.join("\n")
    );
    // The validator does reject: a 3.0 version and a path parameter object without `in`.
    let mut broken = doc.clone();
    broken["openapi"] = "3.0.3".into();
    assert!(!validator.is_valid(&broken));
    let mut broken = doc.clone();
    broken["paths"]["/v1/listing-checks/{id}"]["get"]["parameters"][0]
        .as_object_mut()
        .expect("parameter")
        .remove("in");
    assert!(!validator.is_valid(&broken));

    // What the meta-schema cannot see: a path parameter must be in the path template, and
    // each template variable must be a path parameter.
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let in_path: BTreeSet<String> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "path")
                .filter_map(|p| p["name"].as_str().map(str::to_string))
                .collect();
            let template: BTreeSet<String> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .map(str::to_string)
                .collect();
            assert_eq!(in_path, template, "{method} {path}: path parameters");
        }
    }
}
both_backends!(openapi_document_validates_against_the_openapi_3_1_meta_schema);

/// Paths registered with `Endpoint::new("…")` anywhere in `src/`, as written there, each
/// with whether its POST is registered as creating (`post_creating`).
fn registered_paths() -> BTreeSet<(String, bool)> {
    fn walk(dir: &Path, found: &mut BTreeSet<(String, bool)>) {
        for entry in std::fs::read_dir(dir).expect("src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source");
                for piece in text.split("Endpoint::new(").skip(1) {
                    let literal = piece.trim_start();
                    if let Some(rest) = literal.strip_prefix('"')
                        && let Some(end) = rest.find('"')
                    {
                        // The builder chain runs to the end of the `service(…)` call.
                        let chain = rest[end..].split(".service(").next().unwrap_or("");
                        let chain = chain.split(';').next().unwrap_or("");
                        found.insert((rest[..end].to_string(), chain.contains(".post_creating(")));
                    }
                }
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    found
}

/// The API, as opposed to the pages people read: JSON under `/v1`, the well-known
/// documents and the operations endpoints.
fn is_api(path: &str) -> bool {
    path.starts_with("/v1/")
        || path.starts_with("/.well-known/")
        || ["/healthz", "/readyz", "/metrics"].contains(&path)
}

/// Methods a registered resource accepts, from the `Allow` of its 405 answer.
async fn allowed_methods(app: &TestApp, path: &str) -> BTreeSet<String> {
    let concrete: String = path
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "x"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/");
    let response = app
        .client
        .request(
            reqwest::Method::from_bytes(b"TRACE").expect("method"),
            app.url(&concrete),
        )
        .header("accept", "application/json")
        .send()
        .await
        .expect("sent");
    assert_eq!(
        response.status().as_u16(),
        405,
        "{path} is not a registered resource"
    );
    response
        .headers()
        .get("allow")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(',')
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty() && m != "HEAD")
        .collect()
}

async fn every_registered_api_route_is_documented(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let doc = document(&app).await;
    let documented = documented(&doc);
    let scanned = registered_paths();
    let creating: BTreeSet<String> = scanned
        .iter()
        .filter(|(_, creates)| *creates)
        .map(|(p, _)| p.clone())
        .collect();
    let with_key: BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .filter(|(_, item)| {
            item["post"]["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"))
        })
        .map(|(path, _)| path.clone())
        .collect();
    assert_eq!(
        creating, with_key,
        "routes registered with post_creating are exactly those documenting Idempotency-Key"
    );
    let paths: BTreeSet<String> = scanned
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| is_api(p))
        .chain(documented.iter().map(|(_, p)| p.clone()))
        .collect();
    let mut registered = BTreeSet::new();
    for path in &paths {
        // The GS1 resolver description is a resource of the resolver, not an `Endpoint`.
        if path == "/.well-known/gs1resolver" {
            registered.insert(("GET".to_string(), path.clone()));
            continue;
        }
        for method in allowed_methods(&app, path).await {
            registered.insert((method, path.clone()));
        }
    }
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    let unregistered: Vec<_> = documented.difference(&registered).collect();
    assert!(
        undocumented.is_empty() && unregistered.is_empty(),
        "registered but not documented: {undocumented:?}\ndocumented but not registered: {unregistered:?}"
    );
    assert!(registered.len() > 70, "found {} routes", registered.len());
}
both_backends!(every_registered_api_route_is_documented);

async fn every_operation_documents_its_errors(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let doc = document(&app).await;
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let responses = &operation["responses"];
            let secured = operation["security"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
            });
            let mut wanted = Vec::new();
            if secured {
                wanted.extend(["401", "403"]);
            }
            if operation.get("requestBody").is_some() {
                wanted.extend(["415", "422"]);
            }
            for status in wanted {
                if responses.get(status).is_none() {
                    missing.push(format!("{method} {path}: {status}"));
                }
            }
            for (status, response) in responses.as_object().expect("responses") {
                let problem = response.get("$ref").is_some()
                    || response["content"]
                        .get("application/problem+json")
                        .is_some();
                if status.starts_with('4') && !problem {
                    missing.push(format!("{method} {path}: {status} without a problem body"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    let mut ids = BTreeSet::new();
    for item in doc["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().expect("item").values() {
            let id = operation["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_string()), "operationId {id} is used twice");
        }
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["oauth2"]["flows"]["clientCredentials"]["tokenUrl"],
        "/v1/oauth/token"
    );
    assert!(
        doc["webhooks"].as_object().is_some_and(
            |w| w.contains_key("seller.reinstated") && w.contains_key("listing.revoked")
        ),
        "webhooks: {}",
        doc["webhooks"]
    );
    // The policy's values, as the handlers accept them.
    let filing = &doc["components"]["schemas"]["PlatformFiling"]["properties"];
    assert!(
        filing["kind"]["enum"]
            .as_array()
            .is_some_and(|k| k.iter().any(|v| v == "counterfeit")),
        "{filing}"
    );
    assert!(
        filing["claim"]["enum"]
            .as_array()
            .is_some_and(|c| c.iter().any(|v| v == "refund")),
        "{filing}"
    );
    let reasons = doc["components"]["schemas"]["ReasonCode"]["enum"]
        .as_array()
        .expect("reason codes");
    assert!(reasons.iter().any(|r| r == "code_scheme_not_accepted"));
}
both_backends!(every_operation_documents_its_errors);

/// Operations whose handler asks for a client scope state it in their `oauth2`
/// requirement; every scope named is one clients can hold.
async fn scoped_operations_state_their_scope(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let doc = document(&app).await;
    let offered =
        &doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["scopes"];
    for (method, path, scope) in tracegate::openapi::OPERATION_SCOPES {
        let security = &doc["paths"][*path][*method]["security"];
        let stated = security
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["oauth2"] == serde_json::json!([scope]));
        assert!(stated, "{method} {path} does not state {scope}: {security}");
        assert!(offered.get(*scope).is_some(), "{scope} is not offered");
    }
}
both_backends!(scoped_operations_state_their_scope);
