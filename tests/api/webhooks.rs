//! The webhook test: a platform checks its receiver against a signed sample of every event
//! type, each matching the payload schema `/openapi.json` documents for it.

use jsonschema::Registry;
use serde_json::{Value, json};
use tracegate::clients::ClientKind;

use crate::binding::verify_signature;
use crate::both_backends;
use crate::fixtures::{client, token_for_client};
use crate::helpers::{TestApp, TestBackend, problem};
use crate::stubs::HookServer;

async fn the_webhook_test_sends_a_signed_documented_sample_of_every_event(backend: TestBackend) {
    let (_env, app) = TestApp::spawn(&backend).await;
    let (platform_id, platform_secret) = client(&app, ClientKind::Platform).await;
    let platform = token_for_client(&app, &platform_id, &platform_secret).await;

    let none = app
        .post_as("/v1/platforms/me/webhook/test", &platform, json!({}))
        .await;
    assert_eq!(none.status(), 404);
    assert!(
        problem(none).await["detail"]
            .as_str()
            .unwrap_or("")
            .contains("PUT")
    );

    let hooks = HookServer::start();
    let webhook: Value = app
        .client
        .put(app.url("/v1/platforms/me/webhook"))
        .bearer_auth(&platform)
        .json(&json!({ "url": hooks.url }))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let secret = webhook["secret"].as_str().expect("secret").to_string();

    let response = app
        .post_as("/v1/platforms/me/webhook/test", &platform, json!({}))
        .await;
    assert_eq!(response.status(), 202);
    let queued: Value = response.json().await.expect("json");

    let doc: Value = app
        .get("/openapi.json")
        .await
        .json()
        .await
        .expect("openapi");
    let documented: Vec<String> = doc["webhooks"]
        .as_object()
        .expect("webhooks")
        .keys()
        .cloned()
        .collect();
    let mut sent: Vec<String> = queued["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].as_str().expect("type").to_string())
        .collect();
    sent.sort();
    assert_eq!(sent, documented, "one sample per documented event type");

    let registry = Registry::new()
        .add("urn:tracegate:openapi", doc.clone())
        .expect("document")
        .prepare()
        .expect("registry");
    for event_type in &documented {
        let received = hooks.wait_for(&format!("\"type\":\"{event_type}\"")).await;
        let event: Value = serde_json::from_str(&received.body).expect("event JSON");
        assert_eq!(event["type"], event_type.as_str());
        assert_eq!(event["test"], true);
        assert_eq!(
            received.header("tracegate-event"),
            Some(event_type.as_str())
        );
        assert_eq!(received.header("tracegate-event-id"), event["id"].as_str());
        let signature = received.header("tracegate-signature").expect("signed");
        assert!(
            verify_signature(&secret, signature, &received.body),
            "{event_type}: the signature verifies with the platform's secret"
        );
        let pointer = format!(
            "urn:tracegate:openapi#/webhooks/{}/post/requestBody/content/application~1json/schema",
            event_type.replace('~', "~0").replace('/', "~1")
        );
        let validator = jsonschema::options()
            .with_registry(&registry)
            .build(&json!({ "$ref": pointer }))
            .expect("schema");
        let errors: Vec<String> = validator
            .iter_errors(&event)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{event_type}: {errors:?} in {event}");
    }
}
both_backends!(the_webhook_test_sends_a_signed_documented_sample_of_every_event);
