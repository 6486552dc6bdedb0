//! Request ids, and problem+json for requests that match nothing.

use crate::both_backends;
use crate::helpers::{TestApp, TestBackend, captured_logs, problem};

async fn unknown_route_is_a_404_problem(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let response = app.get("/v1/no-such-thing").await;
    assert_eq!(response.status(), 404);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    let body = problem(response).await;
    assert_eq!(body["type"], "/problems/not-found");
    assert_eq!(body["status"], 404);
    assert_eq!(body["instance"], request_id.as_str());
    assert!(
        body["detail"].as_str().unwrap_or("").contains("/docs"),
        "{body}"
    );
}
both_backends!(unknown_route_is_a_404_problem);

async fn wrong_method_is_a_405_problem_naming_allowed_methods(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let response = app
        .client
        .delete(app.url("/healthz"))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET");
    let body = problem(response).await;
    assert_eq!(body["type"], "/problems/method-not-allowed");
    assert!(
        body["detail"].as_str().unwrap_or("").contains("GET"),
        "{body}"
    );
}
both_backends!(wrong_method_is_a_405_problem_naming_allowed_methods);

async fn request_id_is_echoed_and_on_the_log_line(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let sent = format!("test-{}", uuid::Uuid::new_v4());
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("X-Request-Id", &sent)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], sent.as_str());
    // The access log line is written just after the response; give it a moment.
    let mut line = None;
    for _ in 0..50 {
        line = captured_logs()
            .lines()
            .find(|l| l.contains(&sent) && l.contains("request finished"))
            .map(str::to_string);
        if line.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let line = line.expect("a log line carries the request id");
    let json: serde_json::Value = serde_json::from_str(&line).expect("log lines are JSON");
    assert_eq!(json["span"]["request_id"], sent.as_str());
    assert_eq!(json["fields"]["status"], 200);
    assert_eq!(json["fields"]["route"], "/healthz");
}
both_backends!(request_id_is_echoed_and_on_the_log_line);

async fn unsafe_request_id_is_replaced_by_a_generated_one(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("X-Request-Id", "x\" injected=\"1")
        .send()
        .await
        .expect("sent");
    let echoed = response.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert_ne!(echoed, "x\" injected=\"1");
    assert!(
        uuid::Uuid::parse_str(&echoed).is_ok(),
        "generated id is a UUID: {echoed}"
    );

    let plain = app.get("/healthz").await;
    let generated = plain.headers()["x-request-id"].to_str().expect("ascii");
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");
}
both_backends!(unsafe_request_id_is_replaced_by_a_generated_one);
